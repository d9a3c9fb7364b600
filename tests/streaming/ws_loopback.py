"""A scripted WebSocket server on a real loopback socket, for the WebSocket stream's tests.

It runs in the test's own event loop (asyncio or trio, through anyio), speaks the protocol
through wsproto (another implementation than the client's websockets, so each checks the
other), and hands each connection to a handler that drives it message by message:

    async def handler(peer: Peer) -> None:
        await peer.accept()                 # or: await peer.reject(403, b"no")
        await peer.send("hello")            # blocks while the client does not read
        message = await peer.receive()      # None once the client closed
        await peer.close(1000)              # or: await peer.abort() to drop the TCP connection

    async with ws_server(handler) as server:
        ... server.url, server.connections, server.open_connections, server.peers ...
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc
import anyio.lowlevel
from anyio.streams.tls import TLSListener
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

__all__ = ["Peer", "WebSocketServer", "ws_server"]

_READ_SIZE = 65536
#: How long leaving `ws_server` waits for the handlers to finish before cancelling them.
_SETTLE_TIMEOUT = 0.5


class Peer:
    """The server's side of one connection."""

    def __init__(self, stream: anyio.abc.ByteStream, server: WebSocketServer) -> None:
        self._stream = stream
        self._server = server
        self._connection = WSConnection(ConnectionType.SERVER)
        self.request: Request | None = None
        self.accepted = False
        #: Messages handed to the socket (the last send may still be blocked).
        self.messages_sent = 0
        #: Every message received, in order.
        self.received: list[str | bytes] = []
        self.pings_received = 0
        self._ping_arrived = anyio.Event()
        self.pongs_received = 0
        #: The client's close frame (code, reason), once it came.
        self.close_received: tuple[int, str] | None = None
        #: True once the TCP connection ended (either side).
        self.disconnected = False
        self._parts: list[str | bytes] = []
        self.answer_pings = True
        #: A sending task and a reading task (answering pings, the close) may share a peer.
        self._send_lock = anyio.Lock()

    @property
    def headers(self) -> dict[str, str]:
        """The upgrade request's headers (names lower-cased)."""
        assert self.request is not None
        return {name.decode().lower(): value.decode() for name, value in self.request.extra_headers}

    async def handshake(self) -> Request:
        """Read the upgrade request (done by the server before the handler runs)."""
        while self.request is None:
            data = await self._read()
            self._connection.receive_data(data)
            for event in self._connection.events():
                if isinstance(event, Request):
                    self.request = event
            if data is None and self.request is None:
                raise anyio.EndOfStream
        return self.request

    async def accept(
        self, subprotocol: str | None = None, *, then: tuple[str | bytes, ...] = ()
    ) -> None:
        """Accept the upgrade; the messages `then` are written in the same send (frames that
        arrive together with the handshake's answer)."""
        self.accepted = True
        data = self._connection.send(AcceptConnection(subprotocol=subprotocol))
        for message in then:
            data += self._connection.send(_message(message))
            self.messages_sent += 1
        await self._write(data)

    async def reject(self, status: int, body: bytes = b"") -> None:
        """Refuse the upgrade with a plain HTTP response."""
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        data = self._connection.send(
            RejectConnection(status_code=status, headers=headers, has_body=True)
        )
        data += self._connection.send(RejectData(data=body, body_finished=True))
        await self._write(data)
        await self._stream.aclose()
        self.disconnected = True

    async def send(self, message: str | bytes) -> None:
        """One message; waits (TCP backpressure) while the client is not reading."""
        if not self.accepted:
            await self.accept()
        await self._write(self._connection.send(_message(message)))
        self.messages_sent += 1

    def frame(self, event: TextMessage | BytesMessage | Ping | CloseConnection) -> bytes:
        """The bytes of one frame, to send raw (split, delayed) with `send_raw`."""
        return self._connection.send(event)

    async def send_raw(self, data: bytes) -> None:
        """Bytes as they are, such as half a frame."""
        await self._write(data)

    async def ping(self, payload: bytes = b"") -> None:
        """A ping: the client answers it when it reads."""
        await self._write(self._connection.send(Ping(payload=payload)))

    async def receive(self) -> str | bytes | None:
        """The next message from the client; None once it closed (the close is answered)."""
        if not self.accepted:
            await self.accept()
        while True:
            for event in self._connection.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    self._parts.append(
                        bytes(event.data) if isinstance(event, BytesMessage) else event.data
                    )
                    if event.message_finished:
                        parts, self._parts = self._parts, []
                        message: str | bytes = (
                            "".join(parts)  # type: ignore[arg-type]
                            if isinstance(event, TextMessage)
                            else b"".join(parts)  # type: ignore[arg-type]
                        )
                        self.received.append(message)
                        return message
                elif isinstance(event, Ping):
                    self.pings_received += 1
                    self._ping_arrived.set()
                    self._ping_arrived = anyio.Event()
                    if self.answer_pings:
                        await self._write(self._connection.send(event.response()))
                elif isinstance(event, Pong):
                    self.pongs_received += 1
                elif isinstance(event, CloseConnection):
                    self.close_received = (event.code, event.reason or "")
                    if self._connection.state is ConnectionState.REMOTE_CLOSING:
                        # A client that leaves without waiting has hung up already.
                        with contextlib.suppress(anyio.BrokenResourceError):
                            await self._write(self._connection.send(event.response()))
                    await self._stream.aclose()
                    self.disconnected = True
                    return None
            data = await self._read()
            if data is None:
                self.disconnected = True
                return None
            self._connection.receive_data(data)

    async def wait_for_pings(self, count: int) -> None:
        """Wait until `count` pings came, read by another task (`wait_closed`, `receive`)."""
        while self.pings_received < count:
            await self._ping_arrived.wait()

    async def wait_closed(self) -> None:
        """Read (answering pings, keeping messages) until the client closes or drops."""
        while await self.receive() is not None:
            pass

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame and wait for the client's answer (or its hang-up)."""
        await self._write(self._connection.send(CloseConnection(code=code, reason=reason)))
        while self._connection.state is not ConnectionState.CLOSED:
            data = await self._read()
            if data is None:
                break
            self._connection.receive_data(data)
            for event in self._connection.events():
                if isinstance(event, CloseConnection):
                    self.close_received = (event.code, event.reason or "")
        await self._stream.aclose()
        self.disconnected = True

    async def abort(self) -> None:
        """Hang up the TCP connection at once, without a close frame."""
        await self._stream.aclose()
        self.disconnected = True

    async def _write(self, data: bytes) -> None:
        async with self._send_lock:
            await self._stream.send(data)

    async def _read(self) -> bytes | None:
        try:
            return await self._stream.receive(_READ_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            # On trio, a closed stream raises without a checkpoint: a handler that keeps
            # reading a closed peer in a loop would spin, and no deadline could end it.
            await anyio.lowlevel.checkpoint()
            return None


def _message(message: str | bytes) -> TextMessage | BytesMessage:
    return TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)


