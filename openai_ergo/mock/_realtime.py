"""The Realtime API over WebSocket (`/v1/realtime?model=...`): one session per connection.

The session speaks the GA protocol's events (the spec's `RealtimeClientEvent` and
`RealtimeServerEvent`). It answers `session.update`, the input audio buffer (`append`,
`commit`, `clear`), conversation items (`create`, `retrieve`, `delete`, `truncate`),
`response.create` and `response.cancel`; anything else gets the API's `error` event.

What the model hears and says is the HTTP mock's, so a session and a request agree: committed
audio is transcribed by `hear_pcm` (audio the mock spoke reads back exactly), the answer is
planned by `plan_completion` (scripted replies, the tool rule: a function tool named by the
last user turn is called, a forced `tool_choice` always is), and spoken answers are PCM16 at
24 kHz from `spoken_pieces`, one audio delta per transcript delta, so the audio of a whole
answer transcribes back into its transcript. The mock does no voice activity detection:
`turn_detection` is null, and the client commits its audio and asks for a response.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable
from typing import Any

import anyio
from anyio.abc import TaskGroup

from openai_ergo.mock._audio import hear_pcm
from openai_ergo.mock._endpoints import BadRequest
from openai_ergo.mock._realtime_answers import ResponseAnswers
from openai_ergo.mock._realtime_items import ConversationItems
from openai_ergo.mock._realtime_model import (
    _BYTES_PER_MS,
    _MIN_COMMIT_MS,
    _RESPONSE_FIELDS,
    _SESSION_FIELDS,
    EventError,
    _check_fields,
    _object,
    _string,
    _transcription,
    merged,
)
from openai_ergo.mock._replies import estimate_tokens
from openai_ergo.mock._sockets import FaultStrikes
from openai_ergo.mock._websockets import client_event
from openai_ergo.mock._wire import new_id

__all__ = ["RealtimeSession"]


class RealtimeSession(ConversationItems, ResponseAnswers):
    """One Realtime connection: it greets, then answers each client event (the conversation's
    items and the answers are the mixins' concerns)."""

    async def run(self) -> None:
        """Greet with `session.created`, then answer client events until the client leaves."""

        async def reader(group: TaskGroup) -> None:
            await self._struck(self.send({"type": "session.created", "session": self.session}))
            while (message := await self.socket.receive()) is not None:
                await self._struck(self.handle(message, group))

        await self.socket.serve(reader)

    async def _struck(self, work: Awaitable[None]) -> None:
        """Run `work`; an `error_event` fault that strikes outside a response is the API's
        `server_error` event, and the session goes on."""
        try:
            await work
        except FaultStrikes as exc:
            await self.error(exc.message, code=exc.code, kind="server_error")

    async def handle(self, message: str | bytes, group: TaskGroup) -> None:
        """Answer one client message."""
        event = await client_event(message, self.error)
        if event is None:
            return
        client_event_id = event.get("event_id")
        client_event_id = client_event_id if isinstance(client_event_id, str) else None
        kind = event.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        try:
            if handler is None:
                if kind is None:
                    raise EventError("The 'type' field is missing.", code="invalid_event")
                known = ", ".join(f"'{name}'" for name in _HANDLERS)
                raise EventError(
                    f"Invalid value: '{kind}'. Supported values are: {known}.",
                    code="invalid_value",
                    param="type",
                )
            await handler(self, event, group)
        except EventError as exc:
            await self.error(exc.message, code=exc.code, param=exc.param, event_id=client_event_id)
        except BadRequest as exc:
            await self.error(
                exc.message,
                code=exc.code or "invalid_value",
                param=exc.param,
                event_id=client_event_id,
            )

    async def _session_update(self, event: dict[str, Any], group: TaskGroup) -> None:
        update = _object(event, "session")
        _check_fields(update, _SESSION_FIELDS, "session")
        if update.get("type", "realtime") != "realtime":
            raise EventError(
                "This session is a realtime session: 'session.type' must be 'realtime'.",
                code="invalid_value",
                param="session.type",
            )
        self.session = merged(self.session, update)
        await self.send({"type": "session.updated", "session": self.session})

    async def _append(self, event: dict[str, Any], group: TaskGroup) -> None:
        audio = _string(event, "audio")
        try:
            pcm = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise EventError(
                "Invalid 'audio': it is not base64-encoded.", code="invalid_value", param="audio"
            ) from None
        if len(pcm) % 2:
            raise EventError(
                "Invalid 'audio': PCM16 audio has an even number of bytes.",
                code="invalid_value",
                param="audio",
            )
        self.buffer += pcm

    async def _commit(self, event: dict[str, Any], group: TaskGroup) -> None:
        length_ms = len(self.buffer) / _BYTES_PER_MS
        if length_ms < _MIN_COMMIT_MS:
            raise EventError(
                f"Error committing input audio buffer: buffer too small. Expected at least "
                f"{_MIN_COMMIT_MS}ms of audio, but buffer only has {length_ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        pcm, self.buffer = bytes(self.buffer), bytearray()
        item_id = new_id("item_")
        previous = self.items[-1]["id"] if self.items else None
        await self.send(
            {
                "type": "input_audio_buffer.committed",
                "previous_item_id": previous,
                "item_id": item_id,
            }
        )
        heard = hear_pcm(pcm)
        self.heard[f"{item_id}:0"] = heard
        item = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        await self._add_item(item, previous)
        if _transcription(self.session):
            await self._transcribe(item_id, heard)

    async def _transcribe(self, item_id: str, text: str) -> None:
        where = {"item_id": item_id, "content_index": 0}
        words = text.split(" ")
        for index, word in enumerate(words):
            delta = word if index == 0 else " " + word
            await self.send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    **where,
                    "delta": delta,
                },
                token=True,
            )
        tokens = estimate_tokens(text)
        usage = {
            "type": "tokens",
            "total_tokens": 2 * tokens,
            "input_tokens": tokens,
            "input_token_details": {"text_tokens": 0, "audio_tokens": tokens},
            "output_tokens": tokens,
        }
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                **where,
                "transcript": text,
                "usage": usage,
            }
        )
        for item in self.items:
            if item["id"] == item_id:
                item["content"][0]["transcript"] = text

    async def _clear(self, event: dict[str, Any], group: TaskGroup) -> None:
        self.buffer.clear()
        await self.send({"type": "input_audio_buffer.cleared"})

    async def _create_response(self, event: dict[str, Any], group: TaskGroup) -> None:
        if self.active is not None:
            raise EventError(
                "Conversation already has an active response in progress: "
                f"{self.active[0].id}. Wait until the response is finished before creating a "
                "new one.",
                code="conversation_already_has_active_response",
            )
        options = _object(event, "response", required=False)
        _check_fields(options, _RESPONSE_FIELDS, "response")
        answer = self._plan(options)
        scope = anyio.CancelScope()
        self.active = (answer, scope)
        group.start_soon(self._respond, answer, scope)

    async def _cancel_response(self, event: dict[str, Any], group: TaskGroup) -> None:
        wanted = event.get("response_id")
        if self.active is None or (wanted is not None and wanted != self.active[0].id):
            raise EventError(
                "Cancellation failed: no active response found.",
                code="response_cancel_not_active",
            )
        self.active[1].cancel()

    async def _clear_output(self, event: dict[str, Any], group: TaskGroup) -> None:
        await self.send({"type": "output_audio_buffer.cleared", "response_id": None})


_HANDLERS = {
    "session.update": RealtimeSession._session_update,
    "input_audio_buffer.append": RealtimeSession._append,
    "input_audio_buffer.commit": RealtimeSession._commit,
    "input_audio_buffer.clear": RealtimeSession._clear,
    "conversation.item.create": RealtimeSession._create_item,
    "conversation.item.retrieve": RealtimeSession._retrieve_item,
    "conversation.item.delete": RealtimeSession._delete_item,
    "conversation.item.truncate": RealtimeSession._truncate,
    "response.create": RealtimeSession._create_response,
    "response.cancel": RealtimeSession._cancel_response,
    "output_audio_buffer.clear": RealtimeSession._clear_output,
}
