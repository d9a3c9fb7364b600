"""`Budget`: a spending limit per period that refuses a request before it would cross it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, final

from openai_ergo._accounting._meter import feed, input_estimate, stream_usage, usage_of_body
from openai_ergo._accounting._prices import PriceTable, TokenUsage, _money, default_prices
from openai_ergo._errors import BudgetExceededError, InvalidRequestError
from openai_ergo._pipeline._middleware import Middleware, RequestState

if TYPE_CHECKING:
    from openai_ergo._response import APIResponse
    from streaming import ServerSentEvent

__all__ = ["Budget"]

Period = Literal["minute", "hour", "day", "week", "month"]
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_OUTPUT_CAPS = ("max_output_tokens", "max_completion_tokens", "max_tokens")
_RESERVED = "budget.reserved"


def _window(period: Period | timedelta | None, now: float) -> tuple[float, float | None]:
    """The start and end (epoch seconds, UTC) of the period holding `now`."""
    if period is None:
        return float("-inf"), None
    if isinstance(period, timedelta):
        length = period.total_seconds()
    elif period == "month":
        day = datetime.fromtimestamp(now, tz=timezone.utc)
        first = day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = (first + timedelta(days=32)).replace(day=1)
        return first.timestamp(), following.timestamp()
    else:
        length = _SECONDS[period]
    start = now - now % length
    return start, start + length


@final
class Budget(Middleware):
    """A spending limit in US dollars per period, shared by every client it is installed on.

    `Budget(limit=Decimal("5"), period="day")` with `Client(middleware=[budget])`. Before a
    request is sent, its cost is estimated from the request (its input tokens counted, exact
    with tiktoken, plus its output cap: `max_output_tokens` and the like, or
    `assumed_output_tokens` without one); if that would take the period's spending past
    `limit`, it is refused with `BudgetExceededError` and nothing is sent. The estimate is
    reserved while the request runs, and replaced by what it actually cost when the answer
    arrives (a stream's reported usage, or the partial usage of one that broke off). Periods
    are UTC calendar windows (`"minute"`, `"hour"`, `"day"`, `"week"` from the epoch's
    Thursday, `"month"`), a `timedelta`, or None for a limit that never resets. A model the
    price table does not price is refused too (`PriceNotFoundError`).
    """

    def __init__(
        self,
        limit: Decimal | int | str | float,
        period: Period | timedelta | None = "day",
        *,
        prices: PriceTable | None = None,
        assumed_output_tokens: int = 1024,
        now: Callable[[], float] = time.time,
    ) -> None:
        money = _money(limit, "limit")
        assert money is not None
        if (
            period is not None
            and not isinstance(period, timedelta)
            and period
            not in (
                *_SECONDS,
                "month",
            )
        ):
            raise InvalidRequestError(
                f"period must be 'minute', 'hour', 'day', 'week', 'month', a timedelta or "
                f"None, not {period!r}",
                param="period",
            )
        if isinstance(period, timedelta) and period.total_seconds() <= 0:
            raise InvalidRequestError("period must be a positive timedelta", param="period")
        if not isinstance(assumed_output_tokens, int) or assumed_output_tokens < 0:
            raise InvalidRequestError(
                f"assumed_output_tokens must be a whole number >= 0, not {assumed_output_tokens!r}",
                param="assumed_output_tokens",
            )
        #: The most the period may spend, in dollars.
        self.limit = money
        self.period = period
        self.prices = default_prices() if prices is None else prices
        self.assumed_output_tokens = assumed_output_tokens
        self._now = now
        self._window_end: float | None = None
        self._window_start = float("-inf")
        self._spent = Decimal(0)
        self._reserved = Decimal(0)
        self._refused = 0

    # -- the period --------------------------------------------------------------------------

    def _roll(self) -> None:
        now = self._now()
        if self._window_end is not None and now < self._window_end:
            return
        if self._window_start != float("-inf") and self._window_end is None:
            return
        start, end = _window(self.period, now)
        if start != self._window_start:
            self._window_start, self._window_end = start, end
            self._spent = Decimal(0)

    @property
    def spent(self) -> Decimal:
        """What the current period's answered requests cost, in dollars."""
        self._roll()
        return self._spent

    @property
    def reserved(self) -> Decimal:
        """The estimates of the requests still running."""
        return self._reserved

    @property
    def remaining(self) -> Decimal:
        """What the period may still spend (never below zero)."""
        return max(self.limit - self.spent - self._reserved, Decimal(0))

    @property
    def resets_at(self) -> float | None:
        """When the current period ends (epoch seconds), None without a period."""
        self._roll()
        return self._window_end

    # -- estimating --------------------------------------------------------------------------

    def estimate(self, body: Any, model: str) -> Decimal:
        """The cost a request body is expected to have on `model`: its counted input and its
        output cap (or `assumed_output_tokens`)."""
        state: RequestState = {"body": body, "model": model}
        output = self.assumed_output_tokens
        for name in _OUTPUT_CAPS:
            value = body.get(name) if isinstance(body, dict) else getattr(body, name, None)
            if isinstance(value, int):
                output = value
                break
        if "embedding" in model or "moderation" in model:
            output = 0
        usage = TokenUsage(input=input_estimate(state), output=output)
        return self.prices.price(model).cost(usage)

    def charge(self, usage: Any, model: str) -> Decimal:
        """Count spending the budget did not see (a batch's results, another process's
        usage) in the current period; returns its cost."""
        cost = self.prices.price(model).cost(TokenUsage.of(usage))
        self._roll()
        self._spent += cost
        return cost

    # -- middleware hooks --------------------------------------------------------------------

    async def on_send(self, state: RequestState) -> None:
        """Refuse the request if its estimate would cross the limit; else reserve it."""
        model = state.get("model")
        if not isinstance(model, str):
            return  # nothing to price (a file upload, a list): not a model request
        estimate = self.estimate(state.get("body"), model)
        self._roll()
        committed = self._spent + self._reserved
        if committed + estimate > self.limit:
            self._refused += 1
            resets = self._window_end
            when = (
                f"; the {self.period if isinstance(self.period, str) else 'period'} resets at "
                f"{datetime.fromtimestamp(resets, tz=timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
                if resets is not None
                else ""
            )
            raise BudgetExceededError(
                f"{state.get('method', 'POST')} {state.get('path', '')} to {model} was not "
                f"sent: it is estimated at ${estimate:.6f}, and ${committed:.6f} of the "
                f"${self.limit} budget is spent or reserved{when}. Raise the limit, lower "
                "max_output_tokens, or wait for the next period.",
                limit=self.limit,
                spent=committed,
                estimate=estimate,
                resets_at=resets,
                model=model,
            )
        self._reserved += estimate
        state[_RESERVED] = (estimate, self._window_start)

    def _settle(self, state: RequestState, usage: TokenUsage | None, model: str | None) -> None:
        reserved = state.pop(_RESERVED, None)
        if reserved is None:
            return
        estimate, window = reserved
        self._reserved -= estimate
        if usage is None:
            return
        name = state.get("model") or model
        price = self.prices.find(name) if isinstance(name, str) else None
        self._roll()
        if price is not None and window == self._window_start:
            self._spent += price.cost(usage)

    async def on_result(
        self, state: RequestState, response: APIResponse | None, error: BaseException | None
    ) -> None:
        """Count what a plain request cost (nothing for one that failed)."""
        usage, model = (None, None) if response is None else usage_of_body(response.content)
        self._settle(state, usage, model)

    def on_event(self, event: ServerSentEvent, state: RequestState) -> None:
        """Watch a stream for its usage."""
        feed(state, event, self)

    async def on_stream_end(self, state: RequestState, error: BaseException | None) -> None:
        """Count what a stream cost: its reported usage, or the partial usage of one that
        broke off."""
        usage, model, _ = stream_usage(state)
        self._settle(state, usage, model)

    def statistics(self) -> dict[str, Any]:
        """The period's limit, spending, reservations and the requests refused so far."""
        return {
            "limit": self.limit,
            "spent": self.spent,
            "reserved": self._reserved,
            "remaining": self.remaining,
            "resets_at": self.resets_at,
            "refused": self._refused,
        }

    def __repr__(self) -> str:
        return f"Budget(limit={self.limit}, period={self.period!r}, spent={self.spent})"
