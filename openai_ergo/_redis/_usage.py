"""`RedisUsageTracker`: `UsageTracker`'s counts added up in Redis, across every process.

Each answered request adds its counts to one Redis hash (`prefix:usage:<name>`) with one Lua
script (HINCRBY per counter, one round trip): per (model, tag) row the requests, each kind of
token, the estimated requests and the cost in whole nano-dollars (the writer's price table,
rounded up), or an `unpriced` mark. Any process reads the totals back as `UsageRow`s, the same
rows and export shape `UsageTracker` gives for one process.

While Redis is unavailable, counts wait in the process and go with its next write once Redis
answers: an outage loses nothing (unless the process ends before Redis is back).
"""

from __future__ import annotations

import math
from dataclasses import fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, final

import msgspec

from openai_ergo._accounting._meter import feed, stream_usage, usage_of_body
from openai_ergo._accounting._prices import PriceTable, TokenUsage, default_prices
from openai_ergo._accounting._tracker import UsageRow
from openai_ergo._errors import InvalidRequestError, RedisUnavailableError
from openai_ergo._pipeline._middleware import Middleware, RequestState
from openai_ergo._redis._connection import RedisConnection

if TYPE_CHECKING:
    from openai_ergo._response import APIResponse
    from streaming import ServerSentEvent

__all__ = ["RedisUsageTracker"]

_NANO = Decimal(1_000_000_000)
_TOKENS = tuple(f.name for f in fields(TokenUsage))
_COUNTERS = ("requests", "estimated", "cost_nano", "unpriced", *_TOKENS)

# KEYS: the usage hash. ARGV: field, increment, field, increment, ...
_ADD = """
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
return #ARGV / 2
"""


def _field(model: str, tag: str | None, counter: str) -> str:
    return msgspec.json.encode([model, tag, counter]).decode()


