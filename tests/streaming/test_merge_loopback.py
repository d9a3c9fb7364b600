"""merge over real event streams on a loopback socket: every response closes, whatever ends it."""

from __future__ import annotations

import anyio
import httpx
import pytest

from streaming import EventSource, merge
from tests.streaming.loopback import Exchange, sse_server


async def open_source(client: httpx.AsyncClient, url: str) -> EventSource:
    """An event source with no owner but the merge it is handed to."""
    response = await client.send(client.build_request("GET", url), stream=True)
    return EventSource(response)


async def handler(exchange: Exchange) -> None:
    """`/finite/<name>` sends 10 events, `/endless/<name>` never stops, `/breaks/<name>` hangs up
    after two events."""
    kind, name = exchange.request.target.strip("/").split("/")
    await exchange.start()
    count = 10 if kind == "finite" else 2 if kind == "breaks" else 100_000
    for i in range(count):
        await exchange.send(b"data: %s-%d\n\n" % (name.encode(), i))
        if kind == "endless":
            await anyio.sleep(0.001)
    if kind == "breaks":
        await exchange.abort()


async def test_whole_streams_interleave_keep_their_order_and_close() -> None:
    async with sse_server(handler) as server, httpx.AsyncClient() as client:
        sources = [await open_source(client, f"{server.url}/finite/{name}") for name in "ab"]
        async with merge(*sources) as merged:
            data = [event.data async for event in merged]
        assert sorted(data) == sorted(f"{name}-{i}" for name in "ab" for i in range(10))
        for name in "ab":
            assert [item for item in data if item.startswith(name)] == [
                f"{name}-{i}" for i in range(10)
            ]
        assert all(source.response.is_closed for source in sources)
        # Both connections went back to the pool: two more streams reuse them.
        again = [await open_source(client, f"{server.url}/finite/{name}") for name in "cd"]
        async with merge(*again) as merged:
            assert len([event async for event in merged]) == 20
    assert server.connections == 2


async def test_leaving_early_closes_every_response() -> None:
    async with sse_server(handler) as server, httpx.AsyncClient() as client:
        sources = [await open_source(client, f"{server.url}/endless/{name}") for name in "ab"]
        async with merge(*sources) as merged:
            async for event in merged:
                if event.data.endswith("-3"):
                    break
        assert all(source.response.is_closed for source in sources)


async def test_a_broken_stream_stops_the_others_and_is_raised() -> None:
    async with sse_server(handler) as server, httpx.AsyncClient() as client:
        endless = await open_source(client, f"{server.url}/endless/a")
        breaking = await open_source(client, f"{server.url}/breaks/b")
        received: list[str] = []

        async def consume() -> None:
            async with merge(endless, breaking) as merged:
                async for event in merged:
                    received.append(event.data)

        with pytest.raises(httpx.RemoteProtocolError):
            await consume()
        assert {"b-0", "b-1"} <= set(received)
        assert endless.response.is_closed
        assert breaking.response.is_closed
