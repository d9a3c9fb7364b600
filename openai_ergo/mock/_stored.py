"""Stored Responses and stored chat completions: what `store` keeps and how it reads back.

A stored response keeps its `ResponseTurn` (the very object that rendered the answer), so a
retrieve returns the same JSON and a streamed retrieve replays the same events. Background
responses are queued for the first half of the app's `background_seconds` and in progress for
the second, on the app's `MockClock`; a cancel before the end makes them `cancelled`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openai_ergo.mock._chat import ChatTurn, chat_body
from openai_ergo.mock._conversations import StoredConversation, input_items
from openai_ergo.mock._endpoints import BadRequest, missing_parameter
from openai_ergo.mock._replies import estimate_tokens
from openai_ergo.mock._responses import ResponseTurn
from openai_ergo.mock._store import Collection, MockClock, Query, metadata_param, page
from openai_ergo.mock._wire import decode_json, new_id, now

__all__ = ["Store"]

#: How many responses and chat completions a server keeps (the oldest go first): benchmarks
#: send hundreds of thousands of requests with `store` on by default.
STORE_CAPACITY = 10_000


@dataclass
class StoredResponse:
    """One response kept by `store`, with where it stands."""

    turn: ResponseTurn
    started: float
    #: The items before this response (its `previous_response_id` chain or conversation).
    history: list[Any]
    background: bool
    cancelled: bool = False
    _inputs: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        """The response's id."""
        return self.turn.response_id

    def status(self, now: float, seconds: float) -> str:
        """queued → in_progress → the answer's own status, on the clock (background only)."""
        if self.cancelled:
            return "cancelled"
        if self.background:
            elapsed = now - self.started
            if elapsed < seconds / 2:
                return "queued"
            if elapsed < seconds:
                return "in_progress"
        return self.turn.status

    def render(self, now: float, seconds: float) -> dict[str, Any]:
        """The response object as it reads now."""
        status = self.status(now, seconds)
        if status in ("completed", "incomplete"):
            return self.turn.response(final=True)
        return self.turn.response(final=False) | {"status": status}

    def inputs(self) -> list[dict[str, Any]]:
        """The request's input items, with ids made once."""
        if self._inputs is None:
            self._inputs = input_items(self.turn.body.get("input"))
        return self._inputs

    def conversation(self) -> list[Any]:
        """Everything a follow-up sees: the history, this input, this output."""
        return [*self.history, *self.inputs(), *self.turn.output()]


@dataclass
class StoredChat:
    """One chat completion kept by `store: true`."""

    completion: dict[str, Any]
    messages: list[dict[str, Any]]

    @property
    def id(self) -> str:
        """The completion's id."""
        return str(self.completion["id"])


def _stored_messages(completion_id: str, messages: list[Any]) -> list[dict[str, Any]]:
    stored = []
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        parts = content if isinstance(content, list) else None
        if parts is not None:
            content = " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
        stored.append(
            {
                "id": f"{completion_id}-{index}",
                "role": message.get("role") if isinstance(message, dict) else None,
                "content": content,
                "name": message.get("name") if isinstance(message, dict) else None,
                "content_parts": parts,
            }
        )
    return stored


