"""Releasing what an object dropped unclosed still holds, from its finaliser (`__del__`).

A finaliser cannot await, yet closing an HTTP response or an async generator does. asyncio and
trio both install an async generator finaliser hook (`sys.set_asyncgen_hooks`) for exactly this
situation: when an unfinished async generator is collected, the event loop runs its `aclose()`
soon, in a task of its own. `close_soon` hands our closing to that hook through a one-step
async generator, so the close runs on whichever event loop is current, through anyio, with no
import of asyncio or trio.

Trio announces each generator it finalises that way with a `ResourceWarning`. The object being
finalised has just warned about the leak in its own words, so that second, misleading warning is
silenced; and because the close runs to its end, nothing the object held is left to be collected
unexhausted later (trio would warn about each of httpx's byte iterators in turn, during whatever
runs next).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable
from types import AsyncGeneratorType

import anyio

__all__ = ["close_soon", "finish_async_generator"]


async def _close_on_finalization(
    pending: list[Callable[[], Awaitable[object]]],
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if pending:  # emptied when the loop refused the generator: nothing to await then
            await pending.pop()()


def close_soon(close: Callable[[], Awaitable[object]]) -> bool:
    """From a finaliser: have the running event loop await `close()` soon; False if it cannot.

    `close` must not refer to the object being finalised (that would resurrect it). It runs in
    a task of the event loop's own (trio runs it in an already-cancelled scope: shield what must
    finish). False when this thread runs no event loop task right now (the object was collected
    after the loop ended, in another thread, or between trio's tasks): there is nothing to run
    the close on, and the caller releases what it can synchronously instead.
    """
    finalizer = sys.get_asyncgen_hooks().finalizer
    if finalizer is None:
        return False
    try:
        # Trio finalises a generator as its own only when it was first iterated inside a task;
        # one first iterated elsewhere gets a synchronous close that cannot await.
        anyio.get_current_task()
    except Exception:
        return False
    pending = [close]
    carrier = _close_on_finalization(pending)
    with contextlib.suppress(StopIteration):
        # One step: the generator is now suspended at its `yield`, registered with the loop.
        carrier.asend(None).send(None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            # What the interpreter does when `carrier` is collected unfinished, done now, so it
            # happens inside this block whatever the garbage collector's timing.
            finalizer(carrier)
    except Exception:
        # The loop is shutting down and takes no more work: end the carrier here, without
        # its close, so its collection later has nothing to hand to that loop either.
        pending.clear()
        finish_async_generator(carrier)
        return False
    return True


def finish_async_generator(iterator: object) -> None:
    """Close `iterator` synchronously if it is a suspended async generator; no-op otherwise.

    Throws `GeneratorExit` in at its `yield` and runs its cleanup one step. Cleanup that needs
    to await cannot run without an event loop: it gets `GeneratorExit` at that first `await`,
    which ends the generator there (instead of leaving it half-closed, or raising "async
    generator ignored GeneratorExit" when it is collected). What it held is then released by
    its own finaliser, if it has one.
    """
    if not isinstance(iterator, AsyncGeneratorType) or iterator.ag_running:
        return
    if iterator.ag_frame is None:
        return  # finished already
    closing = iterator.aclose()
    try:
        closing.send(None)
    except BaseException:
        # StopIteration: closed without awaiting. Anything else: its cleanup failed, which a
        # finaliser can only drop; the generator is finished either way.
        return
    try:
        closing.throw(GeneratorExit)
    except BaseException:
        return
    closing.close()
