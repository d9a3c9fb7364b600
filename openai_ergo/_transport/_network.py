"""Opening TCP and TLS byte streams with anyio, and mapping their failures to httpx's errors."""

from __future__ import annotations

import os
import select
import socket
import ssl
from typing import Any, NamedTuple

import anyio
import anyio.abc
import anyio.lowlevel
import httpx

__all__ = [
    "NetworkStreamInfo",
    "Origin",
    "PlainSocketStream",
    "deadline_scope",
    "describe_failure",
    "open_stream",
    "socket_is_readable",
]

# httpcore's connect retry schedule: immediately, then 0.5 s, 1 s, 2 s, ...
_RETRY_BACKOFF_FACTOR = 0.5


class Origin(NamedTuple):
    """Where a connection goes: connections are pooled per origin."""

    scheme: str
    host: str
    port: int
    sni_hostname: str | None = None


async def open_stream(
    origin: Origin,
    *,
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float | None,
    local_address: str | None = None,
    retries: int = 0,
    request: httpx.Request | None = None,
) -> anyio.abc.ByteStream:
    """Connect to `origin` (TLS for https), retrying connect failures `retries` times."""
    attempt = 0
    while True:
        try:
            return await _connect_once(
                origin,
                ssl_context=ssl_context,
                connect_timeout=connect_timeout,
                local_address=local_address,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if attempt >= retries:
                exc.request = request  # type: ignore[assignment]
                raise
            await anyio.sleep(_RETRY_BACKOFF_FACTOR * 2 ** (attempt - 1) if attempt else 0)
            attempt += 1


async def _connect_once(
    origin: Origin,
    *,
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float | None,
    local_address: str | None,
) -> anyio.abc.ByteStream:
    where = f"{origin.host}:{origin.port}"
    family = _direct_family(origin, local_address)
    if family is not None:
        return PlainSocketStream(await _connect_direct(family, origin, connect_timeout, where))
    try:
        with anyio.fail_after(connect_timeout):
            try:
                stream: anyio.abc.ByteStream = await anyio.connect_tcp(
                    origin.host, origin.port, local_host=local_address
                )
            except OSError as exc:
                what, cause = describe_failure(exc)
                raise httpx.ConnectError(f"could not connect to {where}: {what}") from cause
            if origin.scheme == "https":
                assert ssl_context is not None
                # Apart from the TCP connect, so that a failure says which step it was.
                return await _start_tls(stream, origin, ssl_context, where)
            return await PlainSocketStream.adopt(stream)
    except TimeoutError:
        raise httpx.ConnectTimeout(f"timed out connecting to {where}") from None


def _direct_family(origin: Origin, local_address: str | None) -> socket.AddressFamily | None:
    """The address family of a plain-http origin whose host is an IP address (nothing to
    resolve, one address to try), or None when `anyio.connect_tcp` must do the connecting."""
    if origin.scheme != "http" or local_address is not None:
        return None
    # Here, not at import: called once per new connection (and httpx has loaded it anyway).
    from ipaddress import ip_address

    try:
        address = ip_address(origin.host)
    except ValueError:
        return None
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


async def _connect_direct(
    family: socket.AddressFamily, origin: Origin, connect_timeout: float | None, where: str
) -> socket.socket:
    """A non-blocking socket connected to `origin`, with TCP_NODELAY, as `anyio.connect_tcp`
    makes one for a single address; the same errors as `_connect_once`.

    `anyio.connect_tcp` runs happy eyeballs: a task group, a task and an event per address,
    and under asyncio a transport and protocol that `PlainSocketStream.adopt` then closes.
    With one address there is nothing to race, and those objects, alive while the connect is
    in flight, were most of what many streams opening at once held (docs/performance.md).
    The connect timeout's cancel scope covers the wait for the connect alone: a connect that
    completes at once needs none (under trio a deadline outlives its block in the run loop's
    heap, holding the scope).
    """
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        what, cause = describe_failure(exc)
        raise httpx.ConnectError(f"could not connect to {where}: {what}") from cause
    try:
        sock.setblocking(False)
        # The request goes out in one write, and the server's small writes (one per event)
        # must not wait on Nagle's algorithm either side.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.connect((origin.host, origin.port))
        except BlockingIOError:
            if connect_timeout is None:
                await anyio.wait_writable(sock)
            else:
                with deadline_scope(connect_timeout) as scope:
                    await anyio.wait_writable(sock)
                if scope.cancelled_caught:
                    raise httpx.ConnectTimeout(f"timed out connecting to {where}") from None
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, os.strerror(error)) from None
        else:
            # Connected at once: still a checkpoint, so a cancellation stops here as it would
            # in `anyio.connect_tcp`, and a timeout that expired already expires here too.
            if connect_timeout is not None and connect_timeout <= 0:
                raise httpx.ConnectTimeout(f"timed out connecting to {where}")
            await anyio.lowlevel.checkpoint()
    except OSError as exc:
        sock.close()
        what, cause = describe_failure(exc)
        raise httpx.ConnectError(f"could not connect to {where}: {what}") from cause
    except BaseException:
        sock.close()
        raise
    return sock


