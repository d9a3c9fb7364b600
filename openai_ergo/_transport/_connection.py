"""One HTTP/1.1 connection: write a request, read its response head, stream its body."""

from __future__ import annotations

import contextlib
import re
import ssl
import warnings
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import httpx

from openai_ergo._transport._network import (
    NetworkStreamInfo,
    Origin,
    PlainSocketStream,
    deadline_scope,
    describe_failure,
    raw_socket,
    socket_is_readable,
)
from openai_ergo._transport._parser import ResponseParser
from openai_ergo._transport._prepared import PreparedRequest, injection, invalid_name

if TYPE_CHECKING:
    from openai_ergo._transport._pool import ConnectionPool

__all__ = ["HTTP11Connection", "ResponseBody", "StaleConnectionError"]

#: The largest socket read: a burst of streamed events costs one read and one parse.
READ_SIZE = 64 * 1024
#: The first read of each response: an open stream that has handed over its first events holds
#: (and has decoded) the head and two or three events, not a whole block (4 KiB held ~15 decoded
#: chunks, 9 KiB per open stream). When it comes back full, more is waiting and the next reads
#: are full-size, so a long burst costs one or two extra reads.
FIRST_READ_SIZE = 1024
# Bodies up to this size go out in the same write as the head (one syscall, one segment).
_COALESCE_LIMIT = 64 * 1024
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_READ_FAILURES = (OSError, ssl.SSLError, anyio.BrokenResourceError, anyio.ClosedResourceError)


class StaleConnectionError(Exception):
    """A kept-alive connection turned out closed before any byte of the response arrived.

    The request may be retried on a fresh connection when that is safe; `error` is what to
    raise when it is not.
    """

    def __init__(self, error: httpx.TransportError) -> None:
        super().__init__(str(error))
        self.error = error