class Store:
    """Everything one mock server remembers, cleared by `reset()`."""

    def __init__(self, clock: MockClock) -> None:
        self.clock = clock
        self.responses: Collection[StoredResponse] = Collection("Response", capacity=STORE_CAPACITY)
        self.chat_completions: Collection[StoredChat] = Collection(
            "Chat completion", capacity=STORE_CAPACITY
        )
        self.conversations: Collection[StoredConversation] = Collection("Conversation")

    def clear(self) -> None:
        """Forget every stored object."""
        self.responses.clear()
        self.chat_completions.clear()
        self.conversations.clear()

    # -- responses ------------------------------------------------------------------------------

    def history(self, body: dict[str, Any]) -> list[Any] | None:
        """The items a request continues from (`previous_response_id` or `conversation`),
        None when it starts afresh. Checked before anything is generated or stored."""
        previous = body.get("previous_response_id")
        conversation = _conversation_id(body.get("conversation"))
        if previous and conversation:
            raise BadRequest(
                "Mutually exclusive parameters: Ensure you are only providing one of: "
                "'previous_response_id' or 'conversation'.",
                param="previous_response_id",
                code="mutually_exclusive_parameters",
            )
        if previous:
            if not isinstance(previous, str):
                raise BadRequest(
                    "Invalid type for 'previous_response_id': expected a string.",
                    param="previous_response_id",
                    code="invalid_type",
                )
            record = self.responses.find(previous)
            if record is None:
                raise BadRequest(
                    f"Previous response with id '{previous}' not found.",
                    status=404,
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            return record.conversation()
        if conversation:
            found = self.conversations.find(conversation)
            if found is None:
                # The service's answer to a conversation it does not know, before anything runs.
                missing = self.conversations.missing(conversation)
                missing.param = "conversation"
                raise missing
            return list(found.items)
        return None

    def keep_response(
        self, turn: ResponseTurn, history: list[Any] | None, *, stored: bool
    ) -> StoredResponse:
        """Record a new response (when `stored`) and extend its conversation, if any."""
        background = turn.body.get("background") is True
        record = StoredResponse(turn, self.clock.time(), history or [], background)
        if stored:
            self.responses.put(record.id, record)
        conversation = _conversation_id(turn.body.get("conversation"))
        found = self.conversations.find(conversation) if conversation else None
        if found is not None:  # `history` refused an unknown one; a deleted one keeps nothing
            found.extend([*record.inputs(), *turn.output()])
        return record

    def cancel(self, response_id: str, seconds: float) -> dict[str, Any]:
        """Cancel a background response that has not finished; a finished one stays as it is."""
        record = self.responses.get(response_id)
        if not record.background:
            raise BadRequest("Only responses created with background=true can be cancelled.")
        current = self.clock.time()
        if record.status(current, seconds) in ("queued", "in_progress"):
            record.cancelled = True
        return record.render(current, seconds)

    def input_items(self, response_id: str, query: Query) -> dict[str, Any]:
        """`GET /v1/responses/{id}/input_items`."""
        items = self.responses.get(response_id).inputs()
        return page(items, query, render=lambda item: item, key=lambda item: item["id"])

    def compact(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        """`POST /v1/responses/compact`: the user's items kept, the rest one opaque item."""
        history = self.history(body) or []
        items = [*history, *input_items(body.get("input"))]
        kept = [i for i in items if i.get("type") == "message" and i.get("role") == "user"]
        tokens = sum(estimate_tokens(str(i)) for i in items)
        compaction = {
            "type": "compaction",
            "id": new_id("cmp_"),
            "encrypted_content": f"mock-compaction:{len(items)}-items:{model}",
        }
        output_tokens = max(1, tokens // 10)
        return {
            "id": new_id("resp_"),
            "object": "response.compaction",
            "output": [*kept, compaction],
            "created_at": now(),
            "usage": {
                "input_tokens": tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": tokens + output_tokens,
            },
        }

    # -- chat completions -------------------------------------------------------------------------

    def keep_chat(self, turn: ChatTurn) -> None:
        """Record a chat completion made with `store: true`."""
        completion: dict[str, Any] = decode_json(chat_body(turn))
        metadata = turn.body.get("metadata")
        completion["metadata"] = metadata if isinstance(metadata, dict) else {}
        messages = _stored_messages(turn.completion_id, turn.body.get("messages") or [])
        self.chat_completions.put(turn.completion_id, StoredChat(completion, messages))

    def list_chats(self, query: Query) -> dict[str, Any]:
        """`GET /v1/chat/completions`: filtered by `model` and `metadata[key]=value`."""
        model = query.get("model")
        wanted = query.prefixed("metadata")
        chosen = [
            chat
            for chat in self.chat_completions
            if (not model or chat.completion["model"] == model)
            and all(chat.completion["metadata"].get(k) == v for k, v in wanted.items())
        ]
        return page(
            chosen, query, render=lambda c: c.completion, key=lambda c: c.id, default_order="asc"
        )

    def update_chat(self, completion_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/chat/completions/{id}`: replace its metadata."""
        chat = self.chat_completions.get(completion_id)
        if "metadata" not in body:
            raise missing_parameter("metadata")
        chat.completion["metadata"] = metadata_param(body["metadata"])
        return chat.completion

    def chat_messages(self, completion_id: str, query: Query) -> dict[str, Any]:
        """`GET /v1/chat/completions/{id}/messages`."""
        messages = self.chat_completions.get(completion_id).messages
        return page(messages, query, render=lambda m: m, key=lambda m: m["id"], default_order="asc")


def _conversation_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None
