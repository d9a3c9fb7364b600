"""The SSE encoder: what it writes, our decoder reads back as the same events, in any chunking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streaming import ServerSentEvent, SSEDecoder, encode_sse, encode_sse_comment

#: A field that cannot hold a line break (event type, id): any text without CR or LF.
_one_line = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=20
)
#: Data: any text, with line breaks of every kind common enough to matter.
#: (CR then LF, side by side, is the CRLF case.)
_data = st.text(st.characters(exclude_categories=["Cs"]) | st.sampled_from("\n\r :"), max_size=40)


def _normalised(data: str) -> str:
    """What a browser hands over for `data`: every line break read as LF."""
    return data.replace("\r\n", "\n").replace("\r", "\n")


@st.composite
def _events(draw: st.DrawFn) -> dict[str, object]:
    fields: dict[str, object] = {"data": draw(_data)}
    if draw(st.booleans()):
        fields["event"] = draw(_one_line)
    if draw(st.booleans()):
        fields["id"] = draw(
            st.text(
                st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\0"), max_size=20
            )
        )
    if draw(st.booleans()):
        fields["retry"] = draw(st.integers(min_value=0, max_value=2**40))
    return fields


@given(st.lists(_events(), max_size=8), st.data())
def test_the_decoder_reads_back_every_encoded_event_in_any_chunking(
    events: list[dict[str, object]], data: st.DataObject
) -> None:
    body = b"".join(encode_sse(**fields) for fields in events)  # type: ignore[arg-type]
    cuts = sorted(data.draw(st.sets(st.integers(0, len(body)), max_size=10)))
    decoder = SSEDecoder()
    decoded: list[ServerSentEvent] = []
    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        decoded += decoder.feed(body[start:end])
    decoded += decoder.end()

    expected = []
    last_id = ""
    for fields in events:
        last_id = str(fields.get("id", last_id))
        retry = fields.get("retry")
        expected.append(
            ServerSentEvent(
                event=str(fields.get("event") or "message"),
                data=_normalised(str(fields["data"])),
                id=last_id,
                retry=retry if isinstance(retry, int) else None,
            )
        )
    assert decoded == expected


@given(_data)
def test_a_comment_is_never_an_event(text: str) -> None:
    comments: list[str] = []
    decoder = SSEDecoder(on_comment=comments.append)
    body = encode_sse_comment(text) + encode_sse("after")
    assert decoder.feed(body) == [ServerSentEvent(data="after")]
    assert comments == [f" {line}" if line else "" for line in _normalised(text).split("\n")]


def test_the_bytes_are_the_standard_spelling() -> None:
    assert encode_sse("hello") == b"data: hello\n\n"
    assert encode_sse("a\r\nb\rc\nd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    assert encode_sse("") == b"data: \n\n"
    assert encode_sse('{"x": 1}', event="delta", id="7", retry=3000) == (
        b'event: delta\nid: 7\nretry: 3000\ndata: {"x": 1}\n\n'
    )
    # Without data the block only sets the id and retry: it dispatches nothing.
    assert encode_sse(id="42", retry=10) == b"id: 42\nretry: 10\n\n"
    assert encode_sse("caf\u00e9") == "data: café\n\n".encode()
    assert encode_sse_comment() == b":\n"
    assert encode_sse_comment("ping") == b": ping\n"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"data": "x", "event": "a\nb"}, "event cannot contain a line break"),
        ({"data": "x", "event": "a\rb"}, "event cannot contain a line break"),
        ({"data": "x", "id": "1\n2"}, "id cannot contain a line break"),
        ({"data": "x", "id": "1\x002"}, "id cannot contain NUL"),
        ({"data": "x", "retry": -1}, "retry is a number of milliseconds"),
        ({"data": "x", "retry": 1.5}, "retry is a number of milliseconds"),
        ({"data": "x", "retry": True}, "retry is a number of milliseconds"),
    ],
)
def test_a_field_that_cannot_be_written_is_a_value_error_naming_it(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encode_sse(**fields)  # type: ignore[arg-type]


def test_data_must_be_text() -> None:
    with pytest.raises(TypeError, match="SSE data is a str, not bytes"):
        encode_sse(b"bytes")  # type: ignore[arg-type]
