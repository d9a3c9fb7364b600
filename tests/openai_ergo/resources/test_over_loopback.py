"""Builders and handles against the mock server over a real loopback socket.

Streams aggregate to the non-streamed object, breaking out early returns the connection, the
tool loop runs calls concurrently and reports failures to the model, structured output decodes
nested types and raises the right error when there is nothing to decode.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openai_ergo import (
    Client,
    OutputParseError,
    Timeouts,
    ToolError,
    TruncatedOutputError,
    tool,
)
from openai_ergo.mock import MockServer, Reply, ToolCall
from openai_ergo.types import ChatCompletion, Response


def _client(server: MockServer, **options: Any) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False, **options)


def _chat_meaning(completion: ChatCompletion) -> Any:
    """What a completion says, without the ids and times that differ per request."""
    choices = []
    for choice in completion.choices:
        message = choice.message
        calls = [
            (c.function.name, c.function.arguments) for c in message.tool_calls or [] if c.function
        ]
        choices.append(
            (choice.index, message.content, calls, message.annotations, choice.finish_reason)
        )
    return completion.model, choices, completion.usage


def _response_meaning(response: Response) -> Any:
    calls = [(c.name, c.arguments) for c in response.function_calls]
    return response.model, response.status, response.output_text, calls, response.usage


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
calls = st.lists(
    st.builds(
        lambda name, value: ToolCall(name=name, arguments={"value": value}),
        st.sampled_from(["lookup", "search", "add"]),
        st.one_of(st.integers(), texts),
    ),
    max_size=3,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=texts, tool_calls=calls, n=st.integers(1, 3))
async def test_chat_stream_final_equals_the_non_streamed_completion(
    mock_openai: MockServer, text: str, tool_calls: list[ToolCall], n: int
) -> None:
    reply = Reply(text=text, tool_calls=tuple(tool_calls))
    async with _client(mock_openai) as client:
        builder = client.chat("gpt-4o-mini").user("Go").n(n)
        mock_openai.reply_with(*[reply] * n)
        plain = await builder
        mock_openai.reply_with(*[reply] * n)
        async with builder.stream() as stream:
            async for _ in stream:
                pass
    assert _chat_meaning(stream.final()) == _chat_meaning(plain)
    assert stream.final().usage is not None


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=texts, tool_calls=calls)
async def test_responses_stream_final_equals_the_non_streamed_response(
    mock_openai: MockServer, text: str, tool_calls: list[ToolCall]
) -> None:
    reply = Reply(text=text, tool_calls=tuple(tool_calls))
    async with _client(mock_openai) as client:
        builder = client.responses("gpt-5-mini").input("Go")
        mock_openai.reply_with(reply)
        plain = await builder
        mock_openai.reply_with(reply)
        async with builder.stream() as stream:
            pieces = [piece async for piece in stream.text()]
    assert _response_meaning(stream.final()) == _response_meaning(plain)
    assert "".join(pieces) == plain.output_text


async def test_breaking_out_of_text_early_returns_the_connection(mock_openai: MockServer) -> None:
    # One connection in the pool: if a stream kept it, the next request could not get one.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with _client(mock_openai, limits=limits, timeouts=Timeouts(pool=30)) as client:
        builder = client.chat("gpt-4o-mini").user("Tell me a long story")
        for _ in range(3):
            async with builder.stream() as stream:
                async for _text in stream.text():
                    break
            assert not stream.done
        async with client.responses("gpt-5").input("And now?").stream() as second:
            async for _text in second.text():
                break
        reply = await builder
    assert reply.text
    assert len(mock_openai.requests) == 5


async def test_a_stream_used_without_async_with_closes_at_its_end(mock_openai: MockServer) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with _client(mock_openai, limits=limits, timeouts=Timeouts(pool=30)) as client:
        builder = client.chat("gpt-4o-mini").user("Hello")
        stream = builder.stream()
        texts = [text async for text in stream.text()]
        assert stream.done
        assert "".join(texts) == stream.final().text
        assert (await builder).text == stream.final().text


async def test_the_tool_loop_runs_calls_together_and_reports_a_failure(
    mock_openai: MockServer,
) -> None:
    first_started = anyio.Event()
    second_started = anyio.Event()

    @tool
    async def weather(city: str) -> str:
        """The weather in a city."""
        first_started.set()
        await second_started.wait()  # only returns if the other call runs at the same time
        return f"sunny in {city}"

    @tool
    async def population(city: str) -> int:
        """How many people live in a city."""
        second_started.set()
        await first_started.wait()
        raise LookupError(f"no census for {city}")

    mock_openai.reply_with(
        Reply(
            tool_calls=(
                ToolCall(name="weather", arguments={"city": "Paris"}),
                ToolCall(name="population", arguments={"city": "Paris"}),
            )
        ),
        "Sunny; the population is unknown.",
    )
    async with _client(mock_openai) as client:
        run = client.responses("gpt-5").tools(weather, population).input("Paris?").run()
        with anyio.fail_after(30):  # a hang guard only: sequential calls would never finish
            answer = await run
    assert answer.output_text == "Sunny; the population is unknown."
    assert len(run.steps) == 2
    records = {record.name: record for record in run.steps[0].calls}
    assert records["weather"].output == "sunny in Paris"
    assert records["weather"].error is None
    assert records["population"].error is not None
    assert "no census for Paris" in records["population"].output
    sent = mock_openai.requests[-1].json
    outputs = {item["call_id"]: item["output"] for item in sent["input"]}
    assert outputs == {record.call_id: record.output for record in run.steps[0].calls}
    assert sent["previous_response_id"] == run.steps[0].result.id


async def test_the_chat_tool_loop_sends_tool_messages_and_bad_arguments_back(
    mock_openai: MockServer,
) -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers (runs in a worker thread)."""
        return a + b

    mock_openai.reply_with(
        Reply(
            tool_calls=(
                ToolCall(name="add", arguments={"a": 2, "b": 3}),
                ToolCall(name="add", arguments={"a": "two", "b": 3}),
            )
        ),
        "5, and I could not add the other.",
    )
    async with _client(mock_openai) as client:
        run = client.chat("gpt-4o").tools(add).user("Add things").run()
        answer = await run
    assert answer.text == "5, and I could not add the other."
    messages = mock_openai.requests[-1].json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert messages[2]["content"] == "5"
    assert "invalid arguments for add" in messages[3]["content"]
    assert "$.a" in messages[3]["content"]


