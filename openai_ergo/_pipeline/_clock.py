"""The clock the pipeline waits on, injectable so tests can use simulated time."""

from __future__ import annotations

import time
from typing import Protocol, final

import anyio


class Clock(Protocol):
    """A monotonic clock and a way to wait on it.

    The rate limiter, circuit breaker and retry policy read time only through a `Clock`, so a test
    can pass a fake one and assert simulated waits instead of measuring wall time.
    """

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` on this clock (cancellable)."""
        ...


@final
class SystemClock:
    """The real clock: `time.monotonic()` and `anyio.sleep()`."""

    __slots__ = ()

    def now(self) -> float:
        """Seconds on the process's monotonic clock."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait for real, on whichever event loop runs the caller."""
        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
