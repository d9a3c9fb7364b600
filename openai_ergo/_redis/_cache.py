"""`RedisCacheBackend`: the response cache's entries kept in Redis, shared by every process.

An entry is one Redis string under `prefix:cache:<namespace>:<request hash>`, written with the
cache's time to live as a Redis expiry (`SET ... PX`), so Redis itself drops it when it is old:
a hit in one process is a hit in all of them. Two ways bound the size:

- `max_entries` bounds this namespace: each write also scores the key in a sorted set by the
  time it was last used, and one Lua script trims the least recently used beyond the bound (a
  read refreshes the score in the same round trip as the GET).
- Without it, Redis's own `maxmemory` with an LRU policy bounds the server as a whole
  (`volatile-lru` evicts only keys with an expiry, as every cache entry has): right for a Redis
  kept for the cache, wrong for one shared with other state, whose keys it may evict too.

When Redis is down or slow (each call bounded by the connection's timeout), a read is a miss
and a write is skipped, or both go to `fallback` (an in-process `MemoryCacheBackend`, say) until
Redis answers again: a cache never fails a request. The connection logs the outage once.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any, final

from openai_ergo._cache._backend import CacheBackend
from openai_ergo._errors import InvalidRequestError, RedisUnavailableError
from openai_ergo._redis._connection import RedisConnection

if TYPE_CHECKING:
    import coredis

__all__ = ["RedisCacheBackend"]

#: A namespace goes into key names and a SCAN pattern: no separator, no glob characters.
_NAMESPACE = re.compile(r"[A-Za-z0-9_.\-]+")
#: Keys deleted per SCAN step by `clear()`, each step one bounded call.
_CLEAR_BATCH = 500

# KEYS: entry, index. ARGV: value, ttl in ms (0: none), max entries (0: unbounded).
# Answers how many entries were evicted to make room.
_SET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
local bound = tonumber(ARGV[3])
if bound <= 0 then return 0 end
redis.call('ZADD', KEYS[2], now, KEYS[1])
local over = redis.call('ZCARD', KEYS[2]) - bound
if over <= 0 then return 0 end
local evicted = 0
for _, victim in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do
  evicted = evicted + redis.call('DEL', victim)
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
return evicted
"""

# KEYS: entry, index. A read that also marks the entry as just used (or drops the index's
# member of an entry Redis expired).
_GET = """
local value = redis.call('GET', KEYS[1])
local t = redis.call('TIME')
if value then
  redis.call('ZADD', KEYS[2], 'XX', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000),
             KEYS[1])
else
  redis.call('ZREM', KEYS[2], KEYS[1])
end
return value
"""


async def _scan(client: coredis.Redis[bytes], *, cursor: int, match: str) -> tuple[int, Any]:
    return await client.scan(cursor, match=match, count=_CLEAR_BATCH)


async def _unlink(client: coredis.Redis[bytes], *, names: tuple[Any, ...]) -> int:
    return await client.unlink(names)


