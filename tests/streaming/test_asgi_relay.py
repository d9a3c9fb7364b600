"""SSEResponse in a real server (FastAPI on uvicorn, over loopback) and in-process under both
backends: events reach the browser, heartbeats flow, and a client that disconnects mid-stream
gets the upstream closed at once."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, MutableMapping
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx
import pytest

from streaming import ServerSentEvent, SSEDecoder, SSEResponse, StarletteSSEResponse, connect_sse
from tests.streaming.relay_app import Record, relay_server

#: The promise: the upstream is closed within this long of the client's disconnect.
CLOSE_BOUND = 0.1


@pytest.fixture(scope="module")
def relay() -> Iterator[tuple[str, Record]]:
    with relay_server() as served:
        yield served


async def _wait_closed(closed: Any) -> float:
    assert await anyio.to_thread.run_sync(closed.event.wait, 5.0), "never closed"
    return float(closed.at)


@pytest.mark.parametrize("route", ["relay", "upstream"])
async def test_a_client_that_disconnects_mid_stream_gets_the_upstream_closed_at_once(
    relay: tuple[str, Record], route: str
) -> None:
    url, record = relay
    relays, upstreams = len(record.relay_closed), len(record.upstream_closed)
    async with (
        httpx.AsyncClient(timeout=10) as client,
        # drain_timeout=0: leaving closes the connection at once, mid-body.
        connect_sse(client, "GET", f"{url}/{route}?every=0.01", drain_timeout=0) as source,
    ):
        headers = source.response.headers
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert headers["cache-control"] == "no-store"
        events = [await source.__anext__() for _ in range(3)]
        assert [event.data for event in events] == ["tick 1", "tick 2", "tick 3"]
        disconnected_at = time.monotonic()
    # Leaving the block closed the response mid-body: httpx dropped the connection.
    if route == "relay":
        (closed,) = record.relay_closed[relays:]
        relay_closed_at = await _wait_closed(closed)
        assert relay_closed_at - disconnected_at < CLOSE_BOUND
    # Through the relay, the upstream's own server saw its client (the relay) leave too.
    (upstream,) = record.upstream_closed[upstreams:]
    upstream_closed_at = await _wait_closed(upstream)
    assert upstream_closed_at - disconnected_at < CLOSE_BOUND


async def test_typed_events_go_through_the_serializer_with_the_headers(
    relay: tuple[str, Record],
) -> None:
    url, _ = relay
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/typed")
    assert response.headers["x-relay"] == "typed"
    # A header the caller gives replaces the default of the same name.
    assert response.headers["cache-control"] == "no-cache"
    decoder = SSEDecoder()
    events = decoder.feed(response.content) + decoder.end()
    assert events == [
        ServerSentEvent("token", "Hel", "0"),
        ServerSentEvent("token", "lo", "1"),
        ServerSentEvent("token", "\nworld", "2"),
    ]


async def test_heartbeats_flow_while_the_source_is_quiet(relay: tuple[str, Record]) -> None:
    url, _ = relay
    comments: list[str] = []
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/quiet")
    decoder = SSEDecoder(on_comment=comments.append)
    assert decoder.feed(response.content) == [ServerSentEvent(data="finally")]
    # 0.35 s of silence with a heartbeat every 0.1 s.
    assert 2 <= comments.count(" ping") <= 4


@pytest.mark.parametrize("on_error", [True, False])
async def test_a_failing_source_ends_the_response(
    relay: tuple[str, Record], on_error: bool
) -> None:
    url, _ = relay
    async with httpx.AsyncClient(timeout=10) as client:
        if on_error:
            response = await client.get(f"{url}/failing?on_error=1")
            decoder = SSEDecoder()
            assert decoder.feed(response.content) == [
                ServerSentEvent(data="one"),
                ServerSentEvent(data="two"),
                ServerSentEvent("error", "upstream broke"),
            ]
        else:
            # Without on_error the error reaches the server, which cuts the response short.
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(f"{url}/failing")


# -- in-process, on both backends ---------------------------------------------------------------


class _Endless:
    def __init__(self) -> None:
        self.closed = False
        self.sent = 0

    def __aiter__(self) -> _Endless:
        return self

    async def __anext__(self) -> str:
        await anyio.sleep(0.01)
        self.sent += 1
        return f"n{self.sent}"

    async def aclose(self) -> None:
        # A close that awaits: it must run even though the relay was cancelled.
        await anyio.lowlevel.checkpoint()
        self.closed = True


async def test_a_disconnect_message_cancels_the_relay_and_closes_the_source() -> None:
    source = _Endless()
    response = SSEResponse(source, heartbeat=None)
    sent: list[MutableMapping[str, Any]] = []
    disconnect = anyio.Event()

    async def receive() -> MutableMapping[str, Any]:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        if len(sent) == 4:
            disconnect.set()

    with anyio.fail_after(5):
        await response({"type": "http"}, receive, send)
    assert source.closed
    assert response.outcome == "disconnected"
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 200
    assert [m["body"] for m in sent[1:4]] == [b"data: n1\n\n", b"data: n2\n\n", b"data: n3\n\n"]


async def test_a_server_that_cannot_write_any_more_is_a_disconnect() -> None:
    source = _Endless()

    async def receive() -> MutableMapping[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the client went away")  # uvicorn's ClientDisconnected is an OSError

    response = SSEResponse(source, heartbeat=None)
    with anyio.fail_after(5):
        await response({"type": "http"}, receive, send)
    assert source.closed
    assert response.outcome == "disconnected"


async def test_a_source_that_ends_ends_the_body_and_is_closed() -> None:
    closed: list[bool] = []

    async def tokens() -> AsyncGenerator[str, None]:
        try:
            yield "a"
            yield "b\nc"
        finally:
            closed.append(True)

    source = tokens()
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    response = SSEResponse(source)
    await response({"type": "http"}, receive, send)
    assert b"".join(m.get("body", b"") for m in sent) == b"data: a\n\ndata: b\ndata: c\n\n"
    assert sent[-1]["more_body"] is False
    assert response.outcome == "completed"
    assert response.events_sent == 2
    assert closed == [True]


async def test_an_item_the_relay_cannot_encode_names_its_type() -> None:
    async def numbers() -> AsyncIterator[int]:
        yield 1

    async def receive() -> MutableMapping[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        pass

    with pytest.raises(TypeError, match="not int: pass serializer="):
        await SSEResponse(numbers())({"type": "http"}, receive, send)


def test_bad_arguments_are_named() -> None:
    async def nothing() -> AsyncIterator[str]:
        yield ""

    with pytest.raises(ValueError, match="heartbeat"):
        SSEResponse(nothing(), heartbeat=0)
    with pytest.raises(TypeError, match="SSEResponse's source must be an async iterable"):
        SSEResponse([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="serializer must be callable"):
        SSEResponse(nothing(), serializer="json")  # type: ignore[arg-type]


async def test_a_response_relays_once_and_only_http() -> None:
    async def nothing() -> AsyncIterator[str]:
        items: tuple[str, ...] = ()
        for item in items:
            yield item

    async def receive() -> MutableMapping[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        pass

    response = SSEResponse(nothing())
    with pytest.raises(ValueError, match="not 'websocket'"):
        await response({"type": "websocket"}, receive, send)
    await response({"type": "http"}, receive, send)
    with pytest.raises(RuntimeError, match="once"):
        await response({"type": "http"}, receive, send)


def test_the_starlette_response_is_a_starlette_response() -> None:
    from starlette.responses import Response

    async def nothing() -> AsyncIterator[str]:
        yield ""

    response = StarletteSSEResponse(nothing(), headers={"X-A": "b"})
    assert isinstance(response, Response)
    assert response.headers["x-a"] == "b"
    assert response.media_type == "text/event-stream"
