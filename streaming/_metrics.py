"""`StreamMetrics`: how fast a stream delivers, measured while it passes through.

It wraps any async iterable and hands every item on unchanged; the cost per item is a counter,
plus one call of the size function when there is one. Time comes from `anyio.current_time()` (the
event loop's clock) unless a clock is injected, so measurements follow the loop and tests can
drive them with a fake clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, final

import anyio
from anyio.abc import AsyncResource

from ._compose import close_source, iterate, release_unclosed

__all__ = ["MetricsSnapshot", "StreamMetrics"]

T = TypeVar("T")

StreamState = Literal["pending", "running", "completed", "failed", "closed"]


@final
@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The measurements of a stream at one moment. Times are in seconds."""

    #: "pending" (not read yet), "running", "completed" (the source ended), "failed" (it raised)
    #: or "closed" (closed before its end).
    state: StreamState
    #: Items delivered so far.
    items: int
    #: Sum of the size function over those items; `None` when no size function was given.
    bytes: int | None
    #: From the start to the first item; `None` before it.
    time_to_first_item: float | None
    #: From the start to the end (or to now, while running); 0.0 before the start.
    duration: float

    @property
    def items_per_second(self) -> float | None:
        """`items / duration`; `None` while the duration is zero."""
        return self.items / self.duration if self.duration > 0 else None

    @property
    def bytes_per_second(self) -> float | None:
        """`bytes / duration`; `None` without a size function or while the duration is zero."""
        if self.bytes is None or self.duration <= 0:
            return None
        return self.bytes / self.duration


@final
class StreamMetrics(AsyncResource, Generic[T]):
    """Wraps an async iterable, hands its items on, and measures the stream::

        async with StreamMetrics(pieces, size=len) as measured:
            async for piece in measured:
                ...
        print(measured.snapshot().time_to_first_item)

    The clock starts at the first read, or at `started_at` (a value of the same clock, for
    example when the request was sent, so time to first item includes the request). It stops at
    the end of the source, at its error, or at `aclose()`. Owns the source: the end, an error, or
    leaving the block closes it.
    """

    # Defaults `__del__` can read even when `__init__` rejected its arguments.
    _state: StreamState = "closed"

    def __init__(
        self,
        source: AsyncIterable[T],
        /,
        *,
        size: Callable[[T], int] | None = None,
        clock: Callable[[], float] | None = None,
        started_at: float | None = None,
    ) -> None:
        if size is not None and not callable(size):
            raise TypeError(f"StreamMetrics' size must be callable, not {type(size).__name__}")
        if clock is not None and not callable(clock):
            raise TypeError(f"StreamMetrics' clock must be callable, not {type(clock).__name__}")
        self._source = source
        self._iterator: AsyncIterator[T] = iterate(source, "StreamMetrics' source")
        self._size = size
        self._clock: Callable[[], float] = anyio.current_time if clock is None else clock
        self._started_at = started_at
        self._first_at: float | None = None
        self._ended_at: float | None = None
        self._items = 0
        self._bytes = 0
        self._source_closed = False
        self._state = "pending"

    def __aiter__(self) -> StreamMetrics[T]:
        return self

    async def __anext__(self) -> T:
        if self._state != "running":
            if self._state != "pending":
                raise StopAsyncIteration
            self._state = "running"
            if self._started_at is None:
                self._started_at = self._clock()
        try:
            item = await self._iterator.__anext__()
        except StopAsyncIteration:
            await self._stop("completed")
            raise
        except Exception:
            await self._stop("failed")
            raise
        if self._items == 0:
            self._first_at = self._clock()
        self._items += 1
        if self._size is not None:
            self._bytes += self._size(item)
        return item

    def snapshot(self) -> MetricsSnapshot:
        """The measurements so far (the duration runs on while the stream is open)."""
        started = self._started_at
        ended = self._clock() if self._state == "running" else self._ended_at
        duration = 0.0 if started is None or ended is None else max(ended - started, 0.0)
        first = self._first_at
        return MetricsSnapshot(
            state=self._state,
            items=self._items,
            bytes=None if self._size is None else self._bytes,
            time_to_first_item=None if first is None or started is None else first - started,
            duration=duration,
        )

    async def aclose(self) -> None:
        """Stop the clock and close the source (idempotent; finishes even when cancelled)."""
        await self._stop("closed")

    def __del__(self) -> None:
        if self._state == "running" and release_unclosed(
            "StreamMetrics(...) was not closed: use `async with StreamMetrics(...) as m:` "
            "so its source is closed",
            (self._iterator, self._source),
        ):
            self._state = "closed"

    async def _stop(self, state: StreamState) -> None:
        if self._state in ("pending", "running"):
            if self._state == "running":
                self._ended_at = self._clock()
            self._state = state
        if not self._source_closed:
            self._source_closed = True
            await close_source(self._iterator, self._source)
