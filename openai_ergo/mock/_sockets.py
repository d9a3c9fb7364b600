"""The mock's WebSocket side: one ASGI `websocket` connection, its handshake, its messages, and
the faults that act on it.

Two APIs are served over WebSocket, each at the path the official SDK connects to: the Realtime
API at `/v1/realtime?model=...` (`_realtime.py`) and the Responses WebSocket mode at
`/v1/responses` (`_responses_ws.py`). A `Socket` is what both talk through: it authenticates the
handshake like an HTTP request (bearer key, `api-key`, the browser's
`openai-insecure-api-key.<key>` subprotocol, or an ephemeral client secret the mock issued),
then counts the events it sends, so a fault strikes at event number `after` as it does in an SSE
stream: `disconnect` drops the TCP connection without a close frame, `idle` goes silent,
`malformed` sends truncated JSON, `error_event` makes the answer in progress fail with the API's
error event. Faults that answer instead of a response (`rate_limit`, `server_error`, `html`)
refuse the handshake with that HTTP answer; `hang` leaves the handshake unanswered.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from anyio.abc import TaskGroup

from openai_ergo.mock._exchange import ConnectionDropped, Disconnected, Receive, Scope, Send
from openai_ergo.mock._faults import Fault
from openai_ergo.mock._wire import JSON_CONTENT_TYPE, Headers, encode_json, http_date

__all__ = ["FaultStrikes", "Socket", "key_from_subprotocols"]

#: How often a silent socket checks whether the server is shutting down.
_CLOSE_POLL = 0.05
#: An unbounded hang still ends some day, so a forgotten client cannot pin a task forever.
_FOREVER = 3600.0
#: The subprotocol a browser passes its (ephemeral) key in, as the Realtime API reads it.
_KEY_SUBPROTOCOL = "openai-insecure-api-key."


class FaultStrikes(Exception):
    """Raised by `Socket.send_event` where an `error_event` fault strikes: the answer in
    progress sends its protocol's error events (through `send_now`) and ends."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def key_from_subprotocols(subprotocols: list[str]) -> str | None:
    """The key a browser sends as the `openai-insecure-api-key.<key>` subprotocol, if any."""
    for protocol in subprotocols:
        if protocol.startswith(_KEY_SUBPROTOCOL):
            return protocol[len(_KEY_SUBPROTOCOL) :]
    return None


