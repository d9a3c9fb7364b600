"""Opening TCP and TLS byte streams with anyio, and mapping their failures to httpx's errors."""

from __future__ import annotations

import select
import ssl
from typing import Any, NamedTuple

import anyio
import anyio.abc
import httpx

__all__ = ["NetworkStreamInfo", "Origin", "open_stream", "socket_is_readable"]

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
    kwargs: dict[str, Any] = {}
    if local_address is not None:
        kwargs["local_host"] = local_address
    if origin.scheme == "https":
        assert ssl_context is not None
        kwargs["ssl_context"] = ssl_context
        kwargs["tls_hostname"] = origin.sni_hostname or origin.host
        # Servers often close without a TLS close_notify; the HTTP framing tells us whether
        # the body was complete, as in httpx's default transport.
        kwargs["tls_standard_compatible"] = False
    try:
        with anyio.fail_after(connect_timeout):
            stream: anyio.abc.ByteStream = await anyio.connect_tcp(
                origin.host, origin.port, **kwargs
            )
            return stream
    except TimeoutError:
        raise httpx.ConnectTimeout(f"timed out connecting to {origin.host}:{origin.port}") from None
    except ssl.SSLCertVerificationError as exc:
        raise httpx.ConnectError(
            f"TLS certificate verification failed for {origin.host}: {exc}"
        ) from exc
    except (OSError, ssl.SSLError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        detail = str(exc) or type(exc).__name__
        raise httpx.ConnectError(
            f"could not connect to {origin.host}:{origin.port}: {detail}"
        ) from exc


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
