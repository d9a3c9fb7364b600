"""The idle timeout over any transport, and which read timeout a stream request carries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from streaming import EventSource, IdleTimeoutError, connect_sse
from tests.streaming.loopback import Exchange, sse_server

EVENT_STREAM = {"content-type": "text/event-stream"}


class _OneEventThenReadTimeout(httpx.AsyncByteStream):
    """A body whose transport gives up reading after the first event, as a timed transport does."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"data: first\n\n"
        raise httpx.ReadTimeout("timed out reading the body")


class _Wrapping(httpx.AsyncBaseTransport):
    """Forwards to httpx's own transport, as wrappers (retries, logging, proxies) do.

    The response does not carry httpx's `network_stream` extension, so the event source cannot
    tell that reads are timed; with `keep_timeouts=False` they are not timed at all.
    """

    def __init__(self, *, keep_timeouts: bool) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._keep_timeouts = keep_timeouts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._keep_timeouts:
            request.extensions = {k: v for k, v in request.extensions.items() if k != "timeout"}
        response = await self._inner.handle_async_request(request)
        return httpx.Response(
            response.status_code, headers=response.headers, stream=response.stream
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _silent_after_one_event(exchange: Exchange) -> None:
    await exchange.send(b"data: hello\n\n")
    await anyio.sleep_forever()


@pytest.mark.parametrize("keep_timeouts", [True, False], ids=["timed-reads", "untimed-reads"])
async def test_a_silent_stream_fails_with_idle_timeout_over_a_wrapping_transport(
    keep_timeouts: bool,
) -> None:
    transport = _Wrapping(keep_timeouts=keep_timeouts)
    async with (
        sse_server(_silent_after_one_event) as server,
        httpx.AsyncClient(transport=transport, timeout=None) as client,
        connect_sse(client, "GET", server.url, idle_timeout=0.2) as source,
    ):
        assert (await source.__anext__()).data == "hello"
        # Whichever fires first, the transport's read timeout or the source's own timer, the
        # consumer sees one error type.
        with pytest.raises(IdleTimeoutError, match="idle_timeout") as caught:
            await source.__anext__()
        assert source.response.is_closed
    assert caught.value.timeout == 0.2


async def test_a_read_timeout_from_the_transport_is_the_idle_timeout() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=EVENT_STREAM, stream=_OneEventThenReadTimeout())

    async with httpx.AsyncClient(transport=httpx.MockTransport(app)) as client:
        async with connect_sse(client, "GET", "http://test/feed", idle_timeout=30) as source:
            assert (await source.__anext__()).data == "first"
            with pytest.raises(IdleTimeoutError) as caught:
                await source.__anext__()
        assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
        assert caught.value.timeout == 30
        # Without an idle timeout the read timeout is the client's own, and stays httpx's error.
        async with connect_sse(client, "GET", "http://test/feed") as source:
            await source.__anext__()
            with pytest.raises(httpx.ReadTimeout):
                await source.__anext__()


async def _timeouts_sent(client_timeout: Any, **options: Any) -> dict[str, float | None]:
    seen: list[dict[str, float | None]] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, headers=EVENT_STREAM, content=b"data: x\n\n")

    transport = httpx.MockTransport(app)
    async with (
        httpx.AsyncClient(transport=transport, timeout=client_timeout) as client,
        connect_sse(client, "GET", "http://test/feed", **options) as source,
    ):
        assert [event.data async for event in source] == ["x"]
    return seen[0]


async def test_the_idle_timeout_becomes_the_read_timeout_and_nothing_else_changes() -> None:
    configured = httpx.Timeout(10.0, connect=2.0)
    assert await _timeouts_sent(configured, idle_timeout=3) == {
        "connect": 2.0,
        "read": 3,
        "write": 10.0,
        "pool": 10.0,
    }
    # A per-request timeout is the base the idle timeout is laid over.
    assert await _timeouts_sent(configured, idle_timeout=3, timeout=None) == {
        "connect": None,
        "read": 3,
        "write": None,
        "pool": None,
    }
    assert await _timeouts_sent(configured, idle_timeout=3, timeout=httpx.USE_CLIENT_DEFAULT) == {
        "connect": 2.0,
        "read": 3,
        "write": 10.0,
        "pool": 10.0,
    }


async def test_without_an_idle_timeout_the_clients_timeouts_apply_unchanged() -> None:
    # A client configured without timeouts gets none: a silent stream may wait for ever.
    assert await _timeouts_sent(None) == dict.fromkeys(("connect", "read", "write", "pool"))
    # A client left at httpx's defaults keeps them: 5 s without a byte is httpx.ReadTimeout.
    assert await _timeouts_sent(httpx.Timeout(5.0)) == dict.fromkeys(
        ("connect", "read", "write", "pool"), 5.0
    )


@pytest.mark.parametrize("read_timeout", [0.2, None], ids=["read-is-idle", "read-untimed"])
async def test_an_event_source_made_from_a_response_fails_a_silent_stream_with_idle_timeout(
    read_timeout: float | None,
) -> None:
    # A caller that opens the response itself (as a request pipeline does) and sets the read
    # timeout to the idle timeout lets httpx's transport time the reads; with an untimed read
    # the source times them itself. Either way the consumer sees IdleTimeoutError.
    async with (
        sse_server(_silent_after_one_event) as server,
        httpx.AsyncClient(timeout=httpx.Timeout(None, read=read_timeout)) as client,
        client.stream("GET", server.url) as response,
        EventSource(response, idle_timeout=0.2) as source,
    ):
        assert (await source.__anext__()).data == "hello"
        with pytest.raises(IdleTimeoutError, match="idle_timeout"):
            await source.__anext__()
        assert response.is_closed