class HTTP11Connection:
    """A TCP (or TLS) byte stream that carries one request at a time."""

    __slots__ = (
        "__weakref__",
        "_read_size",
        "_socket",
        "_stream",
        "closed",
        "idle_since",
        "origin",
        "used",
    )

    def __init__(self, origin: Origin, stream: anyio.abc.ByteStream) -> None:
        self.origin = origin
        self._stream = stream
        self._socket = raw_socket(stream)
        self._read_size = FIRST_READ_SIZE
        self.idle_since = 0.0
        #: Whether a request was sent on it before (so the peer may have closed it meanwhile).
        self.used = False
        self.closed = False

    def network_stream(self) -> NetworkStreamInfo:
        """The connection's details, for a response's `network_stream` extension."""
        return NetworkStreamInfo(self._stream)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        origin = self.origin
        return f"<HTTP11Connection {origin.scheme}://{origin.host}:{origin.port} {state}>"

    def is_reusable_idle(self) -> bool:
        """An idle connection may carry a request unless the peer closed it or wrote to it."""
        return not self.closed and not socket_is_readable(self._socket)

    async def aclose(self) -> None:
        """Close the socket; finishes even when the caller is cancelled."""
        if self.closed:
            return
        self.closed = True
        with anyio.CancelScope(shield=True):
            try:
                await self._stream.aclose()
            except (*_READ_FAILURES, anyio.EndOfStream):
                pass

    async def receive(self, read_timeout: float | None) -> bytes:
        """One read from the socket (at most `READ_SIZE` bytes); `b""` at end of stream."""
        size = self._read_size
        stream = self._stream
        try:
            if isinstance(stream, PlainSocketStream):
                data = await stream.receive_within(size, read_timeout)
            elif read_timeout is None:
                data = await self._stream.receive(size)
            else:
                with deadline_scope(read_timeout) as scope:
                    data = await self._stream.receive(size)
                if scope.cancelled_caught:
                    raise TimeoutError
            if len(data) == size:
                self._read_size = READ_SIZE
            return data
        except anyio.EndOfStream:
            return b""
        except TimeoutError:
            raise httpx.ReadTimeout("timed out waiting for data from the server") from None
        except _READ_FAILURES as exc:
            what, cause = describe_failure(exc)
            raise httpx.ReadError(f"reading from the server failed: {what}") from cause

    async def send(self, data: bytes, write_timeout: float | None) -> None:
        """Write all of `data`."""
        stream = self._stream
        try:
            if isinstance(stream, PlainSocketStream):
                await stream.send_within(data, write_timeout)
            elif write_timeout is None:
                await self._stream.send(data)
            else:
                with deadline_scope(write_timeout) as scope:
                    await self._stream.send(data)
                if scope.cancelled_caught:
                    raise TimeoutError
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending the request to the server") from None
        except _READ_FAILURES as exc:
            what, cause = describe_failure(exc)
            raise httpx.WriteError(f"sending to the server failed: {what}") from cause

    async def request(
        self, request: httpx.Request, *, read_timeout: float | None, write_timeout: float | None
    ) -> ResponseParser:
        """Send `request` and read the response up to the end of its head.

        Raises `StaleConnectionError` when a reused connection was already closed by the
        peer (nothing of a response arrived), so the caller may retry elsewhere.
        """
        reused = self._start()
        # As httpx's default transport: a failed write is not the error yet. The server may
        # have answered early (say, 413) and closed; read that answer, or fail as reading does.
        with contextlib.suppress(httpx.WriteError):
            await _write_request(self, request, write_timeout)
        return await self._response_head(request.method, reused, read_timeout)

    async def request_prepared(
        self, prepared: PreparedRequest, *, read_timeout: float | None, write_timeout: float | None
    ) -> ResponseParser:
        """`request` for a request already encoded (head and body bytes)."""
        reused = self._start()
        # As `request` (a failed write is not the error yet), without a context manager.
        head, body = prepared.head, prepared.body
        try:
            if len(body) <= _COALESCE_LIMIT:
                await self.send(head + body, write_timeout)
            else:
                await self.send(head, write_timeout)
                await self.send(body, write_timeout)
        except httpx.WriteError:
            pass
        return await self._response_head(prepared.method, reused, read_timeout)

    def _start(self) -> bool:
        reused = self.used
        self.used = True
        self._read_size = FIRST_READ_SIZE
        return reused

    async def _response_head(
        self, method: str, reused: bool, read_timeout: float | None
    ) -> ResponseParser:
        parser: ResponseParser | None = None
        try:
            data = await self.receive(read_timeout)
            # Made once the answer starts to arrive: with its callbacks a parser is ~850
            # bytes, and many requests waiting at once for their answers held one each.
            parser = ResponseParser(is_head_request=method == "HEAD")
            while True:
                if data:
                    parser.feed(data)
                else:
                    parser.eof()
                if parser.head_complete:
                    return parser
                data = await self.receive(read_timeout)
        except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
            if reused and (parser is None or not parser.received_any):
                raise StaleConnectionError(exc) from exc
            raise


async def _write_request(
    connection: HTTP11Connection, request: httpx.Request, write_timeout: float | None
) -> None:
    head, chunked, length = _encode_head(request)
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):
        body = request.read()
        _check_length(length, len(body), done=True)
        if chunked and body:
            body = b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)
        elif chunked:
            body = b"0\r\n\r\n"
        if len(body) <= _COALESCE_LIMIT:
            await connection.send(head + body, write_timeout)
        else:
            await connection.send(head, write_timeout)
            await connection.send(body, write_timeout)
        return
    await connection.send(head, write_timeout)
    if not isinstance(stream, httpx.AsyncByteStream) and not hasattr(stream, "__aiter__"):
        raise RuntimeError("HTTP11Transport needs an async request body (an async iterable)")
    iterator: AsyncIterator[bytes] = stream.__aiter__()  # type: ignore[union-attr]
    sent = 0
    try:
        async for chunk in iterator:
            if not chunk:
                continue
            sent += len(chunk)
            if chunked:
                await connection.send(b"%x\r\n%b\r\n" % (len(chunk), chunk), write_timeout)
            else:
                _check_length(length, sent, done=False)
                await connection.send(chunk, write_timeout)
    finally:
        # Async generators left unfinished warn under trio: close them here.
        aclose: Any = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
    if chunked:
        await connection.send(b"0\r\n\r\n", write_timeout)
    else:
        _check_length(length, sent, done=True)


