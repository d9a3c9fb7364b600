"""`tee`: several consumers of one source, each with a bounded buffer, without a background task.

Pull-based: the consumer that needs an item nobody has read yet reads it from the source itself
(one reader at a time), and leaves a copy in every other consumer's buffer. Nothing runs between
reads, so the source is read only as fast as the fastest consumer asks, and a source over HTTP
keeps its TCP backpressure. A consumer that falls `max_buffer` items behind either makes the
others wait (`on_lag="wait"`) or is cut off with `TeeLagError` once it has read what it was
given (`on_lag="error"`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Literal, TypeVar, final

import anyio

from ._compose import close_source, iterate, release_unclosed
from ._errors import StreamingError

__all__ = ["Tee", "TeeConsumer", "TeeInterruptedError", "TeeLagError", "TeeStatistics", "tee"]

T = TypeVar("T")

#: Items each consumer may hold before the lag policy applies, unless told otherwise.
DEFAULT_TEE_BUFFER = 256


@final
class TeeLagError(StreamingError):
    """A consumer of `tee(..., on_lag="error")` fell more than `max_buffer` items behind.

    It is raised to that consumer only, after it has read every item it was given; the other
    consumers go on. `consumer` is its index, `max_buffer` the bound it exceeded.
    """

    def __init__(self, *, consumer: int, max_buffer: int) -> None:
        self.consumer = consumer
        self.max_buffer = max_buffer
        super().__init__(
            f"tee consumer {consumer} fell more than max_buffer={max_buffer} items behind the "
            'others and was cut off; read it faster, raise max_buffer, or use on_lag="wait"'
        )


@final
class TeeInterruptedError(StreamingError):
    """A consumer was cancelled while it was reading the shared source for everyone.

    A read interrupted half-way may leave the source in a state where the rest of the stream
    cannot be known, so the other consumers get this error (after their buffered items) instead
    of a stream that silently ends early. `consumer` is the index of the cancelled one.
    """

    def __init__(self, *, consumer: int) -> None:
        self.consumer = consumer
        super().__init__(
            f"tee consumer {consumer} was cancelled while reading the shared source, so the "
            "rest of the stream is unknown; cancel the whole tee block rather than one consumer"
        )


@final
@dataclass(frozen=True, slots=True)
class TeeStatistics:
    """A snapshot of a tee's buffers."""

    #: Items read from the source so far.
    items_read: int
    #: The per-consumer bound (`math.inf` when unbounded).
    max_buffer: float
    #: Items waiting in each consumer's buffer, by consumer index.
    buffered: tuple[int, ...]
    #: Consumers still receiving new items (not closed, not cut off).
    active_consumers: int
    #: Indexes of the consumers cut off by `on_lag="error"`.
    lagged: tuple[int, ...]
    #: Whether the source has ended (normally or with an error).
    finished: bool


@final
class TeeConsumer(Generic[T]):
    """One consumer of a `tee`: an async iterator over every item of the source, in order."""

    __slots__ = ("_tee", "index")

    def __init__(self, owner: Tee[T], index: int) -> None:
        self._tee = owner
        #: This consumer's position in the tuple `tee` returned.
        self.index = index

    def __aiter__(self) -> TeeConsumer[T]:
        return self

    async def __anext__(self) -> T:
        return await self._tee._next(self.index)

    async def aclose(self) -> None:
        """Stop receiving items: drop this consumer's buffer so it never holds the others back.

        When every consumer is closed, the source is closed too.
        """
        await self._tee._detach(self.index)

    @property
    def buffered(self) -> int:
        """How many items wait in this consumer's buffer."""
        return len(self._tee._buffers[self.index])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TeeConsumer):
            return NotImplemented
        return self._tee is other._tee and self.index == other.index

    def __hash__(self) -> int:
        return hash((id(self._tee), self.index))

    def __repr__(self) -> str:
        return f"<TeeConsumer {self.index} of {len(self._tee)}>"


