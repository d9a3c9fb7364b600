"""tee over real event streams on a loopback socket: it owns the source and frees its connection."""

from __future__ import annotations

import anyio
import httpx
import pytest

from streaming import EventSource, ServerSentEvent, TeeConsumer, tee
from tests.streaming.loopback import Exchange, sse_server


async def open_source(client: httpx.AsyncClient, url: str) -> EventSource:
    """An event source with no owner but the tee it is handed to."""
    response = await client.send(client.build_request("GET", url), stream=True)
    return EventSource(response)


async def read_data(consumer: TeeConsumer[ServerSentEvent], into: list[str]) -> None:
    async for event in consumer:
        into.append(event.data)


async def finite(exchange: Exchange) -> None:
    await exchange.start()
    for i in range(20):
        await exchange.send(b"data: %d\n\n" % i)


async def endless(exchange: Exchange) -> None:
    await exchange.start()
    for i in range(100_000):
        await exchange.send(b"data: %d\n\n" % i)
        await anyio.sleep(0.001)


async def breaks_after_three(exchange: Exchange) -> None:
    await exchange.start()
    for i in range(3):
        await exchange.send(b"data: %d\n\n" % i)
    await exchange.abort()


async def test_both_consumers_read_a_whole_stream_and_the_connection_is_reused() -> None:
    async with sse_server(finite) as server, httpx.AsyncClient() as client:
        for _ in range(2):
            source = await open_source(client, server.url)
            seen: tuple[list[str], list[str]] = ([], [])
            split = tee(source, 2, max_buffer=4)
            async with split as (left, right), anyio.create_task_group() as group:
                group.start_soon(read_data, left, seen[0])
                group.start_soon(read_data, right, seen[1])
            assert seen == ([str(i) for i in range(20)],) * 2
            assert source.response.is_closed
    assert server.connections == 1


async def test_leaving_early_closes_the_response() -> None:
    async with sse_server(endless) as server, httpx.AsyncClient() as client:
        source = await open_source(client, server.url)
        async with tee(source, 2) as (left, right):
            assert (await left.__anext__()).data == "0"
            assert (await right.__anext__()).data == "0"
            assert (await left.__anext__()).data == "1"
        assert source.response.is_closed
        # The endless body could not be drained: the next request needs a new connection.
        again = await open_source(client, server.url)
        async with tee(again, 1) as (only,):
            assert (await only.__anext__()).data == "0"
        assert again.response.is_closed
    assert server.connections == 2


async def test_a_broken_connection_reaches_every_consumer_after_its_events() -> None:
    async with sse_server(breaks_after_three) as server, httpx.AsyncClient() as client:
        source = await open_source(client, server.url)
        async with tee(source, 2) as (left, right):
            received: tuple[list[str], list[str]] = ([], [])
            with pytest.raises(httpx.RemoteProtocolError) as first:
                await read_data(left, received[0])
            with pytest.raises(httpx.RemoteProtocolError) as second:
                await read_data(right, received[1])
        assert received == (["0", "1", "2"],) * 2
        assert second.value is first.value
        assert source.response.is_closed