Handler = Callable[[Peer], Awaitable[None]]


@dataclass
class WebSocketServer:
    """The running server: its URL and what it has seen."""

    url: str
    #: TCP connections accepted so far.
    connections: int = 0
    #: TCP connections the server still holds open.
    open_connections: int = 0
    #: Every connection's peer, in order.
    peers: list[Peer] = field(default_factory=list)
    #: Set each time a connection ends on the server's side.
    connection_closed: anyio.Event = field(default_factory=anyio.Event)

    async def all_closed(self) -> None:
        """Wait until every handler has finished (the client closed and the server saw it);
        fails after 5 s."""
        with anyio.fail_after(5):
            while self.open_connections:
                await self.connection_closed.wait()


@asynccontextmanager
async def ws_server(
    handler: Handler, *, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[WebSocketServer]:
    """Serve `handler` on 127.0.0.1 (a free port) for the duration of the block; over TLS
    with `ssl_context` (the URL still says ws://: the test picks the scheme)."""
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    listener: anyio.abc.Listener[anyio.abc.ByteStream] = tcp
    if ssl_context is not None:
        listener = TLSListener(tcp, ssl_context, standard_compatible=False)
    server = WebSocketServer(url=f"ws://127.0.0.1:{port}")

    async def serve(stream: anyio.abc.ByteStream) -> None:
        server.connections += 1
        server.open_connections += 1
        peer = Peer(stream, server)
        server.peers.append(peer)
        try:
            async with stream:
                try:
                    await peer.handshake()
                    await handler(peer)
                    if not peer.disconnected:
                        await peer.wait_closed()
                except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass
        finally:
            peer.disconnected = True
            server.open_connections -= 1
            server.connection_closed.set()
            server.connection_closed = anyio.Event()

    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, serve)
        try:
            yield server
        finally:
            # Handlers that are still reading see the client's close or hang-up in a moment:
            # let them record it, so what a test asserts after the block is settled. One that
            # sleeps on purpose is cut short after a bound.
            with anyio.move_on_after(_SETTLE_TIMEOUT, shield=True):
                while server.open_connections:
                    await server.connection_closed.wait()
            group.cancel_scope.cancel()