class Socket:
    """One WebSocket connection, server side: handshake, JSON text messages, close and faults."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Mapping[str, str],
        closing: threading.Event,
        *,
        fault: Fault | None,
        pace: float | None,
        latency: float,
    ) -> None:
        self._receive = receive
        self._send = send
        self.headers = headers
        self.subprotocols: list[str] = list(scope.get("subprotocols") or [])
        self.closing = closing
        self.fault = fault
        self.pace = pace
        self.latency = latency
        #: Server events sent so far (the count a fault's `after` refers to).
        self.sent = 0
        #: Set when a `disconnect` fault struck: the app then drops the connection.
        self.dropped = False
        self._paced_since: float | None = None
        self._paced = 0
        self._scope: anyio.CancelScope | None = None

    # -- handshake ------------------------------------------------------------------------------

    async def connected(self) -> bool:
        """Wait for the client's opening handshake (False: it left first)."""
        message = await self._receive()
        return bool(message["type"] == "websocket.connect")

    async def accept(self) -> None:
        """Complete the handshake, choosing the `realtime` subprotocol when the client offers
        it (browsers do, beside their key)."""
        message: dict[str, Any] = {"type": "websocket.accept"}
        if "realtime" in self.subprotocols:
            message["subprotocol"] = "realtime"
        await self._send(message)

    async def refuse(
        self,
        status: int,
        body: bytes,
        *,
        content_type: bytes = JSON_CONTENT_TYPE,
        extra: Headers | None = None,
    ) -> None:
        """Answer the handshake with an HTTP response instead (a 401, a 429, a proxy's page)."""
        headers: Headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"date", http_date()),
            *(extra or ()),
        ]
        await self._send(
            {"type": "websocket.http.response.start", "status": status, "headers": headers}
        )
        await self._send({"type": "websocket.http.response.body", "body": body})

    async def hang(self, seconds: float | None) -> bool:
        """Answer nothing for `seconds` (True), or until the client leaves or the server
        closes (False)."""
        with anyio.move_on_after(seconds if seconds is not None else _FOREVER) as timer:
            async with anyio.create_task_group() as group:
                group.start_soon(self.cancel_on_close, group.cancel_scope)
                while (await self._receive())["type"] != "websocket.disconnect":
                    pass
                group.cancel_scope.cancel()
        return timer.cancelled_caught

    # -- messages -------------------------------------------------------------------------------

    async def receive(self) -> str | bytes | None:
        """The next message from the client (text or binary), or None once it disconnected."""
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def send_now(self, payload: Any) -> None:
        """Send one event as a JSON text message, as it is (no fault, no pacing); raises
        `Disconnected` once the client is gone (or a fault dropped the connection)."""
        await self._send_text(encode_json(payload).decode())

    async def _send_text(self, text: str) -> None:
        if self.dropped:
            raise Disconnected
        try:
            await self._send({"type": "websocket.send", "text": text})
        except OSError:  # the server's word for a client that left
            raise Disconnected from None
        self.sent += 1

    async def send_event(self, payload: dict[str, Any], *, token: bool = False) -> None:
        """Send one server event, paced when it carries a token, striking the fault when this
        is event number `after`."""
        fault = self.fault
        if fault is not None and self.sent == fault.after:
            self.fault = None  # a fault strikes once per connection
            await self._strike(fault, payload)
            return
        if token and self.pace:
            now = anyio.current_time()
            if self._paced_since is None:
                self._paced_since = now
            self._paced += 1
            delay = self._paced_since + self._paced / self.pace - now
            if delay > 0:
                await anyio.sleep(delay)
        await self.send_now(payload)

    async def _strike(self, fault: Fault, payload: dict[str, Any]) -> None:
        if fault.kind == "disconnect":
            self.drop()
        elif fault.kind == "idle":
            if not await self._silence(fault.seconds):
                self.drop()
            await self.send_now(payload)
        elif fault.kind == "malformed":
            text = encode_json(payload).decode()
            await self._send_text(text[: max(1, len(text) // 2)])
        elif fault.kind == "error_event":
            code = fault.code or "server_error"
            message = fault.message or "The server had an error processing your request."
            raise FaultStrikes(code, message)
        else:  # faults that answer instead of a response struck at the handshake
            await self.send_now(payload)

    async def _silence(self, seconds: float | None) -> bool:
        with anyio.move_on_after(seconds if seconds is not None else _FOREVER) as timer:
            async with anyio.create_task_group() as group:
                group.start_soon(self.cancel_on_close, group.cancel_scope)
                await anyio.sleep_forever()
        return timer.cancelled_caught

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (the client then ends the connection)."""
        await self._send({"type": "websocket.close", "code": code, "reason": reason})

    # -- the connection's life ------------------------------------------------------------------

    def drop(self) -> None:
        """Cut the connection with no close frame (the app raises `ConnectionDropped` once its
        tasks have stopped)."""
        self.dropped = True
        if self._scope is not None:
            self._scope.cancel()

    async def cancel_on_close(self, scope: anyio.CancelScope) -> None:
        """Cancel `scope` when the server shuts down (an event set from another thread)."""
        while not self.closing.is_set():  # noqa: ASYNC110
            await anyio.sleep(_CLOSE_POLL)
        scope.cancel()

    async def serve(self, reader: Callable[[TaskGroup], Awaitable[None]]) -> None:
        """Run `reader` (the connection's loop, given the task group its work may start tasks
        in) until it returns, the client leaves, the server closes, or a fault drops the
        connection; then close it properly or drop it."""
        async with anyio.create_task_group() as group:
            self._scope = group.cancel_scope
            group.start_soon(self.cancel_on_close, group.cancel_scope)
            with contextlib.suppress(Disconnected):  # the client left: nothing more to do
                await reader(group)
            group.cancel_scope.cancel()
        if self.dropped:
            raise ConnectionDropped("the mock dropped the WebSocket connection, as asked")
        if self.closing.is_set():
            with contextlib.suppress(OSError):  # the client may have left first
                await self.close(1012, "The server is shutting down.")
