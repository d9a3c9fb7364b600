"""`RedisBudget`: one spending limit per period for every process, kept in Redis.

The period's spending and the estimates of the requests still running live in one Redis hash
per period window (`prefix:budget:<name>:<window start>`), in whole nano-dollars (Lua's numbers
are doubles, exact for integers up to 2**53 nano-dollars: nine million dollars). Before a
request is sent, one Lua script checks that spent + reserved + its estimate stays within the
limit and reserves the estimate, atomically, so two processes never both take the last dollar.
When the answer arrives, a second script replaces the reservation by what the request actually
cost (a stream's reported usage, or the partial usage of one that broke off).

A reservation is a lease: a process that dies mid-request leaves a hold that runs out after
`reservation_ttl` seconds, and the next check gives its amount back.

When Redis is down or slow, the budget cannot know what the other processes spent. It then
fails closed by default (`on_outage="closed"`: the request is not sent, and
`RedisUnavailableError` says why), or checks a local `Budget` of `outage_limit` per period in
this process (`"local"`), or lets requests go unchecked (`"open"`). Whatever this process spends
while Redis is away is added to the shared spending with its next check once Redis is back.
"""

from __future__ import annotations

import itertools
import math
import os
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, final

from openai_ergo._accounting._budget import Budget, Period, _window
from openai_ergo._accounting._meter import feed, stream_usage, usage_of_body
from openai_ergo._accounting._prices import PriceTable, TokenUsage, _money
from openai_ergo._errors import BudgetExceededError, InvalidRequestError, RedisUnavailableError
from openai_ergo._pipeline._middleware import Middleware, RequestState
from openai_ergo._redis._connection import RedisConnection

if TYPE_CHECKING:
    from openai_ergo._response import APIResponse
    from streaming import ServerSentEvent

__all__ = ["RedisBudget"]

Outage = Literal["closed", "local", "open"]
_HOLD = "redis_budget.hold"
_NANO = Decimal(1_000_000_000)

# KEYS: window hash, holds hash, leases sorted set.
# ARGV: limit, estimate, hold id, lease ms, keys' ttl in s (0: none), spending to add first.
# Answers {admitted (1/0), spent, reserved} as seen before this request's reservation.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  local held = redis.call('HGET', KEYS[2], id)
  if held then
    redis.call('HINCRBY', KEYS[1], 'reserved', -tonumber(held))
    redis.call('HDEL', KEYS[2], id)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local add = tonumber(ARGV[6])
if add > 0 then redis.call('HINCRBY', KEYS[1], 'spent', add) end
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
local estimate = tonumber(ARGV[2])
local admitted = 0
if spent + reserved + estimate <= tonumber(ARGV[1]) then
  admitted = 1
  redis.call('HINCRBY', KEYS[1], 'reserved', estimate)
  redis.call('HSET', KEYS[2], ARGV[3], estimate)
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[3])
end
local ttl = tonumber(ARGV[5])
if ttl > 0 then
  for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ttl) end
