"""`SSEResponse`: relay any async iterable to a browser as Server-Sent Events, from ASGI.

A plain ASGI application (no web framework imported), so it serves as the response of a
Starlette route, of any ASGI framework that calls the response it is given, or as an app of its
own. The two ends are owned: the client's disconnect cancels the relay and closes the upstream
(`aclose()`, shielded), so an upstream HTTP stream hands its connection back at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Generic, TypeVar, final

import anyio
import anyio.abc

from ._compose import close_source, iterate
from ._encoder import encode_event, encode_sse, encode_sse_comment
from ._event import ServerSentEvent

__all__ = ["SSEResponse"]

T = TypeVar("T")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: What a serializer returns: data text, a whole event, or bytes already encoded as SSE.
Encodable = str | ServerSentEvent | bytes

DEFAULT_HEARTBEAT = 15.0

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    # Each event is news once: no cache may keep or replay the stream.
    (b"cache-control", b"no-store"),
    # nginx buffers proxied responses unless told not to, which would hold events back.
    (b"x-accel-buffering", b"no"),
]


def _encode(item: object) -> bytes:
    if isinstance(item, str):
        return encode_sse(item)
    if isinstance(item, ServerSentEvent):
        return encode_event(item)
    if isinstance(item, bytes):
        return item
    raise TypeError(
        f"SSEResponse relays str (data), ServerSentEvent or bytes (already SSE), not "
        f"{type(item).__name__}: pass serializer= to turn it into one of them"
    )


@final
class SSEResponse(Generic[T]):
    """An ASGI response that relays `source` as a `text/event-stream`.

    Each item becomes one event: a `str` is the event's data, a `ServerSentEvent` is relayed
    with its type, id and retry, `bytes` are sent as they are (SSE already). Anything else goes
    through `serializer` first, which returns one of those (a typed event's type and JSON, say).
    A comment (`: ping`) goes out after every `heartbeat` seconds without an event, so proxies
    and browsers keep an idle stream open; `None` sends none.

    When the browser goes away, the relay stops reading, and `source` is closed (its `aclose()`,
    shielded): an upstream stream over HTTP gives its connection back. The same happens when
    the source ends or fails. A failing source ends the response; with `on_error`, the event it
    returns (or None for none) is sent first and the error stops there, else it propagates to
    the server, which logs it.

    Usable as the return value of a Starlette endpoint, or mounted as an ASGI app; for FastAPI,
    whose endpoints must return a `starlette.responses.Response`, use `StarletteSSEResponse`.
    """

    def __init__(
        self,
        source: AsyncIterable[T],
        /,
        *,
        serializer: Callable[[T], Encodable] | None = None,
        heartbeat: float | None = DEFAULT_HEARTBEAT,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        on_error: Callable[[Exception], Encodable | None] | None = None,
    ) -> None:
        if heartbeat is not None and not heartbeat > 0:
            raise ValueError(
                f"heartbeat must be a positive number of seconds or None, not {heartbeat}"
            )
        if serializer is not None and not callable(serializer):
            raise TypeError(f"serializer must be callable, not {type(serializer).__name__}")
        self._source = source
        self._iterator = iterate(source, "SSEResponse's source")
        self._serializer = serializer
        self._heartbeat = heartbeat
        self.status_code = status_code
        self._headers = list(_HEADERS)
        if headers:
            given = {name.lower() for name in headers}
            self._headers = [pair for pair in self._headers if pair[0].decode() not in given]
            self._headers += [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in headers.items()
            ]
        self._on_error = on_error
        self._used = False
        #: Why the relay stopped: "completed", "failed" or "disconnected" (None while running).
        self.outcome: str | None = None
        #: Events sent to the client.
        self.events_sent = 0

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The response headers, as ASGI sends them."""
        return list(self._headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            raise ValueError(f"SSEResponse answers HTTP requests, not {scope.get('type')!r}")
        if self._used:
            raise RuntimeError("an SSEResponse relays its source once: make one per request")
        self._used = True
        failure: list[Exception] = []
        try:
            async with anyio.create_task_group() as group:
                writer = _Writer(send, group.cancel_scope, self)
                start = {"type": "http.response.start", "status": self.status_code}
                start["headers"] = self._headers
                if await writer.write(start):
                    group.start_soon(self._watch_disconnect, receive, group.cancel_scope)
                    if self._heartbeat is not None:
                        group.start_soon(self._beat, writer, self._heartbeat)
                    await self._relay(writer, failure)
                group.cancel_scope.cancel()
        finally:
            await close_source(self._iterator, self._source)
        if failure:
            # Raised here, outside the task group, so it reaches the server as itself rather
            # than wrapped in an exception group.
            raise failure[0]

    async def _relay(self, writer: _Writer, failure: list[Exception]) -> None:
        serializer = self._serializer
        iterator = self._iterator
        end: Message = {"type": "http.response.body", "body": b"", "more_body": False}
        while True:
            try:
                item = await iterator.__anext__()
                chunk = _encode(item if serializer is None else serializer(item))
            except StopAsyncIteration:
                self.outcome = "completed"
                break
            except Exception as error:
                self.outcome = "failed"
                if self._on_error is None:
                    failure.append(error)
                    return
                reply = self._on_error(error)
                if reply is not None:
                    end["body"] = _encode(reply)
                break
            body = {"type": "http.response.body", "body": chunk, "more_body": True}
            if not await writer.write(body):
                return
            self.events_sent += 1
        await writer.write(end)

    async def _beat(self, writer: _Writer, every: float) -> None:
        comment: Message = {
            "type": "http.response.body",
            "body": encode_sse_comment("ping"),
            "more_body": True,
        }
        while True:
            due = writer.last_sent + every
            now = anyio.current_time()
            if now < due:
                await anyio.sleep(due - now)
            elif not await writer.write(comment):
                return

    async def _watch_disconnect(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                self.outcome = "disconnected"
                scope.cancel()
                return


@final
class _Writer:
    """The response's one way to `send`: one message at a time (the relay and the heartbeat
    share it), and a server that cannot write any more is a disconnect."""

    __slots__ = ("_lock", "_response", "_scope", "_send", "last_sent")

    def __init__(self, send: Send, scope: anyio.CancelScope, response: SSEResponse[Any]) -> None:
        self._send = send
        self._scope = scope
        self._response = response
        self._lock = anyio.Lock()
        self.last_sent = anyio.current_time()

    async def write(self, message: Message) -> bool:
        """Send `message`; False (and the relay cancelled) when the client is gone."""
        async with self._lock:
            try:
                await self._send(message)
            except OSError:
                # uvicorn's ClientDisconnected, and a socket error from any other server.
                self._response.outcome = "disconnected"
                self._scope.cancel()
                return False
        self.last_sent = anyio.current_time()
        return True
