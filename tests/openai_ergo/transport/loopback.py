"""A raw loopback HTTP/1.1 server on 127.0.0.1 that answers with scripted bytes, and a
forward proxy to put in front of it.

The server parses just enough of each request to know where it ends, records it, and writes
the scripted response as separate socket writes (one per segment), so tests choose the TCP
segmentation the client sees. Nothing here interprets the response: malformed bytes go out
as they are.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
import trustme
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.tls import TLSAttribute, TLSListener, TLSStream

#: Requests one connection may carry before the server stops reading it (keeps loops bounded).
MAX_REQUESTS_PER_CONNECTION = 2_000


@dataclass(frozen=True)
class Reply:
    """What the server writes for one request: `segments`, one write each, then maybe a close.

    `close_before` closes the connection without answering at all (a kept-alive connection
    the server dropped); `reset` ends it with a TCP reset after the segments.
    """

    segments: Sequence[bytes] = ()
    close_after: bool = False
    close_before: bool = False
    pause: float = 0.0
    reset: bool = False


@dataclass
class Received:
    """One request as the server read it."""

    connection: int
    head: bytes
    body: bytes

    @property
    def method(self) -> str:
        return self.head.split(b" ", 1)[0].decode()

    @property
    def target(self) -> str:
        return self.head.split(b" ", 2)[1].decode()

    def header(self, name: str) -> str | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower().encode():
                return value.strip().decode()
        return None


@dataclass
class LoopbackServer:
    """The running server: its port, and what it saw."""

    respond: Callable[[Received], Reply]
    port: int = 0
    connections: int = 0
    open_connections: int = 0
    received: list[Received] = field(default_factory=list)
    #: Bytes of responses written so far.
    sent: int = 0
    #: The ALPN protocol each TLS connection settled on, in accept order.
    alpn: list[str | None] = field(default_factory=list)

    def url(self, path: str = "/", scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    async def _serve(self, stream: anyio.abc.ByteStream) -> None:
        number = self.connections
        self.connections += 1
        if isinstance(stream, TLSStream):
            self.alpn.append(stream.extra(TLSAttribute.alpn_protocol))
        self.open_connections += 1
        reader = BufferedByteReceiveStream(stream)
        try:
            async with stream:
                for _ in range(MAX_REQUESTS_PER_CONNECTION):
                    request = await _read_request(reader, number)
                    if request is None:
                        return
                    self.received.append(request)
                    reply = self.respond(request)
                    if reply.close_before:
                        return
                    for segment in reply.segments:
                        await stream.send(segment)
                        self.sent += len(segment)
                        if reply.pause:
                            await anyio.sleep(reply.pause)
                    if reply.reset:
                        reset_on_close(stream)
                        return
                    if reply.close_after:
                        return
        except (
            anyio.BrokenResourceError,
            anyio.ClosedResourceError,
            anyio.IncompleteRead,
            ssl.SSLError,
            OSError,
        ):
            # The client went away mid-request (or broke it on purpose): nothing to answer.
            pass
        finally:
            self.open_connections -= 1


def reset_on_close(stream: anyio.abc.ByteStream) -> None:
    """Make closing `stream` end its connection with a TCP reset instead of a FIN."""
    sock = stream.extra(anyio.abc.SocketAttribute.raw_socket)
    # Linger on, timeout zero: close() sends RST.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def _read_request(reader: BufferedByteReceiveStream, number: int) -> Received | None:
    try:
        head = await reader.receive_until(b"\r\n\r\n", 1 << 20)
    except (anyio.IncompleteRead, anyio.EndOfStream):
        return None
    request = Received(number, head, b"")
    length = request.header("content-length")
    if length is not None:
        request.body = await reader.receive_exactly(int(length)) if int(length) else b""
    elif (request.header("transfer-encoding") or "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.receive_until(b"\r\n", 1024)).split(b";")[0], 16)
            if size == 0:
                await reader.receive_until(b"\r\n", 1 << 16)
                break
            parts.append(await reader.receive_exactly(size))
            await reader.receive_exactly(2)
        request.body = b"".join(parts)
    return request


@asynccontextmanager
async def serve(
    respond: Callable[[Received], Reply] | Reply,
    *,
    ssl_context: ssl.SSLContext | None = None,
    uds: str | None = None,
) -> AsyncIterator[LoopbackServer]:
    """Run a server on 127.0.0.1 (an ephemeral port), or on the Unix socket `uds`, for the
    duration of the block."""
    if isinstance(respond, Reply):
        fixed = respond
        server = LoopbackServer(lambda _: fixed)
    else:
        server = LoopbackServer(respond)
    listener: anyio.abc.Listener[anyio.abc.ByteStream]
    if uds is not None:
        listener = await anyio.create_unix_listener(uds)
    else:
        tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        server.port = tcp.extra(anyio.abc.SocketAttribute.local_port)
        listener = tcp
    if ssl_context is not None:
        listener = TLSListener(listener, ssl_context, standard_compatible=False)
    async with _running(listener, server._serve):
        yield server


@asynccontextmanager
async def _running(
    listener: anyio.abc.Listener[Any], handle: Callable[[Any], Awaitable[None]]
) -> AsyncIterator[None]:
    """`listener` serving each connection with `handle` for the duration of the block."""
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()


@asynccontextmanager
async def raw_server(
    handle: Callable[[anyio.abc.SocketStream], Awaitable[None]],
) -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that runs `handle` on each connection; yields its port."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with _running(listener, handle):
        yield listener.extra(anyio.abc.SocketAttribute.local_port)


@dataclass
class ForwardProxy:
    """The running proxy: its port, and the request line of everything it was asked to do."""

    port: int = 0
    #: "GET http://host:port/path" for a forwarded request, "CONNECT host:port" for a tunnel.
    requests: list[str] = field(default_factory=list)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, client: anyio.abc.ByteStream) -> None:
        reader = BufferedByteReceiveStream(client)
        async with client:
            while True:
                try:
                    head = await reader.receive_until(b"\r\n\r\n", 1 << 20)
                except (anyio.IncompleteRead, anyio.EndOfStream):
                    return
                line, _, fields = head.partition(b"\r\n")
                method, target, _version = line.decode().split(" ")
                self.requests.append(f"{method} {target}")
                if method == "CONNECT":
                    await self._tunnel(client, reader, target)
                    return
                await self._forward(client, reader, Received(0, head, b""), fields)

    async def _tunnel(
        self, client: anyio.abc.ByteStream, reader: BufferedByteReceiveStream, target: str
    ) -> None:
        upstream = await anyio.connect_tcp("127.0.0.1", int(target.rpartition(":")[2]))
        await client.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
        async with upstream, anyio.create_task_group() as tg:
            tg.start_soon(_pipe, reader, upstream)
            await _pipe(upstream, client)

    async def _forward(
        self,
        client: anyio.abc.ByteStream,
        reader: BufferedByteReceiveStream,
        request: Received,
        fields: bytes,
    ) -> None:
        url = urlsplit(request.target)
        path = url.path + (f"?{url.query}" if url.query else "")
        length = int(request.header("content-length") or 0)
        body = await reader.receive_exactly(length) if length else b""
        upstream = await anyio.connect_tcp("127.0.0.1", url.port or 80)
        async with upstream:
            line = f"{request.method} {path} HTTP/1.1\r\n".encode()
            await upstream.send(line + fields + b"\r\n\r\n" + body)
            # Half-closed: the server answers this one request and closes, so the response
            # ends where the upstream stream does.
            await upstream.send_eof()
            await _pipe(upstream, client, eof=False)


async def _pipe(
    source: anyio.abc.ByteReceiveStream, sink: anyio.abc.ByteStream, *, eof: bool = True
) -> None:
    """Copy bytes until `source` ends, then (with `eof`) half-close `sink`."""
    try:
        async for data in source:
            await sink.send(data)
        if eof:
            await sink.send_eof()
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass


@asynccontextmanager
async def forward_proxy() -> AsyncIterator[ForwardProxy]:
    """An HTTP forward proxy on 127.0.0.1 for the duration of the block: it forwards plain
    requests (absolute-form targets) and tunnels CONNECT. Every host name it is asked for
    stands for 127.0.0.1, so a test can name a host that does not exist and know that a
    request which got through went through the proxy."""
    proxy = ForwardProxy()
    async with raw_server(proxy._serve) as port:
        proxy.port = port
        yield proxy


def tls_contexts(
    ca: trustme.CA, host: str, *server_alpn: str
) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for `host` from `ca` (offering `server_alpn`), and
    a client context that trusts `ca`."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(server)
    if server_alpn:
        server.set_alpn_protocols(list(server_alpn))
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client
