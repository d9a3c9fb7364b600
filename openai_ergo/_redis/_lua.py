"""The rate limiter's Lua scripts. Each runs atomically on the Redis server and reads the time
from Redis itself (`TIME`), so processes on machines whose clocks disagree share one clock.

Numbers go back as strings: Redis turns a Lua number into an integer reply, cutting fractions.
"""

from __future__ import annotations

#: The learned-bucket arithmetic of `_pipeline/_buckets.py`, in Lua: a bucket is a hash of
#: `cap`, `known` (the limit was sent), `rate` (units per second, absent until known),
#: `level` (what it held at `stamp`) and `reset_at` (when the server said it is full again).
_BUCKETS = """
local function bucket(key)
  local b = redis.call('HMGET', key, 'cap', 'known', 'rate', 'level', 'stamp', 'reset_at')
  if not b[1] then return nil end
  return {cap = tonumber(b[1]), known = b[2] == '1', rate = tonumber(b[3]),
          level = tonumber(b[4]), stamp = tonumber(b[5]), reset_at = tonumber(b[6])}
end
local function level_at(b, now)
  if b.rate == nil then
    if now < b.reset_at then return b.level end
    return nil
  end
  return math.min(b.cap, b.level + b.rate * (now - b.stamp))
end
local function wait_for(b, cost, now)
  local level = level_at(b, now)
  if level == nil or level >= cost then return 0 end
  if b.rate == nil then return math.max(0, b.reset_at - now) end
  return math.max(0, (math.min(cost, b.cap) - level) / b.rate)
end
local function fmt(x) return string.format('%.6f', x) end
"""

#: KEYS: slots (sorted set of leases scored by expiry), requests TAT, tokens TAT, the scope's
#: learned requests and tokens buckets, then one key per learned update.
#: ARGV: requests/min, tokens/min, max concurrency (0: none), lease seconds (the limiter's
#: fixed arguments first, so a caller encodes them once), cost in tokens, lease id, exempt
#: (1/0), max wait (-1: none), number of leases released, number of learned updates, then the
#: released lease ids, then per update: limit (-1: not sent), remaining, reset seconds, and
#: what this process booked after the answered request.
#: A cost below zero only applies the releases and updates (reply {0}).
#: Reply: 1 admitted now, {1, wait, reason} admitted after `wait` seconds (the lease is held
#: from now); {2, seconds until the first lease expires} no concurrency slot; {3, wait, kind,
#: seconds until full} the learned wait is longer than max wait (nothing booked).
ADMIT = (
    _BUCKETS
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
local max_slots, lease = tonumber(ARGV[3]), tonumber(ARGV[4])
local cost, lease_id = tonumber(ARGV[5]), ARGV[6]
local exempt, max_wait = ARGV[7] == '1', tonumber(ARGV[8])
local released, learned = tonumber(ARGV[9]), tonumber(ARGV[10])
local a = 11
for _ = 1, released do
  redis.call('ZREM', KEYS[1], ARGV[a])
  a = a + 1
end
for i = 1, learned do
  local key = KEYS[5 + i]
  local limit, remaining = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local reset, after = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  a = a + 4
  local b = bucket(key) or {cap = 0, known = false, level = nil, stamp = now, reset_at = now}
  local before = nil
  if b.level ~= nil then before = level_at(b, now) end
  if limit >= 0 then
    b.cap, b.known = limit, true
  elseif not b.known then
    b.cap = math.max(b.cap, remaining)
  end
  local deficit = b.cap - remaining
  if reset <= 0 then
    remaining = math.max(remaining, math.floor(b.cap))
  elseif deficit > 0 then
    b.rate = deficit / (reset + 0.001)
  end
  local level = remaining - after
  -- What other processes booked and the server has not counted yet is in the shared level:
  -- the server's word lowers it, never raises it (the refill does).
  if before ~= nil and before < level then level = before end
  local reset_at = now
  if reset > 0 then reset_at = now + reset + 0.001 end
  local known = '0'
  if b.known then known = '1' end
  local fields = {'cap', fmt(b.cap), 'known', known, 'level', fmt(level), 'stamp', fmt(now),
                  'reset_at', fmt(reset_at)}
  if b.rate ~= nil then
    table.insert(fields, 'rate')
    table.insert(fields, fmt(b.rate))
  end
  redis.call('HSET', key, unpack(fields))
  redis.call('EXPIRE', key, 3600)
end
if cost < 0 then return {0} end
if max_slots > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= max_slots then
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {2, fmt(tonumber(first[2]) - now)}
  end
end
local start, reason = now, ''
local spent, spent_wait = {}, -1
local books = {}
for k = 4, 5 do
  local b = bucket(KEYS[k])
  if b ~= nil then
    local c = 1
    if k == 5 then c = cost end
    local w = wait_for(b, c, now)
    local kind = 'requests'
    if k == 5 then kind = 'tokens' end
    if w > spent_wait then spent, spent_wait = {kind, b}, w end
    if not exempt and now + w > start then
      start, reason = now + w, 'learned ' .. kind .. ' budget'
    end
    table.insert(books, {KEYS[k], b, c})
  end
end
if not exempt and max_wait >= 0 and start - now > max_wait then
  return {3, fmt(start - now), spent[1], fmt(math.max(0, spent[2].reset_at - now))}
end
if rpm > 0 then
  local tat = math.max(tonumber(redis.call('GET', KEYS[2])) or now, now)
  if tat > start and not exempt then start, reason = tat, 'requests_per_minute' end
  local next_tat = tat + 60 / rpm
  redis.call('SET', KEYS[2], fmt(next_tat), 'PX', math.ceil((next_tat - now) * 1000) + 60000)
end
if tpm > 0 then
  local tat = math.max(tonumber(redis.call('GET', KEYS[3])) or now, now)
  if tat > start and not exempt then start, reason = tat, 'tokens_per_minute' end
  local next_tat = tat + cost * 60 / tpm
  redis.call('SET', KEYS[3], fmt(next_tat), 'PX', math.ceil((next_tat - now) * 1000) + 60000)
end
for _, book in ipairs(books) do
  local level = level_at(book[2], now)
  if level ~= nil then
    redis.call('HSET', book[1], 'level', fmt(level - book[3]), 'stamp', fmt(now))
  end
end
if max_slots > 0 then
  redis.call('ZADD', KEYS[1], start + lease, lease_id)
  redis.call('EXPIRE', KEYS[1], math.ceil(start - now + lease) + 60)
end
if start <= now then return 1 end
return {1, fmt(start - now), reason}
"""
)

#: KEYS: slots. ARGV: lease seconds, number of released leases, then those ids, then the ids
#: of the leases still held, renewed to expire `lease` seconds from now. Reply: the count held.
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local lease, released = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 3, 2 + released do redis.call('ZREM', KEYS[1], ARGV[i]) end
for i = 3 + released, #ARGV do redis.call('ZADD', KEYS[1], now + lease, ARGV[i]) end
if #ARGV > 2 + released then redis.call('EXPIRE', KEYS[1], math.ceil(lease) + 60) end
return redis.call('ZCARD', KEYS[1])
"""
