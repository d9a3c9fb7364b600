"""`POST /v1/chat/completions`: the completion object and its chunk stream.

Per choice: a role chunk, content deltas, tool-call deltas (id and name first, then argument
fragments), a finish chunk. Choices interleave as the API's do for `n > 1`. With
`stream_options.include_usage` a final chunk with empty `choices` carries the usage, and
`data: [DONE]` ends the stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from openai_ergo.mock._replies import Completion
from openai_ergo.mock._wire import DONE_FRAME, encode_json, new_id, now, obfuscation, sse_frame

#: A frame and whether it carries a token (pacing applies to those).
Frame = tuple[bytes, bool]


@dataclass
class ChatTurn:
    """Everything needed to render one chat completion, streamed or not."""

    body: dict[str, Any]
    model: str
    completions: list[Completion]
    input_tokens: int
    include_usage: bool = False
    include_obfuscation: bool = True

    def __post_init__(self) -> None:
        self.completion_id = new_id("chatcmpl-")
        self.created = now()

    def usage(self) -> dict[str, Any]:
        """Token accounting, in the chat shape (output summed over the choices)."""
        completion_tokens = sum(c.output_tokens for c in self.completions)
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": self.input_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def envelope(self, obj: str) -> dict[str, Any]:
        """The fields every completion and chunk share."""
        return {
            "id": self.completion_id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": "fp_mock",
        }


def _tool_calls(completion: Completion) -> list[dict[str, Any]]:
    return [
        {
            "id": call.call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in completion.calls
    ]


def chat_body(turn: ChatTurn) -> bytes:
    """The non-streamed answer."""
    choices = []
    for index, completion in enumerate(turn.completions):
        refusal = completion.refusal_text
        answered = refusal is None and (completion.tokens or not completion.calls)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": completion.text if answered else None,
            "refusal": refusal,
            "annotations": [],
        }
        if completion.calls:
            message["tool_calls"] = _tool_calls(completion)
        choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": None,
                "finish_reason": completion.finish,
            }
        )
    answer = turn.envelope("chat.completion") | {"choices": choices, "usage": turn.usage()}
    return encode_json(answer)


def _choice_deltas(index: int, completion: Completion) -> Iterator[tuple[dict[str, Any], bool]]:
    """(choice, is_token) pairs for one choice, in stream order."""
    if completion.refusal is not None:
        # As the API streams a refusal: `content` null, then `refusal` deltas.
        yield _choice(index, {"role": "assistant", "content": None, "refusal": ""}), False
        for token in completion.refusal:
            yield _choice(index, {"refusal": token}), True
        yield _choice(index, {}, completion.finish), False
        return
    content: str | None = "" if completion.tokens or not completion.calls else None
    yield _choice(index, {"role": "assistant", "content": content, "refusal": None}), False
    for token in completion.tokens:
        yield _choice(index, {"content": token}), True
    for position, call in enumerate(completion.calls):
        opening = {
            "index": position,
            "id": call.call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        yield _choice(index, {"tool_calls": [opening]}), False
        for fragment in call.fragments:
            piece = {"index": position, "function": {"arguments": fragment}}
            yield _choice(index, {"tool_calls": [piece]}), True
    yield _choice(index, {}, completion.finish), False


def _choice(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}


def chat_frames(turn: ChatTurn) -> Iterator[Frame]:
    """The streamed answer, one SSE frame at a time."""
    envelope = turn.envelope("chat.completion.chunk")
    streams = [_choice_deltas(i, c) for i, c in enumerate(turn.completions)]
    # Round-robin over the choices, as the API interleaves them.
    while streams:
        for stream in list(streams):
            step = next(stream, None)
            if step is None:
                streams.remove(stream)
                continue
            choice, is_token = step
            chunk = envelope | {"choices": [choice]}
            if turn.include_usage:
                chunk["usage"] = None
            if turn.include_obfuscation and is_token:
                delta = choice["delta"]
                piece = delta.get("content") or delta.get("refusal") or ""
                chunk["obfuscation"] = obfuscation(piece, len(piece))
            yield sse_frame(chunk), is_token
    if turn.include_usage:
        yield sse_frame(envelope | {"choices": [], "usage": turn.usage()}), False
    yield DONE_FRAME, False


def chat_error_frames(code: str, message: str) -> list[bytes]:
    """The error payload the API sends inside a chat stream; the stream ends without [DONE]."""
    error = {"message": message, "type": "server_error", "param": None, "code": code}
    return [sse_frame({"error": error})]
