"""Our answers agree with themselves and with the official SDK's, for the same seeded requests.

Three ways to get one answer from the mock over loopback: our `await builder`, our
`builder.stream()` then `.final()`, and the official `openai` SDK's stream helpers
(`get_final_completion()`, `get_final_response()`), which aggregate a stream with their own code.
The mock's answer depends only on the request and the seed, so all three must carry the same
text, finish reasons, tool calls and usage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion as SDKChatCompletion
from openai.types.responses import Response as SDKResponse

from openai_ergo import (
    ChatBuilder,
    Client,
    RefusalError,
    ResponseIncompleteError,
    ResponsesBuilder,
)
from openai_ergo.mock import MockServer, Reply, ToolCall
from openai_ergo.resources import ChatParse, ResponsesParse
from openai_ergo.types import (
    ChatCompletion,
    OutputMessage,
    OutputRefusal,
    Response,
    UnknownEvent,
)

PROMPT = "Tell me about rivers."
SEED = 3
#: Two calls in one turn, with text before them, and ids fixed so every request can be compared.
TOOL_REPLY = Reply(
    text="Let me look.",
    tool_calls=(
        ToolCall(name="lookup", arguments={"q": "Nile"}, call_id="call_lookup"),
        ToolCall(name="get_weather", arguments={"city": "Cairo"}, call_id="call_weather"),
    ),
)

# The SDK's chat streams stop at `data: [DONE]` and leave their event generator unexhausted;
# under trio that generator's collection warns (ResourceWarning, an error here), whatever the
# server. Its Responses streams run on trio fine; its chat streams run on asyncio only.
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        yield client


# -- what is compared --------------------------------------------------------------------------


def chat_summary(completion: ChatCompletion) -> dict[str, Any]:
    """Everything a chat completion answers, minus its per-request ids and times."""
    usage = completion.usage
    assert usage is not None
    return {
        "choices": [
            (
                choice.index,
                choice.message.content,
                choice.finish_reason,
                [
                    (call.id, call.function.name, call.function.arguments)
                    for call in choice.message.tool_calls or []
                    if call.function is not None
                ],
            )
            for choice in completion.choices
        ],
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
    }


def sdk_chat_summary(completion: SDKChatCompletion) -> dict[str, Any]:
    """`chat_summary` of the SDK's own object."""
    usage = completion.usage
    assert usage is not None
    return {
        "choices": [
            (
                choice.index,
                choice.message.content,
                choice.finish_reason,
                [
                    (call.id, call.function.name, call.function.arguments)
                    for call in choice.message.tool_calls or []
                    if call.type == "function"
                ],
            )
            for choice in completion.choices
        ],
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
    }


def response_summary(response: Response) -> dict[str, Any]:
    """Everything a response answers, minus its per-request ids and times."""
    usage = response.usage
    assert usage is not None
    return {
        "status": response.status,
        "text": response.output_text,
        "calls": [(c.call_id, c.name, c.arguments) for c in response.function_calls],
        "usage": (usage.input_tokens, usage.output_tokens, usage.total_tokens),
    }


def sdk_response_summary(response: SDKResponse) -> dict[str, Any]:
    """`response_summary` of the SDK's own object."""
    usage = response.usage
    assert usage is not None
    return {
        "status": response.status,
        "text": response.output_text,
        "calls": [
            (item.call_id, item.name, item.arguments)
            for item in response.output
            if item.type == "function_call"
        ],
        "usage": (usage.input_tokens, usage.output_tokens, usage.total_tokens),
    }


async def streamed_chat(builder: ChatBuilder) -> ChatCompletion:
    async with builder.stream() as stream:
        async for _ in stream:
            pass
    return stream.final()


async def streamed_response(builder: ResponsesBuilder) -> Response:
    async with builder.stream() as stream:
        async for _ in stream:
            pass
    # Every event the mock sends is one we know: none falls back to the generic event.
    assert not [e for e in stream.events if isinstance(e, UnknownEvent)]
    return stream.final()


