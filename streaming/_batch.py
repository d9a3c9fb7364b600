"""`batched`: group a stream's items into lists by count and by time.

A producer task reads the source into a bounded buffer, stamping each item with its arrival
time; the consumer takes batches from the buffer. Waiting for a batch to fill is a wait on the
buffer, never a cancelled read of the source, so a timed flush cannot tear an item in half.
Because batches are cut when the consumer asks, a consumer that was busy gets every item that
arrived meanwhile (up to `max_items`) at once, instead of a trail of small, stale batches.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Generic, TypeVar, final

import anyio
import anyio.abc

from ._compose import close_source, iterate, release_unclosed
from ._producer import ProducedIterator

__all__ = ["BatchStatistics", "Batches", "batched"]

T = TypeVar("T")


@final
@dataclass(frozen=True, slots=True)
class BatchStatistics:
    """A snapshot of a batcher's buffer."""

    #: Batches delivered so far.
    batches: int
    #: Items delivered in those batches.
    items: int
    #: Items read from the source and waiting for a batch.
    buffered: int
    #: How many items the producer may read ahead.
    max_buffer: int
    #: Whether the source has ended (normally or with an error).
    finished: bool


@final
class Batches(ProducedIterator, Generic[T]):
    """The async iterator of lists `batched` returns; enter it with `async with` first.

    Leaving the block, or `aclose()`, stops reading and closes the source; items read but not
    delivered stay readable through `pending()`.
    """

    _kind = "a batcher"
    _task_name = "streaming.batched"

    def __init__(
        self,
        source: AsyncIterable[T],
        *,
        max_items: int,
        max_delay: float | None,
        max_buffer: int | None,
    ) -> None:
        if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
            raise ValueError(f"batched's max_items must be an int >= 1, got {max_items!r}")
        if max_delay is not None and (
            isinstance(max_delay, bool)
            or not isinstance(max_delay, (int, float))
            or not 0 <= max_delay < math.inf
        ):
            raise ValueError(
                f"batched's max_delay must be a finite number of seconds >= 0 or None, "
                f"got {max_delay!r}"
            )
        capacity = max_items if max_buffer is None else max_buffer
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < max_items:
            raise ValueError(
                f"batched's max_buffer must be an int >= max_items={max_items}, got {max_buffer!r}"
            )
        self._source = source
        self._iterator: AsyncIterator[T] = iterate(source, "batched's source")
        self._max_items = max_items
        self._max_delay = max_delay
        self._capacity = capacity
        self._buffer: deque[T] = deque()
        self._arrivals: deque[float] = deque()
        #: Set by the producer when something changed while the consumer waits.
        self._arrived: anyio.Event | None = None
        #: Set by the consumer when it made room while the producer waits.
        self._room: anyio.Event | None = None
        self._finished = False
        self._source_closed = False
        self._batches = 0
        self._items = 0
        super().__init__()

    def __aiter__(self) -> Batches[T]:
        return self

    async def __anext__(self) -> list[T]:
        if self._state != "open":
            if self._state == "new":
                raise RuntimeError("enter the batcher first: `async with batched(...) as batches:`")
            raise anyio.ClosedResourceError("the batcher was closed")
        buffer = self._buffer
        max_items = self._max_items
        max_delay = self._max_delay
        while True:
            count = len(buffer)
            if count >= max_items:
                return self._take(max_items)
            if self._finished:
                if count:
                    return self._take(count)
                raise self._ending()
            if count and max_delay is not None:
                deadline = self._arrivals[0] + max_delay
                if anyio.current_time() >= deadline:
                    return self._take(count)
                with anyio.move_on_at(deadline):
                    await self._wait_for_arrival()
            else:
                await self._wait_for_arrival()

    def pending(self) -> list[T]:
        """Items read from the source and not delivered yet (what was left after `aclose`)."""
        return list(self._buffer)

    def statistics(self) -> BatchStatistics:
        """How many batches and items went out, and how full the buffer is."""
        return BatchStatistics(
            batches=self._batches,
            items=self._items,
            buffered=len(self._buffer),
            max_buffer=self._capacity,
            finished=self._finished,
        )

    def __del__(self) -> None:
        if self._state == "new" and release_unclosed(
            "batched(...) was never entered: use `async with batched(...) as batches:` so "
            "its source is closed",
            (self._iterator, self._source),
        ):
            self._state = "closed"

    def _take(self, count: int) -> list[T]:
        buffer = self._buffer
        arrivals = self._arrivals
        if count == len(buffer):
            batch = list(buffer)
            buffer.clear()
            arrivals.clear()
        else:
            popleft = buffer.popleft
            batch = [popleft() for _ in range(count)]
            popleft_arrival = arrivals.popleft
            for _ in range(count):
                popleft_arrival()
        self._batches += 1
        self._items += count
        if self._room is not None:
            self._room.set()
        return batch

    async def _wait_for_arrival(self) -> None:
        arrived = self._arrived = anyio.Event()
        try:
            await arrived.wait()
        finally:
            self._arrived = None

    async def _produce(self) -> None:
        buffer = self._buffer
        arrivals = self._arrivals
        capacity = self._capacity
        iterator = self._iterator
        clock = anyio.current_time
        try:
            while True:
                while len(buffer) >= capacity:
                    room = self._room = anyio.Event()
                    try:
                        await room.wait()
                    finally:
                        self._room = None
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                buffer.append(item)
                arrivals.append(clock())
                if self._arrived is not None:
                    self._arrived.set()
        except Exception as error:
            self._fail(error)
        finally:
            self._finished = True
            if self._arrived is not None:
                self._arrived.set()

    async def _close_sources(self) -> None:
        if not self._source_closed:
            self._source_closed = True
            await close_source(self._iterator, self._source)


def batched(
    source: AsyncIterable[T],
    /,
    max_items: int,
    max_delay: float | None = None,
    *,
    max_buffer: int | None = None,
) -> Batches[T]:
    """Group `source`'s items into lists of at most `max_items`, in order.

    A partial batch goes out once `max_delay` seconds have passed since its first item arrived
    (`None`: only when full or at the end). A producer task reads ahead at most `max_buffer`
    items (default `max_items`), so it needs an owner::

        async with batched(rows, 100, 0.5) as batches:
            async for batch in batches:
                await store(batch)

    Nothing is lost: at the end the last partial batch is delivered; when the source fails, the
    items that arrived before the failure are delivered first (in batches, as usual) and the
    error is raised by the iteration after them. Items read but not delivered when you leave
    early are in `pending()`.
    """
    return Batches(source, max_items=max_items, max_delay=max_delay, max_buffer=max_buffer)
