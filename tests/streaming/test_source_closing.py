"""Leaving an event source early: when the rest is read so its connection is reused."""

from __future__ import annotations

import anyio
import httpx
import pytest

import streaming._source
from streaming import connect_sse
from tests.streaming.loopback import Exchange, LoopbackServer, sse_server


async def _three_events(exchange: Exchange) -> None:
    await exchange.start()
    for data in (b"one", b"two", b"three"):
        await exchange.send(b"data: %s\n\n" % data)


async def _leave_after_one_event(
    client: httpx.AsyncClient, server: LoopbackServer, *, cancelled: bool, drain_timeout: float
) -> None:
    async with connect_sse(client, "GET", server.url, drain_timeout=drain_timeout) as source:
        assert (await source.__anext__()).data == "one"
        if cancelled:
            with anyio.CancelScope() as scope:
                scope.cancel()
                await source.aclose()
        else:
            await source.aclose()
        assert source.response.is_closed


async def _connections_used(*, cancelled: bool, drain_timeout: float = 5.0) -> int:
    async with sse_server(_three_events) as server, httpx.AsyncClient() as client:
        await _leave_after_one_event(
            client, server, cancelled=cancelled, drain_timeout=drain_timeout
        )
        async with connect_sse(client, "GET", server.url) as source:
            assert [event.data async for event in source] == ["one", "two", "three"]
    return server.connections


async def test_leaving_early_reads_the_short_rest_so_the_connection_is_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The rest is already on its way; a loaded machine may pause longer than the 10 ms gap that
    # ends a drain between two of its writes, and that pause is not what is tested here.
    monkeypatch.setattr(streaming._source, "DRAIN_IDLE_GAP", 1.0)
    assert await _connections_used(cancelled=False) == 1


async def test_a_cancelled_caller_closes_at_once_without_reading_the_rest() -> None:
    # Closing finishes under cancellation (it is shielded), but does not linger to drain.
    assert await _connections_used(cancelled=True) == 2


async def test_drain_timeout_zero_closes_without_reading_the_rest() -> None:
    assert await _connections_used(cancelled=False, drain_timeout=0) == 2
