"""Response metadata (request id, headers, status, rate limits) through one `ResponseMetadata`:
builders' `with_raw_response()`, the typed tier's `RawResponse`, and every stream handle; the
speech body's own; an embeddings input split into several requests; a tool run's requests seen
by middleware."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from openai_ergo import (
    APIResponse,
    BinaryResponse,
    Client,
    Embeddings,
    Images,
    InvalidRequestError,
    Middleware,
    NotFoundError,
    Parsed,
    RateLimitInfo,
    RawResponse,
    ResponseMetadata,
    StreamError,
    Transcript,
    tool,
)
from openai_ergo.mock import MockServer
from openai_ergo.types import ChatCompletion, Response

SENTENCE = "Hello there. How are you?"


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False)


def _assert_metadata(result: ResponseMetadata | BinaryResponse) -> None:
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
    "images": lambda c: c.images("gpt-image-1").prompt("An otter").size("1024x1024"),
    "embeddings": lambda c: c.embeddings("text-embedding-3-small").input(["a cat", "a dog"]),
}


def _same_answer(kind: str, parsed: Any, awaited: Any) -> None:
    """The same request twice gives the same answer from the seeded mock, ids aside."""
    if kind == "responses":
        assert parsed.output_text == awaited.output_text
    elif kind == "chat":
        assert parsed.choices[0].message.content == awaited.choices[0].message.content
    elif kind == "moderations":
        assert parsed.flagged == awaited.flagged
    elif kind == "images":
        assert isinstance(parsed, Images)
        assert [image.data for image in parsed] == [image.data for image in awaited]
        assert parsed.response is not None
        assert parsed[0].format == "png"
    elif kind == "embeddings":
        assert isinstance(parsed, Embeddings)
        assert parsed.tolist() == awaited.tolist()
        assert (
            (parsed.requests, parsed.usage)
            == (awaited.requests, awaited.usage)
            == (1, parsed.usage)
        )
    elif kind in ("transcription", "translation"):
        assert isinstance(parsed, Transcript)
        assert (parsed.text, parsed.format, parsed.body) == (
            awaited.text,
            awaited.format,
            awaited.body,
        )
        assert parsed.text
    else:
        raise AssertionError(kind)


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
    _same_answer(kind, parsed, awaited)
    assert repr(raw) == f"<RawResponse 200 request_id={raw.request_id!r}>"


async def _spoken(client: Client) -> bytes:
    return await client.speech("gpt-4o-mini-tts").voice("alloy").input(SENTENCE).format("wav")


@pytest.mark.parametrize("task", ["transcription", "translation"])
@pytest.mark.parametrize("form", ["json", "verbose_json", "text", "srt", "vtt"])
async def test_a_transcript_raw_response_parses_to_the_awaited_transcript_in_every_format(
    mock_openai: MockServer, task: str, form: str
) -> None:
    async with _client(mock_openai) as client:
        audio = await _spoken(client)
        make = client.transcription if task == "transcription" else client.translation
        builder = make("whisper-1").file(audio).format(form)
        raw = await builder.with_raw_response()
        awaited = await builder
    _assert_metadata(raw)
    _same_answer(task, raw.parse(), awaited)
    assert raw.parse().format == form
    # A plain format keeps the body as sent; a JSON one the typed answer.
    if form in ("text", "srt", "vtt"):
        assert raw.parse().body == raw.response.content.decode()
    else:
        assert raw.parse().response is not None


async def test_image_urls_are_downloaded_before_the_raw_response_returns(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        builder = client.images("dall-e-2").prompt("An otter").size("256x256").n(2)
        raw = await builder.with_raw_response()
        sent = [(request.method, request.path) for request in mock_openai.requests]
        first, again = raw.parse(), raw.parse()
        # parse() reads nothing more from the network: the downloads came before it.
        assert len(mock_openai.requests) == len(sent)
        awaited = await builder
    assert sent[0] == ("POST", "/v1/images/generations")
    assert [method for method, _ in sent[1:]] == ["GET", "GET"]
    # The metadata is the Images API's answer, not a download's.
    _assert_metadata(raw)
    assert raw.headers["content-type"].startswith("application/json")
    assert first is not again
    for images in (first, again):
        assert all(image.url and image.dimensions == (256, 256) for image in images)
        assert [image.data for image in images] == [image.data for image in awaited]
        assert images.response is not None
        assert [image.url for image in images] == [i.url for i in images.response.data or []]


@pytest.mark.parametrize("kind", ["edit", "variation"])
async def test_an_image_edit_or_variation_raw_response_parses_to_the_awaited_images(
    mock_openai: MockServer, kind: str
) -> None:
    async with _client(mock_openai) as client:
        made = await client.images("gpt-image-1").prompt("A hat").size("1024x1024")
        png = made[0].data
        if kind == "edit":
            builder = client.images("gpt-image-1").image(png).prompt("Add a hat")
        else:
            builder = client.images("dall-e-2").size("256x256").variation(png)
        mock_openai.requests.clear()
        raw = await builder.with_raw_response()
        path = mock_openai.requests[0].path
        awaited = await builder
    assert path == ("/v1/images/edits" if kind == "edit" else "/v1/images/variations")
    _assert_metadata(raw)
    parsed = raw.parse()
    assert len(parsed) == len(awaited) == 1
    assert parsed[0].format == "png"
    assert (parsed[0].url is None) is (kind == "edit")  # dall-e-2 answers a URL


async def test_an_expired_image_url_fails_the_raw_response_as_it_fails_await(
    mock_openai: MockServer,
) -> None:
    from .test_images import _HourPasses

    mock_openai.app.clock.speed = 0
    async with Client(
        api_key="sk-mock",
        base_url=mock_openai.url,
        rate_limiter=False,
        middleware=[_HourPasses(mock_openai)],
    ) as client:
        with pytest.raises(NotFoundError) as expired:
            await client.images("dall-e-2").prompt("An otter").size("256x256").with_raw_response()
    assert expired.value.method == "GET"
    assert "expired" in str(expired.value)


REFUSED: dict[str, tuple[Callable[[Client], Any], str]] = {
    "speech": (lambda c: c.speech("gpt-4o-mini-tts").input("Hi"), "voice"),
    "transcription": (lambda c: c.transcription("whisper-1").prompt("Hi"), "file"),
    "images": (lambda c: c.images("gpt-image-1").size("1024x1024"), "prompt"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
async def test_an_incomplete_media_request_is_refused_before_it_goes_out(
    mock_openai: MockServer, kind: str
) -> None:
    make, param = REFUSED[kind]
    async with _client(mock_openai) as client:
        with pytest.raises(InvalidRequestError) as refused:
            await make(client).with_raw_response()
    assert refused.value.param == param
    assert mock_openai.requests == []


async def test_the_raw_speech_response_is_its_body_still_on_the_wire(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    async with _client(mock_openai) as client:
        speech = client.speech("gpt-4o-mini-tts").voice("alloy").input(SENTENCE).format("wav")
        audio = await speech
        async with await speech.with_raw_response() as body:
            assert isinstance(body, BinaryResponse)
            _assert_metadata(body)
            assert body.content_type == "audio/wav"
            # Nothing read yet: the body is still on the wire.
            state = [body.closed, body.response.is_stream_consumed]
            assert await body.read() == audio
        state.append(body.closed)
        assert state == [False, False, True]
        # write_to does what save() does; the SSE form is for .stream() only, as for save().
        written = await (await speech.stream_format("sse").with_raw_response()).write_to(
            tmp_path / "hello.wav"
        )
    assert written == len(audio)
    assert (tmp_path / "hello.wav").read_bytes() == audio


async def test_an_embeddings_input_sent_as_one_request_has_a_raw_response(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        builder = (
            client.embeddings("text-embedding-3-small").input(["a", "b", "c"]).split(max_inputs=3)
        )
        raw = await builder.with_raw_response()
    _assert_metadata(raw)
    result = raw.parse()
    assert (len(result), result.requests) == (3, 1)
    assert result.usage.total_tokens == raw.response.json()["usage"]["total_tokens"]
    assert [request.json["input"] for request in mock_openai.requests] == [["a", "b", "c"]]


async def test_an_embeddings_input_split_into_requests_refuses_with_raw_response(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        builder = client.embeddings("text-embedding-3-small").input(["a", "b", "c"])
        with pytest.raises(InvalidRequestError, match="go out as 2 requests") as refused:
            await builder.split(max_inputs=2).with_raw_response()
        with pytest.raises(InvalidRequestError, match="input is missing"):
            await client.embeddings("text-embedding-3-small").with_raw_response()
    assert refused.value.param == "input"
    assert "at most 2 inputs" in str(refused.value)
    assert mock_openai.requests == []  # refused before anything went out


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


async def test_a_vector_store_search_has_a_raw_response(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    mock_openai.app.indexing_seconds = 0
    (tmp_path / "nile.txt").write_text("The Nile is the longest river in Africa.")
    async with _client(mock_openai) as client:
        store = await client.vector_store("geo").file(tmp_path / "nile.txt")
        await store.wait(timeout=10)
        search = store.search("which river").max_results(3)
        raw = await search.with_raw_response()
        awaited = await search
    _assert_metadata(raw)
    page = raw.parse()
    assert type(page) is type(awaited)
    assert [hit.filename for hit in page.data or []] == ["nile.txt"]
    assert page == awaited


STREAMS = {
    "responses": lambda c: c.responses("gpt-5").input("Say hi").stream(),
    "chat": lambda c: c.chat("gpt-4o").user("Say hi").stream(),
    "parsed": lambda c: c.chat("gpt-4o").user("Hi").parse(Answer).stream(),
    "speech": lambda c: c.speech("gpt-4o-mini-tts").input("Hi").voice("alloy").stream(),
    "images": lambda c: c.images("gpt-image-1").prompt("An otter").partial_images(1).stream(),
    "transcription": lambda c: (
        c.transcription("gpt-4o-mini-transcribe").file(b"ID3" + bytes(4000)).stream()
    ),
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
    from openai_ergo.resources import (
        ChatStream,
        ImageStream,
        ParsedStream,
        ResponseStream,
        SpeechStream,
        TranscriptStream,
    )

    assert GeneratedCodeRawResponse is RawResponse
    handles = (
        RawResponse,
        ChatStream,
        ResponseStream,
        ParsedStream,
        SpeechStream,
        ImageStream,
        TranscriptStream,
    )
    for handle in handles:
        assert issubclass(handle, ResponseMetadata)
        for name in ("headers", "status_code", "request_id", "rate_limit"):
            assert getattr(handle, name) is getattr(ResponseMetadata, name), (handle, name)


@tool
async def lookup(word: str) -> str:
    """Look a word up."""
    return word.upper()


class RequestIds(Middleware):
    """Each finished request's path, request id and remaining requests: the metadata of every
    request of a tool run (or workflow), which no single result could carry."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, int | None]] = []

    async def on_result(
        self, state: Any, response: APIResponse | None, error: BaseException | None
    ) -> None:
        if response is not None and state.get("tag") == "run":
            limits = response.rate_limit
            self.seen.append(
                (state["path"], response.request_id, limits and limits.remaining_requests)
            )


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
async def test_middleware_sees_the_metadata_of_every_request_of_a_tool_run(
    mock_openai: MockServer, endpoint: str
) -> None:
    from openai_ergo import RequestOptions

    ids = RequestIds()
    client = Client(
        api_key="sk-mock", base_url=mock_openai.url, rate_limiter=False, middleware=[ids]
    )
    async with client:
        builder = BUILDERS[endpoint](client).tools(lookup).tool_choice("required")
        run = builder.options(RequestOptions(tag="run")).run(max_steps=3)
        await run
        await BUILDERS[endpoint](client)  # untagged: not the run's
    assert len(run.steps) == 2
    assert [path.endswith(builder.path) for path, _, _ in ids.seen] == [True, True]
    request_ids = [request_id for _, request_id, _ in ids.seen]
    assert all(rid and rid.startswith("req_") for rid in request_ids)
    assert len(set(request_ids)) == 2
    assert all(remaining is not None for _, _, remaining in ids.seen)
