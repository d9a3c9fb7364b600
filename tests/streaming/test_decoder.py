"""SSEDecoder: the WHATWG conformance vectors under every chunking, round trips, limits."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming import ServerSentEvent, SSEDecoder, SSELimitError
from streaming._decoder import COMPILED
from streaming._interpreted import interpreted_decoder
from tests.conftest import SHARED, shared_path

#: Every test below runs against both forms of the decoder: the compiled build `make` installs
#: (skipped where it is absent) and the same source run by the interpreter.
both_forms = pytest.mark.parametrize(
    "decoder_class",
    [
        pytest.param(
            SSEDecoder,
            id="compiled",
            marks=pytest.mark.skipif(
                not COMPILED, reason="streaming/_decoder.py is not compiled here (`make compile`)"
            ),
        ),
        pytest.param(interpreted_decoder(), id="interpreted"),
    ],
)

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


def decode(
    decoder_class: type[SSEDecoder], chunks: list[bytes]
) -> tuple[list[ServerSentEvent], SSEDecoder, list[str]]:
    comments: list[str] = []
    decoder = decoder_class(on_comment=comments.append)
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    events += decoder.end()
    return events, decoder, comments


@pytest.mark.parametrize("vector", _vector_params())
@both_forms
def test_conformance_vector_under_every_chunking(
    decoder_class: type[SSEDecoder], vector: dict[str, Any] | None
) -> None:
    vector = load_vector(vector)
    expected = [(e["type"], e["data"], e["last_event_id"]) for e in vector["expected_events"]]
    for name, chunks in chunkings(vector):
        events, decoder, comments = decode(decoder_class, chunks)
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
@both_forms
def test_any_events_survive_any_chunking(
    decoder_class: type[SSEDecoder],
    events: list[dict[str, Any]],
    newline: bytes,
    bom: bool,
    cuts: list[int],
) -> None:
    body = encode(events, newline, bom)
    points = sorted({cut % (len(body) + 1) for cut in cuts} | {0, len(body)})
    chunks = [body[a:b] for a, b in itertools.pairwise(points)]
    decoded, decoder, comments = decode(decoder_class, chunks)

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


@both_forms
def test_end_drops_the_unterminated_block_and_keeps_the_stream_state(
    decoder_class: type[SSEDecoder],
) -> None:
    decoder = decoder_class()
    assert decoder.feed(b"retry: 300\nid: 7\ndata: done\n\nid: 8\ndata: cut") != []
    assert decoder.end() == []
    # A reconnection's bytes may start with their own BOM; the committed id carries over.
    assert decoder.feed(b"\xef\xbb\xbfdata: again\n\n") == [
        ServerSentEvent("message", "again", "7", None)
    ]
    assert (decoder.last_event_id, decoder.retry) == ("7", 300)


@both_forms
def test_invalid_utf8_becomes_replacement_characters(decoder_class: type[SSEDecoder]) -> None:
    assert decoder_class().feed(b"event: \xffx\ndata: a\xc3\n\n") == [
        ServerSentEvent("\ufffdx", "a\ufffd")
    ]


@pytest.mark.parametrize("piece", [1, 5, 1000, 10**6])
@both_forms
def test_a_line_over_max_line_size_is_refused_in_any_chunking(
    decoder_class: type[SSEDecoder], piece: int
) -> None:
    decoder = decoder_class(max_line_size=100)
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


@both_forms
def test_an_event_over_max_event_size_is_refused(decoder_class: type[SSEDecoder]) -> None:
    decoder = decoder_class(max_line_size=1000, max_event_size=50)
    with pytest.raises(SSELimitError, match="max_event_size=50") as caught:
        decoder.feed(b"data: first\n\n" + b"data: 0123456789\n" * 10)
    assert caught.value.limit == "max_event_size"
    assert caught.value.events == (ServerSentEvent(data="first"),)


@both_forms
def test_the_limits_are_exact_bounds(decoder_class: type[SSEDecoder]) -> None:
    decoder = decoder_class(max_line_size=16, max_event_size=10)
    assert decoder.feed(b"data: 0123456789\n\n") == [ServerSentEvent(data="0123456789")]
    with pytest.raises(SSELimitError):
        decoder.feed(b"data: 0123456789A\n")


@pytest.mark.parametrize("option", ["max_line_size", "max_event_size"])
@both_forms
def test_limits_must_be_positive(decoder_class: type[SSEDecoder], option: str) -> None:
    with pytest.raises(ValueError, match=option):
        decoder_class(**{option: 0})  # type: ignore[arg-type]


# The fast paths (one block per chunk, whole runs of blocks per read) must decode exactly what
# the line-by-line path decodes. Fed one byte at a time, the decoder never sees a whole block in
# one chunk, so that feeding is the oracle; streams mix the fast shapes with every other kind of
# block, invalid UTF-8 and multi-byte characters that chunk boundaries cut in half.
_payload_bytes = st.binary(max_size=40).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))
_block = st.one_of(
    _payload_bytes.map(lambda payload: b"data: " + payload + b"\n\n"),
    st.tuples(_payload_bytes, _payload_bytes).map(
        lambda pair: b"event: " + pair[0] + b"\ndata: " + pair[1] + b"\n\n"
    ),
    st.sampled_from(
        [
            b": keep-alive\n",
            b"id: 7\n",
            b"retry: 25\n",
            b"event: only-a-type\n",
            b"data: first\ndata: second\n\n",
            b"data:tight\n\n",
            b"\n",
            b"data: crlf\r\n\r\n",
            b"event: x\ncolor: blue\ndata: y\n\n",
            "data: é ü 😀\n\n".encode(),
        ]
    ),
)


def _events_or_error(
    decoder_class: type[SSEDecoder], chunks: list[bytes], limit: int | None = None
) -> tuple[list[ServerSentEvent], str | None, str, int | None]:
    """Events (with those riding on a limit error), the error's limit, last id and retry."""
    decoder = (
        decoder_class()
        if limit is None
        else decoder_class(max_line_size=limit, max_event_size=limit - 10)
    )
    events: list[ServerSentEvent] = []
    try:
        for chunk in chunks:
            events += decoder.feed(chunk)
        events += decoder.end()
    except SSELimitError as error:
        return [*events, *error.events], error.limit, "", None
    return events, None, decoder.last_event_id, decoder.retry


