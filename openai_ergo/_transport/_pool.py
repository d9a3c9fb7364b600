"""A pool of HTTP/1.1 connections per origin, with httpx's limits and keep-alive expiry."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable

import anyio
import httpx

from openai_ergo._transport._connection import HTTP11Connection
from openai_ergo._transport._network import Origin

__all__ = ["ConnectionPool"]

Connect = Callable[[Origin, "float | None"], Awaitable[HTTP11Connection]]


class ConnectionPool:
    """Hands out one connection per request and takes it back when the response ends.

    Every live connection holds a slot: busy, idle, or being opened. At most
    `max_connections` slots exist; when all are taken, an idle connection to another origin
    is closed to make room, else the request waits (up to its pool timeout) in arrival order.
    At most `max_keepalive_connections` idle connections are kept, each for at most
    `keepalive_expiry` seconds; an idle connection the peer closed is never handed out.
    Idle time is read from `time.monotonic`, as httpx's default transport reads it: the
    event loop's clock costs a lookup of the running loop per read, twice per request.
    """

    def __init__(
        self,
        connect: Connect,
        limits: httpx.Limits,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._max_connections = limits.max_connections
        self._max_keepalive = limits.max_keepalive_connections
        self._expiry = limits.keepalive_expiry
        self._clock = clock
        self._idle: dict[Origin, list[HTTP11Connection]] = {}
        self._idle_count = 0
        self._busy: set[HTTP11Connection] = set()
        # Connections of responses dropped unclosed: a finaliser cannot await a close, so
        # the next pool operation closes them (before any new connection is opened).
        self._abandoned: list[HTTP11Connection] = []
        self._opening = 0
        self._waiters: deque[anyio.Event] = deque()
        self._closed = False

    def statistics(self) -> dict[str, int]:
        """Counts of busy, idle and opening connections, and of requests waiting for one."""
        return {
            "busy": len(self._busy),
            "idle": self._idle_count,
            "opening": self._opening,
            "waiting": len(self._waiters),
        }

    @property
    def _slots_taken(self) -> int:
        return len(self._busy) + self._idle_count + self._opening

    async def acquire(
        self,
        origin: Origin,
        *,
        pool_timeout: float | None,
        connect_timeout: float | None,
        fresh: bool = False,
    ) -> HTTP11Connection:
        """A connection to `origin`: an idle one when there is one (unless `fresh`), else a
        new one. Raises `httpx.PoolTimeout` when no slot frees up in time."""
        to_close: list[HTTP11Connection] = []
        # The loop's first step, before its cancel scope: an idle connection ready now (the
        # common case) needs no scope for the pool timeout, and neither does a slot free now
        # for a new connection. Under trio a deadline stays in the run loop's heap long after
        # its block ends (until it expires or a thousand stale ones are pruned), holding the
        # scope: many streams opening at once kept one each (docs/performance.md).
        self._check_open()
        ready, reserved_now = self._take(origin, fresh, to_close)
        if ready is not None and not to_close:
            return ready
        if to_close or not reserved_now:
            ready = await self._wait(origin, fresh, to_close, (ready, reserved_now), pool_timeout)
            if ready is not None:
                return ready
        try:
            connection = await self._connect(origin, connect_timeout)
        except BaseException:
            self._opening -= 1
            self._wake_one()
            raise
        self._opening -= 1
        try:
            self._check_open()
        except RuntimeError:
            await connection.aclose()
            raise
        self._busy.add(connection)
        return connection

    async def _wait(
        self,
        origin: Origin,
        fresh: bool,
        to_close: list[HTTP11Connection],
        first: tuple[HTTP11Connection | None, bool] | None,
        pool_timeout: float | None,
    ) -> HTTP11Connection | None:
        """Close the stale connections `_take` found, and wait for a connection or a slot:
        the connection, or None when a slot for a new one was reserved."""
        event: anyio.Event | None = None
        woken = False
        try:
            with anyio.fail_after(pool_timeout):
                while True:
                    if first is not None:
                        (connection, reserved), first = first, None
                    else:
                        self._check_open()
                        connection, reserved = self._take(origin, fresh, to_close)
                    if to_close:
                        for stale in to_close:
                            await stale.aclose()
                        to_close.clear()
                    if connection is not None:
                        return connection
                    if reserved:
                        return None
                    event = anyio.Event()
                    if woken:
                        # Woken but beaten to the slot: keep this request's place in line.
                        self._waiters.appendleft(event)
                    else:
                        self._waiters.append(event)
                    await event.wait()
                    event = None
                    woken = True
        except TimeoutError:
            raise httpx.PoolTimeout(
                f"no connection became free within the pool timeout ({pool_timeout} s)"
            ) from None
        finally:
            if event is not None:
                if event.is_set():
                    # Woken but leaving (cancelled or timed out): pass the turn on.
                    self._wake_one()
                else:
                    self._waiters.remove(event)

    def _take(
        self, origin: Origin, fresh: bool, to_close: list[HTTP11Connection]
    ) -> tuple[HTTP11Connection | None, bool]:
        """Without awaiting: an idle connection, or a reserved slot for a new one, or neither.
        Connections to drop (abandoned, expired, closed by the peer, evicted) go to `to_close`."""
        if self._abandoned:
            self._take_abandoned(to_close)
        if self._idle_count:
            self._expire(to_close)
        idle = self._idle.get(origin)
        while idle and not fresh:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.is_reusable_idle():
                self._busy.add(connection)
                return connection, False
            to_close.append(connection)
        if self._max_connections is not None and self._slots_taken >= self._max_connections:
            oldest = self._oldest_idle()
            if oldest is None:
                return None, False
            self._remove_idle(oldest)
            to_close.append(oldest)
        self._opening += 1
        return None, True

    async def release(self, connection: HTTP11Connection) -> None:
        """Take back a connection whose response ended cleanly, to keep it alive."""
        self._busy.discard(connection)
        to_close: list[HTTP11Connection] = []
        if self._abandoned:
            self._take_abandoned(to_close)
        if self._closed or connection.closed or self._max_keepalive == 0:
            to_close.append(connection)
            self._wake_one()
            await _close_all(to_close)
            return
        now = connection.idle_since = self._clock()
        idle = self._idle.get(connection.origin)
        if idle is None:
            self._idle[connection.origin] = [connection]
        else:
            idle.append(connection)
        self._idle_count += 1
        if self._idle_count > 1 or self._expiry == 0:
            # Alone in the pool, the connection released now is due only with no expiry time.
            self._expire(to_close, now)
        if self._max_keepalive is not None:
            while self._idle_count > self._max_keepalive:
                oldest = self._oldest_idle()
                assert oldest is not None
                self._remove_idle(oldest)
                to_close.append(oldest)
        if self._waiters:
            self._waiters.popleft().set()
        if to_close:
            await _close_all(to_close)

    async def discard(self, connection: HTTP11Connection) -> None:
        """Close a connection that must not be reused, and free its slot."""
        self._busy.discard(connection)
        to_close = [connection]
        self._take_abandoned(to_close)
        await _close_all(to_close)
        self._wake_one()

    def abandon(self, connection: HTTP11Connection) -> None:
        """Free the slot of a connection whose response was dropped unclosed (from a
        finaliser, which cannot await): its socket is closed by the next pool operation,
        or by `aclose()`, and never left to garbage collection."""
        if connection in self._busy:
            self._busy.discard(connection)
            self._abandoned.append(connection)
            self._wake_one()

    async def aclose(self) -> None:
        """Close every connection, idle or busy; finishes even when cancelled."""
        self._closed = True
        connections = [c for idle in self._idle.values() for c in idle] + list(self._busy)
        self._take_abandoned(connections)
        self._idle.clear()
        self._idle_count = 0
        self._busy.clear()
        while self._waiters:
            self._waiters.popleft().set()
        await _close_all(connections)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the transport was closed; no request can be sent")

    def _take_abandoned(self, to_close: list[HTTP11Connection]) -> None:
        if self._abandoned:
            # Swap, not extend-then-clear: a finaliser may append between those two steps.
            abandoned, self._abandoned = self._abandoned, []
            to_close.extend(abandoned)

    def _expire(self, to_close: list[HTTP11Connection], now: float | None = None) -> None:
        if self._expiry is None or not self._idle_count:
            return
        deadline = (self._clock() if now is None else now) - self._expiry
        for idle in self._idle.values():
            # Each list is in release order: its first connection is its oldest.
            if idle and idle[0].idle_since <= deadline:
                break
        else:
            return
        for origin, idle in list(self._idle.items()):
            keep = [c for c in idle if c.idle_since > deadline]
            if len(keep) != len(idle):
                to_close.extend(c for c in idle if c.idle_since <= deadline)
                self._idle_count -= len(idle) - len(keep)
                if keep:
                    self._idle[origin] = keep
                else:
                    del self._idle[origin]

    def _oldest_idle(self) -> HTTP11Connection | None:
        oldest: HTTP11Connection | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest.idle_since):
                oldest = idle[0]
        return oldest

    def _remove_idle(self, connection: HTTP11Connection) -> None:
        idle = self._idle[connection.origin]
        idle.remove(connection)
        self._idle_count -= 1
        if not idle:
            del self._idle[connection.origin]

    def _wake_one(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()


async def _close_all(connections: list[HTTP11Connection]) -> None:
    """Close each connection; each close is shielded, so this finishes even when cancelled."""
    for connection in connections:
        await connection.aclose()
