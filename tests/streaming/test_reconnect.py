"""Reconnection: Last-Event-ID, the server's retry time, bounded attempts, typed errors."""

from __future__ import annotations

import anyio
import httpx
import pytest

from streaming import (
    DeadlineExceededError,
    EventSource,
    ReconnectError,
    ReconnectPolicy,
    SSEError,
    connect_sse,
)
from tests.streaming.loopback import Exchange, sse_server

NO_WAIT = ReconnectPolicy(max_attempts=3, initial_delay=0, jitter=0)


async def collect(source: EventSource, into: list[str]) -> None:
    """Append the data of every event to `into` until the stream ends or fails."""
    async for event in source:
        into.append(event.data)


async def test_a_dropped_stream_resumes_from_the_last_event_id() -> None:
    async def handler(exchange: Exchange) -> None:
        if exchange.request.connection == 1:
            await exchange.send(b"retry: 20\nid: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: lost")
            await exchange.abort()
        else:
            await exchange.send(b"id: 3\ndata: c\n\n")

    async with sse_server(handler) as server, httpx.AsyncClient() as client:
        started = anyio.current_time()
        async with connect_sse(client, "GET", server.url, reconnect=NO_WAIT) as source:
            events = [(event.id, event.data) async for event in source]
            waited = anyio.current_time() - started
            assert source.statistics().reconnections == 1
            assert source.last_event_id == "3"
    assert events == [("1", "a"), ("2", "b"), ("3", "c")]
    assert "last-event-id" not in server.requests[0].headers
    assert server.requests[1].headers["last-event-id"] == "2"
    assert server.requests[1].headers["accept"] == "text/event-stream"
    # The server's `retry: 20` replaced the policy's zero delay (a lower bound, not a speed test).
    assert waited >= 0.02


async def test_attempts_are_bounded_and_the_last_failure_is_chained() -> None:
    async def handler(exchange: Exchange) -> None:
        if exchange.request.connection == 1:
            await exchange.send(b"id: 9\ndata: only\n\n")
        await exchange.abort()

    received: list[str] = []
    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, reconnect=NO_WAIT) as source,
    ):
        with pytest.raises(ReconnectError, match="3 reconnection attempts") as caught:
            await collect(source, received)
    assert received == ["only"]
    assert caught.value.attempts == 3
    assert caught.value.last_event_id == "9"
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert len(server.requests) == 4
    assert {request.headers["last-event-id"] for request in server.requests[1:]} == {"9"}


async def test_attempts_count_again_after_events_arrive() -> None:
    async def handler(exchange: Exchange) -> None:
        number = exchange.request.connection
        if number <= 6 and number % 2 == 1:
            await exchange.send(b"id: %d\ndata: %d\n\n" % (number, number))
        if number < 7:
            await exchange.abort()
        else:
            await exchange.start()

    policy = ReconnectPolicy(max_attempts=2, initial_delay=0, jitter=0)
    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, reconnect=policy) as source,
    ):
        received = [event.data async for event in source]
    # Every other connection fails without an event: never two failures in a row.
    assert received == ["1", "3", "5"]
    assert len(server.requests) == 7


async def test_a_clean_end_is_the_end_unless_asked_otherwise() -> None:
    async def handler(exchange: Exchange) -> None:
        if "last-event-id" not in exchange.request.headers:
            await exchange.send(b"id: 1\ndata: a\n\n")
        else:
            await exchange.start(204, [("Content-Length", "0")], content_type=None)

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, reconnect=NO_WAIT) as source,
    ):
        assert [event.data async for event in source] == ["a"]
        assert len(server.requests) == 1

        on_end = ReconnectPolicy(initial_delay=0, jitter=0, reconnect_on_end=True)
        async with connect_sse(client, "GET", server.url, reconnect=on_end) as source:
            # The second answer is a 204: the server's way to say "stop reconnecting".
            assert [event.data async for event in source] == ["a"]
    assert len(server.requests) == 3


async def test_a_reconnection_that_is_not_an_event_stream_fails_at_once() -> None:
    async def handler(exchange: Exchange) -> None:
        if len(exchange.request.headers.get("last-event-id", "")) == 0:
            await exchange.send(b"id: 1\ndata: a\n\n")
            await exchange.abort()
        else:
            await exchange.respond(503, b'{"error": "overloaded"}')

    received: list[str] = []
    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, reconnect=NO_WAIT) as source,
    ):
        with pytest.raises(SSEError, match="503") as caught:
            await collect(source, received)
    assert received == ["a"]
    assert caught.value.body == '{"error": "overloaded"}'


async def test_the_deadline_bounds_the_wait_for_a_reconnection() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.send(b"retry: 60000\ndata: a\n\n")
        await exchange.abort()

    received: list[str] = []
    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, reconnect=NO_WAIT, deadline=5) as source,
    ):
        with pytest.raises(DeadlineExceededError, match="before it could reconnect"):
            await collect(source, received)
    assert received == ["a"]
    assert len(server.requests) == 1


async def test_reconnection_works_with_prefetch() -> None:
    async def handler(exchange: Exchange) -> None:
        start = int(exchange.request.headers.get("last-event-id", "-1")) + 1
        for i in range(start, min(start + 5, 12)):
            await exchange.send(b"id: %d\ndata: %d\n\n" % (i, i))
        if start + 5 < 12:
            await exchange.abort()

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, reconnect=NO_WAIT, prefetch=3) as source,
    ):
        received = [event.data async for event in source]
    assert received == [str(i) for i in range(12)]
    assert len(server.requests) == 3


def test_the_backoff_doubles_up_to_its_cap_and_honours_the_server() -> None:
    policy = ReconnectPolicy(initial_delay=0.5, max_delay=3, jitter=0)
    assert [policy.delay(attempt, None) for attempt in range(1, 6)] == [0.5, 1, 2, 3, 3]
    assert policy.delay(4, 250) == 0.25
    jittery = ReconnectPolicy(initial_delay=1, jitter=0.5)
    assert all(0.5 <= jittery.delay(1, None) <= 1 for _ in range(100))


@pytest.mark.parametrize("options", [{"max_attempts": 0}, {"initial_delay": -1}, {"jitter": 2}])
def test_a_nonsensical_policy_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        ReconnectPolicy(**options)  # type: ignore[arg-type]
