"""Waiting on the service's long jobs: a poll with backoff, a deadline, a typed timeout.

Every workflow that waits (a batch job, a vector store indexing its files, a fine-tuning job)
waits here, on the client's `Clock`: the same clock the retry policy and the rate limiter
sleep on, so a test passes a fake one and the waits take no real time. Nothing waits forever:
every wait has a finite deadline, and running out of it raises `WaitTimeoutError` saying what
was waited for and the state it was last seen in.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, final

from openai_ergo._errors import InvalidRequestError, WaitTimeoutError

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._pipeline._clock import Clock

__all__ = ["Poll"]

T = TypeVar("T")


def client_clock(client: Client) -> Clock:
    """The clock the client's pipeline sleeps on (a fake one in tests)."""
    return client.clock


@final
class Poll:
    """How often to look: first after `interval` seconds, then each wait `backoff` times longer,
    up to `max_interval`, until `timeout` seconds have passed on the client's clock."""

    __slots__ = ("backoff", "interval", "max_interval", "timeout")

    def __init__(
        self,
        *,
        timeout: float,
        interval: float = 1.0,
        max_interval: float = 30.0,
        backoff: float = 1.5,
    ) -> None:
        # Nothing waits forever: the deadline, like the intervals, must be finite.
        for name, value, low in (
            ("timeout", timeout, 0.0),
            ("interval", interval, 0.0),
            ("max_interval", max_interval, 0.0),
            ("backoff", backoff, 1.0),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < low
                or (low == 0.0 and value == 0)
            ):
                raise InvalidRequestError(
                    f"{name} must be a finite number above {low:g}, not {value!r}", param=name
                )
        if max_interval < interval:
            raise InvalidRequestError(
                f"max_interval ({max_interval:g}) must be at least interval ({interval:g})",
                param="max_interval",
            )
        self.timeout = float(timeout)
        self.interval = float(interval)
        self.max_interval = float(max_interval)
        self.backoff = float(backoff)

    def __repr__(self) -> str:
        return (
            f"Poll(timeout={self.timeout:g}, interval={self.interval:g}, "
            f"max_interval={self.max_interval:g}, backoff={self.backoff:g})"
        )

    async def until(
        self,
        clock: Clock,
        fetch: Callable[[], Awaitable[T]],
        finished: Callable[[T], bool],
        *,
        what: str,
        state: Callable[[T], str],
        detail: Callable[[T], str],
        progress: Callable[[T], object] | None = None,
    ) -> T:
        """Read the job with `fetch` until `finished` says so; each
        reading goes to `progress`. Raises `WaitTimeoutError` once the deadline passed with the
        job unfinished (the last reading is taken at the deadline, not after it)."""
        start = clock.now()
        delay = self.interval
        current = await fetch()
        while True:
            if progress is not None:
                progress(current)
            if finished(current):
                return current
            remaining = self.remaining(clock, start, what, state(current), detail(current), current)
            await clock.sleep(min(delay, remaining))
            delay = self.next_interval(delay)
            current = await fetch()

    def next_interval(self, delay: float) -> float:
        """The wait after one of `delay` seconds: `backoff` times longer, up to the cap."""
        return min(delay * self.backoff, self.max_interval)

    def remaining(
        self, clock: Clock, start: float, what: str, state: str, detail: str, last: Any
    ) -> float:
        """Seconds left before the deadline of a wait begun at `start`; past it,
        `WaitTimeoutError` naming the job, its `state` and `detail`, with `last`."""
        waited = clock.now() - start
        remaining = self.timeout - waited
        if remaining > 0:
            return remaining
        raise WaitTimeoutError(
            f"{what} was still {state} after {waited:g}s ({detail}); the deadline was "
            f"{self.timeout:g}s: wait again with a longer timeout, or check the job",
            what=what,
            state=state,
            detail=detail,
            waited=waited,
            last=last,
        )