def _encode_head(request: httpx.Request) -> tuple[bytes, bool, int]:
    """The request line and headers; whether the body is chunked; its declared length."""
    method = request.method.encode("ascii")
    if _TOKEN.fullmatch(method) is None:
        raise httpx.LocalProtocolError(f"invalid HTTP method {request.method!r}")
    parts = [method, b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    chunked = False
    length = 0
    for name, value in request.headers.raw:
        if _TOKEN.fullmatch(name) is None:
            raise invalid_name(name)
        lower = name.lower()
        if lower == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise httpx.LocalProtocolError(f"invalid Content-Length {value!r}") from None
        elif lower == b"transfer-encoding":
            chunked = value.strip().lower() == b"chunked"
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    head = b"".join(parts)
    # A CR, LF or NUL inside any value would split or truncate the head (header injection).
    lines = len(request.headers.raw) + 2
    if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
        raise injection()
    return head, chunked, length


def _check_length(declared: int, sent: int, *, done: bool) -> None:
    if sent > declared or (done and sent != declared):
        raise httpx.LocalProtocolError(
            f"the request body is {sent} bytes but its Content-Length says {declared}"
        )


class ResponseBody(httpx.AsyncByteStream):
    """The raw body of one response, read on demand: each step returns what one socket read
    de-chunked (many events at once), and the connection goes back to the pool as soon as
    the body ends."""

    __slots__ = (
        "_connection",
        "_finished",
        "_host",
        "_parser",
        "_pool",
        "_request",
        "_timeout",
        "response",
    )

    def __init__(
        self,
        connection: HTTP11Connection,
        parser: ResponseParser,
        pool: ConnectionPool,
        *,
        request: httpx.Request | None,
        host: str,
        read_timeout: float | None,
    ) -> None:
        self._connection = connection
        self._parser = parser
        self._pool = pool
        self._request = request
        self._host = host
        self._timeout = read_timeout
        self._finished = False
        #: The response this body belongs to, for a request built only when asked for.
        self.response: httpx.Response | None = None

    def __aiter__(self) -> ResponseBody:
        return self

    async def __anext__(self) -> bytes:
        parser = self._parser
        body = parser.body
        while not body:
            if parser.complete or self._finished:
                await self._finish()
                raise StopAsyncIteration
            try:
                data = await self._connection.receive(self._timeout)
                if data:
                    parser.feed(data)
                else:
                    parser.eof()
            except httpx.TransportError as exc:
                request = self._request
                if request is None and self.response is not None:
                    request = self.response.request
                exc.request = request  # type: ignore[assignment]
                await self._finish()
                raise
        chunk = body[0] if len(body) == 1 else b"".join(body)
        body.clear()
        if parser.complete:
            await self._finish()
        return chunk

    async def aclose(self) -> None:
        """Give the connection back (body read to the end) or close it (body cut short)."""
        await self._finish()

    @property
    def finished(self) -> bool:
        """Whether the connection was given back or closed already: closing then awaits
        nothing, so it needs no shield from cancellation."""
        return self._finished

    async def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        # The response holds this body: let go of it, so neither waits for the garbage
        # collector once both are dropped.
        self.response = None
        if self._parser.complete and self._parser.reusable:
            await self._pool.release(self._connection)
        else:
            await self._pool.discard(self._connection)

    def __del__(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._pool.abandon(self._connection)
        warnings.warn(
            f"a response body from {self._host} was never closed: use "
            "`async with client.stream(...)` or call `await response.aclose()`",
            ResourceWarning,
            stacklevel=1,
        )
