"""The connection pool: limits, keep-alive reuse and expiry, safe retries, timeouts."""

from __future__ import annotations

import contextlib

import anyio
import httpx
import pytest

from openai_ergo._transport import HTTP11Transport
from tests.openai_ergo.transport.loopback import Received, Reply, serve

# Parametrized async tests need the mark at collection time (the conftest adds it later).
pytestmark = pytest.mark.anyio

OK = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])


def client(**kwargs: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=HTTP11Transport(**kwargs), timeout=10)  # type: ignore[arg-type]


async def test_sequential_requests_reuse_one_connection() -> None:
    async with serve(OK) as server, client() as http:
        for _ in range(5):
            assert (await http.get(server.url())).text == "ok"
    assert server.connections == 1
    assert len(server.received) == 5


async def test_200_concurrent_requests_share_ten_connections() -> None:
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=10)
    replies: list[str] = []
    async with serve(OK) as server, client(limits=limits) as http:

        async def one() -> None:
            replies.append((await http.get(server.url())).text)

        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(one)
    assert replies == ["ok"] * 200
    assert 1 <= server.connections <= 10
    assert len(server.received) == 200


async def test_idle_connections_expire() -> None:
    async with serve(OK) as server, client(limits=httpx.Limits(keepalive_expiry=0.01)) as http:
        await http.get(server.url())
        await anyio.sleep(0.05)
        await http.get(server.url())
    assert server.connections == 2


async def test_no_keepalive_means_a_connection_per_request() -> None:
    limits = httpx.Limits(max_keepalive_connections=0)
    async with serve(OK) as server, client(limits=limits) as http:
        for _ in range(3):
            await http.get(server.url())
    assert server.connections == 3


async def test_a_connection_closed_by_the_server_while_idle_is_not_reused() -> None:
    closing = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], close_after=True)
    async with serve(closing) as server, client() as http:
        await http.get(server.url())
        await anyio.sleep(0.01)  # let the FIN arrive
        # Even a POST goes through: the closed socket is seen before anything is sent.
        assert (await http.post(server.url(), content=b"x")).text == "ok"
    assert server.connections == 2


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(("GET", {}, True), id="GET"),
        pytest.param(("PUT", {}, True), id="PUT"),
        pytest.param(("DELETE", {}, True), id="DELETE"),
        pytest.param(("POST", {}, False), id="POST"),
        pytest.param(("PATCH", {}, False), id="PATCH"),
        pytest.param(("POST", {"Idempotency-Key": "k-1"}, True), id="POST-with-idempotency-key"),
    ],
)
async def test_a_kept_alive_connection_closed_before_responding_is_retried_once_if_idempotent(
    case: tuple[str, dict[str, str], bool],
) -> None:
    verb, extra_headers, retried = case
    seen: dict[int, int] = {}

    def respond(request: Received) -> Reply:
        seen[request.connection] = seen.get(request.connection, 0) + 1
        return OK if seen[request.connection] == 1 else Reply(close_before=True)

    async with serve(respond) as server, client() as http:
        await http.get(server.url())
        if retried:
            response = await http.request(verb, server.url(), headers=extra_headers, content=b"b")
            assert response.text == "ok"
            assert server.connections == 2
            assert [r.body for r in server.received[1:]] == [b"b", b"b"]
        else:
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                await http.request(verb, server.url(), headers=extra_headers, content=b"b")
            assert server.connections == 1
            assert len(server.received) == 2


async def test_the_retry_happens_only_once() -> None:
    def respond(request: Received) -> Reply:
        return OK if len(server.received) == 1 else Reply(close_before=True)

    async with serve(respond) as server, client() as http:
        await http.get(server.url())
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(server.url())
    assert len(server.received) == 3
    assert server.connections == 2


