"""`POST /v1/responses`: the response object and its event stream, in the order OpenAI sends them.

created → in_progress → per output item: output_item.added, (file_search_call.in_progress,
.searching, .completed | content_part.added, output_text.delta…, output_text.annotation.added…,
output_text.done, content_part.done | function_call_arguments.delta…,
function_call_arguments.done), output_item.done → completed (or incomplete when cut).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openai_ergo.mock._replies import Completion, PlannedCall
from openai_ergo.mock._wire import encode_json, new_id, now, obfuscation, sse_frame

if TYPE_CHECKING:
    from openai_ergo.mock._file_search import SearchCall

#: A frame and whether it carries a token (pacing applies to those).
Frame = tuple[bytes, bool]
#: An event's payload and whether it carries a token: what a frame is made of, on any wire.
Event = tuple[dict[str, Any], bool]


@dataclass
class ResponseTurn:
    """Everything needed to render one response, streamed or not."""

    body: dict[str, Any]
    model: str
    completion: Completion
    input_tokens: int
    include_obfuscation: bool = True
    #: The file search the model ran first, when it used the `file_search` tool.
    search: SearchCall | None = None

    def __post_init__(self) -> None:
        self.response_id = new_id("resp_")
        self.message_id = new_id("msg_")
        self.call_item_ids = [new_id("fc_") for _ in self.completion.calls]
        self.created_at = now()
        self._final: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        """`incomplete` when the token limit cut the answer, else `completed`."""
        return "incomplete" if self.completion.finish == "length" else "completed"

    @property
    def refusing(self) -> bool:
        """Whether the model declines: the message holds a `refusal` part, not `output_text`."""
        return self.completion.refusal is not None

    @property
    def message_text(self) -> str:
        """The whole text of the message's one content part (the refusal, when refusing)."""
        return (self.completion.refusal_text or "") if self.refusing else self.completion.text

    def part(self, text: str) -> dict[str, Any]:
        """The message's content part, holding `text` (and the citations within it)."""
        if self.refusing:
            return _refusal_part(text)
        return _text_part(text, [] if self.search is None else self.search.annotations(text))

    def message_item(self, status: str, text: str | None) -> dict[str, Any]:
        """The assistant message output item (content empty while it is being added)."""
        content = [] if text is None else [self.part(text)]
        return {
            "id": self.message_id,
            "type": "message",
            "status": status,
            "content": content,
            "role": "assistant",
        }

    def call_item(self, index: int, call: PlannedCall, status: str) -> dict[str, Any]:
        """A function_call output item (arguments empty while it is being added)."""
        return {
            "id": self.call_item_ids[index],
            "type": "function_call",
            "status": status,
            "arguments": call.arguments if status == "completed" else "",
            "call_id": call.call_id,
            "name": call.name,
        }

    def output(self) -> list[dict[str, Any]]:
        """The finished output items."""
        items: list[dict[str, Any]] = []
        if self.search is not None:
            items.append(self.search.item("completed"))
        if self.completion.tokens or not self.completion.calls:
            items.append(self.message_item(self.status, self.message_text))
        items.extend(
            self.call_item(i, call, "completed") for i, call in enumerate(self.completion.calls)
        )
        return items

    def usage(self) -> dict[str, Any]:
        """Token accounting, in the Responses shape."""
        output_tokens = self.completion.output_tokens
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.input_tokens + output_tokens,
        }

    def response(self, *, final: bool) -> dict[str, Any]:
        """The response object: in progress (no output yet) or finished (made once, so a stored
        response reads back as it was sent)."""
        if final and self._final is not None:
            return self._final
        body = self.body
        text_config = {"format": {"type": "text"}, "verbosity": "medium"}
        if isinstance(body.get("text"), dict):
            text_config |= body["text"]
        status = self.status if final else "in_progress"
        answer = {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": bool(body.get("background", False)),
            "completed_at": now() if final and status == "completed" else None,
            "error": None,
            "incomplete_details": (
                {"reason": "max_output_tokens"} if final and status == "incomplete" else None
            ),
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": self.model,
            "output": self.output() if final else [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "safety_identifier": body.get("safety_identifier"),
            "service_tier": "default",
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": text_config,
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_logprobs": body.get("top_logprobs", 0),
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": self.usage() if final else None,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }
        if final:
            self._final = answer
        return answer


def _text_part(text: str, annotations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "output_text", "annotations": annotations, "logprobs": [], "text": text}


def _refusal_part(text: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": text}


def response_body(turn: ResponseTurn) -> bytes:
    """The non-streamed answer."""
    return encode_json(turn.response(final=True))


def response_frames(turn: ResponseTurn) -> Iterator[Frame]:
    """The streamed answer, one SSE frame at a time (a generator: long streams stay cheap)."""
    for payload, is_token in response_events(turn):
        yield sse_frame(payload, payload["type"]), is_token


def response_events(turn: ResponseTurn) -> Iterator[Event]:
    """The streamed answer's events, one payload at a time: the SSE stream's frames and the
    Responses WebSocket mode's messages both carry these."""
    seq = 0

    def event(payload: dict[str, Any]) -> dict[str, Any]:
        nonlocal seq
        payload["sequence_number"] = seq
        seq += 1
        return payload

    yield event({"type": "response.created", "response": turn.response(final=False)}), False
    yield event({"type": "response.in_progress", "response": turn.response(final=False)}), False
    completion = turn.completion
    output_index = 0
    if turn.search is not None:
        yield from _search_frames(turn.search, event)
        output_index += 1
    if completion.tokens or not completion.calls:
        message_id = turn.message_id
        where = {"item_id": message_id, "output_index": output_index, "content_index": 0}
        yield (
            event(
                {
                    "type": "response.output_item.added",
                    "output_index": output_index,
                    "item": turn.message_item("in_progress", None),
                }
            ),
            False,
        )
        yield event({"type": "response.content_part.added", **where, "part": turn.part("")}), False
        refusing = turn.refusing
        for token in completion.refusal if completion.refusal is not None else completion.tokens:
            delta: dict[str, Any] = {
                "type": "response.refusal.delta" if refusing else "response.output_text.delta",
                **where,
                "delta": token,
            }
            if not refusing:
                delta["logprobs"] = []
            if turn.include_obfuscation:
                delta["obfuscation"] = obfuscation(token, seq)
            yield event(delta), True
        text = turn.message_text
        citations = turn.search.annotations(text) if turn.search and not refusing else ()
        for index, annotation in enumerate(citations):
            added = {"type": "response.output_text.annotation.added", **where,
                     "annotation_index": index, "annotation": annotation}  # fmt: skip
            yield event(added), False
        done: dict[str, Any] = (
            {"type": "response.refusal.done", **where, "refusal": text}
            if refusing
            else {"type": "response.output_text.done", **where, "text": text, "logprobs": []}
        )
        yield event(done), False
        yield (
            event({"type": "response.content_part.done", **where, "part": turn.part(text)}),
            False,
        )
        yield (
            event(
                {
                    "type": "response.output_item.done",
                    "output_index": output_index,
                    "item": turn.message_item(turn.status, text),
                }
            ),
            False,
        )
        output_index += 1
    for index, call in enumerate(completion.calls):
        item_id = turn.call_item_ids[index]
        where = {"item_id": item_id, "output_index": output_index}
        yield (
            event(
                {
                    "type": "response.output_item.added",
                    "output_index": output_index,
                    "item": turn.call_item(index, call, "in_progress"),
                }
            ),
            False,
        )
        for fragment in call.fragments:
            delta = {"type": "response.function_call_arguments.delta", **where, "delta": fragment}
            if turn.include_obfuscation:
                delta["obfuscation"] = obfuscation(fragment, seq)
            yield event(delta), True
        yield (
            event(
                {
                    "type": "response.function_call_arguments.done",
                    **where,
                    "name": call.name,
                    "arguments": call.arguments,
                }
            ),
            False,
        )
        yield (
            event(
                {
                    "type": "response.output_item.done",
                    "output_index": output_index,
                    "item": turn.call_item(index, call, "completed"),
                }
            ),
            False,
        )
        output_index += 1
    final_type = "response.incomplete" if turn.status == "incomplete" else "response.completed"
    yield event({"type": final_type, "response": turn.response(final=True)}), False


def _search_frames(
    search: SearchCall, event: Callable[[dict[str, Any]], dict[str, Any]]
) -> Iterator[Event]:
    """The file search call's item and its progress events, as the API streams them."""
    where = {"output_index": 0, "item_id": search.id}
    added = {"type": "response.output_item.added", "output_index": 0,
             "item": search.item("in_progress")}  # fmt: skip
    yield event(added), False
    for phase in ("in_progress", "searching", "completed"):
        yield event({"type": f"response.file_search_call.{phase}", **where}), False
    done = {"type": "response.output_item.done", "output_index": 0,
            "item": search.item("completed")}  # fmt: skip
    yield event(done), False


def response_error_frames(
    turn: ResponseTurn, sequence_number: int, code: str, message: str
) -> list[bytes]:
    """An `error` event, then `response.failed`, as the API ends a stream that broke."""
    return [
        sse_frame(payload, payload["type"])
        for payload in response_error_events(turn, sequence_number, code, message)
    ]


def response_error_events(
    turn: ResponseTurn, sequence_number: int, code: str, message: str
) -> list[dict[str, Any]]:
    """The payloads of `response_error_frames`.

    The error's fields sit at the top level (the spec's `ResponseErrorEvent`) and, as the live
    API also sends them, nested under `error`: readers of either shape understand it.
    """
    error = {"type": "server_error", "code": code, "message": message, "param": None}
    failed = turn.response(final=False) | {
        "status": "failed",
        "error": {"code": code, "message": message},
    }
    return [
        {
            "type": "error",
            "sequence_number": sequence_number,
            "code": code,
            "message": message,
            "param": None,
            "error": error,
        },
        {"type": "response.failed", "sequence_number": sequence_number + 1, "response": failed},
    ]