@final
class RedisCacheBackend:
    """A `CacheBackend` in Redis: one cache shared by every process that uses the same
    `namespace` on the same Redis.

    `ResponseCache(RedisCacheBackend(redis), ttl=3600)`: the time to live becomes a Redis
    expiry. `max_entries` bounds the namespace, least recently used first (None leaves the
    bound to Redis's `maxmemory` policy: see the module's notes and `docs/scaling.md`). While
    Redis is unavailable, reads miss and writes are skipped, or both go to `fallback`.
    """

    __slots__ = (
        "_get",
        "_index",
        "_prefix",
        "_redis",
        "_set",
        "evictions",
        "fallback",
        "max_entries",
    )

    def __init__(
        self,
        redis: RedisConnection,
        *,
        namespace: str = "default",
        max_entries: int | None = None,
        fallback: CacheBackend | None = None,
    ) -> None:
        if not isinstance(redis, RedisConnection):
            raise TypeError(
                f"RedisCacheBackend(redis=...) takes a RedisConnection, not {type(redis).__name__}"
            )
        if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
            raise InvalidRequestError(
                f"namespace must be letters, digits, '_', '.' or '-', not {namespace!r}",
                param="namespace",
            )
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1
        ):
            raise InvalidRequestError(
                f"max_entries must be a whole number >= 1 or None, not {max_entries!r}",
                param="max_entries",
            )
        if fallback is not None and not isinstance(fallback, CacheBackend):
            raise InvalidRequestError(
                f"fallback must implement CacheBackend, not {type(fallback).__name__}",
                param="fallback",
            )
        self._redis = redis
        self._prefix = redis.key("cache", namespace) + ":"
        self._index = redis.key("cache-index", namespace)
        self.max_entries = max_entries
        self.fallback = fallback
        self._get = redis.script(_GET)
        self._set = redis.script(_SET)
        #: Entries this process's writes evicted to keep `max_entries`.
        self.evictions = 0

    @property
    def redis(self) -> RedisConnection:
        """The connection the entries go through."""
        return self._redis

    def _key(self, key: str) -> str:
        if not isinstance(key, str) or not key:
            raise InvalidRequestError(f"a cache key must be a non-empty str, not {key!r}")
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, or None when absent or expired (or Redis is away and there
        is no fallback)."""
        name = self._key(key)
        try:
            if self.max_entries is None:
                value: Any = await self._redis.run(lambda r: r.get(name))
            else:
                value = await self._get([name, self._index])
        except RedisUnavailableError:
            return await self.fallback.get(key) if self.fallback is not None else None
        return bytes(value) if value is not None else None

    async def set(self, key: str, value: bytes, *, ttl: float | None) -> None:
        """Store `value` under `key`, expiring after `ttl` seconds (None: never, till evicted)."""
        if not isinstance(value, bytes):
            raise InvalidRequestError(
                f"a cached value must be bytes, not {type(value).__name__}", param="value"
            )
        if ttl is not None and (isinstance(ttl, bool) or ttl <= 0):
            raise InvalidRequestError(f"ttl must be seconds > 0 or None, not {ttl!r}", param="ttl")
        # Redis expiries are whole milliseconds; a positive ttl is never rounded down to none.
        ms = 0 if ttl is None else max(1, round(ttl * 1000))
        try:
            evicted = await self._set(
                [self._key(key), self._index], [value, ms, self.max_entries or 0]
            )
        except RedisUnavailableError:
            if self.fallback is not None:
                await self.fallback.set(key, value, ttl=ttl)
            return
        self.evictions += int(evicted)

    async def delete(self, key: str) -> None:
        """Forget `key` (in the fallback too)."""
        name = self._key(key)
        if self.fallback is not None:
            await self.fallback.delete(key)
        try:
            await self._redis.run(lambda r: r.delete([name]))
            if self.max_entries is not None:
                await self._redis.run(lambda r: r.zrem(self._index, [name]))
        except RedisUnavailableError:
            return

    async def clear(self) -> None:
        """Forget every entry of this namespace (others are untouched). Deleted a batch at a
        time (SCAN, then UNLINK), each batch one bounded call; raises `RedisUnavailableError`
        when Redis is away, since a clear that did not happen must not pass for one."""
        if self.fallback is not None:
            await self.fallback.clear()
        pattern = self._prefix + "*"
        cursor = 0
        while True:
            cursor, names = await self._redis.run(partial(_scan, cursor=cursor, match=pattern))
            if names:
                await self._redis.run(partial(_unlink, names=tuple(names)))
            if not cursor:
                break
        await self._redis.run(lambda r: r.delete([self._index]))

    def __repr__(self) -> str:
        bound = "" if self.max_entries is None else f", max_entries={self.max_entries}"
        return f"RedisCacheBackend({self._prefix[:-1]!r}{bound}, redis={self._redis.url!r})"
