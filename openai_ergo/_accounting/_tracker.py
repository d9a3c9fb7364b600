"""`UsageTracker`: a middleware that adds up tokens and cost per model and per caller tag."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, final

from openai_ergo._accounting._meter import feed, stream_usage, usage_of_body
from openai_ergo._accounting._prices import PriceTable, TokenUsage, default_prices
from openai_ergo._pipeline._middleware import Middleware, RequestState

if TYPE_CHECKING:
    from openai_ergo._accounting._reconcile import Reconciliation
    from openai_ergo._client import Client
    from openai_ergo._response import APIResponse
    from streaming import ServerSentEvent

__all__ = ["UsageRow", "UsageTracker"]


@final
@dataclass(slots=True)
class UsageRow:
    """What one (model, tag) pair used: requests answered, tokens, and their cost in dollars.

    `cost` is None when the price table has no price for the model; `estimated` counts the
    requests whose usage was estimated (a stream that broke off before reporting it).
    """

    model: str
    tag: str | None
    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost: Decimal | None = Decimal(0)
    estimated: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The row as plain data (the cost as a string, exact)."""
        u = self.usage
        return {
            "model": self.model,
            "tag": self.tag,
            "requests": self.requests,
            "input_tokens": u.input,
            "cached_input_tokens": u.cached_input,
            "output_tokens": u.output,
            "reasoning_tokens": u.reasoning,
            "audio_input_tokens": u.audio_input,
            "audio_output_tokens": u.audio_output,
            "image_input_tokens": u.image_input,
            "image_output_tokens": u.image_output,
            "cost_usd": None if self.cost is None else str(self.cost),
            "estimated_requests": self.estimated,
        }


@final
class UsageTracker(Middleware):
    """Adds up the usage and cost of every answered request, per model and per tag.

    Install it with `Client(middleware=[tracker])` (one tracker may serve several clients);
    tag requests with `RequestOptions(tag="...")`. Plain responses are counted from their
    `usage`, streams from the usage their last events carry; a stream that breaks off before
    reporting usage is counted from an estimate (its input counted from the request, one
    output token per delta received) and flagged `estimated`. Cache hits cost nothing and are
    not counted. Read it any time: `rows()`, `total_cost()`, `total_usage()`, `export()`.
    """

    def __init__(self, *, prices: PriceTable | None = None) -> None:
        #: The prices costs are computed from (the shipped table by default).
        self.prices = default_prices() if prices is None else prices
        #: When counting started (epoch seconds): where a reconciliation starts by default.
        self.started_at = time.time()
        self._rows: dict[tuple[str, str | None], UsageRow] = {}

    # -- middleware hooks --------------------------------------------------------------------

    async def on_result(
        self, state: RequestState, response: APIResponse | None, error: BaseException | None
    ) -> None:
        """Count a plain response's usage."""
        if response is None:
            return
        usage, model = usage_of_body(response.content)
        if usage is not None:
            self.record(usage, state.get("model") or model or "unknown", tag=state.get("tag"))

    def on_event(self, event: ServerSentEvent, state: RequestState) -> None:
        """Watch a stream for its usage."""
        feed(state, event, self)

    async def on_stream_end(self, state: RequestState, error: BaseException | None) -> None:
        """Count a stream's usage, reported or estimated."""
        usage, model, estimated = stream_usage(state)
        if usage.total or not estimated:
            name = state.get("model") or model or "unknown"
            self.record(usage, name, tag=state.get("tag"), estimated=estimated)

    # -- reading -----------------------------------------------------------------------------

    def record(
        self, usage: Any, model: str, *, tag: str | None = None, estimated: bool = False
    ) -> None:
        """Add one request's usage (any API's usage object or a `TokenUsage`)."""
        counts = TokenUsage.of(usage)
        row = self._rows.get((model, tag))
        if row is None:
            row = self._rows[(model, tag)] = UsageRow(model=model, tag=tag)
        row.requests += 1
        row.usage = row.usage + counts
        row.estimated += estimated
        price = self.prices.find(model)
        if price is None:
            row.cost = None
        elif row.cost is not None:
            row.cost += price.cost(counts)

    def rows(self) -> list[UsageRow]:
        """A copy of every (model, tag) row, in the order first seen."""
        return [
            UsageRow(r.model, r.tag, r.requests, r.usage, r.cost, r.estimated)
            for r in self._rows.values()
        ]

    def by_model(self) -> dict[str, UsageRow]:
        """The rows summed over tags, per model."""
        return self._sum(lambda row: row.model, tagged=False)

    def by_tag(self) -> dict[str | None, UsageRow]:
        """The rows summed over models, per tag (`None` for untagged requests)."""
        return self._sum(lambda row: row.tag, tagged=True)

    def _sum(self, by: Any, *, tagged: bool) -> dict[Any, UsageRow]:
        out: dict[Any, UsageRow] = {}
        for row in self._rows.values():
            group = by(row)
            total = out.get(group)
            if total is None:
                total = out[group] = UsageRow(
                    model="*" if tagged else row.model, tag=row.tag if tagged else None
                )
            total.requests += row.requests
            total.usage = total.usage + row.usage
            total.estimated += row.estimated
            total.cost = None if total.cost is None or row.cost is None else total.cost + row.cost
        return out

    def total_usage(self) -> TokenUsage:
        """Every request's tokens, added up."""
        total = TokenUsage()
        for row in self._rows.values():
            total = total + row.usage
        return total

    def total_cost(self) -> Decimal:
        """What every priced request cost, in dollars (unpriced models count nothing: see
        `unpriced_models()`)."""
        return sum((r.cost for r in self._rows.values() if r.cost is not None), Decimal(0))

    def unpriced_models(self) -> list[str]:
        """The models used that the price table does not price."""
        return sorted({r.model for r in self._rows.values() if r.cost is None})

    async def reconcile(
        self,
        client: Client,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        project_ids: list[str] | None = None,
    ) -> Reconciliation:
        """Compare these counts with the organization's Usage and Costs API (read with
        `client`, which needs an admin key), from `started_at` to now by default."""
        from openai_ergo._accounting._reconcile import reconcile

        return await reconcile(
            self, client, start_time=start_time, end_time=end_time, project_ids=project_ids
        )

    def export(self) -> dict[str, Any]:
        """Everything as plain data for JSON: the price table's date, the rows, the totals."""
        return {
            "prices_as_of": self.prices.as_of.isoformat(),
            "rows": [row.to_dict() for row in self._rows.values()],
            "total_cost_usd": str(self.total_cost()),
            "unpriced_models": self.unpriced_models(),
        }

    def reset(self) -> None:
        """Forget everything counted so far, and start counting again from now."""
        self._rows.clear()
        self.started_at = time.time()

    def __repr__(self) -> str:
        return f"UsageTracker(rows={len(self._rows)}, total_cost={self.total_cost()})"
