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
from collections.abc import Awaitable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from openai_ergo.mock._audio import hear_pcm, spoken_pieces
from openai_ergo.mock._endpoints import BadRequest, plan_completion
from openai_ergo.mock._exchange import Disconnected
from openai_ergo.mock._realtime_model import (
    _BYTES_PER_MS,
    _ITEM_TYPES,
    _MIN_COMMIT_MS,
    _RESPONSE_FIELDS,
    _ROLES,
    _SESSION_FIELDS,
    Answer,
    EventError,
    _check_fields,
    _item_text,
    _object,
    _string,
    _transcription,
    default_session,
    merged,
)
from openai_ergo.mock._replies import PlannedCall, RecordedRequest, estimate_tokens
from openai_ergo.mock._sockets import FaultStrikes, Socket
from openai_ergo.mock._wire import decode_json, new_id

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["RealtimeSession"]


class RealtimeSession:
    """One Realtime connection's state: the session, the conversation, the input audio buffer
    and the response in progress."""

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

    # -- the connection -------------------------------------------------------------------------

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

    async def handle(self, message: str | bytes, group: TaskGroup) -> None:
        """Answer one client message."""
        if isinstance(message, bytes):
            await self.error(
                "The server expects JSON text messages, not binary ones.", code="invalid_event"
            )
            return
        try:
            event = decode_json(message.encode())
        except ValueError:
            await self.error("The message is not valid JSON.", code="invalid_json")
            return
        if not isinstance(event, dict):
            await self.error("A client event is a JSON object.", code="invalid_event")
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

    # -- client events --------------------------------------------------------------------------

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

    async def _create_item(self, event: dict[str, Any], group: TaskGroup) -> None:
        item = dict(_object(event, "item"))
        kind = item.get("type")
        if kind not in _ITEM_TYPES:
            supported = ", ".join(f"'{t}'" for t in _ITEM_TYPES)
            raise EventError(
                f"Invalid value: '{kind}'. Supported values are: {supported}.",
                code="invalid_value",
                param="item.type",
            )
        if kind == "message" and item.get("role") not in _ROLES:
            raise EventError(
                f"Invalid value: '{item.get('role')}'. Supported values are: 'user', "
                "'assistant' and 'system'.",
                code="invalid_value",
                param="item.role",
            )
        if kind == "function_call_output":
            _string(item, "call_id")
        item.setdefault("id", new_id("item_"))
        if any(existing["id"] == item["id"] for existing in self.items):
            raise EventError(
                f"Item with item_id '{item['id']}' already exists.",
                code="item_already_exists",
                param="item.id",
            )
        item.setdefault("object", "realtime.item")
        item.setdefault("status", "completed")
        previous = event.get("previous_item_id")
        if previous is None:
            previous = self.items[-1]["id"] if self.items else None
        elif previous != "root" and self._index(previous) is None:
            raise EventError(
                f"Error adding item: the previous item with id '{previous}' does not exist.",
                code="invalid_value",
                param="previous_item_id",
            )
        await self._add_item(item, previous)

    async def _add_item(self, item: dict[str, Any], previous: str | None) -> None:
        if previous in (None, "root") or not self.items:
            at = 0 if previous == "root" else len(self.items)
        else:
            found = self._index(previous)
            at = len(self.items) if found is None else found + 1
        self.items.insert(at, item)
        where = None if at == 0 else self.items[at - 1]["id"]
        await self.send(
            {"type": "conversation.item.added", "previous_item_id": where, "item": item}
        )
        await self.send({"type": "conversation.item.done", "previous_item_id": where, "item": item})

    def _index(self, item_id: Any) -> int | None:
        for index, item in enumerate(self.items):
            if item["id"] == item_id:
                return index
        return None

    def _item(self, event: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        item_id = _string(event, "item_id")
        index = self._index(item_id)
        if index is None:
            raise EventError(
                f"Item with item_id '{item_id}' not found.",
                code="item_not_found",
                param="item_id",
            )
        return index, self.items[index]

    async def _retrieve_item(self, event: dict[str, Any], group: TaskGroup) -> None:
        _, item = self._item(event)
        await self.send({"type": "conversation.item.retrieved", "item": item})

    async def _delete_item(self, event: dict[str, Any], group: TaskGroup) -> None:
        index, item = self._item(event)
        del self.items[index]
        await self.send({"type": "conversation.item.deleted", "item_id": item["id"]})

    async def _truncate(self, event: dict[str, Any], group: TaskGroup) -> None:
        _, item = self._item(event)
        content_index = event.get("content_index")
        audio_end_ms = event.get("audio_end_ms")
        if not isinstance(content_index, int) or isinstance(content_index, bool):
            raise EventError(
                "Missing required parameter: 'content_index'.",
                code="missing_required_parameter",
                param="content_index",
            )
        if not isinstance(audio_end_ms, int) or isinstance(audio_end_ms, bool) or audio_end_ms < 0:
            raise EventError(
                "Invalid 'audio_end_ms': expected a non-negative integer.",
                code="invalid_value",
                param="audio_end_ms",
            )
        content = item.get("content") or []
        if (
            item.get("role") != "assistant"
            or not 0 <= content_index < len(content)
            or content[content_index].get("type") != "output_audio"
        ):
            raise EventError(
                "Only an assistant message's audio content can be truncated.",
                code="invalid_value",
                param="content_index",
            )
        part = content[content_index]
        length_ms = self.audio_ms.get(item["id"], 0)
        if audio_end_ms > length_ms:
            raise EventError(
                f"Audio content of {length_ms}ms is already shorter than {audio_end_ms}ms.",
                code="invalid_value",
                param="audio_end_ms",
            )
        # What was heard of the answer: the transcript in proportion to the audio kept.
        transcript = part.get("transcript") or ""
        part["transcript"] = transcript[: len(transcript) * audio_end_ms // max(1, length_ms)]
        self.audio_ms[item["id"]] = audio_end_ms
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item["id"],
                "content_index": content_index,
                "audio_end_ms": audio_end_ms,
            }
        )

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

    # -- responses ------------------------------------------------------------------------------

    def _plan(self, options: dict[str, Any]) -> Answer:
        settings = merged(self.session, options)
        standalone = options.get("conversation") == "none"
        items = options.get("input") if isinstance(options.get("input"), list) else None
        context = items if items is not None else ([] if standalone else self.items)
        last = context[-1] if context else None
        last_user_text = _item_text(last, self.heard) if isinstance(last, dict) else None
        said = [
            _item_text(i, self.heard) or i.get("output") or i.get("arguments") or ""
            for i in context
            if isinstance(i, dict)
        ]
        body = {
            "model": self.session["model"],
            "instructions": settings.get("instructions"),
            "input": context,
            "tools": settings.get("tools") or [],
            "tool_choice": settings.get("tool_choice", "auto"),
            "parallel_tool_calls": settings.get("parallel_tool_calls", True),
        }
        request = RecordedRequest(
            method="POST", path=self.request.path, headers=self.request.headers, body=body
        )
        limit = settings.get("max_output_tokens")
        completion = plan_completion(
            self.app._policy,
            request=request,
            scripted=self.app._policy.next_scripted(request),
            model=self.session["model"],
            conversation=[settings.get("instructions"), said],
            seed=self.seed,
            choice=0,
            limit=limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
            reply_tokens=self.reply_tokens,
            last_user_text=last_user_text,
        )
        input_tokens = sum(estimate_tokens(s) for s in said if s) + 4
        return Answer(
            id=new_id("resp_"),
            body=options,
            completion=completion,
            audio=settings.get("output_modalities") != ["text"],
            input_tokens=input_tokens,
            in_conversation=not standalone,
        )

    async def _respond(self, answer: Answer, scope: anyio.CancelScope) -> None:
        failed: FaultStrikes | None = None
        try:
            with scope:
                try:
                    await self.send(
                        {"type": "response.created", "response": answer.response("in_progress")}
                    )
                    if self.socket.latency > 0:
                        await anyio.sleep(self.socket.latency)
                    for payload, token in self._answer_events(answer):
                        await self.send(payload, token=token)
                except FaultStrikes as exc:
                    failed = exc
            # The end is sent even when the answer was cancelled: shielded, so it goes out.
            with anyio.CancelScope(shield=True):
                await self._finish(answer, scope.cancelled_caught, failed)
        except Disconnected:
            pass  # the client left (or a fault dropped it): nobody to tell
        finally:
            self.active = None

    async def _finish(self, answer: Answer, cancelled: bool, failed: FaultStrikes | None) -> None:
        item = answer.open_item
        if item is not None:
            # Cut short: the message keeps what was said, and is incomplete.
            item["status"] = "incomplete"
            self._fill(answer, item)
            answer.output.append(item)
            where = {"response_id": answer.id, "output_index": len(answer.output) - 1}
            await self.socket.send_now(
                {
                    "event_id": new_id("event_"),
                    "type": "response.output_item.done",
                    **where,
                    "item": item,
                }
            )
        if failed is not None:
            await self.error(failed.message, code=failed.code, kind="server_error")
            details = {"type": "failed", "error": {"type": "server_error", "code": failed.code}}
            status = "failed"
        elif cancelled:
            details = {"type": "cancelled", "reason": "client_cancelled"}
            status = "cancelled"
        elif answer.completion.finish == "length":
            details = {"type": "incomplete", "reason": "max_output_tokens"}
            status = "incomplete"
        else:
            details, status = None, "completed"
        await self.socket.send_now(
            {
                "event_id": new_id("event_"),
                "type": "response.done",
                "response": answer.response(status, details),
            }
        )

    def _fill(self, answer: Answer, item: dict[str, Any]) -> None:
        text = "".join(answer.said)
        if answer.audio:
            self.audio_ms[item["id"]] = answer.audio_bytes // _BYTES_PER_MS
            item["content"] = [{"type": "output_audio", "transcript": text}]
        else:
            item["content"] = [{"type": "output_text", "text": text}]

    def _answer_events(self, answer: Answer) -> Iterator[tuple[dict[str, Any], bool]]:
        completion = answer.completion
        tokens = completion.refusal if completion.refusal is not None else completion.tokens
        index = 0
        if tokens or not completion.calls:
            yield from self._message_events(answer, tokens, index)
            index += 1
        for call in completion.calls:
            yield from self._call_events(answer, call, index)
            index += 1

    def _message_events(
        self, answer: Answer, tokens: list[str], output_index: int
    ) -> Iterator[tuple[dict[str, Any], bool]]:
        item = {
            "id": new_id("item_"),
            "type": "message",
            "object": "realtime.item",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        where = {"response_id": answer.id, "output_index": output_index}
        yield {"type": "response.output_item.added", **where, "item": dict(item)}, False
        previous = self.items[-1]["id"] if self.items and answer.in_conversation else None
        if answer.in_conversation:
            self.items.append(item)
            yield (
                {
                    "type": "conversation.item.added",
                    "previous_item_id": previous,
                    "item": dict(item),
                },
                False,
            )
        answer.open_item = item
        part_where = {**where, "item_id": item["id"], "content_index": 0}
        kind = "audio" if answer.audio else "text"
        empty = (
            {"type": "audio", "transcript": ""} if answer.audio else {"type": "text", "text": ""}
        )
        yield {"type": "response.content_part.added", **part_where, "part": empty}, False
        if answer.audio:
            audio = spoken_pieces(tokens)
            header = next(audio)
            answer.audio_bytes += len(header)
            yield (
                {
                    "type": "response.output_audio.delta",
                    **part_where,
                    "delta": base64.b64encode(header).decode(),
                },
                False,
            )
            for token, pcm in zip(tokens, audio, strict=True):
                answer.audio_bytes += len(pcm)
                yield (
                    {
                        "type": "response.output_audio.delta",
                        **part_where,
                        "delta": base64.b64encode(pcm).decode(),
                    },
                    True,
                )
                answer.said.append(token)
                yield (
                    {
                        "type": "response.output_audio_transcript.delta",
                        **part_where,
                        "delta": token,
                    },
                    False,
                )
        else:
            for token in tokens:
                answer.said.append(token)
                yield {"type": "response.output_text.delta", **part_where, "delta": token}, True
        text = "".join(answer.said)
        if answer.audio:
            yield {"type": "response.output_audio.done", **part_where}, False
            yield (
                {"type": "response.output_audio_transcript.done", **part_where, "transcript": text},
                False,
            )
        else:
            yield {"type": "response.output_text.done", **part_where, "text": text}, False
        part = {"type": kind, "transcript": text} if answer.audio else {"type": kind, "text": text}
        yield {"type": "response.content_part.done", **part_where, "part": part}, False
        answer.open_item = None
        item["status"] = "incomplete" if answer.completion.finish == "length" else "completed"
        self._fill(answer, item)
        answer.output.append(item)
        yield {"type": "response.output_item.done", **where, "item": dict(item)}, False
        if answer.in_conversation:
            yield (
                {
                    "type": "conversation.item.done",
                    "previous_item_id": previous,
                    "item": dict(item),
                },
                False,
            )

    def _call_events(
        self, answer: Answer, call: PlannedCall, output_index: int
    ) -> Iterator[tuple[dict[str, Any], bool]]:
        item = {
            "id": new_id("item_"),
            "type": "function_call",
            "object": "realtime.item",
            "status": "in_progress",
            "name": call.name,
            "call_id": call.call_id,
            "arguments": "",
        }
        where = {"response_id": answer.id, "output_index": output_index}
        yield {"type": "response.output_item.added", **where, "item": dict(item)}, False
        previous = self.items[-1]["id"] if self.items and answer.in_conversation else None
        if answer.in_conversation:
            self.items.append(item)
            yield (
                {
                    "type": "conversation.item.added",
                    "previous_item_id": previous,
                    "item": dict(item),
                },
                False,
            )
        call_where = {**where, "item_id": item["id"], "call_id": call.call_id}
        for fragment in call.fragments:
            yield (
                {"type": "response.function_call_arguments.delta", **call_where, "delta": fragment},
                True,
            )
        yield (
            {
                "type": "response.function_call_arguments.done",
                **call_where,
                "name": call.name,
                "arguments": call.arguments,
            },
            False,
        )
        item["status"] = "completed"
        item["arguments"] = call.arguments
        answer.output.append(item)
        yield {"type": "response.output_item.done", **where, "item": dict(item)}, False
        if answer.in_conversation:
            yield (
                {
                    "type": "conversation.item.done",
                    "previous_item_id": previous,
                    "item": dict(item),
                },
                False,
            )


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