async def test_a_streaming_body_is_not_replayed() -> None:
    seen: list[int] = []

    def respond(request: Received) -> Reply:
        seen.append(request.connection)
        return OK if len(seen) == 1 else Reply(close_before=True)

    async def body() -> object:
        yield b"part"

    async with serve(respond) as server, client() as http:
        await http.get(server.url())
        with pytest.raises(httpx.RemoteProtocolError):
            await http.put(server.url(), content=body())  # type: ignore[arg-type]
    assert len(seen) == 2


async def test_pool_timeout_when_every_connection_is_busy() -> None:
    limits = httpx.Limits(max_connections=1)
    async with serve(OK) as server, client(limits=limits) as http:
        async with http.stream("GET", server.url()):
            with pytest.raises(httpx.PoolTimeout):
                await http.get(server.url(), timeout=httpx.Timeout(10, pool=0.01))
        # The slot frees when the stream closes.
        assert (await http.get(server.url())).text == "ok"


async def test_a_full_pool_evicts_an_idle_connection_to_another_origin() -> None:
    limits = httpx.Limits(max_connections=1)
    async with serve(OK) as first, serve(OK) as second, client(limits=limits) as http:
        await http.get(first.url())
        await http.get(second.url())
        await http.get(first.url())
    assert (first.connections, second.connections) == (2, 1)


async def test_statistics_follow_the_connection_lifecycle() -> None:
    def respond(request: Received) -> Reply:
        if request.target == "/big":
            return Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 9000000\r\n\r\n", b"x" * 9_000_000])
        return OK

    transport = HTTP11Transport()
    async with serve(respond) as server, httpx.AsyncClient(transport=transport) as http:
        async with http.stream("GET", server.url()) as response:
            assert transport.statistics()["busy"] == 1
            await response.aread()
        assert transport.statistics() == {"busy": 0, "idle": 1, "opening": 0, "waiting": 0}
        async with http.stream("GET", server.url("/big")):
            pass  # closed before the body arrived: the connection cannot be reused
        assert transport.statistics() == {"busy": 0, "idle": 0, "opening": 0, "waiting": 0}


async def test_closing_the_transport_closes_idle_connections() -> None:
    async with serve(OK) as server:
        async with client() as http:
            await http.get(server.url())
            assert server.open_connections == 1
        for _ in range(200):
            if server.open_connections == 0:
                break
            await anyio.sleep(0.005)
        assert server.open_connections == 0


async def test_a_closed_transport_refuses_requests() -> None:
    transport = HTTP11Transport()
    await transport.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))


@pytest.mark.parametrize(
    "segments",
    [
        pytest.param([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE"], id="same-read"),
        pytest.param([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"GARBAGE"], id="later"),
    ],
)
async def test_bytes_after_a_response_keep_the_connection_from_reuse(
    segments: list[bytes],
) -> None:
    replies = [Reply(segments, pause=0.01), OK]
    garbage_sent = sum(map(len, segments))
    async with serve(lambda _: replies.pop(0)) as server, client() as http:
        assert (await http.get(server.url())).text == "ok"
        # Wait for the server to have written the stray bytes (a fixed sleep raced a loaded
        # machine): on loopback a completed send is already in the client's receive buffer.
        for _ in range(1000):
            if server.sent >= garbage_sent:
                break
            await anyio.sleep(0.005)
        assert server.sent == garbage_sent
        assert (await http.get(server.url())).text == "ok"
    assert server.connections == 2


async def test_at_most_max_keepalive_connections_stay_idle() -> None:
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=2)
    transport = HTTP11Transport(limits=limits)
    async with serve(OK) as server, httpx.AsyncClient(transport=transport) as http:
        async with contextlib.AsyncExitStack() as stack:
            responses = [
                await stack.enter_async_context(http.stream("GET", server.url())) for _ in range(5)
            ]
            assert transport.statistics()["busy"] == 5
            for response in responses:
                await response.aread()
        assert transport.statistics() == {"busy": 0, "idle": 2, "opening": 0, "waiting": 0}
        for _ in range(400):
            if server.open_connections == 2:
                break
            await anyio.sleep(0.005)
        assert server.open_connections == 2
    assert server.connections == 5
