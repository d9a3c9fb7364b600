"""What the cache keeps of a response, as bytes, and whether a response is worth keeping.

A plain response is kept as its status, a few headers and its body; a stream as its events.
Only whole answers are kept: never an error, a response that is incomplete, failed, still
queued, cut short by a token limit or a content filter, or that carries a refusal.
"""

from __future__ import annotations

from typing import Any

import msgspec

from streaming import ServerSentEvent

__all__ = [
    "Entry",
    "HeldEntry",
    "complete_body",
    "complete_events",
    "decode_entry",
    "encode_entry",
]

#: Headers a replay carries over: what the typed layers and callers read.
KEPT_HEADERS = frozenset(
    {"content-type", "x-request-id", "openai-model", "openai-organization", "openai-version"}
)
_FINISHED = frozenset({"stop", "tool_calls", "function_call"})
#: A Responses stream's last event when its response is whole.
_COMPLETED = "response.completed"


class Entry(msgspec.Struct, array_like=True, gc=False):
    """One cached response: `events` for a stream, `body` otherwise."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    events: list[ServerSentEvent] | None = None


class _StoredEvent(msgspec.Struct, gc=False):
    # How an event is stored: the map of its four fields, in order (the format entries have
    # always had), checked field by field when read back.
    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


def _encode_event(value: Any) -> Any:
    if isinstance(value, ServerSentEvent):
        return _StoredEvent(value.event, value.data, value.id, value.retry)
    raise NotImplementedError(f"cannot store a {type(value).__name__} in a cache entry")


def _decode_event(kind: type, value: Any) -> Any:
    if kind is ServerSentEvent:
        stored = msgspec.convert(value, _StoredEvent)  # ValidationError: not an event
        return ServerSentEvent(stored.event, stored.data, stored.id, stored.retry)
    raise NotImplementedError(f"cannot read a {kind.__name__} from a cache entry")


_encoder = msgspec.msgpack.Encoder(enc_hook=_encode_event)
_decoder = msgspec.msgpack.Decoder(Entry, dec_hook=_decode_event)


def encode_entry(entry: Entry) -> bytes:
    """The entry as the bytes a backend stores."""
    return _encoder.encode(entry)


def decode_entry(data: bytes) -> Entry | None:
    """The entry stored as `data`, or None when it is not one (a foreign or older value)."""
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


class HeldEntry:
    """An entry the in-memory backend holds as objects: the `Entry`, its serialised size
    (what the backend's byte bound counts) and `replay`, what typed stream handles decoded
    of it the first time it was replayed (their events and aggregate, by how they decode),
    so that later hits hand those out again instead of decoding."""

    __slots__ = ("entry", "replay", "size")

    def __init__(self, entry: Entry, size: int) -> None:
        self.entry = entry
        self.size = size
        self.replay: dict[Any, Any] = {}

    def to_bytes(self) -> bytes:
        """The entry as the bytes a serialising backend stores."""
        return encode_entry(self.entry)


def _whole_choices(choices: Any) -> bool:
    if not isinstance(choices, list) or not choices:
        return False
    for choice in choices:
        if not isinstance(choice, dict) or choice.get("finish_reason") not in _FINISHED:
            return False
        message = choice.get("message")
        if isinstance(message, dict) and message.get("refusal"):
            return False
    return True


def _whole_response(response: Any) -> bool:
    if not isinstance(response, dict) or response.get("error"):
        return False
    if response.get("status", "completed") != "completed":
        return False
    for item in response.get("output") or ():
        if isinstance(item, dict) and item.get("type") == "message":
            for part in item.get("content") or ():
                if isinstance(part, dict) and part.get("type") == "refusal":
                    return False
    return True


def complete_body(content: bytes) -> bool:
    """Whether a plain 2xx body is a whole answer worth keeping."""
    try:
        body = msgspec.json.decode(content)
    except msgspec.DecodeError:
        return False
    if not isinstance(body, dict):
        return False
    if "choices" in body:
        return _whole_choices(body["choices"])
    return _whole_response(body)


def complete_events(events: list[ServerSentEvent]) -> bool:
    """Whether a stream's events make a whole answer: a Responses stream that ended with
    `response.completed` (no refusal in it), or a chat or completions stream whose every
    choice finished with `stop` or a tool call, with no refusal delta; never one with an
    `error` event."""
    if not events:
        return False
    finished: dict[int, str | None] = {}
    last: dict[str, Any] | None = None
    for event in events:
        if event.event == "error":
            return False
        if event.data == "[DONE]":
            continue
        try:
            payload = msgspec.json.decode(event.data)
        except msgspec.DecodeError:
            return False
        if not isinstance(payload, dict) or payload.get("error"):
            return False
        last = payload
        for choice in payload.get("choices") or ():
            if not isinstance(choice, dict):
                return False
            delta = choice.get("delta")
            if isinstance(delta, dict) and delta.get("refusal"):
                return False
            reason = choice.get("finish_reason")
            index = choice.get("index", 0)
            if reason is not None or index not in finished:
                finished[index] = reason
    if last is not None and last.get("type", "").startswith("response."):
        return last.get("type") == _COMPLETED and _whole_response(last.get("response"))
    return bool(finished) and all(reason in _FINISHED for reason in finished.values())