async def _start_tls(
    stream: anyio.abc.ByteStream, origin: Origin, ssl_context: ssl.SSLContext, where: str
) -> anyio.abc.ByteStream:
    # Loaded here, not at import: plain-http users never need it.
    from anyio.streams.tls import TLSStream

    try:
        return await TLSStream.wrap(
            stream,
            hostname=origin.sni_hostname or origin.host,
            ssl_context=ssl_context,
            # Servers often close without a TLS close_notify; the HTTP framing tells us whether
            # the body was complete, as in httpx's default transport.
            standard_compatible=False,
        )
    except BaseException as exc:
        await anyio.aclose_forcefully(stream)
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise httpx.ConnectError(
                f"TLS certificate verification failed for {origin.host}: {exc}"
            ) from exc
        if isinstance(exc, OSError | anyio.BrokenResourceError | anyio.EndOfStream):
            what, cause = describe_failure(exc)
            raise httpx.ConnectError(
                f"could not connect to {where}: {what} during the TLS handshake"
            ) from cause
        raise


def describe_failure(exc: BaseException) -> tuple[str, BaseException]:
    """What a socket or TLS failure means, in words, and the exception that holds its errno
    or SSL reason (to chain the httpx error from).

    anyio wraps the OS's and `ssl`'s errors in `BrokenResourceError` or `EndOfStream`, whose
    names say nothing; what happened is further down the `__cause__` chain.
    """
    cause = _root_cause(exc)
    if isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError | anyio.EndOfStream):
        return "the server closed the connection", cause
    if isinstance(cause, ssl.SSLError):
        # "[SSL: WRONG_VERSION_NUMBER] wrong version number": ssl names the reason itself.
        return str(cause), cause
    if isinstance(cause, socket.gaierror):
        return f"could not resolve the host name ({cause.strerror})", cause
    if isinstance(cause, OSError) and cause.errno:
        # "Connection reset by peer", "Connection refused", "Broken pipe": the OS's own words.
        words = os.strerror(cause.errno)
        return words[:1].lower() + words[1:], cause
    return str(cause) or type(cause).__name__, cause