@settings(max_examples=300, deadline=None)
@given(
    blocks=st.lists(_block, max_size=30),
    bom=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=8),
    per_block=st.booleans(),
    limit=st.sampled_from([None, 30, 60]),
)
@both_forms
def test_fast_paths_decode_what_the_line_by_line_path_decodes(
    decoder_class: type[SSEDecoder],
    blocks: list[bytes],
    bom: bool,
    cuts: list[int],
    per_block: bool,
    limit: int | None,
) -> None:
    body = (b"\xef\xbb\xbf" if bom else b"") + b"".join(blocks)
    if per_block:
        # The way a chunk iterator over an OpenAI stream delivers: one block per chunk.
        chunks = [b"\xef\xbb\xbf"] if bom else []
        chunks += blocks
    else:
        points = sorted({cut % (len(body) + 1) for cut in cuts} | {0, len(body)})
        chunks = [body[a:b] for a, b in itertools.pairwise(points)]
    oracle = _events_or_error(decoder_class, [body[i : i + 1] for i in range(len(body))], limit)
    assert _events_or_error(decoder_class, chunks, limit) == oracle


@both_forms
def test_a_run_of_chat_and_responses_blocks_decodes_in_bulk(
    decoder_class: type[SSEDecoder],
) -> None:
    chat = b"".join(b'data: {"n": %d, "text": "\xc3\xa9"}\n\n' % i for i in range(100))
    typed = b"".join(b"event: response.delta\ndata: %d\n\n" % i for i in range(100))
    for body, kind in ((chat, "message"), (typed, "response.delta")):
        decoder = decoder_class()
        decoder.feed(b"id: 9\n\n")  # a committed id rides on every later event
        # 64 KiB-style reads cut anywhere: mid-line, mid-character, between the two LFs.
        events = (
            decoder.feed(body[:1001]) + decoder.feed(body[1001:1500]) + decoder.feed(body[1500:])
        )
        assert [event.event for event in events] == [kind] * 100
        assert {event.id for event in events} == {"9"}
        assert events[7].data == ('{"n": 7, "text": "é"}' if kind == "message" else "7")


_TRICKY_BODIES = [
    b"data: abcX\n\ndata: next\n\n",
    b"event: t\ndata: abcX\n\nevent: u\ndata: v\n\n",
    b"data: a\ndata: b\n\nevent: e\n\ndata: c\n\n",
    b"id: 3\ndata: a\n\ndata: b\n\n",
    b"data: \xf0\x9f\x98\x80 \xc3\n\n\n\ndata: \xe2\x82\n\n",
    b"event: \n\ndata: x\n\n: note\n\n",
    b"data: data: x\n\nevent: event: y\ndata: data: \n\n",
]


