"""EventSource and connect_sse over a real loopback socket: pull, time, ownership, errors."""

from __future__ import annotations

import gc
import gzip

import anyio
import httpx
import pytest

from streaming import (
    DeadlineExceededError,
    EventSource,
    IdleTimeoutError,
    ServerSentEvent,
    SSEError,
    SSELimitError,
    StreamTimeoutError,
    connect_sse,
)
from tests.streaming.loopback import Exchange, Handler, sse_server


def numbered(count: int, size: int = 0) -> list[bytes]:
    """`count` events `id: i / data: i` (padded with `size` bytes of filler)."""
    pad = b"x" * size
    return [b"id: %d\ndata: %d%s\n\n" % (i, i, pad) for i in range(count)]


async def collect(source: EventSource, into: list[str]) -> None:
    """Append the data of every event to `into` until the stream ends or fails."""
    async for event in source:
        into.append(event.data)


def serve_events(events: list[bytes]) -> Handler:
    async def handler(exchange: Exchange) -> None:
        await exchange.start()
        for event in events:
            await exchange.send(event)

    return handler


async def test_events_arrive_in_order_with_the_right_request_headers() -> None:
    async with (
        sse_server(serve_events(numbered(3))) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "POST", server.url + "/v1/stream", json={"a": 1}) as source,
    ):
        events = [event async for event in source.aiter_sse()]
        assert source.last_event_id == "2"
    assert events == [ServerSentEvent("message", str(i), str(i)) for i in range(3)]
    request = server.requests[0]
    assert (request.method, request.target, request.body) == ("POST", "/v1/stream", b'{"a":1}')
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["cache-control"] == "no-store"


async def test_next_batch_returns_what_one_read_decoded_and_empty_only_at_the_end() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.start()
        await exchange.send(b"data: a\n\ndata: b\n\ndata: c")  # one write, two and a half events
        await exchange.send(b"\n\n")

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url) as source,
    ):
        batches = []
        while batch := await source.next_batch():
            batches.append([event.data for event in batch])
        assert await source.next_batch() == []
    assert [data for batch in batches for data in batch] == ["a", "b", "c"]
    assert batches[-1] == ["c"]


async def test_iteration_and_batches_mix_without_losing_events() -> None:
    async with (
        sse_server(serve_events([b"data: 1\n\ndata: 2\n\ndata: 3\n\n"])) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url) as source,
    ):
        first = await source.__anext__()
        rest = await source.next_batch()
    assert [first.data, *(event.data for event in rest)] == ["1", "2", "3"]


async def test_a_slow_consumer_holds_the_server_back_through_tcp() -> None:
    total = 20_000
    events = numbered(total, size=1000)  # ~20 MB: far more than socket buffers hold

    async with (
        sse_server(serve_events(events)) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url) as source,
    ):
        await source.next_batch()
        await anyio.wait_all_tasks_blocked()
        exchange = server.exchanges[0]
        held_at = exchange.bytes_sent
        await anyio.wait_all_tasks_blocked()
        # The server is stuck in a write while the client reads nothing: pull backpressure.
        assert exchange.bytes_sent == held_at
        assert held_at < sum(map(len, events)) // 2
        stats = source.statistics()
        assert stats.bytes_read < 1_000_000
        assert stats.events_buffered < 100
        # Reading frees the server again.
        read = stats.events_read
        while source.statistics().events_read < read + 5000:
            assert await source.next_batch()
        await anyio.wait_all_tasks_blocked()
        assert exchange.bytes_sent > held_at


async def test_prefetch_reads_ahead_a_bounded_number_of_events() -> None:
    total = 5000
    async with (
        sse_server(serve_events(numbered(total, size=1000))) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, prefetch=8) as source,
    ):
        await anyio.wait_all_tasks_blocked()
        stats = source.statistics()
        assert stats.max_buffered == 8
        assert stats.prefetch_waiting
        # Read-ahead stops at 8 events; one read (64 KiB) may bring a few more.
        assert 8 <= stats.events_buffered <= 8 + 70
        assert stats.events_read == stats.events_buffered
        await anyio.wait_all_tasks_blocked()
        assert source.statistics().events_read == stats.events_read
        received = [event.id async for event in source]
    assert received == [str(i) for i in range(total)]


async def test_prefetch_needs_an_owner() -> None:
    async with (
        sse_server(serve_events(numbered(2))) as server,
        httpx.AsyncClient() as client,
        client.stream("GET", server.url) as response,
    ):
        source = EventSource(response, prefetch=4)
        with pytest.raises(RuntimeError, match="async with"):
            await source.next_batch()
        assert response.is_closed


