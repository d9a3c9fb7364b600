"""Who owns a stream's connection, and what a stream says about its end, over real loopback.

Leaving a stream early (break, exception, cancellation) frees its connection, as the pool's own
statistics show; an opened handle dropped unclosed warns `ResourceWarning`; a stream closed
before its end never passes what arrived off as the final object.
"""

from __future__ import annotations

import gc
import json

import anyio
import anyio.lowlevel
import httpx
import pytest

from openai_ergo import (
    Client,
    HTTP11Transport,
    StreamError,
    StreamNotFinishedError,
    Timeouts,
)
from openai_ergo.mock import MockServer
from tests.openai_ergo.leaks import warnings_of_run

#: Far more than one read: leaving after the first delta leaves most of it unread.
LONG = "word " * 20_000


def _client(server: MockServer, transport: HTTP11Transport | None = None) -> Client:
    return Client(
        api_key="sk-mock",
        base_url=server.url,
        rate_limiter=False,
        transport=transport,
        timeouts=Timeouts(pool=30),
    )


def _pool(max_connections: int = 1) -> HTTP11Transport:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=1)
    return HTTP11Transport(limits=limits)


async def test_breaking_out_of_text_early_frees_the_connection_in_the_pool(
    mock_openai: MockServer,
) -> None:
    transport = _pool()
    mock_openai.reply_with(LONG, LONG)
    async with _client(mock_openai, transport) as client:
        for builder in (
            client.chat("gpt-4o-mini").user("Tell me a long story"),
            client.responses("gpt-5-mini").input("Tell me a long story"),
        ):
            async with builder.stream() as stream:
                async for _text in stream.text():
                    busy_inside = transport.statistics()["busy"]
                    break
            assert busy_inside == 1  # the measure sees a connection held by a live stream
            assert transport.statistics()["busy"] == 0
            assert not stream.done
        mock_openai.reply_with("short")
        assert (await client.chat("gpt-4o-mini").user("Again")).text == "short"
    assert len(mock_openai.requests) == 3


async def test_an_exception_or_a_cancellation_in_the_loop_frees_the_connection(
    mock_openai: MockServer,
) -> None:
    transport = _pool()
    mock_openai.reply_with(LONG, LONG)
    async with _client(mock_openai, transport) as client:
        builder = client.chat("gpt-4o-mini").user("Tell me a long story")

        async def consume_and_fail() -> None:
            async with builder.stream() as stream:
                async for _chunk in stream:
                    raise LookupError("the consumer failed")

        with pytest.raises(LookupError):
            await consume_and_fail()
        assert transport.statistics()["busy"] == 0
        with anyio.CancelScope() as scope:
            async with builder.stream() as stream:
                async for _chunk in stream:
                    scope.cancel()
                    await anyio.lowlevel.checkpoint()  # the cancellation lands here
        assert scope.cancelled_caught
        assert transport.statistics()["busy"] == 0
        assert stream.partial.choices  # what arrived before the cancellation is kept


def test_an_opened_handle_dropped_unclosed_warns(
    anyio_backend: str, mock_openai: MockServer
) -> None:
    mock_openai.reply_with(LONG, "short")

    async def drop_streams() -> None:
        async with _client(mock_openai) as client:
            builder = client.chat("gpt-4o-mini").user("Tell me a long story")
            stream = builder.stream()
            await stream.__aenter__()
            async for _chunk in stream:
                break
            del stream  # dropped while open
            gc.collect()
            never_opened = builder.stream()
            del never_opened  # holds no connection: nothing to warn about
            finished = builder.stream()
            async for _chunk in finished:  # read to its end, which closes it
                pass
            del finished
            gc.collect()

    seen = warnings_of_run(drop_streams, anyio_backend)
    ours = [message for _, message in seen if "ChatStream" in message]
    assert len(ours) == 1
    assert "never closed" in ours[0]
    assert "async with" in ours[0]
    assert all(issubclass(category, ResourceWarning) for category, _ in seen)


async def test_final_before_the_end_points_to_until_done_and_after_an_early_exit_to_partial(
    mock_openai: MockServer,
) -> None:
    mock_openai.reply_with("one two three", "one two three", LONG)
    async with _client(mock_openai) as client:
        builder = client.chat("gpt-4o-mini").user("Count")
        awaited = await builder
        async with builder.stream() as stream:
            async for _text in stream.text():
                with pytest.raises(StreamNotFinishedError, match="until_done"):
                    stream.final()
                break
            final = await stream.until_done()
        assert stream.done
        assert final is not None
        assert final.text == awaited.text == "one two three"
        assert final.choices[0].finish_reason == "stop"

        async with client.chat("gpt-4o-mini").user("Go on").stream() as cut:
            async for _text in cut.text():
                break
        assert not cut.done
        assert repr(cut).startswith("<ChatStream closed")
        with pytest.raises(StreamNotFinishedError, match="partial"):
            cut.final()
        with pytest.raises(StreamError, match="closed before its end") as caught:
            await cut.until_done()
        with pytest.raises(StreamError, match="closed before its end"):
            async for _chunk in cut:
                pass
    partial = cut.partial.text
    assert partial
    assert LONG.startswith(partial)
    assert len(partial) < len(LONG)
    assert caught.value.partial.text == partial
    assert len(caught.value.events) == len(cut.events)


def _two_choices(request: httpx.Request) -> httpx.Response:
    head = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":'
    body = "".join(
        f'data: {head}[{{"index":{index},"delta":{{"content":"{text}"}}}}]}}\n\n'
        for index, text in ((0, "red "), (1, "blue "), (0, "green"), (1, "yellow"))
    )
    finish: list[dict[str, object]] = [
        {"index": index, "delta": {}, "finish_reason": "stop"} for index in (0, 1)
    ]
    body += f"data: {head}{json.dumps(finish)}}}\n\n"
    headers = {"content-type": "text/event-stream"}
    return httpx.Response(200, headers=headers, content=f"{body}data: [DONE]\n\n".encode())


async def test_text_of_one_choice_is_not_redirected_by_a_later_text_call() -> None:
    transport = httpx.MockTransport(_two_choices)
    async with (
        Client(api_key="sk-test", base_url="http://api.test", transport=transport) as client,
        client.chat("gpt-4o-mini").user("Colours").n(2).stream() as stream,
    ):
        second = stream.text(choice=1)
        stream.text()  # made later, for the first choice: `second` keeps following choice 1
        texts = [piece async for piece in second]
    final = stream.final()
    assert texts == ["blue ", "yellow"]
    assert final.choices[1].message.content == "blue yellow"
    assert final.choices[0].message.content == "red green"