@final
class RedisUsageTracker(Middleware):
    """Adds up usage and cost per model and per tag, for every process with the same `name`.

    Install it as `UsageTracker` (`Client(middleware=[tracker])`, tags from
    `RequestOptions(tag=...)`): it counts the same things the same way (plain responses from
    their `usage`, streams from their last events, a stream that broke off from an estimate).
    Read the shared totals from any process: `await tracker.rows()`, `await
    tracker.total_cost()`, `await tracker.export()`; reading raises `RedisUnavailableError`
    while Redis is away (counts written meanwhile wait in the process, and are sent later).
    """

    def __init__(
        self, redis: RedisConnection, *, name: str = "default", prices: PriceTable | None = None
    ) -> None:
        if not isinstance(redis, RedisConnection):
            raise TypeError(
                f"RedisUsageTracker(redis=...) takes a RedisConnection, not {type(redis).__name__}"
            )
        if not isinstance(name, str) or not name or ":" in name:
            raise InvalidRequestError(
                f"name must be a non-empty str without ':', not {name!r}", param="name"
            )
        self.redis = redis
        self.name = name
        #: The prices costs are computed from when a request is counted.
        self.prices = default_prices() if prices is None else prices
        self._key = redis.key("usage", name)
        self._add = redis.script(_ADD)
        #: Increments Redis has not taken yet: field -> amount.
        self._pending: dict[str, int] = {}

    # -- middleware hooks --------------------------------------------------------------------

    async def on_result(
        self, state: RequestState, response: APIResponse | None, error: BaseException | None
    ) -> None:
        """Count a plain response's usage."""
        if response is None:
            return
        usage, model = usage_of_body(response.content)
        if usage is not None:
            await self.record(usage, state.get("model") or model or "unknown", tag=state.get("tag"))

    def on_event(self, event: ServerSentEvent, state: RequestState) -> None:
        """Watch a stream for its usage."""
        feed(state, event, self)

    async def on_stream_end(self, state: RequestState, error: BaseException | None) -> None:
        """Count a stream's usage, reported or estimated."""
        usage, model, estimated = stream_usage(state)
        if usage.total or not estimated:
            name = state.get("model") or model or "unknown"
            await self.record(usage, name, tag=state.get("tag"), estimated=estimated)

    # -- writing -------------------------------------------------------------------------------

    async def record(
        self, usage: Any, model: str, *, tag: str | None = None, estimated: bool = False
    ) -> None:
        """Add one request's usage (any API's usage object or a `TokenUsage`) to the shared
        totals; kept in the process to send later when Redis is away."""
        if not isinstance(model, str) or not model:
            raise InvalidRequestError(f"model must be a non-empty str, not {model!r}")
        if tag is not None and not isinstance(tag, str):
            raise InvalidRequestError(f"tag must be a str or None, not {tag!r}", param="tag")
        counts = TokenUsage.of(usage)
        price = self.prices.find(model)
        amounts: dict[str, int] = {"requests": 1, "estimated": int(estimated)}
        if price is None:
            amounts["unpriced"] = 1
        else:
            amounts["cost_nano"] = math.ceil(price.cost(counts) * _NANO)
        for name in _TOKENS:
            amounts[name] = getattr(counts, name)
        pending = self._pending
        for counter, amount in amounts.items():
            if amount:
                field = _field(model, tag, counter)
                pending[field] = pending.get(field, 0) + amount
        await self.flush()

    async def flush(self) -> bool:
        """Send the counts waiting in the process; False when Redis is still away."""
        pending, self._pending = self._pending, {}
        if not pending:
            return True
        args: list[str | int] = []
        for field, amount in pending.items():
            args += (field, amount)
        try:
            await self._add([self._key], args)
        except RedisUnavailableError:
            # Put them back under anything counted meanwhile.
            for field, amount in pending.items():
                self._pending[field] = self._pending.get(field, 0) + amount
            return False
        return True

    # -- reading -------------------------------------------------------------------------------

    async def rows(self) -> list[UsageRow]:
        """Every (model, tag) row counted by any process, sorted by model then tag."""
        await self.flush()
        raw: dict[Any, Any] = await self.redis.run(lambda r: r.hgetall(self._key))
        table: dict[tuple[str, str | None], dict[str, int]] = {}
        for field, value in raw.items():
            try:
                model, tag, counter = msgspec.json.decode(field)
            except (msgspec.DecodeError, ValueError, TypeError):
                continue  # not a field this tracker writes
            if counter in _COUNTERS:
                table.setdefault((model, tag), {})[counter] = int(value)
        rows = []
        for (model, tag), counts in sorted(table.items(), key=lambda i: (i[0][0], i[0][1] or "")):
            usage = TokenUsage(**{name: counts.get(name, 0) for name in _TOKENS})
            cost = None if counts.get("unpriced") else Decimal(counts.get("cost_nano", 0)) / _NANO
            rows.append(
                UsageRow(
                    model=model,
                    tag=tag,
                    requests=counts.get("requests", 0),
                    usage=usage,
                    cost=cost,
                    estimated=counts.get("estimated", 0),
                )
            )
        return rows

    async def total_cost(self) -> Decimal:
        """What every priced request of every process cost, in dollars."""
        return sum((r.cost for r in await self.rows() if r.cost is not None), Decimal(0))

    async def export(self) -> dict[str, Any]:
        """The shared totals as plain data for JSON, in `UsageTracker.export()`'s shape."""
        rows = await self.rows()
        return {
            "prices_as_of": self.prices.as_of.isoformat(),
            "rows": [row.to_dict() for row in rows],
            "total_cost_usd": str(sum((r.cost for r in rows if r.cost is not None), Decimal(0))),
            "unpriced_models": sorted({r.model for r in rows if r.cost is None}),
        }

    async def reset(self) -> None:
        """Forget every process's counts (and this process's waiting ones)."""
        self._pending.clear()
        await self.redis.run(lambda r: r.delete([self._key]))

    def statistics(self) -> dict[str, Any]:
        """Counter increments waiting in this process for Redis to come back."""
        return {"pending_fields": len(self._pending)}

    def __repr__(self) -> str:
        return f"RedisUsageTracker({self.name!r}, redis={self.redis.url!r})"