async def test_prefetch_hands_over_events_then_the_error() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.start()
        await exchange.send(b"data: a\n\ndata: b\n\n")
        await exchange.abort()

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, prefetch=4) as source,
    ):
        received: list[str] = []
        with pytest.raises(httpx.RemoteProtocolError):
            await collect(source, received)
    assert received == ["a", "b"]


async def test_a_silent_stream_fails_fast_with_idle_timeout() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.send(b"data: hello\n\n")
        await anyio.sleep_forever()

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, idle_timeout=0.2) as source,
    ):
        assert (await source.__anext__()).data == "hello"
        with pytest.raises(IdleTimeoutError, match="idle_timeout") as caught:
            await source.__anext__()
        assert source.response.is_closed
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.timeout == 0.2


async def test_a_wrapped_response_times_its_own_reads() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.send(b"data: hello\n\n")
        await anyio.sleep_forever()

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", server.url) as response,
        EventSource(response, idle_timeout=0.1) as source,
    ):
        assert [event.data for event in await source.next_batch()] == ["hello"]
        with pytest.raises(IdleTimeoutError):
            await source.next_batch()
        assert response.is_closed


async def test_the_idle_timeout_covers_waiting_for_the_headers() -> None:
    async def handler(exchange: Exchange) -> None:
        await anyio.sleep_forever()

    async with sse_server(handler) as server, httpx.AsyncClient() as client:
        with pytest.raises(IdleTimeoutError, match="sent nothing"):
            async with connect_sse(client, "GET", server.url, idle_timeout=0.1):
                pass


async def test_a_compressed_stream_is_decoded() -> None:
    body = gzip.compress(b"".join(numbered(100)))

    async def handler(exchange: Exchange) -> None:
        await exchange.start(headers=[("Content-Encoding", "gzip")])
        for start in range(0, len(body), 100):
            await exchange.send(body[start : start + 100])

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url) as source,
    ):
        assert [event.id async for event in source] == [str(i) for i in range(100)]


async def test_comments_keep_a_stream_alive() -> None:
    async def handler(exchange: Exchange) -> None:
        for _ in range(6):
            await exchange.send(b": keep-alive\n")
            await anyio.sleep(0.1)
        await exchange.send(b"data: late\n\n")

    comments: list[str] = []
    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(
            client, "GET", server.url, idle_timeout=0.4, on_comment=comments.append
        ) as source,
    ):
        events = [event.data async for event in source]
    assert events == ["late"]
    assert comments == [" keep-alive"] * 6


async def test_the_deadline_ends_a_stream_that_never_stops() -> None:
    async def handler(exchange: Exchange) -> None:
        for i in range(1000):
            await exchange.send(b"data: %d\n\n" % i)
            await anyio.sleep(0.01)

    received: list[str] = []
    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, deadline=0.3) as source,
    ):
        with pytest.raises(DeadlineExceededError, match="deadline") as caught:
            await collect(source, received)
    assert isinstance(caught.value, StreamTimeoutError)
    assert isinstance(caught.value, TimeoutError)
    assert received == [str(i) for i in range(len(received))]
    assert 0 < len(received) < 1000


def serve_whole(events: list[bytes]) -> Handler:
    """The events as one body with a Content-Length, written at once: when the client has read
    any event the rest is already on its socket, so reusing the connection depends on no timing
    (a body still arriving is drained only while it keeps coming, which a loaded machine can
    pause)."""

    async def handler(exchange: Exchange) -> None:
        await exchange.respond(200, b"".join(events), content_type="text/event-stream")

    return handler


async def test_break_gives_the_connection_back_for_reuse() -> None:
    async with sse_server(serve_whole(numbered(50))) as server, httpx.AsyncClient() as client:
        for _ in range(3):
            async with connect_sse(client, "GET", server.url) as source:
                async for event in source:
                    if event.id == "1":
                        break
            assert source.response.is_closed
        source = await connect_sse(client, "GET", server.url).__aenter__()
        await source.__anext__()
        await source.aclose()
        await source.aclose()  # idempotent
    assert len(server.requests) == 4
    assert server.connections == 1


async def test_leaving_an_endless_stream_closes_its_connection() -> None:
    async def handler(exchange: Exchange) -> None:
        for i in range(100_000):
            await exchange.send(b"data: %d\n\n" % i)
            await anyio.sleep(0.001)

    async with sse_server(handler) as server, httpx.AsyncClient() as client:
        for _ in range(2):
            async with connect_sse(client, "GET", server.url) as source:
                async for _event in source:
                    break
    assert server.connections == 2


async def test_cancelling_mid_stream_closes_the_response() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.send(b"data: one\n\n")
        await anyio.sleep_forever()

    async with sse_server(handler) as server, httpx.AsyncClient() as client:
        with anyio.CancelScope() as scope:
            async with connect_sse(client, "GET", server.url) as source:
                async for _event in source:
                    scope.cancel()
        assert scope.cancelled_caught
        assert source.response.is_closed
        async with connect_sse(client, "GET", server.url, idle_timeout=5) as again:
            assert (await again.__anext__()).data == "one"


