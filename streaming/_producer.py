"""What `batched` and `merge` share: an async iterator fed by a producer task that lives for the
`async with` block the iterator is entered in.

Leaving the block, or `aclose()`, stops the producer and waits, shielded, until it has closed
the sources: a stream over HTTP hands its connection back even when the block is cancelled.
An iterator that never ran its producer closes the sources itself.

The producer never raises: it keeps its error for the consumer, who gets it after every item
that came before it. So the task group entered with the block is never handed the body's own
exception, which then propagates as itself instead of wrapped in an exception group (anyio and
trio both would wrap it).
"""

from __future__ import annotations

from types import TracebackType
from typing import ClassVar, TypeVar

import anyio
import anyio.abc

__all__ = ["ProducedIterator"]

_P = TypeVar("_P", bound="ProducedIterator")


class ProducedIterator:
    """The base of an iterator fed by a producer task. Subclasses call `super().__init__()`
    once their arguments are checked, and provide `_produce()` (the producer's work, run in
    its cancel scope) and `_close_sources()` (idempotent; run once the producer stops, or by
    `aclose()` when it never ran)."""

    # Defaults `__del__` can read even when `__init__` rejected its arguments.
    _state = "closed"
    #: How messages name the iterator ("a merge"), and the producer task's name.
    _kind: ClassVar[str]
    _task_name: ClassVar[str]

    def __init__(self) -> None:
        self._group: anyio.abc.TaskGroup | None = None
        self._producer = anyio.CancelScope()
        self._running = False
        self._stopped = anyio.Event()
        self._error: BaseException | None = None
        self._error_traceback: TracebackType | None = None
        self._state = "new"

    async def _produce(self) -> None:
        raise NotImplementedError

    async def _close_sources(self) -> None:
        raise NotImplementedError

    def _open(self) -> None:
        """Make what the producer needs, on entry (nothing by default)."""

    async def __aenter__(self: _P) -> _P:
        if self._state != "new":
            raise RuntimeError(f"{self._kind} can be entered only once")
        self._open()
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        self._state = "open"
        group.start_soon(self._run, name=self._task_name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        await self.aclose()
        group, self._group = self._group, None
        if group is not None:
            await group.__aexit__(None, None, None)
        return False

    async def aclose(self) -> None:
        """Stop the producer and close the sources; waits for that even when cancelled."""
        state, self._state = self._state, "closed"
        self._producer.cancel()
        if state == "closed":
            return
        with anyio.CancelScope(shield=True):
            if self._running:
                await self._stopped.wait()
            else:
                # Nothing ran (never entered, or cancelled before the first step), but the
                # sources were handed over to be closed.
                await self._close_sources()

    async def _run(self) -> None:
        self._running = True
        try:
            with self._producer:
                await self._produce()
        finally:
            await self._close_sources()
            self._stopped.set()

    def _fail(self, error: Exception) -> None:
        """Keep the producer's first error for the consumer."""
        if self._error is None:
            self._error = error
            self._error_traceback = error.__traceback__

    def _ending(self) -> BaseException:
        """What ends the iteration once every item is out: the producer's error, if any."""
        error = self._error
        if error is None:
            return StopAsyncIteration()
        return error.with_traceback(self._error_traceback)
