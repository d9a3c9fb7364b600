"""Event streams through the typed methods (`stream=True`, `stream_format="sse"`), over loopback
under asyncio and trio.

Each streaming operation is replayed from a whole recorded response (`wire/*.http`, framed as
the API frames them; `wire/README.md` says where each event's shape comes from); the Chat and
Responses streams also run against the mock server, which streams them. The handle is the
builders' (`ChatStream`, `ResponseStream`) or a `TypedEventStream` of the operation's event
union: an async context manager and iterator that gives its connection back when left, keeps an
unknown event with its raw payload, warns when dropped open, and hands every event received
to the error of a stream that breaks.
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.lowlevel
import httpx
import pytest

from openai_ergo import (
    Client,
    HTTP11Transport,
    RetryPolicy,
    StreamEventError,
    StreamInterruptedError,
    StreamNotFinishedError,
    Timeouts,
)
from openai_ergo.mock import MockServer
from openai_ergo.resources import ChatStream, ResponseStream, TypedEventStream
from openai_ergo.types import (
    AssistantStreamEvent,
    AssistantToolsFunctionParam,
    BetaResponseStreamEvent,
    ChatCompletion,
    ChatCompletionRequestUserMessage,
    ChatCompletionStreamOptions2,
    CreateCompletionResponse,
    CreateSpeechResponseStreamEvent,
    CreateThreadRequestParam,
    CreateTranscriptionResponseStreamEvent,
    ImageEditStreamEvent,
    ImageGenStreamEvent,
    Response,
    RunObject,
    SubmitToolOutputsRunRequestToolOutputsItemParam,
    UnknownTypeVariant,
)
from tests.conftest import shared_path
from tests.openai_ergo.leaks import warnings_of_run
from tests.streaming.loopback import Exchange, LoopbackServer, sse_server

E = TypeVar("E")
WIRE = Path(__file__).parent / "wire"
COMPAT_WIRE = Path(__file__).parents[1] / "compat" / "wire"


def wire(name: str) -> bytes:
    """A whole recorded response: `wire/<name>.http`."""
    return (WIRE / f"{name}.http").read_bytes()


@asynccontextmanager
async def replaying(response: bytes) -> AsyncIterator[LoopbackServer]:
    """A loopback server answering every request with the recorded `response`."""

    async def handler(exchange: Exchange) -> None:
        await exchange.replay(response)

    async with sse_server(handler) as server:
        yield server


def local_client(server: LoopbackServer, transport: HTTP11Transport | None = None) -> Client:
    return Client(
        api_key="sk-local",
        base_url=f"{server.url}/v1",
        rate_limiter=False,
        circuit_breaker=False,
        retry=RetryPolicy.never(),
        transport=transport,
        timeouts=Timeouts(pool=30),
    )


def _one_connection() -> HTTP11Transport:
    return HTTP11Transport(limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))


async def _read_into(stream: TypedEventStream[E], received: list[E]) -> None:
    """Read the stream to its end in its block, keeping each event as it is handed out."""
    async with stream:
        async for event in stream:
            received.append(event)


def _sent(server: LoopbackServer) -> dict[str, object]:
    body = server.requests[-1].json()
    assert isinstance(body, dict)
    return body


# -- every streaming operation, replayed ----------------------------------------------------------


async def test_completions_stream_chunks_and_their_text() -> None:
    async with replaying(wire("completions")) as server, local_client(server) as client:
        stream: TypedEventStream[CreateCompletionResponse] = await client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Once", stream=True
        )
        async with stream:
            text = "".join([piece async for piece in stream.text()])
        chunks = stream.final()
    assert text == "Once upon a time"
    assert [(c.choices or [])[0].finish_reason for c in chunks] == [None, None, None, "stop"]
    assert all(isinstance(c, CreateCompletionResponse) for c in chunks)
    assert stream.request_id == "req_cmpl_1"
    assert _sent(server)["stream"] is True


async def test_speech_streams_audio_deltas_with_stream_format_sse() -> None:
    async with replaying(wire("speech")) as server, local_client(server) as client:
        stream: TypedEventStream[CreateSpeechResponseStreamEvent]
        stream = await client.audio.speech.create(
            model="gpt-4o-mini-tts", input="Hi", voice="alloy", stream_format="sse"
        )
        audio: list[str] = []
        async with stream:
            async for event in stream:
                if event.type == "speech.audio.delta":
                    audio.append(event.audio or "")
                elif event.type == "speech.audio.done":
                    usage = event.usage
    assert audio == ["UklGRiQAAABXQVZF", "Zm10IBAAAAAB"]
    assert usage is not None
    assert usage.total_tokens == 115
    assert _sent(server)["stream_format"] == "sse"


async def test_transcription_streams_text_deltas_from_a_multipart_request() -> None:
    async with replaying(wire("transcription")) as server, local_client(server) as client:
        stream: TypedEventStream[CreateTranscriptionResponseStreamEvent]
        stream = await client.audio.transcriptions.create(
            file=b"RIFF fake wav", model="gpt-4o-mini-transcribe", stream=True
        )
        async with stream:
            text = "".join([piece async for piece in stream.text()])
        events = stream.final()
    assert text == "The quick brown fox."
    done = events[-1]
    assert done.type == "transcript.text.done"
    assert done.text == text
    assert done.usage is not None
    request = server.requests[-1]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="stream"\r\n\r\ntrue' in request.body


async def test_image_generation_streams_partial_images_and_keeps_an_unknown_event() -> None:
    async with replaying(wire("images_generate")) as server, local_client(server) as client:
        stream: TypedEventStream[ImageGenStreamEvent] = await client.images.generate(
            model="gpt-image-1", prompt="a lighthouse", stream=True, partial_images=2
        )
        async with stream:
            events = [event async for event in stream]
    partial = [e.partial_image_index for e in events if e.type == "image_generation.partial_image"]
    assert partial == [0, 1]
    [unknown] = [e for e in events if isinstance(e, UnknownTypeVariant)]
    assert unknown.raw["type"] == "image_generation.content_filter_note"
    assert unknown.raw["note"] == "a kind of event this client does not know"
    completed = events[-1]
    assert completed.type == "image_generation.completed"
    assert completed.b64_json == "iVBORw0KGgoAAAC="
    assert _sent(server)["partial_images"] == 2


async def test_image_edit_streams_from_a_multipart_request() -> None:
    async with replaying(wire("images_edit")) as server, local_client(server) as client:
        stream: TypedEventStream[ImageEditStreamEvent] = await client.images.edit(
            image=b"\x89PNG fake", prompt="add a boat", model="gpt-image-1", stream=True
        )
        events = await stream.until_done()
    assert [e.type for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    assert b'name="stream"\r\n\r\ntrue' in server.requests[-1].body


def _message_text(events: list[AssistantStreamEvent]) -> str:
    pieces: list[str] = []
    for event in events:
        if event.event == "thread.message.delta" and event.data and event.data.delta:
            for part in event.data.delta.content or []:
                if part.type == "text" and part.text is not None:
                    pieces.append(part.text.value or "")
    return "".join(pieces)


@pytest.mark.parametrize("call", ["runs.create", "create_and_run", "runs.submit_tool_outputs"])
async def test_assistants_runs_stream_thread_run_step_and_message_events(call: str) -> None:
    recording = {
        "runs.create": "runs_create",
        "create_and_run": "threads_create_and_run",
        "runs.submit_tool_outputs": "runs_submit_tool_outputs",
    }[call]
    async with replaying(wire(recording)) as server, local_client(server) as client:
        threads = client.beta.threads
        stream: TypedEventStream[AssistantStreamEvent]
        if call == "runs.create":
            stream = await threads.runs.create("thread_abc123", assistant_id="asst_1", stream=True)
        elif call == "create_and_run":
            stream = await threads.create_and_run(assistant_id="asst_1", stream=True)
        else:
            stream = await threads.runs.submit_tool_outputs(
                "thread_abc123", "run_abc123", tool_outputs=[], stream=True
            )
        async with stream:
            text = "".join([piece async for piece in stream.text()])
        events = stream.final()
    expected = "It is sunny." if call == "runs.submit_tool_outputs" else "Hello there!"
    assert text == _message_text(events) == expected
    last = events[-1]
    assert last.event == "thread.run.completed"
    assert isinstance(last.data, RunObject)
    assert last.data.status == "completed"
    assert all(event.event != "done" for event in events)  # `[DONE]` ends it, no event
    if call == "create_and_run":
        assert events[0].event == "thread.created"
    assert _sent(server)["stream"] is True


async def test_an_assistants_error_event_raises_with_every_event_before_it() -> None:
    async with replaying(wire("runs_error")) as server, local_client(server) as client:
        stream = await client.beta.threads.runs.create("thread_1", assistant_id="a", stream=True)
        received: list[AssistantStreamEvent] = []
        with pytest.raises(StreamEventError) as caught:
            await _read_into(stream, received)
    assert [e.event for e in received] == ["thread.run.created", "thread.message.delta"]
    error = caught.value
    assert "had an error while processing" in str(error)
    assert error.type == "server_error"
    assert list(error.events) == received
    assert error.partial == received
    assert error.request_id == "req_run_4"


async def test_chat_completions_stream_replays_through_the_chat_builders_handle() -> None:
    recorded = (COMPAT_WIRE / "llama_cpp_answer.http").read_bytes()
    async with replaying(recorded) as server, local_client(server) as client:
        stream: ChatStream = await client.chat.completions.create(
            model="qwen2.5-0.5b-instruct",
            messages=[ChatCompletionRequestUserMessage(content="Weather?")],
            stream=True,
        )
        async with stream:
            text = "".join([piece async for piece in stream.text()])
        final = stream.final()
    assert isinstance(final, ChatCompletion)
    assert final.choices[0].message.content == text == "It is sunny in Paris."
    assert final.choices[0].finish_reason == "stop"


async def test_responses_stream_replays_a_captured_openai_stream() -> None:
    capture = shared_path("sse-corpus", "openai", "responses-output-text.sse")
    if not capture.exists():
        pytest.skip("the shared SSE corpus is not beside the repository")
    body = capture.read_bytes()
    recorded = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        b"x-request-id: req_capture\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n"
    ) + body
    payloads = [
        json.loads(line[len("data: ") :])
        for line in body.decode().splitlines()
        if line.startswith("data: {")
    ]
    deltas = [p["delta"] for p in payloads if p["type"] == "response.output_text.delta"]
    [completed] = [p["response"] for p in payloads if p["type"] == "response.completed"]
    # The capture is abridged: its completed response holds more text than its deltas.
    answer = "".join(
        part["text"]
        for item in completed["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )
    async with replaying(recorded) as server, local_client(server) as client:
        stream: ResponseStream = await client.responses.create(
            model="gpt-5", input="Hi", stream=True
        )
        async with stream:
            text = "".join([piece async for piece in stream.text()])
        final = stream.final()
    assert isinstance(final, Response)
    assert text == "".join(deltas)
    assert final.output_text == answer
    assert final.status == "completed"
    assert stream.request_id == "req_capture"


async def test_beta_responses_stream_its_generated_events() -> None:
    capture = shared_path("sse-corpus", "openai", "responses-output-text.sse")
    body = capture.read_bytes()
    recorded = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
    ) + body
    tags = [
        json.loads(line[len("data: ") :])["type"]
        for line in body.decode().splitlines()
        if line.startswith("data: {")
    ]
    async with replaying(recorded) as server, local_client(server) as client:
        stream: TypedEventStream[BetaResponseStreamEvent] = await client.beta.responses.create(
            model="gpt-5", input="Hi", stream=True
        )
        async with stream:
            text = "".join([piece async for piece in stream.text()])
        events = stream.final()
    assert [e.type for e in events] == tags
    assert text.startswith("Got it")
    assert server.requests[-1].target == "/v1/responses?beta=true"


# -- Chat and Responses against the mock ----------------------------------------------------------


@pytest.fixture
async def mock_client(mock_openai: MockServer) -> AsyncIterator[Client]:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        yield client


async def test_chat_stream_against_the_mock_aggregates_what_the_awaited_call_returns(
    mock_client: Client, mock_openai: MockServer
) -> None:
    awaited = await mock_client.chat.completions.create(
        model="gpt-4o-mini", messages=[ChatCompletionRequestUserMessage(content="Count to 3")]
    )
    stream = await mock_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[ChatCompletionRequestUserMessage(content="Count to 3")],
        stream=True,
        stream_options=ChatCompletionStreamOptions2(include_usage=True),
    )
    async with stream:
        chunks = [chunk async for chunk in stream]
    final = stream.final()
    assert len(chunks) > 1
    assert final.choices[0].message.content == awaited.choices[0].message.content
    assert final.usage is not None
    assert mock_openai.requests[-1].body["stream"] is True


async def test_responses_stream_against_the_mock_aggregates_what_the_awaited_call_returns(
    mock_client: Client,
) -> None:
    awaited: Response = await mock_client.responses.create(model="gpt-5", input="Say hi")
    stream = await mock_client.responses.create(model="gpt-5", input="Say hi", stream=True)
    async with stream:
        types = [event.type async for event in stream]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    assert stream.final().output_text == awaited.output_text


async def test_with_raw_response_streams_the_same_handle(mock_client: Client) -> None:
    stream = await mock_client.responses.with_raw_response.create(
        model="gpt-5", input="Hi", stream=True
    )
    assert isinstance(stream, ResponseStream)
    assert stream.request_id is not None
    final = await stream.until_done()
    assert final.output_text


async def test_without_stream_the_call_returns_the_typed_object(mock_client: Client) -> None:
    flag = False  # a plain bool: the type checker sees either result
    result = await mock_client.responses.create(model="gpt-5", input="Hi", stream=flag)
    assert isinstance(result, Response)
    completion: ChatCompletion = await mock_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[ChatCompletionRequestUserMessage(content="Hi")],
        stream=False,
    )
    assert completion.choices


# -- ownership: leaving, cancelling, dropping, breaking -------------------------------------------


async def test_breaking_out_gives_the_connection_back_and_cancelling_too() -> None:
    transport = _one_connection()
    async with (
        replaying(wire("runs_create")) as server,
        local_client(server, transport) as client,
    ):
        async with await client.beta.threads.runs.create(
            "thread_1", assistant_id="a", stream=True
        ) as stream:
            async for _event in stream:
                busy_inside = transport.statistics()["busy"]
                break
        assert busy_inside == 1
        assert transport.statistics()["busy"] == 0
        assert not stream.done
        with pytest.raises(StreamNotFinishedError):
            stream.final()  # left before its end: no final, `partial` holds what arrived
        assert stream.partial[0].event == "thread.run.created"
        # The pool's one connection is free: the next stream opens at once.
        with anyio.CancelScope() as scope:
            async with await client.beta.threads.runs.create(
                "thread_1", assistant_id="a", stream=True
            ) as cancelled:
                async for _event in cancelled:
                    scope.cancel()
                    await anyio.lowlevel.checkpoint()
        assert scope.cancelled_caught
        assert transport.statistics()["busy"] == 0
        events = await (
            await client.beta.threads.runs.create("thread_1", assistant_id="a", stream=True)
        ).until_done()
        assert events[-1].event == "thread.run.completed"


async def test_aclose_closes_a_stream_the_server_holds_open_and_is_idempotent() -> None:
    recorded = wire("speech")
    # The first event, then the server waits: the stream stays open until the client closes it.
    first_event_end = recorded.index(b"\r\n", recorded.index(b'speech.audio.delta"')) + 2

    async def handler(exchange: Exchange) -> None:
        await exchange.replay(recorded[:first_event_end])
        await exchange.wait_for_disconnect()

    transport = _one_connection()
    async with sse_server(handler) as server, local_client(server, transport) as client:
        stream = await client.audio.speech.create(
            model="tts-1", input="Hi", voice="alloy", stream_format="sse"
        )
        first = await anext(stream)
        assert first.type == "speech.audio.delta"
        assert transport.statistics()["busy"] == 1
        await stream.aclose()
        await stream.aclose()
        assert transport.statistics()["busy"] == 0
        assert stream.partial == [first]


async def test_a_stream_cut_off_mid_way_raises_with_every_event_received() -> None:
    recorded = wire("transcription")
    head, _, body = recorded.partition(b"\r\n\r\n")
    # Up to the end of the second event (chunk framing and all), then the server hangs up.
    cut = body.index(b"event: transcript.text.done")
    cut = body.rindex(b"\r\n", 0, cut - 2) + 2

    async def handler(exchange: Exchange) -> None:
        await exchange.replay(head + b"\r\n\r\n" + body[:cut])
        await exchange.abort()

    async with sse_server(handler) as server, local_client(server) as client:
        stream = await client.audio.transcriptions.create(
            file=b"RIFF", model="gpt-4o-mini-transcribe", stream=True
        )
        received: list[CreateTranscriptionResponseStreamEvent] = []
        with pytest.raises(StreamInterruptedError) as caught:
            await _read_into(stream, received)
    assert [e.type for e in received] == ["transcript.text.delta", "transcript.text.delta"]
    assert list(caught.value.events) == received
    assert caught.value.partial == received


async def test_a_clean_end_before_the_terminal_event_is_a_cut_short_stream() -> None:
    recorded = wire("images_generate")
    end = recorded.index(b"event: image_generation.completed")
    start = recorded.rindex(b"\r\n", 0, end - 2) + 2
    # The completed event's chunk left out, the body still ended properly (`0` chunk).
    truncated = recorded[:start] + b"0\r\n\r\n"
    async with replaying(truncated) as server, local_client(server) as client:
        stream = await client.images.generate(prompt="x", stream=True)
        with pytest.raises(StreamInterruptedError, match="terminal event") as caught:
            await stream.until_done()
    assert len(caught.value.events) == 3


def test_a_stream_dropped_unclosed_warns(anyio_backend: str) -> None:
    async def drop_stream() -> None:
        async with replaying(wire("completions")) as server, local_client(server) as client:
            stream = await client.completions.create(model="m", prompt="p", stream=True)
            async for _chunk in stream:
                break
            del stream  # dropped while open
            gc.collect()

    seen = warnings_of_run(drop_stream, anyio_backend)
    ours = [message for _, message in seen if "TypedEventStream" in message]
    assert len(ours) == 1
    assert "never closed" in ours[0]
    assert all(issubclass(category, ResourceWarning) for category, _ in seen)


_FORECAST: AssistantToolsFunctionParam = {
    "type": "function",
    "function": {
        "name": "forecast",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


async def test_assistants_run_streams_against_the_mock_through_a_tool_call(
    mock_client: Client, mock_openai: MockServer
) -> None:
    beta = mock_client.beta
    assistant = await beta.assistants.create(model="gpt-4o", tools=[_FORECAST])
    thread: CreateThreadRequestParam = {
        "messages": [{"role": "user", "content": "Please forecast Paris."}]
    }
    stream = await beta.threads.create_and_run(
        assistant_id=assistant.id or "", thread=thread, stream=True
    )
    async with stream:
        first = await stream.until_done()
    names = [e.event for e in first]
    assert names[:2] == ["thread.created", "thread.run.created"]
    last = first[-1]
    assert last.event == "thread.run.requires_action"
    run = last.data
    assert isinstance(run, RunObject)
    assert run.required_action is not None
    assert run.required_action.submit_tool_outputs is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls or []
    assert call.function is not None
    assert call.function.name == "forecast"
    assert isinstance(json.loads(call.function.arguments or ""), dict)
    assert isinstance(json.loads(call.function.arguments or "")["city"], str)  # valid for it
    outputs: list[SubmitToolOutputsRunRequestToolOutputsItemParam] = [
        {"tool_call_id": call.id or "", "output": "Sunny, 24 C"}
    ]
    second = await beta.threads.runs.submit_tool_outputs(
        run.thread_id or "", run.id or "", tool_outputs=outputs, stream=True
    )
    async with second:
        text = "".join([piece async for piece in second.text()])
    events = second.final()
    assert text
    assert text == _message_text(events)
    assert events[-1].event == "thread.run.completed"
    finished = await beta.threads.runs.retrieve(run.thread_id or "", run.id or "")
    assert finished.status == "completed"
    assert mock_openai.requests[-2].body["stream"] is True
