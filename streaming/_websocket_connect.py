"""`connect_websocket`: open a WebSocket connection and own what comes back."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, final

import anyio
import anyio.abc
import httpx
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import WebSocketURI

from ._errors import (
    DeadlineExceededError,
    IdleTimeoutError,
    WebSocketConnectError,
    WebSocketHandshakeError,
)
from ._websocket import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_MAX_MESSAGE_SIZE,
    WebSocketProtocol,
    WebSocketStream,
    read_socket,
)
from ._websocket_url import WebSocketTarget

if TYPE_CHECKING:
    import ssl

__all__ = ["connect_websocket"]

#: An HTTP header name (RFC 9110 "token").
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: How much of a refused upgrade's body is read to explain the error.
_BODY_EXCERPT_SIZE = 4096


class _NoDebugLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The protocol's logger: websockets logs every handshake header at DEBUG (the API key
    among them) and every frame; here DEBUG is never on, whatever the logging setup."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


_PROTOCOL_LOGGER = _NoDebugLogger(logging.getLogger("streaming.websocket"), {})


async def open_websocket(
    target: WebSocketTarget,
    *,
    headers: Sequence[tuple[str, str]],
    subprotocols: Sequence[str],
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float | None,
    idle_timeout: float | None,
    deadline: float | None,
    prefetch: int,
    max_message_size: int,
    ping_interval: float | None,
    pong_timeout: float,
    close_timeout: float,
) -> WebSocketStream:
    """Connect, upgrade, and return the open stream (the body of `connect_websocket`)."""
    started = anyio.current_time()
    deadline_at = None if deadline is None else started + deadline
    socket = await _connect(target, ssl_context, connect_timeout, deadline)
    try:
        protocol = WebSocketProtocol(
            WebSocketURI(target.tls, target.host, target.port, target.target, ""),
            subprotocols=[Subprotocol(name) for name in subprotocols] or None,
            # Enforced on each frame's header, before its payload is read.
            max_size=max_message_size,
            logger=_PROTOCOL_LOGGER,
        )
        request = protocol.connect()
        del request.headers["Host"]
        request.headers["Host"] = target.host_header
        for name, value in headers:
            request.headers[name] = value  # added: a name may repeat
        protocol.send_request(request)
        await socket.send(b"".join(protocol.data_to_send()))
        bound = min(
            math.inf if idle_timeout is None else idle_timeout,
            math.inf if deadline_at is None else deadline_at - anyio.current_time(),
        )
        with anyio.move_on_after(bound) as scope:
            accepted, early_frames = await _handshake(socket, protocol, target)
        if scope.cancelled_caught:
            if deadline_at is not None and anyio.current_time() >= deadline_at:
                raise DeadlineExceededError(
                    f"the WebSocket {target.described} did not answer within its deadline of "
                    f"{deadline} s",
                    timeout=deadline or 0.0,
                )
            raise IdleTimeoutError(
                f"the WebSocket {target.described} did not answer the upgrade within "
                f"{idle_timeout} s (idle_timeout)",
                timeout=idle_timeout or 0.0,
            )
    except BaseException:
        with anyio.CancelScope(shield=True):
            await socket.aclose()
        raise
    return WebSocketStream(
        socket,
        protocol,
        target,
        early_frames=early_frames,
        subprotocol=protocol.subprotocol,
        headers={name.lower(): value for name, value in accepted.headers.raw_items()},
        idle_timeout=idle_timeout,
        deadline_at=deadline_at,
        deadline=deadline,
        prefetch=prefetch,
        max_message_size=max_message_size,
        ping_interval=ping_interval,
        pong_timeout=pong_timeout,
        close_timeout=close_timeout,
    )


async def _connect(
    target: WebSocketTarget,
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float | None,
    deadline: float | None,
) -> anyio.abc.ByteStream:
    bound = min(
        math.inf if connect_timeout is None else connect_timeout,
        math.inf if deadline is None else deadline,
    )
    try:
        with anyio.fail_after(bound):
            if not target.tls:
                return await anyio.connect_tcp(target.host, target.port)
            if ssl_context is None:
                import ssl

                ssl_context = ssl.create_default_context()
            # No TLS close_notify exchange: the WebSocket's own close frames already say where
            # the data ends (as HTTP's framing does, which is why HTTP clients skip it too), and
            # servers often close TCP first.
            return await anyio.connect_tcp(
                target.host,
                target.port,
                tls=True,
                ssl_context=ssl_context,
                tls_hostname=target.host,
                tls_standard_compatible=False,
            )
    except TimeoutError as exc:
        if deadline is not None and deadline <= bound:
            raise DeadlineExceededError(
                f"the WebSocket {target.described} could not be reached within its deadline of "
                f"{deadline} s",
                timeout=deadline,
            ) from exc
        raise WebSocketConnectError(
            f"could not connect to {target.described} within {connect_timeout} s (connect_timeout)",
            url=target.described,
        ) from exc
    except OSError as exc:
        raise WebSocketConnectError(
            f"could not connect to {target.described}: {exc}", url=target.described
        ) from exc


async def _handshake(
    socket: anyio.abc.ByteStream, protocol: WebSocketProtocol, target: WebSocketTarget
) -> tuple[Response, list[Frame]]:
    """Read the server's answer to the upgrade: accepted (with the frames that came with it),
    or a `WebSocketHandshakeError` with the status and an excerpt of the body."""
    while True:
        data = await read_socket(socket)
        if data is None:
            protocol.receive_eof()
        else:
            protocol.receive_data(data)
        events = protocol.events_received()
        if events:
            break
        if data is None or protocol.handshake_exc is not None:
            if protocol.handshake_exc is not None and data is not None:
                raise WebSocketConnectError(
                    f"{target.described} answered the WebSocket upgrade wrongly: "
                    f"{protocol.handshake_exc.__cause__ or protocol.handshake_exc}",
                    url=target.described,
                )
            raise WebSocketConnectError(
                f"{target.described} closed the connection before answering the WebSocket upgrade",
                url=target.described,
            )
    response = events[0]
    assert isinstance(response, Response)
    refused = protocol.handshake_exc
    if isinstance(refused, InvalidStatus):
        raise WebSocketHandshakeError(
            status_code=response.status_code,
            headers={name.lower(): value for name, value in response.headers.raw_items()},
            body=response.body[:_BODY_EXCERPT_SIZE].decode("utf-8", "replace"),
            url=target.described,
        )
    if refused is not None:
        raise WebSocketConnectError(
            f"{target.described} answered the WebSocket upgrade wrongly: {refused}",
            url=target.described,
        )
    # What followed the answer (the server's first frames) is parsed already: the stream
    # reads those first.
    return response, [frame for frame in events[1:] if isinstance(frame, Frame)]


@final
class _WebSocketConnection:
    """The async context manager `connect_websocket` returns."""

    def __init__(self, target: WebSocketTarget, options: dict[str, object]) -> None:
        self._target = target
        self._options = options
        self._stream: WebSocketStream | None = None

    async def __aenter__(self) -> WebSocketStream:
        stream = await open_websocket(self._target, **self._options)  # type: ignore[arg-type]
        self._stream = stream
        try:
            return await stream.__aenter__()
        except BaseException:
            await stream.aclose()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._stream is not None
        await self._stream.__aexit__(exc_type, exc, traceback)


def connect_websocket(
    url: str | httpx.URL,
    *,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    subprotocols: Sequence[str] = (),
    ssl_context: ssl.SSLContext | None = None,
    connect_timeout: float | None = 10.0,
    idle_timeout: float | None = None,
    deadline: float | None = None,
    prefetch: int = 0,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ping_interval: float | None = None,
    pong_timeout: float = 10.0,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
) -> _WebSocketConnection:
    """Open a WebSocket connection; `async with` it to get its `WebSocketStream`.

    `url` is `ws://`, `wss://`, `http://` or `https://` (the last two mean the first two).
    `headers` go with the upgrade request (authentication: `Authorization`, `api-key`, ...);
    `subprotocols` are offered in `Sec-WebSocket-Protocol`. A `wss://` connection verifies the
    server with `ssl_context` (the system's trust store by default). `connect_timeout` bounds
    the TCP and TLS connection (`WebSocketConnectError`); `idle_timeout` also bounds the wait
    for the upgrade's answer, and `deadline` counts from here, the handshake included. A
    refused upgrade raises `WebSocketHandshakeError`. See `WebSocketStream` for the rest.
    """
    for name, value in (
        ("connect_timeout", connect_timeout),
        ("idle_timeout", idle_timeout),
        ("deadline", deadline),
        ("ping_interval", ping_interval),
    ):
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds or None, not {value}")
    for name, value in (("pong_timeout", pong_timeout), ("close_timeout", close_timeout)):
        if not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds, not {value}")
    if prefetch < 0:
        raise ValueError(f"prefetch must be 0 or a positive number of messages, not {prefetch}")
    if max_message_size < 1:
        raise ValueError(
            f"max_message_size must be a positive number of bytes, not {max_message_size}"
        )
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    for pair in pairs:
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], str)
        ):
            # The value is not shown: headers carry credentials.
            raise TypeError("WebSocket headers are str names and str values")
        name, header_value = pair
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid HTTP header name")
        if any(character in header_value for character in "\r\n\0"):
            # Named, never shown: the value may be a key.
            raise ValueError(f"the value of the {name} header holds a line break or NUL")
    options: dict[str, object] = {
        "headers": pairs,
        "subprotocols": list(subprotocols),
        "ssl_context": ssl_context,
        "connect_timeout": connect_timeout,
        "idle_timeout": idle_timeout,
        "deadline": deadline,
        "prefetch": prefetch,
        "max_message_size": max_message_size,
        "ping_interval": ping_interval,
        "pong_timeout": pong_timeout,
        "close_timeout": close_timeout,
    }
    return _WebSocketConnection(WebSocketTarget.parse(url), options)