async def test_the_tool_loop_streams_every_turn(mock_openai: MockServer) -> None:
    @tool
    async def lookup(word: str) -> str:
        """Look a word up."""
        return word.upper()

    mock_openai.reply_with(
        Reply(tool_calls=(ToolCall(name="lookup", arguments={"word": "hi"}),)), "HI it is."
    )
    async with (
        _client(mock_openai) as client,
        client.chat("gpt-4o").tools(lookup).user("Look up hi").run().stream() as stream,
    ):
        texts = [text async for text in stream.text()]
    assert "".join(texts) == "HI it is."
    assert stream.final().text == "HI it is."
    assert [len(step.calls) for step in stream.steps] == [1, 0]


async def test_the_tool_loop_stops_at_max_steps_and_on_unknown_tools(
    mock_openai: MockServer,
) -> None:
    @tool
    async def again() -> str:
        """Ask again."""
        return "again"

    looping = Reply(tool_calls=(ToolCall(name="again"),))
    mock_openai.reply_with(looping, looping, looping)
    async with _client(mock_openai) as client:
        with pytest.raises(ToolError, match="after 2 steps"):
            await client.responses("gpt-5").tools(again).input("Go").run(max_steps=2)
        mock_openai.reset()
        mock_openai.reply_with(Reply(tool_calls=(ToolCall(name="invented"),)))
        with pytest.raises(ToolError, match="invented"):
            await client.chat("gpt-4o").tools(again).user("Go").run()


class Address(msgspec.Struct):
    city: str
    country: str


class Person(msgspec.Struct):
    name: str
    age: int
    addresses: list[Address]
    nickname: str | None = None


PERSON = Person("Ada", 36, [Address("London", "GB"), Address("Paris", "FR")])


async def test_structured_output_decodes_a_nested_struct(mock_openai: MockServer) -> None:
    text = msgspec.json.encode(PERSON).decode()
    mock_openai.reply_with(text, text, text)
    async with _client(mock_openai) as client:
        chat = await client.chat("gpt-4o").user("Who?").parse(Person)
        request = client.responses("gpt-5").input("Who?").parse(Person)
        async with request.stream() as stream:
            async for _ in stream:
                pass
        awaited = await request
    assert chat.parsed == PERSON
    assert stream.final().parsed == PERSON
    assert stream.final() == stream.parsed()
    # The stream's final() is what awaiting the same request gives (the ids differ per request).
    assert (stream.final().parsed, stream.final().text) == (awaited.parsed, awaited.text)
    assert stream.final().result.output_text == text
    sent = mock_openai.requests[0].json["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["strict"] is True
    schema = sent["json_schema"]["schema"]
    assert schema["required"] == ["name", "age", "addresses", "nickname"]
    assert mock_openai.requests[1].json["text"]["format"]["name"] == "Person"


async def test_structured_output_errors_carry_the_text_and_result(mock_openai: MockServer) -> None:
    mock_openai.reply_with(
        "not json at all", '{"name": "Ada", "age": 36, "addresses": [{"city": "Lon'
    )
    async with _client(mock_openai) as client:
        with pytest.raises(OutputParseError) as caught:
            await client.chat("gpt-4o").user("Who?").parse(Person)
        assert caught.value.text == "not json at all"
        assert isinstance(caught.value.result, ChatCompletion)
        with pytest.raises(TruncatedOutputError) as truncated:
            await client.chat("gpt-4o").user("Who?").max_completion_tokens(4).parse(Person)
    assert isinstance(truncated.value.result, ChatCompletion)
    assert truncated.value.result.choices[0].finish_reason == "length"
