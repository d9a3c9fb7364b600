"""Response metadata (request id, headers, status, rate limits) through one `ResponseMetadata`:
builders' `with_raw_response()`, the typed tier's `RawResponse`, and every stream handle."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from openai_ergo import (
    Client,
    Parsed,
    RateLimitInfo,
    RawResponse,
    ResponseMetadata,
    StreamError,
)
from openai_ergo.mock import MockServer
from openai_ergo.types import ChatCompletion, Response


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False)


def _assert_metadata(result: ResponseMetadata) -> None:
    """The metadata is the response's: the id the mock sent, its headers and limits."""
    assert result.status_code == 200
    assert result.request_id is not None
    assert result.request_id.startswith("req_")
    assert result.headers["x-request-id"] == result.request_id
    assert result.headers["openai-organization"] == "mock-org"
    limits = result.rate_limit
    assert isinstance(limits, RateLimitInfo)
    assert limits.limit_requests == int(result.headers["x-ratelimit-limit-requests"])
    assert limits.remaining_tokens == int(result.headers["x-ratelimit-remaining-tokens"])


class Answer(msgspec.Struct):
    word: str


BUILDERS = {
    "responses": lambda c: c.responses("gpt-5").input("Say hi"),
    "chat": lambda c: c.chat("gpt-4o").user("Say hi"),
    "moderations": lambda c: c.moderations().input("hello"),
}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
async def test_a_builder_with_raw_response_gives_metadata_and_the_awaited_object(
    mock_openai: MockServer, kind: str
) -> None:
    async with _client(mock_openai) as client:
        builder = BUILDERS[kind](client)
        raw = await builder.with_raw_response()
        awaited = await builder
    assert isinstance(raw, RawResponse)
    _assert_metadata(raw)
    assert raw.response.content
    parsed = raw.parse()
    assert type(parsed) is type(awaited)
    # The same request twice gives the same answer from the seeded mock, ids aside.
    if kind == "responses":
        assert parsed.output_text == awaited.output_text
    elif kind == "chat":
        assert parsed.choices[0].message.content == awaited.choices[0].message.content
    assert repr(raw) == f"<RawResponse 200 request_id={raw.request_id!r}>"


async def test_the_raw_response_of_a_structured_request_parses_to_parsed(
    mock_openai: MockServer,
) -> None:
    mock_openai.reply_with('{"word": "hi"}', '{"word": "hi"}')
    async with _client(mock_openai) as client:
        raw_responses = (
            await client.responses("gpt-5").input("Hi").parse(Answer).with_raw_response()
        )
        raw_chat = await client.chat("gpt-4o").user("Hi").parse(Answer).with_raw_response()
    for raw in (raw_responses, raw_chat):
        _assert_metadata(raw)
        result = raw.parse()
        assert isinstance(result, Parsed)
        assert result.parsed == Answer("hi")
    assert isinstance(raw_responses.parse().result, Response)
    assert isinstance(raw_chat.parse().result, ChatCompletion)


STREAMS = {
    "responses": lambda c: c.responses("gpt-5").input("Say hi").stream(),
    "chat": lambda c: c.chat("gpt-4o").user("Say hi").stream(),
    "parsed": lambda c: c.chat("gpt-4o").user("Hi").parse(Answer).stream(),
    "speech": lambda c: c.speech("gpt-4o-mini-tts").input("Hi").voice("alloy").stream(),
}


@pytest.mark.parametrize("kind", sorted(STREAMS))
async def test_every_stream_handle_carries_the_metadata_once_open(
    mock_openai: MockServer, kind: str
) -> None:
    mock_openai.reply_with('{"word": "hi"}')
    async with _client(mock_openai) as client:
        stream: Any = STREAMS[kind](client)
        assert stream.request_id is None
        with pytest.raises(StreamError, match="not open yet"):
            _ = stream.headers
        with pytest.raises(StreamError, match="not open yet"):
            _ = stream.rate_limit
        async with stream:
            _assert_metadata(stream)
            async for _ in stream:
                pass
        # The metadata stays readable once the stream is closed.
        assert stream.headers["x-request-id"] == stream.request_id


async def test_a_typed_method_stream_and_raw_response_share_the_same_properties(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        raw = await client.models.with_raw_response.retrieve("gpt-4o")
        _assert_metadata(raw)
        async with await client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Hi", stream=True
        ) as stream:
            _assert_metadata(stream)
            async for _ in stream:
                pass


def test_the_metadata_properties_are_defined_once() -> None:
    from openai_ergo._namespaces._base import RawResponse as GeneratedCodeRawResponse
    from openai_ergo.resources import ChatStream, ParsedStream, ResponseStream, SpeechStream

    assert GeneratedCodeRawResponse is RawResponse
    for handle in (RawResponse, ChatStream, ResponseStream, ParsedStream, SpeechStream):
        assert issubclass(handle, ResponseMetadata)
        for name in ("headers", "status_code", "request_id", "rate_limit"):
            assert getattr(handle, name) is getattr(ResponseMetadata, name), (handle, name)
