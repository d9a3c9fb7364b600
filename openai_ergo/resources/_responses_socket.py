"""Responses over WebSocket: `client.responses.connect()` keeps one connection to
`/v1/responses` open, and sends several responses over it, one after the other.

Each response is a `response.create` client event carrying the builder's body; its answer is
the same events the SSE endpoint sends, one JSON text message each. They go through the SSE
stream's own handle (`ResponseStream`: the typed decoding, the accumulator, `.final()`, the
errors with `partial`), which reads them from an adapter in place of an HTTP event stream: the
typed-event and aggregation code is the one the SSE stream runs, not a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast, final

import msgspec

from openai_ergo._errors import (
    InvalidRequestError,
    RealtimeClosedError,
    StreamError,
    StreamIdleTimeoutError,
    StreamInterruptedError,
)
from openai_ergo.resources._streams import ResponseStream

if TYPE_CHECKING:
    import httpx

    from openai_ergo._client import Client
    from openai_ergo._pipeline._ratelimit import RateLimitInfo
    from openai_ergo._response import EventStream
    from openai_ergo.resources._responses import ResponsesBuilder
    from openai_ergo.types import Response
    from streaming import ServerSentEvent, WebSocketStream

__all__ = ["ResponsesSocket", "ResponsesSocketConnection"]

#: The terminal events of one response (an `error` ends it too).
_TERMINAL = frozenset({"response.completed", "response.failed", "response.incomplete", "error"})
#: How an error event starts, compact as the API writes JSON: a quote inside a string value is
#: escaped, so this never matches text that merely mentions it.
_ERROR_MARK = '"type":"error"'


class _Kind(msgspec.Struct):
    type: str = ""


_kind_decoder = msgspec.json.Decoder(_Kind)
_encoder = msgspec.json.Encoder()


def _sse_error(message: str) -> str:
    """The WebSocket `error` event (`{"type": "error", "status", "error": {...}}`) in the
    shape the SSE stream's `error` event has (`code`, `message`, `param` at the top)."""
    try:
        payload = msgspec.json.decode(message)
    except msgspec.DecodeError:
        return message
    if not isinstance(payload, dict) or payload.get("type") != "error":
        return message
    error = payload.get("error")
    if not isinstance(error, dict):
        return message
    flat = {
        "type": "error",
        "code": error.get("code"),
        "message": error.get("message"),
        "param": error.get("param"),
        "sequence_number": payload.get("sequence_number", 0),
    }
    return _encoder.encode(flat).decode()


@final
class _SocketEvents:
    """One response's messages, as the `EventStream` a `ResponseStream` reads: a batch of
    `ServerSentEvent`s whose `data` is each message, and the end after its terminal event."""

    observed = False

    def __init__(self, socket: ResponsesSocket, ended: Callable[[], bool]) -> None:
        self._socket = socket
        self._ended = ended
        self._closed = False

    # What `ResponseMetadata` reads: the handshake's answer stands for the response's head.
    @property
    def headers(self) -> httpx.Headers:
        import httpx

        return httpx.Headers(dict(self._socket._stream.response_headers))

    @property
    def status_code(self) -> int:
        return 101

    @property
    def request_id(self) -> str | None:
        return self._socket._stream.response_headers.get("x-request-id")

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        return None

    async def next_batch(self) -> list[ServerSentEvent]:
        from streaming import ServerSentEvent

        if self._ended():
            return []
        message = await self._socket._receive()
        if message is None:
            return []
        if _ERROR_MARK in message:
            message = _sse_error(message)
        return [ServerSentEvent(data=message)]

    def report_outcome(self, outcome: Any) -> None:
        """Nothing observes a WebSocket response."""

    def end_observation(self) -> None:
        """Nothing observes a WebSocket response."""

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            if not self._ended():
                # Left before its end: the rest of its events come before the next one's.
                self._socket._unfinished += 1
            self._socket._busy = False


