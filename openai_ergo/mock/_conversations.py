"""Conversations and their items: what a Responses request with `conversation` reads and extends.

A conversation is created with up to 20 items, its metadata replaced by an update, and its items
listed (newest first by default, with the shared pagination), added (up to 20 at a time),
retrieved and deleted one by one. A Responses request naming the conversation continues from its
items and then appends its own input and output items. A Responses request naming an id the
mock never created (or deleted) is a 404, `param: "conversation"`, as the service answers it.

Conversation: active ──DELETE──▶ deleted (404 from then on)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openai_ergo.mock._endpoints import BadRequest, missing_parameter
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import Collection, metadata_param, page
from openai_ergo.mock._wire import new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["StoredConversation", "input_items"]

#: The service takes at most this many items per create or add.
MAX_ITEMS = 20

_ITEM_PREFIX = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_"}


def input_items(value: Any) -> list[dict[str, Any]]:
    """A request's `input` (a string or a list of items) as stored items, each with an id."""
    if value is None:
        return []
    raw: list[Any] = [{"role": "user", "content": value}] if isinstance(value, str) else list(value)
    items = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        item = dict(item)
        kind = item.setdefault("type", "message")
        if kind == "message":
            content = item.get("content")
            part = "output_text" if item.get("role") == "assistant" else "input_text"
            if isinstance(content, str):
                item["content"] = [{"type": part, "text": content}]
            item.setdefault("status", "completed")
        item.setdefault("id", new_id(_ITEM_PREFIX.get(kind, "item_")))
        items.append(item)
    return items


@dataclass
class StoredConversation:
    """One conversation: its object fields and its items, oldest first."""

    id: str
    metadata: dict[str, str]
    created_at: int = field(default_factory=now)
    items: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def render(self) -> dict[str, Any]:
        """The Conversation object."""
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        }

    def extend(self, items: list[dict[str, Any]]) -> None:
        """Append items (a Responses turn's, or an add)."""
        with self._lock:
            self.items.extend(items)

    def remove(self, item_id: str) -> None:
        """Delete one item by id, or OpenAI's 404 naming it."""
        item = self.item(item_id)
        with self._lock:
            self.items = [i for i in self.items if i is not item]

    def item(self, item_id: str) -> dict[str, Any]:
        """One item by id, or OpenAI's 404 naming it."""
        for item in self.items:
            if item.get("id") == item_id:
                return item
        raise BadRequest(f"Item with id '{item_id}' not found.", status=404, param="item_id")


def _new_items(value: Any, *, required: bool) -> list[dict[str, Any]]:
    """The `items` of a create or an add, checked as the service checks them."""
    if value is None:
        if required:
            raise missing_parameter("items")
        return []
    if not isinstance(value, list):
        raise BadRequest(
            "Invalid type for 'items': expected an array of items.",
            param="items",
            code="invalid_type",
        )
    if len(value) > MAX_ITEMS:
        raise BadRequest(
            f"Invalid 'items': array too long. Expected an array with maximum length "
            f"{MAX_ITEMS}, but got an array with length {len(value)} instead.",
            param="items",
            code="array_above_max_length",
        )
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadRequest(
                f"Invalid type for 'items[{index}]': expected an object.",
                param=f"items[{index}]",
                code="invalid_type",
            )
    return input_items(value)


def _conversations(app: MockOpenAI) -> Collection[StoredConversation]:
    return app.store.conversations


def _listed(conversation: StoredConversation, call: Call) -> dict[str, Any]:
    return page(
        list(conversation.items),
        call.queried(),
        render=lambda item: item,
        key=lambda item: str(item["id"]),
    )


async def create_conversation(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/conversations`: optional metadata and up to 20 initial items."""
    body = call.request.json
    metadata = metadata_param(body.get("metadata"))
    items = _new_items(body.get("items"), required=False)
    conversation = StoredConversation(new_id("conv_"), metadata, items=items)
    return _conversations(app).put(conversation.id, conversation).render()


async def retrieve_conversation(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/conversations/{conversation_id}`."""
    return _conversations(app).get(call.params["conversation_id"]).render()


async def update_conversation(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/conversations/{conversation_id}`: replace its metadata."""
    conversation = _conversations(app).get(call.params["conversation_id"])
    body = call.request.json
    if "metadata" not in body:
        raise missing_parameter("metadata")
    conversation.metadata = metadata_param(body["metadata"])
    return conversation.render()


async def delete_conversation(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/conversations/{conversation_id}`."""
    conversation = _conversations(app).delete(call.params["conversation_id"])
    return {"id": conversation.id, "object": "conversation.deleted", "deleted": True}


async def list_items(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/conversations/{conversation_id}/items`: newest first unless `order=asc`."""
    return _listed(_conversations(app).get(call.params["conversation_id"]), call)


async def create_items(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/conversations/{conversation_id}/items`: the added items, in the order given."""
    conversation = _conversations(app).get(call.params["conversation_id"])
    items = _new_items(call.request.json.get("items"), required=True)
    conversation.extend(items)
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": False,
    }


async def retrieve_item(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/conversations/{conversation_id}/items/{item_id}`."""
    conversation = _conversations(app).get(call.params["conversation_id"])
    return conversation.item(call.params["item_id"])


async def delete_item(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/conversations/{conversation_id}/items/{item_id}`: the conversation after."""
    conversation = _conversations(app).get(call.params["conversation_id"])
    conversation.remove(call.params["item_id"])
    return conversation.render()