async def test_cancelling_a_read_without_a_block_still_closes() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.start()
        await anyio.sleep_forever()

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        client.stream("GET", server.url) as response,
    ):
        source = EventSource(response)
        with anyio.move_on_after(0.05):
            await source.next_batch()
        assert response.is_closed


NOT_EVENT_STREAMS = [
    (404, "application/json", b'{"error": {"message": "no such model"}}'),
    (200, "text/html; charset=utf-8", b"<html>" + b"x" * 100_000),
    (500, "text/event-stream", b"data: boom\n\n"),
]


async def test_an_answer_that_is_not_an_event_stream_is_a_clear_error() -> None:
    # One test over the cases: anyio's plugin and parametrized coroutine tests do not mix here.
    for status, content_type, body in NOT_EVENT_STREAMS:

        async def handler(
            exchange: Exchange, status: int = status, body: bytes = body, media: str = content_type
        ) -> None:
            await exchange.respond(status, body, content_type=media)

        async with sse_server(handler) as server, httpx.AsyncClient() as client:
            with pytest.raises(SSEError) as caught:
                async with connect_sse(client, "GET", server.url + "/x?key=sk-secret-value"):
                    pass
        error = caught.value
        assert (error.status_code, error.content_type) == (status, content_type)
        assert error.body == body[:4096].decode()
        assert str(status if status != 200 else "text/html") in str(error)
        assert body[:10].decode() in str(error)
        assert "sk-secret-value" not in str(error) + repr(error)
        assert len(str(error)) < 400


async def test_event_stream_media_type_parameters_are_ignored() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.start(content_type="Text/Event-Stream; charset=latin-1")
        await exchange.send("data: é\n\n".encode())

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url) as source,
    ):
        assert [event.data async for event in source] == ["é"]


async def test_a_wrapped_response_is_checked_on_first_read() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.respond(200, b"{}")

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        client.stream("GET", server.url) as response,
    ):
        with pytest.raises(SSEError, match="application/json"):
            await EventSource(response).next_batch()


async def test_a_204_is_an_empty_stream() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.start(204, [("Content-Length", "0")], content_type=None)

    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url) as source,
    ):
        assert [event async for event in source] == []


async def test_a_broken_stream_delivers_everything_before_the_break() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.send(b"data: a\n\ndata: b\n\ndata: half")
        await exchange.abort()

    received: list[str] = []
    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url) as source,
    ):
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await collect(source, received)
        assert source.response.is_closed
    assert received == ["a", "b"]
    assert caught.value.request.url == httpx.URL(server.url)


async def test_a_line_over_the_limit_comes_after_the_events_before_it() -> None:
    async def handler(exchange: Exchange) -> None:
        await exchange.send(b"data: a\n\ndata: " + b"x" * 5000 + b"\n\n")

    received: list[str] = []
    async with (
        sse_server(handler) as server,
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", server.url, max_line_size=1024) as source,
    ):
        with pytest.raises(SSELimitError, match="max_line_size=1024"):
            await collect(source, received)
    assert received == ["a"]


async def test_a_consumed_source_does_not_warn() -> None:
    async with sse_server(serve_events(numbered(3))) as server, httpx.AsyncClient() as client:
        response = await client.send(client.build_request("GET", server.url), stream=True)
        source = EventSource(response)
        assert len([event async for event in source]) == 3
        del source
        gc.collect()  # a warning here would fail the test (warnings are errors)


@pytest.mark.parametrize(
    "options",
    [{"idle_timeout": 0}, {"deadline": -1.0}, {"prefetch": -1}, {"max_line_size": 0}],
)
def test_bad_options_are_refused(options: dict[str, float]) -> None:
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"")
    with pytest.raises(ValueError, match=next(iter(options))):
        EventSource(response, **options)  # type: ignore[arg-type]


class _Reads(httpx.AsyncByteStream):
    """A body handed over in the given reads, empty ones included."""

    def __init__(self, reads: list[bytes]) -> None:
        self._reads = iter(reads)

    def __aiter__(self) -> _Reads:
        return self

    async def __anext__(self) -> bytes:
        try:
            return next(self._reads)
        except StopIteration:
            raise StopAsyncIteration from None


async def test_an_empty_read_mid_body_is_not_the_end_of_the_stream() -> None:
    reads = [b"data: a\n\n", b"", b"data: b\n\n", b"", b""]

    def app(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=_Reads(reads))

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(app)) as client,
        client.stream("GET", "http://test/feed") as response,
        EventSource(response) as source,
    ):
        assert [event.data async for event in source] == ["a", "b"]
