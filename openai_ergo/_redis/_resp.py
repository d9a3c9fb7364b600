"""A lean Redis connection for the one call on every request's path: running a Lua script.

coredis serves every other call. On this path it costs about 300-400 µs of CPU per command
(its per-command machinery: a request object, the pool, writer and reader tasks that hand the
request and its reply across memory streams, telemetry hooks), measured by the `evalsha` row of
`benchmarks/redis_admission.py`; that is more than twice the whole admission budget. This
connection writes the command in RESP and reads the reply on one socket, under a lock: what a
script call needs, and nothing else. The replies parsed are the ones scripts return (RESP2:
simple strings, errors, integers, bulk strings, arrays and nil).

A call interrupted half-way (by its timeout or a cancellation) leaves the socket in an unknown
place of the exchange, so the socket is dropped and the next call opens a new one. Commands
arrive encoded (`encode`, or parts a caller encoded once with `bulk`), so a caller that sends
the same keys on every call encodes them once.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import socket
import ssl
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import anyio
import anyio.abc

_CRLF = b"\r\n"


class ReplyError(Exception):
    """Redis answered the command with an error reply (`-ERR ...`, `-NOSCRIPT ...`)."""


class ProtocolError(Exception):
    """The bytes from Redis were not a RESP reply."""


class _Incomplete(Exception):
    pass


_bulk_strings: dict[str, bytes] = {}


def bulk(part: str | bytes | int | float) -> bytes:
    """`part` as a RESP bulk string (`$LENGTH CRLF DATA CRLF`)."""
    if isinstance(part, str):
        # Keys, digests and command names repeat on every call: encoded once.
        cached = _bulk_strings.get(part)
        if cached is None:
            data = part.encode()
            cached = b"$%d\r\n%s\r\n" % (len(data), data)
            if len(_bulk_strings) < 4096:
                _bulk_strings[part] = cached
        return cached
    data = (
        part
        if isinstance(part, bytes)
        else b"%d" % part
        if isinstance(part, int)
        else repr(part).encode()
    )
    return b"$%d\r\n%s\r\n" % (len(data), data)


def encode(*parts: str | bytes | int | float) -> bytes:
    """One command as a RESP array of bulk strings."""
    return b"*%d\r\n" % len(parts) + b"".join(map(bulk, parts))


def parse(buffer: bytes | bytearray, start: int = 0) -> tuple[Any, int]:
    """One reply from `buffer` at `start`: the value and where the next one begins. Raises
    `_Incomplete` when the buffer does not hold a whole reply yet."""
    end = buffer.find(_CRLF, start)
    if end < 0:
        raise _Incomplete
    kind, line = buffer[start : start + 1], bytes(buffer[start + 1 : end])
    after = end + 2
    if kind == b"+":
        return line, after
    if kind == b"-":
        return ReplyError(line.decode("utf-8", "replace")), after
    if kind == b":":
        return int(line), after
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, after
        if len(buffer) < after + size + 2:
            raise _Incomplete
        return bytes(buffer[after : after + size]), after + size + 2
    if kind == b"*":
        count = int(line)
        if count < 0:
            return None, after
        items = []
        for _ in range(count):
            item, after = parse(buffer, after)
            items.append(item)
        return items, after
    raise ProtocolError(f"not a RESP reply: {bytes(buffer[start : start + 40])!r}")


class _SocketTransport:
    """A plain non-blocking socket, waited on with `anyio.wait_readable`/`wait_writable`:
    a third of the CPU per round trip of an anyio socket stream, measured on both backends."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    async def connect(cls, family: int, address: Any) -> _SocketTransport:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex(address)
            if code in (errno.EINPROGRESS, errno.EAGAIN):
                await anyio.wait_writable(sock)
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, f"cannot connect to {address!r}: {os.strerror(code)}")
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    async def send(self, data: bytes) -> None:
        try:
            sent = self._sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):  # a command fits the socket's buffer: the common case
            return
        view = memoryview(data)[sent:]
        await anyio.wait_writable(self._sock)
        while view:
            try:
                sent = self._sock.send(view)
            except BlockingIOError:
                sent = 0
            view = view[sent:]
            if view:
                await anyio.wait_writable(self._sock)

    async def receive(self) -> bytes:
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                await anyio.wait_readable(self._sock)
                continue
            if not data:
                raise anyio.EndOfStream
            return data

    async def receive_reply(self) -> bytes:
        """The first bytes of the reply to a command just sent: waited for before the first
        `recv`, since Redis cannot have answered yet (a `recv` that would only fail with
        EAGAIN costs a system call on every round trip)."""
        sock = self._sock
        while True:
            await anyio.wait_readable(sock)
            try:
                data = sock.recv(65536)
            except BlockingIOError:  # a spurious wake-up: wait again
                continue
            if not data:
                raise anyio.EndOfStream
            return data

    def abort(self) -> None:
        """End the exchange in progress from another task: a shut-down socket reads as closed,
        so whoever waits on it wakes at once (on every backend, with no cancel scope)."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    async def aclose(self) -> None:
        anyio.notify_closing(self._sock)
        self._sock.close()


class _StreamTransport:
    """An anyio byte stream: for TLS (`rediss://`), which a plain socket cannot speak."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream

    async def send(self, data: bytes) -> None:
        await self._stream.send(data)

    async def receive(self) -> bytes:
        return await self._stream.receive()

    async def receive_reply(self) -> bytes:
        return await self._stream.receive()

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._stream.aclose()


