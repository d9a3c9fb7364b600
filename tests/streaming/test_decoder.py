"""SSEDecoder: the WHATWG conformance vectors under every chunking, round trips, limits."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming import ServerSentEvent, SSEDecoder, SSELimitError
from tests.conftest import SHARED, shared_path

VECTORS_PATH = SHARED / "sse-corpus" / "vectors.json"


def _vector_params() -> list[Any]:
    if not VECTORS_PATH.exists():
        return [pytest.param(None, id="corpus-absent")]
    vectors = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["vectors"]
    return [pytest.param(vector, id=vector["id"]) for vector in vectors]


def load_vector(vector: dict[str, Any] | None) -> dict[str, Any]:
    """The vector, or skip (with the reason) when the shared corpus is absent."""
    if vector is None:
        shared_path("sse-corpus", "vectors.json")
    assert vector is not None
    return vector


def chunkings(vector: dict[str, Any]) -> Iterator[tuple[str, list[bytes]]]:
    """Whole; 1/2/3/7-byte pieces; the source test's own chunks; every 2-way split."""
    body = bytes.fromhex(vector["input_hex"])
    yield "whole", [body]
    own_sizes = [size for size in vector["chunk_sizes"] or () if isinstance(size, int)]
    for size in (1, 2, 3, 7, *own_sizes):
        yield f"size{size}", [body[i : i + size] for i in range(0, len(body), size)]
    if vector["chunks_hex"]:
        yield "as_given", [bytes.fromhex(chunk) for chunk in vector["chunks_hex"]]
    for cut in range(1, len(body)):
        yield f"split@{cut}", [body[:cut], body[cut:]]


def decode(chunks: list[bytes]) -> tuple[list[ServerSentEvent], SSEDecoder, list[str]]:
    comments: list[str] = []
    decoder = SSEDecoder(on_comment=comments.append)
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    events += decoder.end()
    return events, decoder, comments


@pytest.mark.parametrize("vector", _vector_params())
def test_conformance_vector_under_every_chunking(vector: dict[str, Any] | None) -> None:
    vector = load_vector(vector)
    expected = [(e["type"], e["data"], e["last_event_id"]) for e in vector["expected_events"]]
    for name, chunks in chunkings(vector):
        events, decoder, comments = decode(chunks)
        got = [(event.event, event.data, event.id) for event in events]
        assert got == expected, name
        assert decoder.retry == vector["expected_reconnection_time"], name
        if vector["expected_comments"] is not None:
            assert comments == vector["expected_comments"], name


def encode(events: list[dict[str, Any]], newline: bytes, bom: bool) -> bytes:
    """Serialise events the way a server would, with `:` comments in between."""
    out = [b"\xef\xbb\xbf"] if bom else []
    for event in events:
        lines = [b": " + event["comment"].encode()] if event["comment"] is not None else []
        if event["event"] is not None:
            lines.append(b"event: " + event["event"].encode())
        if event["id"] is not None:
            lines.append(b"id: " + event["id"].encode())
        if event["retry"] is not None:
            lines.append(b"retry: %d" % event["retry"])
        lines += [b"data: " + line.encode() for line in event["data"]]
        out.append(b"".join(line + newline for line in lines) + newline)
    return b"".join(out)


_no_line_breaks = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=20
)
_events = st.lists(
    st.fixed_dictionaries(
        {
            "event": st.none() | _no_line_breaks.filter(bool),
            "data": st.lists(_no_line_breaks, min_size=1, max_size=4),
            "id": st.none()
            | st.text(
                st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"),
                max_size=10,
            ),
            "retry": st.none() | st.integers(min_value=0, max_value=10**12),
            "comment": st.none() | _no_line_breaks,
        }
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    events=_events,
    newline=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    bom=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
)
def test_any_events_survive_any_chunking(
    events: list[dict[str, Any]], newline: bytes, bom: bool, cuts: list[int]
) -> None:
    body = encode(events, newline, bom)
    points = sorted({cut % (len(body) + 1) for cut in cuts} | {0, len(body)})
    chunks = [body[a:b] for a, b in itertools.pairwise(points)]
    decoded, decoder, comments = decode(chunks)

    expected = []
    last_id = ""
    for event in events:
        last_id = event["id"] if event["id"] is not None else last_id
        expected.append(
            ServerSentEvent(
                event["event"] or "message", "\n".join(event["data"]), last_id, event["retry"]
            )
        )
    assert decoded == expected
    assert decoder.last_event_id == last_id
    retries = [event["retry"] for event in events if event["retry"] is not None]
    assert decoder.retry == (retries[-1] if retries else None)
    assert comments == [" " + e["comment"] for e in events if e["comment"] is not None]


def test_an_event_carries_defaults_and_decodes_json() -> None:
    event = ServerSentEvent(data='{"a": [1, 2]}')
    assert (event.event, event.id, event.retry) == ("message", "", None)
    assert event.json() == {"a": [1, 2]}


def test_end_drops_the_unterminated_block_and_keeps_the_stream_state() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 300\nid: 7\ndata: done\n\nid: 8\ndata: cut") != []
    assert decoder.end() == []
    # A reconnection's bytes may start with their own BOM; the committed id carries over.
    assert decoder.feed(b"\xef\xbb\xbfdata: again\n\n") == [
        ServerSentEvent("message", "again", "7", None)
    ]
    assert (decoder.last_event_id, decoder.retry) == ("7", 300)


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert SSEDecoder().feed(b"event: \xffx\ndata: a\xc3\n\n") == [
        ServerSentEvent("\ufffdx", "a\ufffd")
    ]


@pytest.mark.parametrize("piece", [1, 5, 1000, 10**6])
def test_a_line_over_max_line_size_is_refused_in_any_chunking(piece: int) -> None:
    decoder = SSEDecoder(max_line_size=100)
    body = b"data: ok\n\n" + b"data: " + b"x" * 200 + b"\n\n"
    kept: list[ServerSentEvent] = []

    def feed_all() -> None:
        for start in range(0, len(body), piece):
            kept.extend(decoder.feed(body[start : start + piece]))

    with pytest.raises(SSELimitError, match="max_line_size=100") as caught:
        feed_all()
    assert caught.value.limit == "max_line_size"
    assert caught.value.value == 100
    assert caught.value.size > 100
    # Nothing is lost: the event before the long line was handed out or rides on the error.
    assert [*kept, *caught.value.events] == [ServerSentEvent(data="ok")]


def test_an_event_over_max_event_size_is_refused() -> None:
    decoder = SSEDecoder(max_line_size=1000, max_event_size=50)
    with pytest.raises(SSELimitError, match="max_event_size=50") as caught:
        decoder.feed(b"data: first\n\n" + b"data: 0123456789\n" * 10)
    assert caught.value.limit == "max_event_size"
    assert caught.value.events == (ServerSentEvent(data="first"),)


def test_the_limits_are_exact_bounds() -> None:
    decoder = SSEDecoder(max_line_size=16, max_event_size=10)
    assert decoder.feed(b"data: 0123456789\n\n") == [ServerSentEvent(data="0123456789")]
    with pytest.raises(SSELimitError):
        decoder.feed(b"data: 0123456789A\n")


@pytest.mark.parametrize("option", ["max_line_size", "max_event_size"])
def test_limits_must_be_positive(option: str) -> None:
    with pytest.raises(ValueError, match=option):
        SSEDecoder(**{option: 0})  # type: ignore[arg-type]
