"""The Responses WebSocket mode (`/v1/responses` over WebSocket): several responses over one
persistent connection.

Each `response.create` client event carries the fields of `POST /v1/responses` (plus the
WebSocket-only `stream_id`, echoed on every event of its response); the answer streams as the
same events the SSE endpoint sends, one JSON text message each, made by the same generator
(`response_events`). Responses are answered one after the other, in the order they were asked
for; each is stored like an HTTP one, so `previous_response_id` chains across the connection.
A bad request gets the API's WebSocket `error` event (`ResponseWsError`: the HTTP status, the
error object, the `stream_id`), and the connection goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from openai_ergo.mock._endpoints import BadRequest
from openai_ergo.mock._replies import RecordedRequest
from openai_ergo.mock._responses import response_error_events, response_events
from openai_ergo.mock._sockets import FaultStrikes, Socket
from openai_ergo.mock._validation import RequestSchema
from openai_ergo.mock._websockets import client_event
from openai_ergo.mock._wire import encode_json

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["ResponsesConnection"]


class ResponsesConnection:
    """One Responses WebSocket connection: `response.create` events in, response events out."""

    def __init__(
        self,
        app: MockOpenAI,
        socket: Socket,
        request: RecordedRequest,
        schema: RequestSchema | None,
    ) -> None:
        self.app = app
        self.socket = socket
        self.request = request
        self.schema = schema

    async def run(self) -> None:
        """Answer `response.create` events, in order, until the client leaves."""

        async def reader(group: TaskGroup) -> None:
            while (message := await self.socket.receive()) is not None:
                await self.handle(message)

        await self.socket.serve(reader)

    async def error(
        self,
        message: str,
        *,
        status: int = 400,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        stream_id: str | None = None,
    ) -> None:
        """The API's WebSocket `error` event."""
        payload: dict[str, Any] = {
            "type": "error",
            "status": status,
            "error": {"type": kind, "code": code, "message": message, "param": param},
        }
        if stream_id is not None:
            payload["stream_id"] = stream_id
        await self.socket.send_now(payload)

    async def handle(self, message: str | bytes) -> None:
        """Answer one client message."""
        event = await client_event(message, self.error)
        if event is None:
            return
        stream_id = event.get("stream_id")
        stream_id = stream_id if isinstance(stream_id, str) else None
        if event.get("type") != "response.create":
            await self.error(
                f"Invalid value: '{event.get('type')}'. Supported values are: 'response.create'.",
                code="invalid_value",
                param="type",
                stream_id=stream_id,
            )
            return
        body = {k: v for k, v in event.items() if k not in ("type", "stream_id")}
        try:
            if "stream" in body:
                raise BadRequest(
                    "Unknown parameter: 'stream': over WebSocket every response streams.",
                    param="stream",
                    code="unknown_parameter",
                )
            if body.get("background") is True:
                raise BadRequest(
                    "Background mode is not supported over WebSocket.",
                    param="background",
                    code="unsupported_value",
                )
            if self.schema is not None:
                self.schema.check(encode_json(body), body)
            request = RecordedRequest(
                method="POST",
                path=self.request.path,
                headers=self.request.headers,
                body=body,
                query=self.request.query,
                peer=self.request.peer,
            )
            with self.app._lock:
                self.app.requests.append(request)
            turn, _, _ = self.app._plan_response(request)
        except BadRequest as exc:
            await self.error(
                exc.message,
                status=exc.status,
                kind=exc.type,
                code=exc.code,
                param=exc.param,
                stream_id=stream_id,
            )
            return
        lane = {} if stream_id is None else {"stream_id": stream_id}
        sequence = 0
        try:
            if self.socket.latency > 0:
                await anyio.sleep(self.socket.latency)
            for payload, token in response_events(turn):
                sequence = payload["sequence_number"]
                await self.socket.send_event(payload | lane, token=token)
        except FaultStrikes as exc:
            for payload in response_error_events(turn, sequence, exc.code, exc.message):
                await self.socket.send_now(payload | lane)