# -- chat ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3])
async def test_a_chat_answer_awaited_equals_it_streamed(client: Client, n: int) -> None:
    builder = client.chat("gpt-4o-mini").user(PROMPT).seed(SEED).n(n)
    awaited = chat_summary(await builder)
    assert len(awaited["choices"]) == n
    assert all(content for _, content, _, _ in awaited["choices"])
    assert chat_summary(await streamed_chat(builder)) == awaited


async def test_chat_tool_calls_awaited_equal_them_streamed(
    client: Client, mock_openai: MockServer
) -> None:
    mock_openai.reply_with(TOOL_REPLY, TOOL_REPLY)
    builder = client.chat("gpt-4o").user("Where and how warm?")
    awaited = chat_summary(await builder)
    assert awaited["choices"] == [
        (
            0,
            "Let me look.",
            "tool_calls",
            [
                ("call_lookup", "lookup", '{"q":"Nile"}'),
                ("call_weather", "get_weather", '{"city":"Cairo"}'),
            ],
        )
    ]
    assert chat_summary(await streamed_chat(builder)) == awaited


@asyncio_only
@pytest.mark.parametrize("n", [1, 3])
async def test_the_sdk_aggregates_a_chat_stream_as_we_do(
    client: Client, sdk: AsyncOpenAI, n: int, anyio_backend: str
) -> None:
    ours = chat_summary(
        await streamed_chat(client.chat("gpt-4o-mini").user(PROMPT).seed(SEED).n(n))
    )
    async with sdk.chat.completions.stream(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": PROMPT}],
        seed=SEED,
        n=n,
        stream_options={"include_usage": True},
    ) as stream:
        theirs = sdk_chat_summary(await stream.get_final_completion())
    assert theirs == ours


@asyncio_only
async def test_the_sdk_aggregates_chat_tool_calls_as_we_do(
    client: Client, sdk: AsyncOpenAI, mock_openai: MockServer, anyio_backend: str
) -> None:
    mock_openai.reply_with(TOOL_REPLY, TOOL_REPLY)
    ours = chat_summary(await streamed_chat(client.chat("gpt-4o").user("Where?")))
    async with sdk.chat.completions.stream(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Where?"}],
        stream_options={"include_usage": True},
    ) as stream:
        theirs = sdk_chat_summary(await stream.get_final_completion())
    assert theirs == ours
    assert len(ours["choices"][0][3]) == 2


# -- responses ---------------------------------------------------------------------------------


async def test_a_response_awaited_streamed_and_through_the_sdk_is_the_same(
    client: Client, sdk: AsyncOpenAI
) -> None:
    builder = client.responses("gpt-5-mini").instructions("Be brief.").input(PROMPT)
    awaited = response_summary(await builder)
    assert awaited["text"]
    assert awaited["status"] == "completed"
    assert response_summary(await streamed_response(builder)) == awaited
    async with sdk.responses.stream(
        model="gpt-5-mini", instructions="Be brief.", input=PROMPT
    ) as stream:
        theirs = sdk_response_summary(await stream.get_final_response())
    assert theirs == awaited
    plain = await sdk.responses.create(model="gpt-5-mini", instructions="Be brief.", input=PROMPT)
    assert sdk_response_summary(plain) == awaited


async def test_a_function_call_awaited_streamed_and_through_the_sdk_is_the_same(
    client: Client, sdk: AsyncOpenAI, mock_openai: MockServer
) -> None:
    mock_openai.reply_with(TOOL_REPLY, TOOL_REPLY, TOOL_REPLY)
    builder = client.responses("gpt-5").input("Where and how warm?")
    awaited = response_summary(await builder)
    assert awaited["text"] == "Let me look."
    assert awaited["calls"] == [
        ("call_lookup", "lookup", '{"q":"Nile"}'),
        ("call_weather", "get_weather", '{"city":"Cairo"}'),
    ]
    assert response_summary(await streamed_response(builder)) == awaited
    async with sdk.responses.stream(model="gpt-5", input="Where and how warm?") as stream:
        theirs = sdk_response_summary(await stream.get_final_response())
    assert theirs == awaited