@final
class Tee(Generic[T]):
    """The owner of a tee: an async context manager whose value is the tuple of consumers.

    Leaving the block (or `aclose()`) closes the source, also when the consumers stopped early.
    """

    # Defaults `__del__` can read even when `__init__` rejected its arguments.
    _items_read = 0
    _source_closed = True
    _error_traceback: TracebackType | None = None

    def __init__(
        self,
        source: AsyncIterable[T],
        n: int,
        *,
        max_buffer: float,
        on_lag: Literal["wait", "error"],
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"tee needs n >= 1 consumers, got {n!r}")
        if not (max_buffer == math.inf or (isinstance(max_buffer, int) and max_buffer >= 1)):
            raise ValueError(
                f"tee's max_buffer must be an int >= 1 or math.inf, got {max_buffer!r}"
            )
        if on_lag not in ("wait", "error"):
            raise ValueError(f'tee\'s on_lag must be "wait" or "error", got {on_lag!r}')
        self._source = source
        self._iterator: AsyncIterator[T] = iterate(source, "tee's source")
        self._max_buffer = max_buffer
        self._wait_on_lag = on_lag == "wait"
        self._buffers: list[deque[T]] = [deque() for _ in range(n)]
        self._active = [True] * n
        self._lag_errors: list[TeeLagError | None] = [None] * n
        # Consumers are made on demand and never stored: a consumer refers to its tee, and a
        # tee that referred back would only be freed by the cycle collector, at a time of its
        # choosing, rather than as soon as the last reference goes.
        self._n = n
        #: Whether a consumer is reading the source (or waiting for room to) for everyone.
        self._reading = False
        #: Set when that read ends, while other consumers wait for it.
        self._read_done: anyio.Event | None = None
        #: Set when a full buffer shrinks or a consumer leaves, while a reader waits for room.
        self._room: anyio.Event | None = None
        #: Whether the reader is inside the source's `__anext__` right now.
        self._in_read = False
        #: Whether the source should be closed (the tee was closed, or every consumer was).
        self._closing = False
        self._items_read = 0
        self._finished = False
        self._error: BaseException | None = None
        self._closed = False
        self._source_closed = False

    # -- the owner's side -------------------------------------------------------------------

    async def __aenter__(self) -> tuple[TeeConsumer[T], ...]:
        return tuple(self)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the source; consumers then raise `anyio.ClosedResourceError` once drained.

        Idempotent; finishes even when the caller is cancelled. If a consumer in another task is
        inside a read of the source right now, that consumer closes the source as soon as its
        read ends (or is cancelled), and then raises `anyio.ClosedResourceError`.
        """
        self._closed = True
        self._wake_reader()
        await self._close_source()

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: int) -> TeeConsumer[T]:
        return TeeConsumer(self, range(self._n)[index])

    def __iter__(self) -> Iterator[TeeConsumer[T]]:
        return (TeeConsumer(self, index) for index in range(self._n))

    def statistics(self) -> TeeStatistics:
        """How full each consumer's buffer is, and who fell behind."""
        return TeeStatistics(
            items_read=self._items_read,
            max_buffer=self._max_buffer,
            buffered=tuple(len(buffer) for buffer in self._buffers),
            active_consumers=sum(self._active),
            lagged=tuple(i for i, error in enumerate(self._lag_errors) if error is not None),
            finished=self._finished,
        )

    def __del__(self) -> None:
        if self._items_read and not self._source_closed:
            self._source_closed = release_unclosed(
                "tee(...) was not closed: use `async with tee(source, n) as consumers:` so its "
                "source is closed",
                (self._iterator, self._source),
            )

    # -- the consumers' side ----------------------------------------------------------------

    async def _next(self, index: int) -> T:
        buffer = self._buffers[index]
        if buffer:
            return self._take(buffer)
        while True:
            self._raise_if_done(index)
            if self._reading:
                # One reader at a time; its item lands in our buffer too.
                await self._wait_for_read()
                if buffer:
                    return self._take(buffer)
                continue
            self._reading = True
            try:
                if self._wait_on_lag and not await self._wait_for_room(index):
                    continue
                return await self._read(index)
            finally:
                self._reading = False
                done = self._read_done
                if done is not None:
                    self._read_done = None
                    done.set()

    async def _wait_for_read(self) -> None:
        done = self._read_done
        if done is None:
            done = self._read_done = anyio.Event()
        await done.wait()

    def _take(self, buffer: deque[T]) -> T:
        item = buffer.popleft()
        if self._room is not None and len(buffer) + 1 >= self._max_buffer:
            self._room.set()
        return item

    def _raise_if_done(self, index: int) -> None:
        lag_error = self._lag_errors[index]
        if lag_error is not None:
            raise lag_error
        if not self._active[index]:
            raise anyio.ClosedResourceError(f"tee consumer {index} was closed")
        if self._finished:
            error = self._error
            if error is None:
                raise StopAsyncIteration
            # The traceback as first caught, so it does not grow with every consumer it reaches.
            raise error.with_traceback(self._error_traceback)
        if self._closed:
            raise anyio.ClosedResourceError("the tee was closed")

    async def _wait_for_room(self, index: int) -> bool:
        """Wait until no other active consumer's buffer is full; False if anything changed."""
        buffers = self._buffers
        active = self._active
        limit = self._max_buffer
        for other, buffer in enumerate(buffers):
            if other != index and active[other] and len(buffer) >= limit:
                room = self._room = anyio.Event()
                try:
                    await room.wait()
                finally:
                    self._room = None
                return False
        return True

    async def _read(self, index: int) -> T:
        # No cancel scope around the read: at ~3 µs (asyncio) to ~6 µs (trio) each it would cost
        # more than the rest of the tee. A close that arrives mid-read leaves the closing to this
        # reader instead, as soon as its read ends.
        self._in_read = True
        try:
            item = await self._iterator.__anext__()
        except StopAsyncIteration:
            self._finished = True
            raise
        except Exception as error:
            self._finished = True
            self._error = error
            self._error_traceback = error.__traceback__
            raise
        except BaseException:
            if not self._finished:
                # Cancelled mid-read: the source's state is unknown, so nobody may read on.
                self._finished = True
                self._error = TeeInterruptedError(consumer=index)
                self._error_traceback = None
            raise
        finally:
            self._in_read = False
            if self._finished or self._closing:
                await self._close_source_now()
        if self._closing:
            raise anyio.ClosedResourceError("the tee was closed")
        self._items_read += 1
        self._share(index, item)
        return item

    def _share(self, reader: int, item: T) -> None:
        limit = self._max_buffer
        active = self._active
        for other, buffer in enumerate(self._buffers):
            if other == reader or not active[other]:
                continue
            if len(buffer) >= limit:
                # Only reachable with on_lag="error": "wait" made room before reading.
                active[other] = False
                self._lag_errors[other] = TeeLagError(consumer=other, max_buffer=int(limit))
            else:
                buffer.append(item)

    async def _detach(self, index: int) -> None:
        self._active[index] = False
        self._buffers[index].clear()
        self._wake_reader()
        if not any(self._active):
            await self._close_source()

    def _wake_reader(self) -> None:
        if self._room is not None:
            self._room.set()

    async def _close_source(self) -> None:
        self._closing = True
        if not self._in_read:
            await self._close_source_now()

    async def _close_source_now(self) -> None:
        if not self._source_closed:
            self._source_closed = True
            await close_source(self._iterator, self._source)


def tee(
    source: AsyncIterable[T],
    n: int = 2,
    /,
    *,
    max_buffer: float = DEFAULT_TEE_BUFFER,
    on_lag: Literal["wait", "error"] = "wait",
) -> Tee[T]:
    """Split one async iterable into `n` consumers that each see every item, in order.

    Use it as an async context manager; it owns the source and closes it when the block ends::

        async with tee(events, 2) as (to_screen, to_log):
            async with anyio.create_task_group() as group:
                group.start_soon(show, to_screen)
                group.start_soon(record, to_log)

    Each consumer holds at most `max_buffer` items it has not read yet (`math.inf`: unbounded).
    When one is that far behind, `on_lag="wait"` makes the others wait for it (backpressure down
    to the source); `on_lag="error"` cuts the laggard off: it reads what it was given, then
    `TeeLagError`, while the others go on. An error from the source reaches every consumer after
    its buffered items. Close a consumer you stop reading (`await consumer.aclose()`), or in
    "wait" mode it holds the others back.
    """
    return Tee(source, n, max_buffer=max_buffer, on_lag=on_lag)
