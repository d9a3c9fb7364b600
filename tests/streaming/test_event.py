"""`ServerSentEvent` as a value: httpx-sse's fields, immutable, comparable, hashable, matchable.

Every test runs on the class `streaming` exports (compiled with the decoder when `make compile`
built it) and checks that both decoder forms build that one class.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import streaming
from streaming import ServerSentEvent, SSEDecoder
from streaming._decoder import COMPILED
from streaming._interpreted import interpreted_decoder


def test_fields_defaults_and_order_match_httpx_sse() -> None:
    import httpx_sse

    event = ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", "", "", None)
    ours = ServerSentEvent("update", "payload", "7", 1500)
    theirs = httpx_sse.ServerSentEvent("update", "payload", "7", 1500)
    for name in ServerSentEvent.__match_args__:
        assert getattr(ours, name) == getattr(theirs, name)
    assert ServerSentEvent.__match_args__ == ("event", "data", "id", "retry")


def test_keyword_construction_equals_positional() -> None:
    assert ServerSentEvent(data="x", retry=5, id="1", event="e") == ServerSentEvent(
        "e", "x", "1", 5
    )
    assert ServerSentEvent(data="x") == ServerSentEvent("message", "x", "", None)


def test_an_unknown_or_missing_argument_raises_type_error() -> None:
    with pytest.raises(TypeError):
        ServerSentEvent(name="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ServerSentEvent("a", "b", "c", None, "extra")  # type: ignore[call-arg]


@pytest.mark.parametrize("name", ["event", "data", "id", "retry"])
def test_fields_cannot_be_assigned_or_deleted(name: str) -> None:
    event = ServerSentEvent("e", "x", "1", 5)
    with pytest.raises(AttributeError):
        setattr(event, name, "changed")
    with pytest.raises(AttributeError):
        delattr(event, name)
    assert event == ServerSentEvent("e", "x", "1", 5)


def test_no_new_attributes_can_be_added() -> None:
    with pytest.raises(AttributeError):
        ServerSentEvent().extra = 1  # type: ignore[attr-defined]


def test_equality_and_hash_follow_the_fields() -> None:
    a = ServerSentEvent("e", "x", "1", 5)
    assert a == ServerSentEvent("e", "x", "1", 5)
    assert hash(a) == hash(ServerSentEvent("e", "x", "1", 5))
    for other in (
        ServerSentEvent("f", "x", "1", 5),
        ServerSentEvent("e", "y", "1", 5),
        ServerSentEvent("e", "x", "2", 5),
        ServerSentEvent("e", "x", "1", None),
    ):
        assert a != other
        assert not a == other  # noqa: SIM201 - both operators are under test
    assert len({a, ServerSentEvent("e", "x", "1", 5), ServerSentEvent()}) == 2
    assert a != ("e", "x", "1", 5)
    assert a != "x"


def test_repr_names_every_field() -> None:
    assert repr(ServerSentEvent("e", "x\n", "1", 5)) == (
        "ServerSentEvent(event='e', data='x\\n', id='1', retry=5)"
    )
    assert repr(ServerSentEvent()) == (
        "ServerSentEvent(event='message', data='', id='', retry=None)"
    )


def test_match_takes_the_fields_positionally_and_by_name() -> None:
    match ServerSentEvent("done", "[DONE]", "9"):
        case ServerSentEvent("done", data, event_id, None):
            assert (data, event_id) == ("[DONE]", "9")
        case _:
            pytest.fail("the event did not match its own fields")
    match ServerSentEvent(data="x"):
        case ServerSentEvent(event="message", data="x"):
            pass
        case _:
            pytest.fail("the event did not match by keyword")


def test_json_decodes_the_data_and_names_bad_json() -> None:
    assert ServerSentEvent(data='{"a": [1, 2.5, null]}').json() == {"a": [1, 2.5, None]}
    assert ServerSentEvent(data="[DONE]").data == "[DONE]"
    with pytest.raises(json.JSONDecodeError):
        ServerSentEvent(data="[DONE]").json()
    with pytest.raises(ValueError, match="Expecting value"):
        ServerSentEvent().json()


def test_both_decoder_forms_build_the_exported_class() -> None:
    body = b"data: a\n\nevent: e\ndata: b\n\nid: 3\nretry: 10\ndata: c\n\n"
    for decoder in (SSEDecoder(), interpreted_decoder()()):
        events = decoder.feed(body)
        assert all(type(event) is streaming.ServerSentEvent for event in events)
        assert events == [
            ServerSentEvent("message", "a"),
            ServerSentEvent("e", "b"),
            ServerSentEvent("message", "c", "3", 10),
        ]
        assert [event for event in events if event.retry is not None] == [events[2]]


def test_the_compiled_event_keeps_its_docstring() -> None:
    if not COMPILED:
        pytest.skip("streaming/_decoder.py is not compiled here (`make compile`)")
    source = Path(streaming.__file__).with_name("_decoder.py").read_text()
    (node,) = (
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef) and node.name == "ServerSentEvent"
    )
    assert ServerSentEvent.__doc__ == ast.get_docstring(node, clean=False)
