"""Real OpenAI-compatible servers, replayed: llama-cpp-python's server and the LiteLLM proxy.

Each loopback test serves one of those servers' own responses byte for byte (`wire/*.http`:
status line, headers, chunked framing and SSE as they leave the server; `wire/README.md` names
the source each comes from) and drives the client through its public API, under asyncio and
trio. Five quirks were found this way: tool-call names repeated in every delta, error text
in FastAPI's `detail`, a stream cut short with `[DONE]`, request ids under other headers, and
`content: null` rejected in an assistant turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from openai_ergo import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    Client,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    RetryPolicy,
    StreamInterruptedError,
    UnprocessableEntityError,
    tool,
)
from openai_ergo.resources import ChatCompletionAccumulator, ChatStream
from openai_ergo.types import ChatCompletionChunk
from tests.openai_ergo.canned import canned_client
from tests.streaming.loopback import Exchange, LoopbackServer, RecordedRequest, sse_server

WIRE = Path(__file__).parent / "wire"
#: The ids the replayed responses carry (wire/README.md).
LLAMA_TOOL_CALL_ID = "call__0_get_weather_cmpl-7d0c2a8e-5b1f-4c3a-9e6d-2f4b8a1c0e93"
LITELLM_CALL_ID = "b980db26-9512-45cc-b1da-c511a363b83f"


def wire(name: str) -> bytes:
    """The bytes a server sent, as recorded in `wire/<name>.http`."""
    return (WIRE / f"{name}.http").read_bytes()


@asynccontextmanager
async def replaying(route: Callable[[RecordedRequest], str]) -> AsyncIterator[LoopbackServer]:
    """A loopback server that answers each request with the recorded response `route` names."""

    async def handler(exchange: Exchange) -> None:
        await exchange.replay(wire(route(exchange.request)))

    async with sse_server(handler) as server:
        yield server


def local_client(server: LoopbackServer) -> Client:
    # One attempt: a 5xx that a retry would hide is what some of these tests are about.
    return Client(
        api_key="sk-local",
        base_url=f"{server.url}/v1",
        rate_limiter=False,
        circuit_breaker=False,
        retry=RetryPolicy.never(),
    )


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


def _assistant_turns(request: RecordedRequest) -> list[dict[str, Any]]:
    body = request.json()
    assert isinstance(body, dict)
    return [m for m in body.get("messages", ()) if m.get("role") == "assistant"]


def llama_cpp(request: RecordedRequest) -> str:
    """llama-cpp-python's server for a forced tool call: the call, then the answer once the
    tool's result is back; an assistant turn with `content: null` fails its validation."""
    turns = _assistant_turns(request)
    if not turns:
        return "llama_cpp_forced_tool_call"
    if any("content" in turn and turn["content"] is None for turn in turns):
        return "llama_cpp_content_null_500"
    return "llama_cpp_answer"


# -- 1. tool-call names repeated in every delta -------------------------------------------------


@pytest.mark.parametrize("server", ["llama_cpp", "litellm"])
async def test_a_name_repeated_in_every_delta_is_one_name(server: str) -> None:
    async with (
        replaying(lambda _: f"{server}_forced_tool_call") as loopback,
        local_client(loopback) as client,
    ):
        builder = client.chat("qwen2.5-0.5b-instruct").user("Weather in Paris?")
        stream = builder.tools(get_weather).tool_choice(get_weather).stream()
        final = await stream.until_done()
    message = final.choices[0].message
    assert message.tool_calls is not None
    [call] = message.tool_calls
    assert call.id == LLAMA_TOOL_CALL_ID
    assert call.type == "function"
    assert call.function is not None
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city": "Paris"}'
    # llama-cpp-python also repeats the legacy `function_call`, name and all.
    assert message.function_call is not None
    assert message.function_call.name == "get_weather"
    assert message.function_call.arguments == '{"city": "Paris"}'
    assert final.choices[0].finish_reason == "tool_calls"


def test_a_name_split_in_fragments_is_still_joined() -> None:
    # Names arrive whole on OpenAI's API; a server that splits one is still read right, and
    # its later repeats of the whole name add nothing.
    accumulator = ChatCompletionAccumulator()
    for name, arguments in (("get_", '{"ci'), ("weather", 'ty": '), ("get_weather", '"Oslo"}')):
        delta = {"tool_calls": [{"index": 0, "function": {"name": name, "arguments": arguments}}]}
        chunk = {"id": "c", "choices": [{"index": 0, "delta": delta}]}
        accumulator.add(msgspec.json.decode(msgspec.json.encode(chunk), type=ChatCompletionChunk))
    [call] = accumulator.final().choices[0].message.tool_calls or []
    assert call.function is not None
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "Oslo"}')


