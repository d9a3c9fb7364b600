"""Reconciling what a `UsageTracker` counted with what the organization's Usage and Costs API
reports, through the typed namespace (`client.organization.usage`, `.costs`).

Those endpoints need an admin key and report whole time buckets for the whole organization
(or the projects asked for), a few minutes late: the difference is what other processes,
keys and people spent, plus what arrived after the tracker stopped, or a price table out of
date.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, final

from openai_ergo._accounting._prices import TokenUsage

if TYPE_CHECKING:
    from openai_ergo._accounting._tracker import UsageTracker
    from openai_ergo._client import Client

__all__ = ["Reconciliation", "reconcile"]


@final
@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What the tracker counted beside what the organization was billed, for one window.

    Costs are US dollars; usages are per model (`"*"` for results the API did not group by
    model). `cost_difference` is reported minus tracked.
    """

    start_time: int
    end_time: int | None
    tracked_cost: Decimal
    reported_cost: Decimal
    tracked_usage: dict[str, TokenUsage]
    reported_usage: dict[str, TokenUsage]

    @property
    def cost_difference(self) -> Decimal:
        """Reported minus tracked cost: positive when the organization spent more than this
        tracker saw."""
        return self.reported_cost - self.tracked_cost


async def reconcile(
    tracker: UsageTracker,
    client: Client,
    *,
    start_time: int | None = None,
    end_time: int | None = None,
    project_ids: list[str] | None = None,
) -> Reconciliation:
    """Compare `tracker` with the organization's completions usage and costs between
    `start_time` (epoch seconds; the tracker's `started_at` by default) and `end_time`
    (now by default), read with `client` (an admin key's client)."""
    start = int(tracker.started_at if start_time is None else start_time)
    reported: dict[str, TokenUsage] = {}
    usage_pages = client.organization.usage.completions.list(
        start_time=start,
        end_time=end_time,
        group_by=["model"],
        project_ids=project_ids,
    )
    async for bucket in usage_pages:
        for result in bucket.results or ():
            tokens = TokenUsage(
                input=getattr(result, "input_tokens", None) or 0,
                output=getattr(result, "output_tokens", None) or 0,
                cached_input=getattr(result, "input_cached_tokens", None) or 0,
                audio_input=getattr(result, "input_audio_tokens", None) or 0,
                audio_output=getattr(result, "output_audio_tokens", None) or 0,
            )
            model = getattr(result, "model", None) or "*"
            reported[model] = reported.get(model, TokenUsage()) + tokens
    cost = Decimal(0)
    async for bucket in client.organization.costs.list(
        start_time=start, end_time=end_time, project_ids=project_ids
    ):
        for result in bucket.results or ():
            amount = getattr(result, "amount", None)
            value = getattr(amount, "value", None)
            if isinstance(value, int | float):
                cost += Decimal(repr(value))
    return Reconciliation(
        start_time=start,
        end_time=end_time,
        tracked_cost=tracker.total_cost(),
        reported_cost=cost,
        tracked_usage={model: row.usage for model, row in tracker.by_model().items()},
        reported_usage=reported,
    )
