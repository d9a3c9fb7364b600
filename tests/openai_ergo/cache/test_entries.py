"""A cached stream's events survive the bytes a backend stores, in the format entries always had."""

from __future__ import annotations

import msgspec
import pytest

from openai_ergo._cache._entries import Entry, decode_entry, encode_entry
from streaming import ServerSentEvent


class _StructEvent(msgspec.Struct, gc=False):
    # The event as entries stored it when it was a msgspec Struct of these fields.
    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class _StructEntry(msgspec.Struct, array_like=True, gc=False):
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    events: list[_StructEvent] | None = None


_EVENTS = [
    ServerSentEvent(data='{"a": 1}'),
    ServerSentEvent("response.completed", "{}", "7", 1500),
]


def test_a_stream_entry_round_trips() -> None:
    entry = Entry(200, [("content-type", "text/event-stream")], events=_EVENTS)
    decoded = decode_entry(encode_entry(entry))
    assert decoded is not None
    assert decoded.events == _EVENTS
    assert all(type(event) is ServerSentEvent for event in decoded.events)
    assert decoded.headers == [("content-type", "text/event-stream")]


def test_entries_keep_the_stored_format() -> None:
    struct_events = [_StructEvent(e.event, e.data, e.id, e.retry) for e in _EVENTS]
    old = msgspec.msgpack.encode(_StructEntry(200, [], events=struct_events))
    assert encode_entry(Entry(200, [], events=_EVENTS)) == old
    decoded = decode_entry(old)
    assert decoded is not None
    assert decoded.events == _EVENTS


@pytest.mark.parametrize(
    "events",
    [[{"data": 5}], [{"retry": "soon"}], [7], ["data: x"]],
)
def test_a_malformed_stored_event_is_no_entry(events: list[object]) -> None:
    assert decode_entry(msgspec.msgpack.encode([200, [], b"", events])) is None


def test_a_plain_entry_has_no_events() -> None:
    decoded = decode_entry(encode_entry(Entry(200, [], body=b"{}")))
    assert decoded is not None
    assert decoded.events is None
    assert decoded.body == b"{}"
