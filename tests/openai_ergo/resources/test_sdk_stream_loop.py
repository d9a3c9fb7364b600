"""The official SDK's chat streaming loop runs unchanged on our streams.

`print(chunk.choices[0].delta.content or "", end="")` is the loop every SDK example writes. Our
builder asks for usage by default (so `final().usage` is there), and usage arrives in a last
chunk with no choices: the builder folds that chunk into `final()` instead of handing it to the
loop. A caller who asks for usage gets the chunk, as the SDK gives it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from openai import AsyncOpenAI

from openai_ergo import Client
from openai_ergo.mock import MockServer, Reply
from openai_ergo.types import ChatCompletionChunk


@pytest.fixture(autouse=True)
def unconfigured_logging() -> None:
    """The loops' output is compared whole: an application that configured no logging gets
    none from the client (a test before may have left structlog configured, printing)."""
    structlog.reset_defaults()


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        yield client


def _sent_stream_options(mock_openai: MockServer) -> Any:
    return mock_openai.requests[-1].body.get("stream_options")


async def test_the_sdk_loop_runs_unchanged_over_a_builder_stream(
    client: Client, mock_openai: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client.chat("gpt-4o-mini").user("Count to 5").stream() as stream:
        async for chunk in stream:
            print(chunk.choices[0].delta.content or "", end="")
    printed = capsys.readouterr().out
    final = stream.final()
    assert printed == final.choices[0].message.content
    assert printed
    # The library asked for usage, and kept it: in final(), not in the loop.
    assert _sent_stream_options(mock_openai) == {"include_usage": True}
    assert final.usage is not None
    assert final.usage.completion_tokens > 0
    assert all(chunk.choices for chunk in stream.events)


async def test_the_folded_usage_equals_the_awaited_completions(client: Client) -> None:
    chat = client.chat("gpt-4o-mini").seed(3).user("Tell me about rivers.")
    awaited = await chat
    async with chat.stream() as stream:
        chunks = [chunk async for chunk in stream]
    assert stream.final().usage == awaited.usage
    assert stream.final().choices[0].message.content == awaited.choices[0].message.content
    assert chunks == stream.events


async def test_the_sdk_loop_runs_over_every_choice_of_n(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client.chat("gpt-4o-mini").user("Name a cat.").n(2).stream() as stream:
        async for chunk in stream:
            print(chunk.choices[0].delta.content or "", end="")
    assert capsys.readouterr().out
    assert len(stream.final().choices) == 2
    assert stream.final().usage is not None


async def test_the_sdk_loop_runs_over_a_structured_stream(
    client: Client, mock_openai: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import msgspec

    class City(msgspec.Struct):
        name: str

    mock_openai.reply_with(Reply(text='{"name": "Paris"}'))
    async with client.chat("gpt-4o-mini").user("A city?").parse(City).stream() as stream:
        async for chunk in stream:
            print(chunk.choices[0].delta.content or "", end="")
    assert capsys.readouterr().out == '{"name": "Paris"}'
    assert stream.final().parsed == City(name="Paris")
    assert stream.final().result.usage is not None


async def test_usage_the_caller_asks_for_is_a_chunk_with_no_choices(
    client: Client, mock_openai: MockServer
) -> None:
    chat = client.chat("gpt-4o-mini").user("Count to 3").stream_options(include_usage=True)
    async with chat.stream() as stream:
        chunks = [chunk async for chunk in stream]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert stream.final().usage == last.usage
    assert _sent_stream_options(mock_openai) == {"include_usage": True}
    # As with the SDK: a caller who asked for the usage chunk handles it.
    with pytest.raises(IndexError):
        _ = last.choices[0]


async def test_usage_asked_for_in_extra_body_is_the_callers_too(client: Client) -> None:
    usage = {"stream_options": {"include_usage": True}}
    chat = client.chat("gpt-4o-mini").user("Hi").extra_body(usage)
    async with chat.stream() as stream:
        chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None


async def test_usage_turned_off_sends_no_usage(client: Client, mock_openai: MockServer) -> None:
    chat = client.chat("gpt-4o-mini").user("Hi").stream_options(include_usage=False)
    async with chat.stream() as stream:
        chunks = [chunk async for chunk in stream]
    assert all(chunk.choices for chunk in chunks)
    assert stream.final().usage is None
    assert _sent_stream_options(mock_openai) == {"include_usage": False}


async def test_other_stream_options_keep_the_folded_usage(
    client: Client, mock_openai: MockServer
) -> None:
    chat = client.chat("gpt-4o-mini").user("Hi").stream_options(include_obfuscation=False)
    async with chat.stream() as stream:
        chunks = [chunk async for chunk in stream]
    assert all(chunk.choices for chunk in chunks)
    assert stream.final().usage is not None
    assert _sent_stream_options(mock_openai) == {
        "include_obfuscation": False,
        "include_usage": True,
    }


async def test_the_sdk_loop_runs_verbatim_over_the_typed_method(
    client: Client, mock_openai: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The typed tier sends what it is given, as the SDK does: no stream_options, no usage chunk.
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Count to 5"}],
        stream=True,
    )
    async for chunk in stream:
        print(chunk.choices[0].delta.content or "", end="")
    printed = capsys.readouterr().out
    assert printed
    assert printed == stream.final().choices[0].message.content
    assert stream.done
    assert _sent_stream_options(mock_openai) is None


async def test_the_typed_method_hands_out_usage_asked_for(client: Client) -> None:
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Count to 5"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    async with stream:
        chunks: list[ChatCompletionChunk] = [chunk async for chunk in stream]
    assert chunks[-1].choices == []
    assert stream.final().usage == chunks[-1].usage


# The SDK's chat streams leave their event generator unexhausted at `[DONE]`, which trio
# reports as a ResourceWarning (an error here): the SDK side runs on asyncio.
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_our_streams_hand_the_loop_what_the_sdk_hands_it(
    client: Client, mock_openai: MockServer, anyio_backend: str
) -> None:
    messages: Any = [{"role": "user", "content": "Tell me about rivers."}]
    async with AsyncOpenAI(api_key="sk-mock", base_url=mock_openai.url, max_retries=0) as sdk:
        theirs = await sdk.chat.completions.create(
            model="gpt-4o-mini", messages=messages, seed=5, stream=True
        )
        their_text = [c.choices[0].delta.content or "" async for c in theirs]
        with_usage = await sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            seed=5,
            stream=True,
            stream_options={"include_usage": True},
        )
        their_usage_chunks = [c async for c in with_usage]
    chat = client.chat("gpt-4o-mini").seed(5).messages(messages)
    async with chat.stream() as stream:
        our_text = [c.choices[0].delta.content or "" async for c in stream]
    assert our_text == their_text
    async with chat.stream_options(include_usage=True).stream() as asked:
        ours_with_usage = [c async for c in asked]
    assert len(ours_with_usage) == len(their_usage_chunks)
    assert ours_with_usage[-1].choices == []
    assert their_usage_chunks[-1].choices == []
    assert their_usage_chunks[-1].usage is not None
    assert ours_with_usage[-1].usage is not None
    assert ours_with_usage[-1].usage.total_tokens == their_usage_chunks[-1].usage.total_tokens