@final
class ResponsesSocket:
    """A persistent WebSocket connection to the Responses API, from
    `async with client.responses.connect() as socket:`.

    `await socket.create(builder)` sends one response and returns the final `Response`;
    `async with socket.stream(builder) as stream:` gives the same `ResponseStream` (typed
    events, `text()`, `final()`, the same errors) as `builder.stream()` over HTTP. Responses go
    one after the other over the connection (`previous_response(...)` chains them). Leaving
    the block (or `aclose()`) sends a close frame and closes the socket.
    """

    def __init__(self, stream: WebSocketStream) -> None:
        self._stream = stream
        self._busy = False
        #: Responses left before their end, whose remaining events are read (and dropped)
        #: before the next response's.
        self._unfinished = 0

    def __repr__(self) -> str:
        return f"ResponsesSocket({self._stream.url!r})"

    @property
    def url(self) -> str:
        """The connection's address, without its query string."""
        return self._stream.url

    async def _receive(self) -> str | None:
        from streaming import StreamingError, StreamTimeoutError, WebSocketClosedError

        try:
            message = await self._stream.__anext__()
        except StopAsyncIteration:
            return None
        except WebSocketClosedError as exc:
            raise RealtimeClosedError(
                f"the Responses WebSocket closed: {exc}", code=exc.code, reason=exc.reason
            ) from exc
        except StreamTimeoutError as exc:
            raise StreamIdleTimeoutError(f"the Responses WebSocket timed out: {exc}") from exc
        except StreamingError as exc:
            raise StreamInterruptedError(f"the Responses WebSocket broke: {exc}") from exc
        if isinstance(message, bytes):
            raise StreamInterruptedError("the Responses WebSocket sent a binary message")
        return message

    async def _skip_unfinished(self) -> None:
        while self._unfinished:
            message = await self._receive()
            if message is None:
                return
            try:
                kind = _kind_decoder.decode(message).type
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if kind in _TERMINAL:
                self._unfinished -= 1

    def stream(self, builder: ResponsesBuilder) -> ResponseStream:
        """Send `builder`'s request over the connection; `async with` the stream to read it."""
        from openai_ergo.resources._responses import ResponsesBuilder

        if not isinstance(builder, ResponsesBuilder):
            raise InvalidRequestError(
                f"a Responses WebSocket sends a client.responses(...) builder, not "
                f"{type(builder).__name__}",
                param="builder",
            )
        body = builder._body()
        body.pop("stream", None)
        body.pop("stream_options", None)
        message = _encoder.encode({"type": "response.create", **body}).decode()
        holder: list[ResponseStream] = []

        async def open_events() -> EventStream:
            if self._busy:
                raise StreamError("a Responses WebSocket streams one response at a time")
            await self._skip_unfinished()
            from streaming import WebSocketClosedError

            try:
                await self._stream.send(message)
            except WebSocketClosedError as exc:
                raise RealtimeClosedError(
                    f"the Responses WebSocket is closed: {exc}", code=exc.code, reason=exc.reason
                ) from exc
            self._busy = True
            stream = holder[0]
            # Its end: a terminal event, or an `error` event (which ends a response too).
            events = _SocketEvents(
                self, lambda: stream._accumulator.ended or stream._failure() is not None
            )
            return cast("EventStream", events)

        stream = ResponseStream(open_events)
        holder.append(stream)
        return stream

    async def create(self, builder: ResponsesBuilder) -> Response:
        """Send `builder`'s request over the connection and return the final `Response`."""
        async with self.stream(builder) as stream:
            return await stream.until_done()

    async def aclose(self) -> None:
        """Send a close frame and close the socket; idempotent, finishes even when cancelled."""
        await self._stream.aclose()

    async def __aenter__(self) -> ResponsesSocket:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stream.aclose(1000 if exc_type is None else 1001)


@final
class ResponsesSocketConnection:
    """What `client.responses.connect()` returns: `async with` it for the `ResponsesSocket`."""

    def __init__(self, client: Client, options: dict[str, Any]) -> None:
        self._client = client
        self._options = options
        self._socket: ResponsesSocket | None = None

    def __repr__(self) -> str:
        return f"ResponsesSocketConnection({self._client.base_url!r})"

    async def __aenter__(self) -> ResponsesSocket:
        from openai_ergo.resources._realtime import websocket_request
        from openai_ergo.resources._realtime_session import open_socket

        url, headers = await websocket_request(self._client, "/responses", {}, model=None)
        self._socket = ResponsesSocket(await open_socket(url, headers, self._options))
        return self._socket

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._socket is not None:
            await self._socket.__aexit__(exc_type, exc, traceback)