@pytest.mark.parametrize("body", _TRICKY_BODIES)
@both_forms
def test_any_three_way_split_after_a_first_event_decodes_like_bytewise(
    decoder_class: type[SSEDecoder], body: bytes
) -> None:
    # A decoder that has already dispatched an event takes its fast paths on the next chunk,
    # so every way of cutting what follows is checked against byte-by-byte feeding.
    warm = b"data: warm\n\n"
    oracle = _events_or_error(decoder_class, [warm] + [body[i : i + 1] for i in range(len(body))])
    for first, second in itertools.combinations_with_replacement(range(len(body) + 1), 2):
        chunks = [warm, body[:first], body[first:second], body[second:]]
        assert _events_or_error(decoder_class, chunks) == oracle, (first, second)


@both_forms
def test_events_decoded_in_bulk_ride_on_a_limit_error_that_follows_them(
    decoder_class: type[SSEDecoder],
) -> None:
    # The bulk run and then the long line in one read: the run's events are not lost.
    decoder = decoder_class(max_line_size=50)
    decoder.feed(b"data: warm\n\n")
    with pytest.raises(SSELimitError) as caught:
        decoder.feed(b"data: a\n\ndata: b\n\ndata: " + b"x" * 100)
    assert [event.data for event in caught.value.events] == ["a", "b"]

    # A block finished from the previous read, then the long line: its event is kept too.
    decoder = decoder_class(max_line_size=50)
    decoder.feed(b"data: warm\n\ndata: par")
    with pytest.raises(SSELimitError) as caught:
        decoder.feed(b"tial\n\ndata: " + b"x" * 100)
    assert [event.data for event in caught.value.events] == ["partial"]


def test_the_compiled_decoder_is_built_from_the_current_source() -> None:
    # `make` rebuilds the extension whenever `_decoder.py` changes; a run of pytest alone after
    # an edit would otherwise test yesterday's decoder under today's name.
    import streaming._decoder as module

    if not COMPILED:
        pytest.skip("streaming/_decoder.py is not compiled here (`make compile`)")
    source = Path(module.__file__).with_name("_decoder.py")
    if "site-packages" in Path(module.__file__).parts:
        # An installed wheel (the toolkit's tests run against one in CI): the wheel was built
        # from the source it carries, and installing gives both files the install's mtimes.
        assert source.is_file()
        return
    assert Path(module.__file__).stat().st_mtime >= source.stat().st_mtime, (
        "the compiled decoder is older than streaming/_decoder.py: run `make compile`"
    )


def test_the_interpreted_form_runs_from_the_source() -> None:
    decoder_class = interpreted_decoder()
    module = sys.modules[decoder_class.__module__]
    assert module.__file__ is not None
    assert module.__file__.endswith("_decoder.py")
    assert module.COMPILED is False
    assert decoder_class().feed(b"data: x\n\n") == [ServerSentEvent(data="x")]


def test_the_compiled_decoder_keeps_the_class_docstring() -> None:
    if not COMPILED:
        pytest.skip("streaming/_decoder.py is not compiled here (`make compile`)")
    assert SSEDecoder.__doc__ == interpreted_decoder().__doc__


@settings(max_examples=200, deadline=None)
@given(
    blocks=st.lists(_block, max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=8),
)
def test_the_scanning_bulk_path_decodes_like_the_splitting_one(
    blocks: list[bytes], cuts: list[int]
) -> None:
    # The compiled form decodes whole reads by scanning, the interpreted one by splitting; here
    # the interpreter runs the scanning path too, so it is checked even where nothing compiles.
    decoder_class = interpreted_decoder()
    module = sys.modules[decoder_class.__module__]
    body = b"".join(blocks)
    points = sorted({cut % (len(body) + 1) for cut in cuts} | {0, len(body)})
    chunks = [b"data: warm\n\n"] + [body[a:b] for a, b in itertools.pairwise(points)]
    split = _events_or_error(decoder_class, chunks)
    with mock.patch.object(module, "COMPILED", True):
        assert _events_or_error(decoder_class, chunks) == split


@both_forms
@pytest.mark.parametrize("ready", [False, True])
def test_text_instead_of_bytes_is_a_type_error(
    decoder_class: type[SSEDecoder], ready: bool
) -> None:
    decoder = decoder_class()
    if ready:
        decoder.feed(b"data: warm\n\n")
    with pytest.raises(TypeError):
        decoder.feed("data: x\n\n")  # type: ignore[arg-type]
