"""Responses over WebSocket (`client.responses.connect()`) against the mock over loopback, on
both backends: several responses over one connection, the same typed events and `final()` as
the SSE stream, errors that leave the connection usable, and a dropped connection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from openai_ergo import (
    Client,
    InvalidRequestError,
    RealtimeClosedError,
    ResponseStream,
    StreamEventError,
)
from openai_ergo.mock import MockServer, Reply, serve


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with serve(seed=3) as server:
        yield server


@pytest.fixture
async def client(server: MockServer) -> AsyncIterator[Client]:
    async with Client(base_url=server.url, api_key="sk-mock") as client:
        yield client


def _sockets(server: MockServer) -> int:
    return sum(1 for r in server.requests if r.method == "GET" and r.path == "/v1/responses")


async def _events(stream: ResponseStream) -> list[str]:
    async with stream:
        return [type(event).__name__ async for event in stream]


async def test_the_events_and_final_are_the_sse_streams(client: Client) -> None:
    builder = client.responses("gpt-5").input("Tell me about rivers.")
    over_http = builder.stream()
    http_events = await _events(over_http)
    async with client.responses.connect() as socket:
        over_socket = socket.stream(builder)
        socket_events = await _events(over_socket)
    assert socket_events == http_events
    assert socket_events[0] == "ResponseCreatedEvent"
    assert socket_events[-1] == "ResponseCompletedEvent"
    http_final, socket_final = over_http.final(), over_socket.final()
    assert socket_final.output_text == http_final.output_text
    assert socket_final.output_text
    assert socket_final.usage == http_final.usage


async def test_several_responses_go_over_one_connection_and_chain(
    server: MockServer, client: Client
) -> None:
    server.reply_with(Reply("One."), Reply("Two."), Reply("Three."))
    async with client.responses.connect() as socket:
        first = await socket.create(client.responses("gpt-5").input("1"))
        async with socket.stream(
            client.responses("gpt-5").input("2").previous_response(first)
        ) as stream:
            text = [chunk async for chunk in stream.text()]
        second = stream.final()
        third = await socket.create(client.responses("gpt-5").input("3"))
    assert [first.output_text, "".join(text), third.output_text] == ["One.", "Two.", "Three."]
    assert second.previous_response_id == first.id
    assert len({first.id, second.id, third.id}) == 3
    assert _sockets(server) == 1


async def test_a_response_left_early_does_not_spill_into_the_next(
    server: MockServer, client: Client
) -> None:
    server.reply_with(Reply("A long first answer, word after word."), Reply("Second."))
    async with client.responses.connect() as socket:
        async with socket.stream(client.responses("gpt-5").input("1")) as stream:
            async for _ in stream.text():
                break
        second = await socket.create(client.responses("gpt-5").input("2"))
    assert second.output_text == "Second."


async def test_an_error_event_raises_and_the_connection_goes_on(
    server: MockServer, client: Client
) -> None:
    async with client.responses.connect() as socket:
        with pytest.raises(StreamEventError) as refused:
            await socket.create(client.responses("gpt-5").input("Hi").background())
        server.reply_with(Reply("Still here."))
        after = await socket.create(client.responses("gpt-5").input("Hi"))
    assert refused.value.code == "unsupported_value"
    assert "Background" in str(refused.value)
    assert after.output_text == "Still here."


async def test_a_dropped_connection_keeps_the_text_that_arrived(
    server: MockServer, client: Client
) -> None:
    server.fail_next("disconnect; after=6", path="/v1/responses")
    async with client.responses.connect() as socket:
        stream = socket.stream(client.responses("gpt-5").input("Hello"))
        with pytest.raises(RealtimeClosedError) as dropped:
            await _events(stream)
    assert dropped.value.code == 1006
    assert len(dropped.value.events) == 6
    assert dropped.value.partial is not None
    assert dropped.value.partial.status == "in_progress"


async def test_only_a_responses_builder_is_sent(client: Client) -> None:
    async with client.responses.connect() as socket:
        with pytest.raises(InvalidRequestError):
            socket.stream(client.chat("gpt-5").user("Hi"))  # type: ignore[arg-type]
