"""A scripted HTTP/1.1 server on a real loopback socket, for streaming tests.

`httpx.ASGITransport` buffers whole responses, so backpressure, idle timeouts and mid-stream
cancellation are only observable over a real socket. This server runs in the test's own event
loop (asyncio or trio, through anyio), speaks HTTP/1.1 through h11 (chunked bodies, keep-alive),
and hands each request to a handler that writes the response chunk by chunk:

    async def handler(exchange: Exchange) -> None:
        await exchange.start()                      # 200, text/event-stream, chunked
        await exchange.send(b"data: hello\\n\\n")    # blocks while the client does not read
        await exchange.abort()                      # or: return to end the body cleanly

    async with sse_server(handler) as server:
        ... server.url, server.connections, server.requests ...
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc
import h11

__all__ = ["Exchange", "LoopbackServer", "RecordedRequest", "sse_server"]

_READ_SIZE = 65536
#: Requests served per connection before the server hangs up: keeps every loop bounded.
_MAX_REQUESTS_PER_CONNECTION = 1000


@dataclass(frozen=True)
class RecordedRequest:
    """What the server received: method, target, headers (names lower-cased), body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    #: 1-based number of the connection this request arrived on.
    connection: int

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]

    def json(self) -> object:
        """The body, decoded as JSON."""
        return json.loads(self.body)


class Exchange:
    """One request/response on a connection: the handler's side of it."""

    def __init__(
        self,
        request: RecordedRequest,
        stream: anyio.abc.ByteStream,
        connection: h11.Connection,
    ) -> None:
        self.request = request
        self._stream = stream
        self._h11 = connection
        self.started = False
        self.aborted = False
        self.replayed = False
        #: Body bytes the server has handed to the socket so far (the last send may still block).
        self.bytes_sent = 0

    async def start(
        self,
        status: int = 200,
        headers: list[tuple[str, str]] | None = None,
        *,
        content_type: str | None = "text/event-stream",
    ) -> None:
        """Send the status line and headers; the body follows chunked unless a length is given."""
        all_headers = list(headers or [])
        names = {name.lower() for name, _ in all_headers}
        if content_type is not None and "content-type" not in names:
            all_headers.append(("Content-Type", content_type))
        if "content-length" not in names:
            all_headers.append(("Transfer-Encoding", "chunked"))
        self.started = True
        await self._write(h11.Response(status_code=status, headers=all_headers))

    async def send(self, data: bytes) -> None:
        """Write one body chunk; waits (TCP backpressure) while the client is not reading."""
        if not self.started:
            await self.start()
        await self._write(h11.Data(data=data))
        self.bytes_sent += len(data)

    async def respond(
        self, status: int, body: bytes, *, content_type: str = "application/json"
    ) -> None:
        """A whole, non-streamed response with a Content-Length."""
        await self.start(status, [("Content-Length", str(len(body)))], content_type=content_type)
        await self.send(body)

    async def replay(self, wire: bytes) -> None:
        """Write a whole response another server sent, byte for byte: status line, headers and
        body framing as they were. h11 does not see these bytes, so the connection starts a
        fresh h11 state for its next request."""
        self.started = True
        self.replayed = True
        await self._stream.send(wire)

    async def wait_for_disconnect(self) -> None:
        """Wait until the client closes the connection (it sends nothing more meanwhile)."""
        try:
            while await self._stream.receive(_READ_SIZE):
                pass
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        self.aborted = True  # nothing more can be sent on this connection

    async def abort(self) -> None:
        """Hang up the TCP connection at once, mid-body, without ending the response."""
        self.aborted = True
        await self._stream.aclose()

    async def _write(self, event: h11.Event) -> None:
        payload = self._h11.send(event)
        if payload:
            await self._stream.send(payload)


Handler = Callable[[Exchange], Awaitable[None]]


@dataclass
class LoopbackServer:
    """The running server: its URL and what it has seen."""

    url: str
    #: Number of TCP connections accepted so far.
    connections: int = 0
    #: Every request received, in order.
    requests: list[RecordedRequest] = field(default_factory=list)
    #: Every exchange handed to the handler, in order.
    exchanges: list[Exchange] = field(default_factory=list)


async def _read_event(stream: anyio.abc.ByteStream, connection: h11.Connection) -> h11.Event:
    while True:
        event = connection.next_event()
        if event is not h11.NEED_DATA:
            assert not isinstance(event, type)
            return event
        try:
            data = await stream.receive(_READ_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            data = b""
        connection.receive_data(data)


async def _serve_connection(
    stream: anyio.abc.ByteStream, server: LoopbackServer, handler: Handler
) -> None:
    server.connections += 1
    number = server.connections
    connection = h11.Connection(our_role=h11.SERVER)
    async with stream:
        for _ in range(_MAX_REQUESTS_PER_CONNECTION):
            try:
                event = await _read_event(stream, connection)
            except h11.RemoteProtocolError:
                return
            if not isinstance(event, h11.Request):
                return
            body = b""
            while True:
                part = await _read_event(stream, connection)
                if isinstance(part, h11.Data):
                    body += part.data
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return
            request = RecordedRequest(
                method=event.method.decode(),
                target=event.target.decode(),
                headers={k.decode().lower(): v.decode() for k, v in event.headers},
                body=body,
                connection=number,
            )
            server.requests.append(request)
            exchange = Exchange(request, stream, connection)
            server.exchanges.append(exchange)
            try:
                await handler(exchange)
                if exchange.aborted:
                    return
                if exchange.replayed:
                    connection = h11.Connection(our_role=h11.SERVER)
                    continue
                if not exchange.started:
                    await exchange.start(200, [("Content-Length", "0")], content_type=None)
                await exchange._write(h11.EndOfMessage())
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                return
            connection.start_next_cycle()


@asynccontextmanager
async def sse_server(handler: Handler) -> AsyncIterator[LoopbackServer]:
    """Serve `handler` on 127.0.0.1 (a free port) for the duration of the block."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    server = LoopbackServer(url=f"http://127.0.0.1:{port}")

    async def serve(stream: anyio.abc.SocketStream) -> None:
        await _serve_connection(stream, server, handler)

    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, serve)
        try:
            yield server
        finally:
            group.cancel_scope.cancel()