async def test_the_streamed_tool_loop_runs_to_the_answer_against_llama_cpp() -> None:
    async with replaying(llama_cpp) as loopback, local_client(loopback) as client:
        builder = client.chat("qwen2.5-0.5b-instruct").user("Weather in Paris?")
        run = builder.tools(get_weather).tool_choice(get_weather).run()
        async with run.stream() as stream:
            text = "".join([piece async for piece in stream.text()])
    assert text == "It is sunny in Paris."
    [first, last] = stream.steps
    assert [(c.name, c.arguments, c.output) for c in first.calls] == [
        ("get_weather", '{"city": "Paris"}', "sunny in Paris")
    ]
    assert last.result.choices[0].finish_reason == "stop"
    assert len(loopback.requests) == 2


# -- 5. the assistant turn of only tool calls omits content --------------------------------------


async def test_the_assistant_turn_of_only_tool_calls_has_no_content() -> None:
    async with replaying(llama_cpp) as loopback, local_client(loopback) as client:
        builder = client.chat("qwen2.5-0.5b-instruct").user("Weather in Paris?")
        run = builder.tools(get_weather).tool_choice(get_weather).run()
        async with run.stream() as stream:
            async for _ in stream:
                pass
    [turn] = _assistant_turns(loopback.requests[1])
    assert "content" not in turn
    assert turn["tool_calls"] == [
        {
            "id": LLAMA_TOOL_CALL_ID,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]


async def test_llama_cpp_rejects_content_null_and_the_error_says_why() -> None:
    # What the tool loop used to send, sent by hand: the 500 carries pydantic's reasons.
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": LLAMA_TOOL_CALL_ID,
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    body = {
        "model": "qwen2.5-0.5b-instruct",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            assistant,
            {"role": "tool", "tool_call_id": LLAMA_TOOL_CALL_ID, "content": "sunny in Paris"},
        ],
    }
    async with replaying(llama_cpp) as loopback, local_client(loopback) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.request("POST", "/chat/completions", body=body)
    error = caught.value
    assert error.type == "internal_server_error"
    assert error.request_id == "5a2e8c0d4b7f4a1e9c3d6b8f0e2a5c7d"
    assert "'ChatCompletionRequestAssistantMessage', 'content')" in str(error)
    assert "Input should be a valid string" in str(error)


# -- 2. error text from FastAPI's detail ---------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded", "error_class", "sentence"),
    [
        (
            "llama_cpp_401",
            AuthenticationError,
            "failed with 401 Unauthorized: Invalid API key "
            "(request 0e4c7a1b9d2f4e8a6c3b5d0f1a7e9c2b).",
        ),
        (
            "fastapi_422",
            UnprocessableEntityError,
            "failed with 422 Unprocessable Entity: body.messages.0.content: Field required; "
            "body.temperature: Input should be a valid number, unable to parse string as a number.",
        ),
    ],
)
async def test_a_fastapi_detail_is_the_message(
    recorded: str, error_class: type[APIStatusError], sentence: str
) -> None:
    async with replaying(lambda _: recorded) as loopback, local_client(loopback) as client:
        with pytest.raises(error_class) as caught:
            await client.chat("qwen2.5-0.5b-instruct").user("Hi")
    assert str(caught.value) == f"POST /v1/chat/completions {sentence}"
    assert isinstance(caught.value.body, dict)
    assert "detail" in caught.value.body


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"error": {"message": "No such model", "type": "invalid_request_error"}}, "No such model"),
        ({"error": "Model not loaded"}, "Model not loaded"),
        ({"message": "Quota exceeded", "code": 42}, "Quota exceeded"),
        ({"detail": "Not authenticated"}, "Not authenticated"),
        ({"detail": {"error": "Invalid model name"}}, "Invalid model name"),
        ({"detail": {"error": {"message": "Budget exceeded"}}}, "Budget exceeded"),
        (
            {"detail": [{"loc": ["query", "n"], "msg": f"bad {i}"} for i in range(5)]},
            "query.n: bad 0; query.n: bad 1; query.n: bad 2; and 2 more in err.body",
        ),
    ],
)
async def test_every_common_error_body_gives_its_text(body: dict[str, Any], text: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json=body)

    async with canned_client(handler, retry=RetryPolicy.never()) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.chat("m").user("Hi")
    assert str(caught.value) == f"POST /v1/chat/completions failed with 400 Bad Request: {text}."


