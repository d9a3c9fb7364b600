"""The answers of a mock Realtime session: what the model says is planned like an HTTP
completion (`plan_completion`) and streamed as the GA protocol's response events: text, or
PCM16 audio with its transcript, and function calls; a cancelled or failed answer still ends
with `response.done`."""

from __future__ import annotations

import base64
from collections.abc import Generator, Iterator
from typing import Any

import anyio

from openai_ergo.mock._audio import spoken_pieces
from openai_ergo.mock._endpoints import plan_completion
from openai_ergo.mock._exchange import Disconnected
from openai_ergo.mock._realtime_model import (
    _BYTES_PER_MS,
    Answer,
    _item_text,
    merged,
)
from openai_ergo.mock._realtime_state import SessionState
from openai_ergo.mock._replies import PlannedCall, RecordedRequest, estimate_tokens
from openai_ergo.mock._sockets import FaultStrikes
from openai_ergo.mock._wire import new_id

__all__ = ["ResponseAnswers"]


class ResponseAnswers(SessionState):
    """`response.create`'s answer, from its plan to its `response.done`."""

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

    def _item_added(
        self, answer: Answer, where: dict[str, Any], item: dict[str, Any]
    ) -> Generator[tuple[dict[str, Any], bool], None, str | None]:
        """An output item's `added` events (the response's, and the conversation's when the
        answer joins it); returns the id of the item it follows in the conversation."""
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
        return previous

    def _item_done(
        self, answer: Answer, where: dict[str, Any], item: dict[str, Any], previous: str | None
    ) -> Iterator[tuple[dict[str, Any], bool]]:
        """An output item's `done` events, the twins of `_item_added`'s."""
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
        previous = yield from self._item_added(answer, where, item)
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
        yield from self._item_done(answer, where, item, previous)

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
        previous = yield from self._item_added(answer, where, item)
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
        yield from self._item_done(answer, where, item, previous)
