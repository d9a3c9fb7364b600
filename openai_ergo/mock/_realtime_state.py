"""What a mock Realtime session holds (the session's settings, the conversation, the input audio
buffer, the response in progress) and how it sends server events; the concerns that act on it
are mixins over it (`_realtime_items`, `_realtime_answers`), put together in `_realtime`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from openai_ergo.mock._realtime_model import Answer, default_session
from openai_ergo.mock._replies import RecordedRequest
from openai_ergo.mock._sockets import Socket
from openai_ergo.mock._wire import new_id

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["SessionState"]


class SessionState:
    """One Realtime connection's state, and its two ways of speaking: events and errors."""

    def __init__(
        self,
        app: MockOpenAI,
        socket: Socket,
        request: RecordedRequest,
        model: str,
        seed: int,
        reply_tokens: int | None,
    ) -> None:
        self.app = app
        self.socket = socket
        self.request = request
        self.seed = seed
        self.reply_tokens = reply_tokens
        self.session = default_session(model)
        self.items: list[dict[str, Any]] = []
        #: What the model heard in each committed audio part ("item_id:content_index").
        self.heard: dict[str, str] = {}
        self.buffer = bytearray()
        self.active: tuple[Answer, anyio.CancelScope] | None = None
        #: How long each assistant audio item plays, in ms (what `truncate` may cut to).
        self.audio_ms: dict[str, int] = {}

    async def send(self, payload: dict[str, Any], *, token: bool = False) -> None:
        """Send a server event with its `event_id`."""
        await self.socket.send_event({"event_id": new_id("event_"), **payload}, token=token)

    async def error(
        self,
        message: str,
        *,
        code: str,
        param: str | None = None,
        event_id: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        """The API's `error` event (the session goes on)."""
        error = {
            "type": kind,
            "code": code,
            "message": message,
            "param": param,
            "event_id": event_id,
        }
        await self.socket.send_now({"event_id": new_id("event_"), "type": "error", "error": error})
