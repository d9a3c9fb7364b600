"""`ReadAhead`: a bounded read-ahead task, shared by `EventSource` and `WebSocketStream`.

The task calls the stream's own batch read (`read()`: every item one read completed, an empty
list at the end) and hands each batch over through a memory stream. Items are whole batches,
so the consumer's cost per item stays a list index; the bound, in items, is kept by `_room`:
when `bound` items wait untaken, the task stops reading, so TCP holds the server back. An
error the read raises is handed over in order, after the items read before it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar, final

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["ReadAhead"]

T = TypeVar("T")


@final
class ReadAhead(Generic[T]):
    """At most `bound` items read ahead, in a task of the owner's task group (`start`).

    Made by the owner when its `async with` block is entered; it holds no reference to the
    owner (only the running task does), so a stream dropped unclosed is still freed, and
    warned about, as soon as it is unreachable.
    """

    def __init__(self, bound: int) -> None:
        self._bound = bound
        self._receiver: MemoryObjectReceiveStream[list[T]] | None = None
        #: Items read ahead and not yet taken; the task waits on `_room` while it is >= bound.
        self._buffered = 0
        self._room: anyio.Event | None = None
        self._error: BaseException | None = None

    @property
    def buffered(self) -> int:
        """Items read ahead and not yet taken."""
        return self._buffered

    @property
    def waiting(self) -> bool:
        """True while the task waits for room: the server is being held back."""
        return self._room is not None

    def start(
        self,
        group: anyio.abc.TaskGroup,
        read: Callable[[], Awaitable[list[T]]],
        after_batch: Callable[[], BaseException | None] | None = None,
    ) -> None:
        """Start reading ahead in `group` (the owner's `async with` block) with `read`, the
        owner's batch read. `after_batch`, when given, is asked after each batch for an error
        that read left for after its items: the task hands it over after them, and stops."""
        # A batch per item: the memory stream's own bound only backs up `_room`'s.
        sender, receiver = anyio.create_memory_object_stream[list[T]](self._bound)
        self._receiver = receiver
        group.start_soon(self._run, sender, read, after_batch)

    def close(self) -> None:
        """Stop handing items over (the task itself ends with its task group)."""
        if self._receiver is not None:
            self._receiver.close()

    async def receive(self) -> list[T]:
        """Every item read ahead so far (waiting for one batch at least); an empty list at
        the end; the read's error once the items before it were taken."""
        receiver = self._receiver
        assert receiver is not None, "started first"
        try:
            batch = await receiver.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            error, self._error = self._error, None
            if error is not None:
                raise error from None
            return []
        while True:
            try:
                batch += receiver.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        self._buffered -= len(batch)
        room = self._room
        if room is not None and self._buffered < self._bound:
            self._room = None
            room.set()
        return batch

    async def _run(
        self,
        sender: MemoryObjectSendStream[list[T]],
        read: Callable[[], Awaitable[list[T]]],
        after_batch: Callable[[], BaseException | None] | None,
    ) -> None:
        with sender:
            try:
                while True:
                    while self._buffered >= self._bound:
                        # Full: stop reading, so TCP holds the server back.
                        self._room = anyio.Event()
                        await self._room.wait()
                    items = await read()
                    if not items:
                        return
                    self._buffered += len(items)
                    await sender.send(items)
                    if after_batch is not None:
                        error = after_batch()
                        if error is not None:
                            self._error = error
                            return
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                # Handed to the consumer in order, after the items read before it.
                self._error = exc