# -- 3. a stream cut short with [DONE] ------------------------------------------------------------


async def _read_text(stream: ChatStream, texts: list[str]) -> None:
    async with stream:
        async for piece in stream.text():
            texts.append(piece)


async def test_a_stream_llama_cpp_cut_short_raises_with_what_arrived() -> None:
    async with (
        replaying(lambda _: "llama_cpp_interrupted") as loopback,
        local_client(loopback) as client,
    ):
        texts: list[str] = []
        stream = client.chat("qwen2.5-0.5b-instruct").user("Why blue?").stream()
        with pytest.raises(StreamInterruptedError) as caught:
            await _read_text(stream, texts)
    assert texts == ["The", " sky", " looks", " blue"]
    error = caught.value
    assert "sent [DONE] with choice 0 unfinished" in str(error)
    assert error.partial.choices[0].message.content == "The sky looks blue"
    assert error.partial.choices[0].finish_reason is None
    assert len(error.events) == 5
    assert error.request_id == "6b0d3f8e1c2a4d7f9e5b0a3c8d1f2e6a"
    with pytest.raises(StreamInterruptedError):
        stream.final()


async def test_a_server_known_to_omit_finish_reasons_is_taken_at_its_done() -> None:
    async with (
        replaying(lambda _: "llama_cpp_interrupted") as loopback,
        local_client(loopback) as client,
    ):
        builder = client.chat("qwen2.5-0.5b-instruct").require_finish_reason(False)
        final = await builder.user("Why blue?").stream().until_done()
    assert final.choices[0].message.content == "The sky looks blue"
    assert final.choices[0].finish_reason is None


async def test_require_finish_reason_takes_a_bool() -> None:
    async with Client(api_key="sk-local", base_url="http://127.0.0.1:9/v1") as client:
        with pytest.raises(InvalidRequestError) as caught:
            client.chat("m").require_finish_reason("no")  # type: ignore[arg-type]
    assert caught.value.param == "require_finish_reason"
    assert str(caught.value) == "require_finish_reason must be True or False, not 'no'"


# -- 4. request ids under other headers -----------------------------------------------------------


async def test_a_litellm_stream_is_named_by_its_call_id() -> None:
    async with (
        replaying(lambda _: "litellm_forced_tool_call") as loopback,
        local_client(loopback) as client,
    ):
        builder = client.chat("qwen2.5-0.5b-instruct").user("Weather in Paris?")
        async with builder.tools(get_weather).stream() as stream:
            await stream.until_done()
    assert stream.request_id == LITELLM_CALL_ID


async def test_a_litellm_error_carries_its_call_id() -> None:
    async with replaying(lambda _: "litellm_400") as loopback, local_client(loopback) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.chat("gpt-4o-mini").user("Hi")
    error = caught.value
    assert error.request_id == "7c3e9a1d-2b4f-4e6a-8d0c-5f1b3a7e9c2d"
    assert str(error).endswith(
        "Call `/v1/models` to view available models for your key "
        "(code 400, request 7c3e9a1d-2b4f-4e6a-8d0c-5f1b3a7e9c2d)."
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-request-id": "req_1", "request-id": "req_2", "x-litellm-call-id": "c"}, "req_1"),
        ({"request-id": "req_2", "x-litellm-call-id": "c", "apim-request-id": "a"}, "req_2"),
        ({"x-litellm-call-id": "c", "apim-request-id": "a"}, "c"),
        ({"apim-request-id": "a"}, "a"),
        ({"x-correlation-id": "x"}, None),
    ],
)
async def test_the_request_id_comes_from_the_first_header_present(
    headers: dict[str, str], expected: str | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        status = 200 if request.url.path.endswith("/ok") else 404
        return httpx.Response(status, headers=headers, json={"error": {"message": "gone"}})

    async with canned_client(handler, retry=RetryPolicy.never()) as client:
        response = await client.request("GET", "/ok")
        with pytest.raises(NotFoundError) as caught:
            await client.request("GET", "/missing")
    assert response.request_id == expected
    assert caught.value.request_id == expected