_Transport = _SocketTransport | _StreamTransport


class ScriptLane:
    """One socket to the Redis of `url`, opened on first use, for script calls.

    Each call has a deadline. A call on a plain socket that is already open and not in use is
    timed by `watch()`, a task that lives as long as the lane: it wakes at the deadline of the
    call in flight, if that call is still in flight then, and shuts its socket down. A call
    then costs two assignments for its timeout instead of a cancel scope and its timer (about
    a tenth of an admission's CPU); the watcher wakes about once per timeout while calls keep
    coming, and not at all while none are made. Every other call (connecting, TLS, a call that
    waits for the lane) runs under a cancel scope, as before.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self._unix = parts.path if parts.scheme == "unix" else None
        self._host = parts.hostname or "localhost"
        self._port = parts.port or 6379
        self._tls = parts.scheme == "rediss"
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        if self._password is None and self._username is not None:
            # `redis://:password@host` and `redis://password@host` both name a password.
            self._username, self._password = None, self._username
        db = query.get("db", [""])[0] or (parts.path.strip("/") if not self._unix else "")
        self._db = int(db or 0)
        self._transport: _Transport | None = None
        self._buffer = bytearray()
        self._lock = anyio.Lock()
        # The watched call's deadline (time.monotonic), and whether the watcher ended it.
        self._deadline: float | None = None
        self._timed_out = False
        # The watcher's sleep while it sleeps, and when it wakes (math.inf: parked).
        self._watching = False
        self._watch_scope: anyio.CancelScope | None = None
        self._watch_due = math.inf
        self._clock_offset = 0.0

    async def _open(self) -> _Transport:
        if self._unix is not None:
            return await _SocketTransport.connect(socket.AF_UNIX, self._unix)
        if self._tls:
            stream = await anyio.connect_tcp(
                self._host, self._port, tls=True, ssl_context=ssl.create_default_context()
            )
            return _StreamTransport(stream)
        found = await anyio.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM)
        family, _, _, _, address = found[0]
        return await _SocketTransport.connect(family, address)

    async def _connect(self) -> _Transport:
        transport = await self._open()
        self._buffer.clear()
        try:
            if self._password is not None:
                auth = (self._username, self._password) if self._username else (self._password,)
                await self._exchange(transport, encode("AUTH", *auth))
            if self._db:
                await self._exchange(transport, encode("SELECT", self._db))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await transport.aclose()
            raise
        return transport

    async def _exchange(self, transport: _Transport, command: bytes) -> Any:
        await transport.send(command)
        buffer = self._buffer
        buffer += await transport.receive_reply()
        while True:
            try:
                reply, used = parse(buffer)
            except _Incomplete:
                buffer += await transport.receive()
                continue
            del buffer[:used]
            if isinstance(reply, ReplyError):
                raise reply
            return reply

    async def call(self, *parts: str | bytes | int | float, deadline: float = math.inf) -> Any:
        """Send one command and return its reply; an error reply raises `ReplyError`, and
        `TimeoutError` is raised once `deadline` (`time.monotonic()`) has passed."""
        return await self.execute(encode(*parts), deadline)

    async def execute(self, command: bytes, deadline: float) -> Any:
        """`call` for a command already encoded in RESP (see `encode`)."""
        transport = self._transport
        if self._watching and type(transport) is _SocketTransport:
            lock = self._lock
            try:
                # Uncontended, taking the lock needs no trip through the event loop: the
                # call yields on its socket anyway.
                lock.acquire_nowait()
            except anyio.WouldBlock:
                pass
            else:
                try:
                    return await self._watched(transport, command, deadline)
                finally:
                    lock.release()
        remaining = deadline - time.monotonic()
        with anyio.CancelScope(deadline=anyio.current_time() + remaining) as scope:
            async with self._lock:
                reply = await self._call(command)
        if scope.cancelled_caught:
            raise TimeoutError
        return reply

    async def _watched(self, transport: _SocketTransport, command: bytes, deadline: float) -> Any:
        self._deadline = deadline
        self._timed_out = False
        if deadline < self._watch_due:
            self._wake_watcher_by(deadline)
        finished = False
        try:
            reply = await self._exchange(transport, command)
            finished = True
            return reply
        except ReplyError:
            finished = True  # a whole reply was read: the socket is in step
            raise
        except Exception as exc:
            if self._timed_out:  # the watcher shut the socket down
                raise TimeoutError from exc
            raise
        finally:
            self._deadline = None
            if not finished:
                await self._drop()

    def _wake_watcher_by(self, deadline: float) -> None:
        scope = self._watch_scope
        if scope is not None:
            self._watch_due = deadline
            scope.deadline = deadline + self._clock_offset

    async def watch(self) -> None:
        """Time the watched calls, until cancelled: run it in a task group for as long as the
        lane is open."""
        # anyio's clock and time.monotonic() differ by a constant (both are monotonic).
        self._clock_offset = anyio.current_time() - time.monotonic()
        self._watching = True
        try:
            while True:
                deadline = self._deadline
                if deadline is not None and time.monotonic() >= deadline:
                    self._deadline = None
                    self._timed_out = True
                    transport = self._transport
                    if isinstance(transport, _SocketTransport):
                        transport.abort()
                    continue
                due = math.inf if deadline is None else deadline
                with anyio.CancelScope(deadline=due + self._clock_offset) as scope:
                    self._watch_scope, self._watch_due = scope, due
                    try:
                        await anyio.sleep_forever()
                    finally:
                        self._watch_scope, self._watch_due = None, math.inf
        finally:
            self._watching = False

    async def _call(self, command: bytes) -> Any:
        transport = self._transport
        if transport is None:
            transport = self._transport = await self._connect()
        finished = False
        try:
            reply = await self._exchange(transport, command)
            finished = True
            return reply
        except ReplyError:
            finished = True  # a whole reply was read: the socket is in step
            raise
        finally:
            if not finished:
                await self._drop()

    async def _drop(self) -> None:
        transport, self._transport = self._transport, None
        self._buffer.clear()
        if transport is not None:
            await transport.aclose()

    async def aclose(self) -> None:
        """Close the socket, if one is open."""
        await self._drop()


def script_args(keys: Sequence[str], args: Sequence[str | bytes | int | float]) -> list[Any]:
    """EVALSHA/EVAL's arguments after the script: the key count, the keys, the arguments."""
    return [len(keys), *keys, *args]
