"""Response bodies: large reads, pull-based backpressure, early close, errors mid-stream."""

from __future__ import annotations

import gc
import os

import anyio
import httpx
import pytest

from openai_ergo._transport import HTTP11Transport
from tests.openai_ergo.transport.loopback import Received, Reply, serve

pytestmark = pytest.mark.anyio

CHUNKED_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


async def first_piece_then_close(response: httpx.Response) -> bytes:
    """Read one piece, close the response early, then let httpx's own async generators run
    to their (now immediate) end: under trio, unfinished ones warn when collected."""
    iterator = response.aiter_raw()
    first = await iterator.__anext__()
    await response.aclose()
    async for _piece in iterator:
        raise AssertionError("a closed response yielded more data")
    return first


def drop(responses: list[httpx.Response]) -> None:
    """Lose the last references to unclosed responses and collect them."""
    responses.clear()
    gc.collect()


def open_descriptors() -> int | None:
    """How many file descriptors this process has open (None where /proc is absent)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def events(count: int) -> list[bytes]:
    return [b'data: {"n": %d, "delta": "token"}\n\n' % n for n in range(count)]


async def test_one_read_yields_many_events_at_once() -> None:
    sent = events(300)
    reply = Reply([CHUNKED_HEAD, b"".join(chunk(e) for e in sent) + b"0\r\n\r\n"])
    async with (
        serve(reply) as server,
        httpx.AsyncClient(transport=HTTP11Transport()) as client,
        client.stream("GET", server.url()) as response,
    ):
        pieces = [piece async for piece in response.aiter_raw()]
    assert b"".join(pieces) == b"".join(sent)
    # The 300 HTTP chunks arrive in a handful of socket reads, not one piece per chunk.
    assert len(pieces) < len(sent) // 10


async def test_nothing_is_read_until_the_consumer_asks() -> None:
    block = b"x" * (1 << 20)
    total = 64 * len(block)
    reply = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total] + [block] * 64)
    async with (
        serve(reply) as server,
        httpx.AsyncClient(transport=HTTP11Transport()) as client,
        client.stream("GET", server.url()) as response,
    ):
        iterator = response.aiter_raw()
        received = len(await iterator.__anext__())
        for _ in range(20):
            await anyio.sleep(0.005)
        stalled_at = server.sent
        # The server is blocked by TCP flow control: far from done while we do not read.
        assert stalled_at < total // 2
        async for piece in iterator:
            received += len(piece)
    assert received == total


async def test_early_closed_streams_leak_nothing() -> None:
    reply = Reply([CHUNKED_HEAD, b"".join(chunk(e) for e in events(2000))])
    fds_before = open_descriptors()
    transport = HTTP11Transport()
    async with serve(reply) as server, httpx.AsyncClient(transport=transport) as client:
        for _ in range(1000):
            async with client.stream("GET", server.url()) as response:
                assert (await first_piece_then_close(response)).startswith(b"data: ")
            assert transport.statistics()["busy"] == 0
        assert transport.statistics()["idle"] == 0
        for _ in range(400):
            if server.open_connections == 0:
                break
            await anyio.sleep(0.005)
        assert server.open_connections == 0
        assert server.connections == 1000
    if fds_before is not None:
        gc.collect()
        after = open_descriptors()
        assert after is not None
        assert after <= fds_before


async def test_a_body_read_to_the_end_returns_the_connection() -> None:
    reply = Reply([CHUNKED_HEAD, chunk(b"data: x\n\n"), b"0\r\n\r\n"])
    transport = HTTP11Transport()
    async with serve(reply) as server, httpx.AsyncClient(transport=transport) as client:
        for _ in range(3):
            async with client.stream("GET", server.url()) as response:
                async for _piece in response.aiter_raw():
                    pass
                # Returned at the end of the body, before the block even closes.
                assert transport.statistics()["idle"] == 1
    assert server.connections == 1


async def test_a_stream_dropped_unclosed_warns_and_its_socket_is_closed() -> None:
    # Only our ResourceWarning: the socket is closed by the pool, not left to garbage
    # collection (whose own "unclosed socket/transport" warning would fail under -W error).
    reply = Reply([CHUNKED_HEAD, chunk(b"data: x\n\n")])
    transport = HTTP11Transport()
    async with serve(reply) as server, httpx.AsyncClient(transport=transport) as client:
        dropped = [await client.send(client.build_request("GET", server.url()), stream=True)]
        with pytest.warns(ResourceWarning, match="never closed") as warned:
            drop(dropped)
        assert len(warned) == 1
        assert transport.statistics() == {"busy": 0, "idle": 0, "opening": 0, "waiting": 0}
        assert server.open_connections == 1
        # The next request closes the dropped socket before it opens a connection.
        async with client.stream("GET", server.url()) as response:
            await first_piece_then_close(response)
        for _ in range(400):
            if server.open_connections == 0:
                break
            await anyio.sleep(0.005)
        assert server.open_connections == 0
        assert server.connections == 2


async def test_a_socket_dropped_unclosed_is_closed_with_the_transport() -> None:
    reply = Reply([CHUNKED_HEAD, chunk(b"data: x\n\n")])
    async with serve(reply) as server:
        async with httpx.AsyncClient(transport=HTTP11Transport()) as client:
            dropped = [await client.send(client.build_request("GET", server.url()), stream=True)]
            with pytest.warns(ResourceWarning, match="never closed"):
                drop(dropped)
        for _ in range(400):
            if server.open_connections == 0:
                break
            await anyio.sleep(0.005)
        assert server.open_connections == 0


async def test_a_disconnect_mid_stream_keeps_what_arrived() -> None:
    reply = Reply(
        [CHUNKED_HEAD, chunk(b"data: one\n\n"), chunk(b"data: two\n\n")], close_after=True
    )
    received: list[bytes] = []

    async def read_all(response: httpx.Response) -> None:
        async for piece in response.aiter_raw():
            received.append(piece)

    async with (
        serve(reply) as server,
        httpx.AsyncClient(transport=HTTP11Transport()) as client,
        client.stream("GET", server.url()) as response,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match="peer closed"):
            await read_all(response)
    assert b"".join(received) == b"data: one\n\ndata: two\n\n"


async def test_a_silent_server_raises_read_timeout() -> None:
    reply = Reply([CHUNKED_HEAD, chunk(b"data: one\n\n")])
    transport = HTTP11Transport()
    async with (
        serve(reply) as server,
        httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5, read=0.05)) as client,
    ):
        async with client.stream("GET", server.url()) as response:
            with pytest.raises(httpx.ReadTimeout):
                async for _piece in response.aiter_raw():
                    pass
        assert transport.statistics() == {"busy": 0, "idle": 0, "opening": 0, "waiting": 0}


async def test_a_silent_server_times_out_before_the_head() -> None:
    async with (
        serve(Reply([b"HTTP/1.1 200"])) as server,
        httpx.AsyncClient(transport=HTTP11Transport(), timeout=httpx.Timeout(5, read=0.05)) as c,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await c.get(server.url())


async def test_cancelling_a_read_closes_the_connection() -> None:
    reply = Reply([CHUNKED_HEAD, chunk(b"data: one\n\n")])
    transport = HTTP11Transport()
    async with serve(reply) as server, httpx.AsyncClient(transport=transport) as client:
        async with client.stream("GET", server.url()) as response:
            with anyio.move_on_after(0.05):
                async for _piece in response.aiter_raw():
                    pass
        assert transport.statistics() == {"busy": 0, "idle": 0, "opening": 0, "waiting": 0}
        # The pool is still usable afterwards.
        async with client.stream("GET", server.url()) as response:
            assert (await first_piece_then_close(response)) == b"data: one\n\n"


async def test_head_responses_have_no_body_and_keep_the_connection() -> None:
    def respond(request: Received) -> Reply:
        if request.method == "HEAD":
            return Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"])
        return Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"])

    async with serve(respond) as server, httpx.AsyncClient(transport=HTTP11Transport()) as c:
        head = await c.head(server.url())
        assert (head.headers["content-length"], head.content) == ("5", b"")
        assert (await c.get(server.url())).content == b"hello"
    assert server.connections == 1


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ],
    ids=["304-with-length", "304-chunked", "204-with-length", "204"],
)
async def test_204_and_304_have_no_body_whatever_their_framing_says(head: bytes) -> None:
    replies = [Reply([head]), Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"])]
    async with (
        serve(lambda _: replies.pop(0)) as server,
        httpx.AsyncClient(transport=HTTP11Transport(), timeout=5) as c,
    ):
        assert (await c.get(server.url())).content == b""
        assert (await c.get(server.url())).content == b"hello"
    assert server.connections == 1
