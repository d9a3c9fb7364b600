"""One request's response side: headers, bodies, pacing, and the faults that act on the body.

The app decides what to answer; an `Exchange` puts it on the wire through ASGI `send`, paces
tokens, goes silent, truncates or drops the connection when a fault says so, and notices when
the client leaves or the server shuts down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import anyio

from openai_ergo.mock._faults import Fault, fault_error
from openai_ergo.mock._wire import (
    JSON_CONTENT_TYPE,
    Headers,
    RateLimitWindow,
    encode_json,
    error_body,
    new_id,
    response_headers,
)

__all__ = ["ConnectionDropped", "Disconnected", "Exchange", "Frame", "Receive", "Scope", "Send"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: A frame and whether it carries a token (pacing applies to those).
Frame = tuple[bytes, bool]

_FLUSH_AT = 16 * 1024
#: How often a hanging request checks whether the server is shutting down.
_CLOSE_POLL = 0.05
#: An unbounded hang still ends some day, so a forgotten client cannot pin a task forever.
_FOREVER = 3600.0


class ConnectionDropped(Exception):
    """Raised inside the app to make the server cut the connection mid-body, on purpose."""


class Disconnected(Exception):
    """The client went away; nothing more to send."""


class Exchange:
    """One request's response side: headers, bodies, pacing and the faults that need them."""

    def __init__(
        self,
        send: Send,
        receive: Receive,
        started: float,
        request_headers: dict[str, str],
        window: RateLimitWindow,
        closing: threading.Event,
    ) -> None:
        self.send = send
        self.receive = receive
        self.started = started
        self.request_id = new_id("req_")
        self.request_headers = request_headers
        #: The app's rate-limit window, for the `x-ratelimit-*` headers.
        self.window = window
        #: Set (from any thread) when the server shuts down: hangs and streams stop.
        self.closing = closing

    def headers(self, content_type: bytes, extra: Headers | None = None) -> Headers:
        """Standard headers for this response."""
        elapsed_ms = round((time.perf_counter() - self.started) * 1000)
        return response_headers(
            content_type=content_type,
            request_id=self.request_id,
            processing_ms=elapsed_ms,
            extra=extra,
        )

    async def start(self, status: int, headers: Headers) -> None:
        """Send the status line and headers."""
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def body(self, data: bytes, *, more: bool = False) -> None:
        """Send part of the body."""
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(self, status: int, payload: Any, *, extra: Headers | None = None) -> None:
        """A whole JSON answer."""
        headers = self.headers(JSON_CONTENT_TYPE, extra or self.window.headers())
        await self.start(status, headers)
        await self.body(encode_json(payload))

    async def raw(
        self,
        status: int,
        data: bytes,
        fault: Fault | None = None,
        *,
        tokens: int = 0,
        content_type: bytes = JSON_CONTENT_TYPE,
    ) -> None:
        """A whole answer; mid-stream faults act on the body as far as they can."""
        if fault is not None and fault.kind == "error_event":
            message, kind, code = fault_error(Fault.server_error(), None)
            await self.json(500, error_body(message, type=kind, code=code))
            return
        await self.start(status, self.headers(content_type, self.window.record(tokens)))
        if fault is None:
            await self.body(data)
        elif fault.kind == "idle":
            if not await self.hang(fault.seconds, watch_client=True):
                raise Disconnected
            await self.body(data)
        elif fault.kind == "malformed":
            await self.body(data[: max(1, len(data) // 2)])
        else:  # disconnect
            await self.body(data[: len(data) // 2], more=True)
            raise ConnectionDropped("the mock dropped the connection mid-body, as asked")

    async def hang(self, seconds: float | None, *, watch_client: bool) -> bool:
        """Send nothing until `seconds` pass (True), or the client leaves or the server closes
        (False). A caller that already watches the client passes `watch_client=False`: two
        concurrent `receive()` calls would race for the disconnect message."""
        with anyio.move_on_after(seconds if seconds is not None else _FOREVER) as timer:
            async with anyio.create_task_group() as group:
                group.start_soon(self._cancel_on_close, group.cancel_scope)
                if watch_client:
                    await self.cancel_on_disconnect(group.cancel_scope)
                else:
                    await anyio.sleep_forever()
        return timer.cancelled_caught

    async def _cancel_on_close(self, scope: anyio.CancelScope) -> None:
        # An anyio.Event cannot be set from another thread, hence the polling.
        while not self.closing.is_set():  # noqa: ASYNC110
            await anyio.sleep(_CLOSE_POLL)
        scope.cancel()

    async def cancel_on_disconnect(self, scope: anyio.CancelScope) -> None:
        """Cancel `scope` when the client disconnects."""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                scope.cancel()
                return

    async def frames(
        self,
        frames: Iterator[Frame],
        fault: Fault | None,
        error_frames: Callable[[int, str, str], list[bytes]],
        pace: float | None,
        latency: float,
    ) -> bool:
        """Stream the frames, pacing tokens and striking the fault; True if it must drop."""
        pending = bytearray()
        strike_at = fault.after if fault is not None else -1
        if latency > 0:
            await anyio.sleep(latency)
        clock = anyio.current_time()
        sent_tokens = 0
        closing = self.closing
        for index, (frame, is_token) in enumerate(frames):
            if closing.is_set():
                return True
            if index == strike_at and fault is not None:
                if pending:
                    await self.body(bytes(pending), more=True)
                    pending.clear()
                if fault.kind == "disconnect":
                    return True
                if fault.kind == "idle":
                    if not await self.hang(fault.seconds, watch_client=False):
                        return True
                elif fault.kind == "error_event":
                    code = fault.code or "server_error"
                    message = fault.message or "The server had an error processing your request."
                    await self.body(b"".join(error_frames(index, code, message)))
                    return False
                elif fault.kind == "malformed":
                    frame = _truncated(frame)
            if pace and is_token:
                if pending:
                    await self.body(bytes(pending), more=True)
                    pending.clear()
                sent_tokens += 1
                delay = clock + sent_tokens / pace - anyio.current_time()
                if delay > 0:
                    await anyio.sleep(delay)
            pending += frame
            if pace or len(pending) >= _FLUSH_AT:
                await self.body(bytes(pending), more=True)
                pending.clear()
        if strike_at >= 0 and fault is not None and fault.kind == "disconnect":
            # The stream was shorter than `after`: strike at its end, before the body closes.
            if pending:
                await self.body(bytes(pending), more=True)
                pending.clear()
            return True
        await self.body(bytes(pending))
        return False


def _truncated(frame: bytes) -> bytes:
    start = frame.index(b"data: ") + len(b"data: ")
    data = frame[start:].rstrip(b"\n")
    return frame[:start] + data[: max(1, len(data) // 2)] + b"\n\n"
