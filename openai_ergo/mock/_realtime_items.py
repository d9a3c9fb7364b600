"""The conversation of a mock Realtime session: items created, retrieved, deleted and
truncated by client events, and added as the session goes (committed audio, answers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from anyio.abc import TaskGroup

from openai_ergo.mock._realtime_model import (
    _ITEM_TYPES,
    _ROLES,
    EventError,
    _object,
    _string,
)
from openai_ergo.mock._realtime_state import SessionState
from openai_ergo.mock._wire import new_id

__all__ = ["ConversationItems"]


class ConversationItems(SessionState):
    """The `conversation.item.*` client events, and the items' order."""

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