def _root_cause(exc: BaseException) -> BaseException:
    """The first exception in `exc`'s chain that carries an errno (an `ssl.SSLError` does),
    else `exc` itself."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        if isinstance(node, OSError) and node.errno is not None:
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return exc


class NetworkStreamInfo:
    """What a response's `network_stream` extension offers, as httpcore's does: `get_extra_info`
    for "ssl_object", "client_addr", "server_addr", "socket" and "is_readable".

    Its presence also tells the layers above that every socket read of the body is timed with
    the request's read timeout, as httpcore's are (an event source then needs no timer of its
    own for an idle timeout equal to it).
    """

    __slots__ = ("_stream",)

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream

    def get_extra_info(self, info: str) -> Any:
        """The named detail of the connection, or None when it has none."""
        stream = self._stream
        if info == "ssl_object":
            # Loaded here, not at import: `anyio.connect_tcp(tls=True)` loads it for https anyway.
            from anyio.streams.tls import TLSAttribute

            return stream.extra(TLSAttribute.ssl_object, None)
        if info == "client_addr":
            return stream.extra(anyio.abc.SocketAttribute.local_address, None)
        if info == "server_addr":
            return stream.extra(anyio.abc.SocketAttribute.remote_address, None)
        if info == "socket":
            return raw_socket(stream)
        if info == "is_readable":
            return socket_is_readable(raw_socket(stream))
        return None


def deadline_scope(timeout: float) -> anyio.CancelScope:
    """A cancel scope that ends its block `timeout` seconds from now; the caller raises
    `TimeoutError` when `scope.cancelled_caught` (only the deadline cancels it).

    `anyio.fail_after` does the same through two generator-based context managers and four
    event-loop lookups: a socket wait is entered once per read that finds nothing waiting,
    so that is paid per event batch of every stream (docs/performance.md).
    """
    return anyio.CancelScope(deadline=anyio.current_time() + timeout)


def raw_socket(stream: anyio.abc.ByteStream) -> Any:
    """The socket under a stream (also under TLS), or None when there is none."""
    return stream.extra(anyio.abc.SocketAttribute.raw_socket, None)


def socket_is_readable(sock: Any) -> bool:
    """True when an idle connection has something to read: the peer closed it or sent
    bytes nobody asked for. Either way it must not carry another request."""
    if sock is None:
        return False
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        # A closed or invalid descriptor is as good as closed.
        return True


class PlainSocketStream(anyio.abc.SocketStream):
    """A connected, non-blocking TCP socket read and written with the socket's own calls.

    anyio's asyncio stream reads through an asyncio transport, which takes everything the
    kernel holds (up to 256 KiB) on each readiness and queues it in the process whatever size
    was asked: an open stream then holds the whole burst its server sent. Here a read takes at
    most what was asked and the rest stays in the kernel, as under trio; and a read or write
    that can complete at once costs no task switch and no cancel scope (docs/performance.md).
    The socket is connected by `anyio.connect_tcp` (address families, happy eyeballs, errors)
    and then taken over: a duplicate of its descriptor is kept and anyio's stream closed, which
    closes its descriptor only (no FIN: the duplicate keeps the connection).
    """

    __slots__ = ("_closed", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._closed = False

    @classmethod
    async def adopt(cls, stream: anyio.abc.ByteStream) -> anyio.abc.ByteStream:
        """Take over `stream`'s socket, or keep `stream` when it has no plain socket."""
        # Under asyncio this is the transport's `TransportSocket` view, which can `dup()` too.
        sock = raw_socket(stream)
        if getattr(sock, "type", None) != socket.SOCK_STREAM or not hasattr(sock, "dup"):
            return stream
        try:
            own = sock.dup()
        except OSError:
            return stream
        await anyio.aclose_forcefully(stream)
        return cls(own)

    @property
    def _raw_socket(self) -> socket.socket:
        return self._sock

    async def receive(self, max_bytes: int = 65536) -> bytes:
        """At most `max_bytes`; `anyio.EndOfStream` when the peer closed its side."""
        return await self.receive_within(max_bytes, None)

    async def receive_within(self, max_bytes: int, read_timeout: float | None) -> bytes:
        """`receive`, raising `TimeoutError` when nothing arrived within `read_timeout` seconds."""
        sock = self._sock
        try:
            data = sock.recv(max_bytes)
        except BlockingIOError:
            if read_timeout is None:
                await anyio.wait_readable(sock)
            else:
                with deadline_scope(read_timeout) as scope:
                    await anyio.wait_readable(sock)
                if scope.cancelled_caught:
                    raise TimeoutError from None
            data = sock.recv(max_bytes)
        else:
            # Data was waiting: still a checkpoint, so a fast server cannot starve the loop and
            # a cancelled task stops here.
            await anyio.lowlevel.checkpoint()
        if not data:
            raise anyio.EndOfStream
        return data

    async def send(self, item: bytes) -> None:
        """Write all of `item`."""
        await self.send_within(item, None)

    async def send_within(self, item: bytes, write_timeout: float | None) -> None:
        """`send`, raising `TimeoutError` when the peer reads nothing for `write_timeout` s."""
        if self._closed:
            raise anyio.ClosedResourceError
        sock = self._sock
        try:
            sent = sock.send(item)
        except BlockingIOError:
            sent = 0
        if sent == len(item):
            # The common case: a request head and body fit the socket's buffer at once.
            return
        # The timeout covers the whole rest, as for httpx's default transport (one deadline
        # per send, not per wait).
        rest = memoryview(item)[sent:]
        if write_timeout is None:
            await self._send_rest(rest)
        else:
            with deadline_scope(write_timeout) as scope:
                await self._send_rest(rest)
            if scope.cancelled_caught:
                raise TimeoutError

    async def _send_rest(self, view: memoryview) -> None:
        sock = self._sock
        while view:
            await anyio.wait_writable(sock)
            try:
                view = view[sock.send(view) :]
            except BlockingIOError:
                continue

    async def send_eof(self) -> None:
        """Shut down the writing side."""
        self._sock.shutdown(socket.SHUT_WR)

    async def aclose(self) -> None:
        """Close the socket (waiters on it are woken by the event loop)."""
        if not self._closed:
            self._closed = True
            anyio.notify_closing(self._sock)
            self._sock.close()
        await anyio.lowlevel.checkpoint()