async def test_a_response_cut_by_its_token_limit_agrees_everywhere(
    client: Client, sdk: AsyncOpenAI
) -> None:
    builder = client.responses("gpt-5-mini").input(PROMPT).max_output_tokens(16)
    awaited = response_summary(await builder)
    assert awaited["status"] == "incomplete"
    assert awaited["usage"][1] == 16
    # Streamed, the cut answer ends in `response.incomplete`: an error carrying it whole.
    with pytest.raises(ResponseIncompleteError) as caught:
        await streamed_response(builder)
    assert caught.value.reason == "max_output_tokens"
    assert response_summary(caught.value.partial) == awaited
    # The SDK's stream helper accepts only `response.completed`, so compare its plain call.
    theirs = await sdk.responses.create(model="gpt-5-mini", input=PROMPT, max_output_tokens=16)
    assert sdk_response_summary(theirs) == awaited


# -- refusals ------------------------------------------------------------------------------------

REFUSAL = "I'm sorry, I can't help with that."


class Weather(msgspec.Struct):
    city: str
    celsius: float


def parse_request(client: Client, api: str) -> ResponsesParse[Weather] | ChatParse[Weather]:
    if api == "responses":
        return client.responses("gpt-5-mini").input("Weather in Oslo?").parse(Weather)
    return client.chat("gpt-4o").user("Weather in Oslo?").parse(Weather)


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_a_refusal_is_a_refusal_error_awaited_and_streamed(
    client: Client, mock_openai: MockServer, api: str
) -> None:
    mock_openai.reply_with(Reply(refusal=REFUSAL), Reply(refusal=REFUSAL))
    with pytest.raises(RefusalError) as awaited:
        await parse_request(client, api)
    assert awaited.value.refusal == REFUSAL
    async with parse_request(client, api).stream() as stream:
        deltas = [text async for text in stream.text()]
        with pytest.raises(RefusalError) as streamed:
            stream.parsed()
    assert deltas == []  # a refusal is not answer text
    assert streamed.value.refusal == REFUSAL
    assert streamed.value.result is not None


async def test_a_responses_refusal_agrees_with_the_sdk(
    client: Client, sdk: AsyncOpenAI, mock_openai: MockServer
) -> None:
    mock_openai.reply_with(*[Reply(refusal=REFUSAL)] * 3)
    builder = client.responses("gpt-5-mini").input("Weather in Oslo?")
    for ours in (await builder, await streamed_response(builder)):
        [message] = ours.output
        assert isinstance(message, OutputMessage)
        assert message.content == [OutputRefusal(refusal=REFUSAL)]
        assert ours.output_text == ""
    async with sdk.responses.stream(model="gpt-5-mini", input="Weather in Oslo?") as stream:
        refusal_deltas = [e.delta async for e in stream if e.type == "response.refusal.delta"]
        theirs = await stream.get_final_response()
    assert "".join(refusal_deltas) == REFUSAL
    [item] = theirs.output
    assert item.type == "message"
    assert [part.model_dump() for part in item.content] == [{"type": "refusal", "refusal": REFUSAL}]


@asyncio_only
async def test_a_chat_refusal_agrees_with_the_sdk(
    client: Client, sdk: AsyncOpenAI, mock_openai: MockServer, anyio_backend: str
) -> None:
    mock_openai.reply_with(*[Reply(refusal=REFUSAL)] * 3)
    builder = client.chat("gpt-4o").user("Weather in Oslo?")
    awaited, streamed = await builder, await streamed_chat(builder)
    assert chat_summary(streamed) == chat_summary(awaited)
    for ours in (awaited, streamed):
        assert ours.choices[0].message.refusal == REFUSAL
        assert ours.choices[0].message.content is None
    async with sdk.chat.completions.stream(
        model="gpt-4o", messages=[{"role": "user", "content": "Weather in Oslo?"}]
    ) as stream:
        theirs = await stream.get_final_completion()
    assert theirs.choices[0].message.refusal == REFUSAL
    assert theirs.choices[0].message.content is None
    assert theirs.choices[0].finish_reason == "stop"


def test_a_refusal_comes_alone() -> None:
    with pytest.raises(ValueError, match="refusal"):
        Reply("Sure!", refusal=REFUSAL)
