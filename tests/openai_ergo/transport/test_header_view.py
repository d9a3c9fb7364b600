"""`HeaderView` (the pipeline's lookups over a response head) answers as `httpx.Headers` does,
whether it reads the parser's index or the raw list."""

from __future__ import annotations

import httpx
import pytest

from openai_ergo import Client
from openai_ergo._transport._parser import ResponseParser
from openai_ergo._transport._prepared import HeaderView, PlainResponse
from openai_ergo.mock import MockServer

HEADS = [
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Dup: a\r\nx-dup: b\r\n"
    b"x-request-id: req_1\r\nContent-Length: 0\r\n\r\n",
    # A value that is not ASCII: httpx decodes it (UTF-8 here), and so must the view.
    b"HTTP/1.1 200 OK\r\nX-Name: caf\xc3\xa9\r\nx-request-id: req_2\r\nContent-Length: 0\r\n\r\n",
    # Not UTF-8 either: Latin-1, as httpx falls back to.
    b"HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\nX-Other: plain  \r\nContent-Length: 0\r\n\r\n",
]
NAMES = ["content-type", "Content-Type", "X-DUP", "x-request-id", "x-name", "x-other", "absent"]


def parsed(head: bytes) -> ResponseParser:
    parser = ResponseParser()
    parser.feed(head)
    assert parser.complete
    return parser


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("indexed", [True, False])
def test_lookups_by_name_equal_httpx_headers(head: bytes, indexed: bool) -> None:
    parser = parsed(head)
    view = HeaderView(parser.headers, parser.index if indexed else None)
    expected = httpx.Headers(parser.headers)
    for name in NAMES:
        assert view.get(name) == expected.get(name), name
        assert view.get(name, "default") == expected.get(name, "default"), name
        assert (name in view) == (name in expected), name
        if name in expected:
            assert view[name] == expected[name]
        else:
            with pytest.raises(KeyError):
                view[name]
    assert dict(view) == dict(expected)
    lower = [name.lower() for name in NAMES]
    asked = {name.encode() for name in lower}
    assert view.present(asked) == {n: expected[n] for n in lower if n in expected}
    not_a_name: object = 3
    assert not_a_name not in view
    assert view.get("ümlaut") is None


def test_the_parser_indexes_repeated_headers_joined_and_trailing_space_stripped() -> None:
    parser = parsed(HEADS[2])
    assert parser.index[b"x-other"] == b"plain"
    assert parsed(HEADS[0]).index[b"x-dup"] == b"a, b"


async def test_a_plain_response_has_every_attribute_httpx_sets_with_the_same_values() -> None:
    stream = httpx.ByteStream(b"{}")
    extensions: dict[str, object] = {"http_version": b"HTTP/1.1"}
    parser = parsed(HEADS[0])
    plain = PlainResponse(
        200,
        parser.headers,
        stream=stream,
        extensions=extensions,
        build_request=lambda: httpx.Request("GET", "http://a.test/"),
        timeouts={},
        header_index=parser.index,
    )
    reference = httpx.Response(200, stream=stream, extensions=extensions)
    lazy = {"headers", "_request"}
    for name, value in vars(reference).items():
        if name not in lazy:
            assert getattr(plain, name) == value, name
    assert plain.headers.multi_items() == httpx.Headers(parser.headers).multi_items()
    assert plain.request.url == "http://a.test/"
    assert await plain.aread() == b"{}"
    assert plain.json() == {}


LOWER_CASE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: req_3\r\n"
    b"x-ratelimit-remaining-requests: 9\r\ntransfer-encoding: chunked\r\n\r\n"
)


def plain_response(head: bytes) -> tuple[PlainResponse, list[tuple[bytes, bytes]]]:
    parser = ResponseParser()
    parser.feed(head)
    assert parser.head_complete
    sent = list(parser.headers)
    plain = PlainResponse(
        200,
        parser.headers,
        stream=httpx.ByteStream(b""),
        extensions={},
        build_request=lambda: httpx.Request("GET", "http://a.test/"),
        timeouts={},
        header_index=parser.index,
    )
    parser.release_head()
    assert parser.headers == []
    assert parser.index == {}
    return plain, sent


@pytest.mark.parametrize("head", [LOWER_CASE_HEAD, *HEADS])
def test_a_compacted_head_reads_as_sent(head: bytes) -> None:
    plain, sent = plain_response(head)
    before = plain.header_view()
    expected = {name: before[name] for name in before}
    plain.compact_head()
    # Only a head whose index holds every name as sent, in order, gives up its list.
    assert (plain._raw_headers is None) == (head is LOWER_CASE_HEAD)
    view = plain.header_view()
    assert (view is before) == (head is not LOWER_CASE_HEAD)
    assert view.raw == sent
    assert {name: view[name] for name in view} == expected
    assert plain.headers.raw == sent
    assert plain.header_view() is plain.headers


async def test_an_open_stream_reads_its_head_after_opening(mock_openai: MockServer) -> None:
    client = Client(api_key="sk-mock", base_url=mock_openai.url, rate_limiter=False)
    async with client, client.chat("gpt-4o-mini").user("Hi").stream() as stream:
        source = stream._response_head()
        assert source is not None
        assert isinstance(source.response, PlainResponse)
        # Read through the lookups first (the compacted head when the mock's names are all
        # lower case), then through the `httpx.Headers` built from it.
        request_id = stream.request_id
        assert request_id is not None
        assert request_id.startswith("req_")
        sent = dict(source.response.headers.raw)
        assert request_id == sent[b"x-request-id"].decode()
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for _ in stream:
            pass