end
return {admitted, tostring(spent), tostring(reserved)}
"""

# KEYS: window hash, holds hash, leases sorted set.
# ARGV: hold id ('' for none), cost, keys' ttl in s (0: none).
_SETTLE = """
if ARGV[1] ~= '' then
  local held = redis.call('HGET', KEYS[2], ARGV[1])
  if held then
    redis.call('HINCRBY', KEYS[1], 'reserved', -tonumber(held))
    redis.call('HDEL', KEYS[2], ARGV[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
  end
end
local cost = tonumber(ARGV[2])
if cost > 0 then
  redis.call('HINCRBY', KEYS[1], 'spent', cost)
  local ttl = tonumber(ARGV[3])
  if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
end
return 1
"""


def _nano(amount: Decimal) -> int:
    """Whole nano-dollars, rounded up: a budget never undercounts."""
    return math.ceil(amount * _NANO)


def _dollars(nano: Any) -> Decimal:
    return Decimal(int(nano or 0)) / _NANO


@final
class RedisBudget(Middleware):
    """A `Budget` whose spending lives in Redis, shared by every process with the same `name`.

    `RedisBudget(redis, limit=Decimal("50"), period="day")` with `Client(middleware=[budget])`
    in every worker. A request is estimated as `Budget` estimates it (its input counted, plus its
    output cap or `assumed_output_tokens`), checked and reserved in one atomic round trip, and
    refused with `BudgetExceededError` when the period's spending, the reservations of every
    process and its estimate would cross `limit`. Periods are UTC windows on each machine's clock
    (keep them in sync with NTP), as `Budget`'s.

    `on_outage` decides what happens while Redis is unavailable: `"closed"` (the default) refuses
    every priced request with `RedisUnavailableError`, since no process can know what the others
    spent; `"local"` checks a local `Budget` of `outage_limit` (the whole `limit` by default: give
    it this process's share) per period; `"open"` sends requests unchecked. Spending counted
    during an outage joins the shared total once Redis answers again.
    """

    def __init__(
        self,
        redis: RedisConnection,
        limit: Decimal | int | str | float,
        period: Period | timedelta | None = "day",
        *,
        name: str = "default",
        prices: PriceTable | None = None,
        assumed_output_tokens: int = 1024,
        on_outage: Outage = "closed",
        outage_limit: Decimal | int | str | float | None = None,
        reservation_ttl: float = 600.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(redis, RedisConnection):
            raise TypeError(
                f"RedisBudget(redis=...) takes a RedisConnection, not {type(redis).__name__}"
            )
        if not isinstance(name, str) or not name or ":" in name:
            raise InvalidRequestError(
                f"name must be a non-empty str without ':', not {name!r}", param="name"
            )
        if on_outage not in ("closed", "local", "open"):
            raise InvalidRequestError(
                f"on_outage must be 'closed', 'local' or 'open', not {on_outage!r}",
                param="on_outage",
            )
        if isinstance(reservation_ttl, bool) or not reservation_ttl > redis.timeout:
            raise InvalidRequestError(
                f"reservation_ttl must be seconds longer than the connection's timeout "
                f"({redis.timeout:g} s), not {reservation_ttl!r}",
                param="reservation_ttl",
            )
        money = _money(limit, "limit")
        assert money is not None
        #: Estimates requests, and checks them while Redis is away with `on_outage="local"`.
        self.local = Budget(
            money if outage_limit is None else outage_limit,
            period,
            prices=prices,
            assumed_output_tokens=assumed_output_tokens,
            now=now,
        )
        if _nano(money) >= 2**53:
            raise InvalidRequestError(
                f"limit must be below $9,007,199, not ${money}", param="limit"
            )
        self.redis = redis
        self.name = name
        #: The most the period may spend, in dollars, across every process.
        self.limit = money
        self.period = period
        self.prices = self.local.prices
        self.on_outage: Outage = on_outage
        self.reservation_ttl = reservation_ttl
        self._now = now
        self._reserve = redis.script(_RESERVE)
        self._settle_script = redis.script(_SETTLE)
        self._process = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._holds = itertools.count()
        # Spending not yet in Redis (counted while it was away): (window start, nano-dollars).
        self._pending: tuple[float, int] = (float("-inf"), 0)
        self._refused = 0
        self._outage_requests = 0

    # -- windows -----------------------------------------------------------------------------

    def _keys(self, start: float) -> list[str]:
        window = "all" if start == float("-inf") else str(int(start))
        base = self.redis.key("budget", self.name, window)
        return [base, base + ":holds", base + ":leases"]

    def _ttl(self, end: float | None) -> int:
        # The window's keys outlive it by a day, for whoever reads the last period late.
        return 0 if end is None else max(1, math.ceil(end - self._now()) + 86400)

    def _add_pending(self, start: float, nano: int) -> None:
        window, pending = self._pending
        self._pending = (start, nano + (pending if window == start else 0))

    # -- estimating and reading ----------------------------------------------------------------

    def estimate(self, body: Any, model: str) -> Decimal:
        """The cost a request body is expected to have on `model` (as `Budget.estimate`)."""
        return self.local.estimate(body, model)

    async def read(self) -> dict[str, Any]:
        """The current period across every process: `limit`, `spent`, `reserved`,
        `remaining` (dollars) and `resets_at` (epoch seconds, None without a period). Raises
        `RedisUnavailableError` when Redis is away."""
        start, end = _window(self.period, self._now())
        key = self._keys(start)[0]
        spent, reserved = await self.redis.run(lambda r: r.hmget(key, ["spent", "reserved"]))
        spent_d, reserved_d = _dollars(spent), _dollars(reserved)
        if self._pending[0] == start:
            spent_d += _dollars(self._pending[1])
        return {
            "limit": self.limit,
            "spent": spent_d,
            "reserved": reserved_d,
            "remaining": max(self.limit - spent_d - reserved_d, Decimal(0)),
            "resets_at": end,
        }

    async def charge(self, usage: Any, model: str) -> Decimal:
        """Count spending the budget did not see (a batch's results) in the current period,
        for every process; returns its cost. Kept to send later when Redis is away."""
        cost = self.prices.price(model).cost(TokenUsage.of(usage))
        start, _ = _window(self.period, self._now())
        await self._settle(self._keys(start), start, "", _nano(cost))
        return cost

    # -- middleware hooks --------------------------------------------------------------------

    async def on_send(self, state: RequestState) -> None:
        """Check the request against the shared budget and reserve its estimate."""
        model = state.get("model")
        if not isinstance(model, str):
            return
        estimate = self.estimate(state.get("body"), model)
        start, end = _window(self.period, self._now())
        keys = self._keys(start)
        hold = f"{self._process}-{next(self._holds)}"
        window, pending = self._pending
        flush = pending if window == start else 0
        try:
            admitted, spent, reserved = await self._reserve(
                keys,
                [
                    _nano(self.limit),
                    _nano(estimate),
                    hold,
                    round(self.reservation_ttl * 1000),
                    self._ttl(end),
                    flush,
                ],
            )
        except RedisUnavailableError as exc:
            await self._outage(state, exc)
            return
        if flush:
            self._pending = (start, 0)
        if not int(admitted):
            self._refused += 1
            committed = _dollars(spent) + _dollars(reserved)
            raise BudgetExceededError(
                f"{state.get('method', 'POST')} {state.get('path', '')} to {model} was not "
                f"sent: it is estimated at ${estimate:.6f}, and ${committed:.6f} of the shared "
                f"${self.limit} budget {self.name!r} is spent or reserved by all processes. "
                "Raise the limit, lower max_output_tokens, or wait for the next period.",
                limit=self.limit,
                spent=committed,
                estimate=estimate,
                resets_at=end,
                model=model,
            )
        state[_HOLD] = (keys, start, hold)

    async def _outage(self, state: RequestState, exc: RedisUnavailableError) -> None:
        # The connection logged the outage once; each request it touches is only counted.
        self._outage_requests += 1
        if self.on_outage == "closed":
            raise RedisUnavailableError(
                f"the shared budget {self.name!r} could not be checked, so the request was not "
                f"sent (on_outage='closed'): {exc}",
                url=exc.url,
            ) from exc
        if self.on_outage == "local":
            await self.local.on_send(state)
        start, _ = _window(self.period, self._now())
        state[_HOLD] = (self._keys(start), start, "")

    async def _settle(self, keys: list[str], start: float, hold: str, cost: int) -> None:
        _, end = _window(self.period, start) if start != float("-inf") else (start, None)
        try:
            await self._settle_script(keys, [hold, cost, self._ttl(end)])
        except RedisUnavailableError:
            # The hold runs out with its lease; the spending waits for the next check.
            self._add_pending(start, cost)

    async def _done(self, state: RequestState, usage: TokenUsage | None, model: str | None) -> None:
        held = state.pop(_HOLD, None)
        if held is None:
            return
        keys, start, hold = held
        cost = 0
        name = state.get("model") or model
        price = self.prices.find(name) if isinstance(name, str) and usage is not None else None
        if price is not None and usage is not None:
            cost = _nano(price.cost(usage))
        await self._settle(keys, start, hold, cost)

    async def on_result(
        self, state: RequestState, response: APIResponse | None, error: BaseException | None
    ) -> None:
        """Replace the reservation by what a plain request cost (nothing when it failed)."""
        usage, model = (None, None) if response is None else usage_of_body(response.content)
        if self.on_outage == "local":
            await self.local.on_result(state, response, error)
        await self._done(state, usage, model)

    def on_event(self, event: ServerSentEvent, state: RequestState) -> None:
        """Watch a stream for its usage."""
        feed(state, event, self)

    async def on_stream_end(self, state: RequestState, error: BaseException | None) -> None:
        """Replace the reservation by what a stream cost: its reported usage, or the partial
        usage of one that broke off."""
        usage, model, _ = stream_usage(state)
        if self.on_outage == "local":
            await self.local.on_stream_end(state, error)
        await self._done(state, usage, model)

    def statistics(self) -> dict[str, Any]:
        """This process's counts: requests refused, requests decided while Redis was away,
        and the spending (dollars) waiting to join the shared total."""
        return {
            "refused": self._refused,
            "outage_requests": self._outage_requests,
            "pending": _dollars(self._pending[1]),
        }

    def __repr__(self) -> str:
        return (
            f"RedisBudget({self.name!r}, limit={self.limit}, period={self.period!r}, "
            f"on_outage={self.on_outage!r})"
        )
