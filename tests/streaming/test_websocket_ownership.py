"""Who holds what on a WebSocket stream, over loopback: backpressure reaches the server, a
cancelled read and a `break` close the connection properly, many connections leak nothing, and a
stream dropped unclosed says so."""

from __future__ import annotations

import gc
import os
import warnings
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from wsproto.events import TextMessage

from streaming import WebSocketClosedError, WebSocketStream, connect_websocket
from tests.streaming.ws_loopback import Peer, WebSocketServer, ws_server

#: 16 KiB messages, 32 MiB in all: far more than loopback's socket buffers hold.
MESSAGE = "m" * 16384
TOTAL = 2048


async def _until_stalled(peer: Peer, quiet: float = 0.3) -> int:
    """Wait until the peer's sends stop making progress; returns how many went out."""
    sent = -1
    while sent != peer.messages_sent:
        sent = peer.messages_sent
        await anyio.sleep(quiet)
    return sent


async def _firehose(peer: Peer) -> None:
    await peer.accept()
    for i in range(TOTAL):
        await peer.send(f"{i:06d}" + MESSAGE)
    await peer.wait_closed()


async def test_a_consumer_that_does_not_read_holds_the_server_back() -> None:
    async with ws_server(_firehose) as server, connect_websocket(server.url) as ws:
        first = await ws.receive()
        assert isinstance(first, str)
        assert first.startswith("000000")
        with anyio.fail_after(30):
            stalled = await _until_stalled(server.peers[0])
        # The server's sends block: what it could send fits in the socket buffers.
        assert stalled < TOTAL
        read_so_far = ws.statistics().messages_read
        assert read_so_far < stalled
        # Reading resumes the server, and every message arrives, in order.
        rest = [message async for message in _take(ws, TOTAL - 1)]
    assert [str(message)[:6] for message in rest] == [f"{i:06d}" for i in range(1, TOTAL)]
    assert server.peers[0].messages_sent == TOTAL


async def _take(ws: WebSocketStream, count: int) -> Any:
    for _ in range(count):
        yield await ws.receive()


async def test_prefetch_reads_ahead_a_bounded_number_of_messages() -> None:
    async with ws_server(_firehose) as server, connect_websocket(server.url, prefetch=8) as ws:
        assert str(await ws.receive()).startswith("000000")
        with anyio.fail_after(30):
            stalled = await _until_stalled(server.peers[0])
        stats = ws.statistics()
        assert stats.prefetch_waiting
        assert stats.max_buffered == 8
        # One 64 KiB read brings at most 4 of these messages beyond the bound.
        assert 8 <= stats.messages_buffered <= 8 + 4
        assert stalled < TOTAL
        count = 1
        async for _message in ws:
            count += 1
            if count == TOTAL:
                break
    assert count == TOTAL


async def test_a_read_cancelled_mid_message_closes_the_connection() -> None:
    half_sent = anyio.Event()

    async def half_a_message(peer: Peer) -> None:
        await peer.accept()
        frame = peer.frame(TextMessage(data="z" * 1000))
        await peer.send_raw(frame[:500])
        half_sent.set()
        await peer.wait_closed()

    async with ws_server(half_a_message) as server, connect_websocket(server.url) as ws:
        await half_sent.wait()
        started = anyio.current_time()
        with anyio.move_on_after(0.2) as scope:
            await ws.receive()
        assert scope.cancelled_caught
        assert anyio.current_time() - started < 0.2 + 1.0
        # The cancelled read left with a close frame and closed the socket: what follows says
        # the connection is closed, it never reads half a message on.
        assert ws.close_code == 1001
        with pytest.raises(WebSocketClosedError):
            await ws.receive()
        with pytest.raises(WebSocketClosedError):
            await ws.send("too late")
        await server.all_closed()
    assert server.peers[0].close_received == (1001, "")


@pytest.mark.parametrize("prefetch", [0, 4])
async def test_cancelling_the_task_around_the_stream_closes_it_shielded(prefetch: int) -> None:
    async def endless(peer: Peer) -> None:
        await peer.accept()
        async with anyio.create_task_group() as group:

            async def talk() -> None:
                for i in range(10_000):
                    if peer.close_received is not None or peer.disconnected:
                        return  # the client has closed: its close answered, nothing more to send
                    await peer.send(str(i))
                    await anyio.sleep(0.01)

            group.start_soon(talk)
            await peer.wait_closed()
            group.cancel_scope.cancel()

    async with ws_server(endless) as server:
        received: list[str | bytes] = []
        with anyio.move_on_after(0.3):
            async with connect_websocket(server.url, prefetch=prefetch) as ws:
                async for message in ws:
                    received.append(message)
        assert received
        assert ws.close_code == 1001
        await server.all_closed()
        assert server.peers[0].close_received == (1001, "")


async def test_break_then_leaving_the_block_closes_cleanly_with_1000() -> None:
    async def endless(peer: Peer) -> None:
        await peer.accept()
        async with anyio.create_task_group() as group:

            async def talk() -> None:
                for i in range(10_000):
                    if peer.close_received is not None or peer.disconnected:
                        return  # the client has closed: its close answered, nothing more to send
                    await peer.send(str(i))
                    await anyio.sleep(0.001)

            group.start_soon(talk)
            await peer.wait_closed()
            group.cancel_scope.cancel()

    async with ws_server(endless) as server:
        async with connect_websocket(server.url) as ws:
            async for message in ws:
                if message == "3":
                    break
        # The close handshake completed within close_timeout: the server's answer was read
        # (the messages in flight before it were discarded), then the socket was closed.
        assert ws.close_code == 1000
        await server.all_closed()
        assert server.peers[0].close_received == (1000, "")


def _open_descriptors() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc: the server's own count still proves the point
        return None


async def test_a_hundred_concurrent_connections_leave_no_socket_open() -> None:
    async def echo(peer: Peer) -> None:
        await peer.accept()
        while (message := await peer.receive()) is not None:
            await peer.send(message)

    answers: dict[int, list[str | bytes]] = {}

    async def client(server: WebSocketServer, number: int) -> None:
        async with connect_websocket(server.url, idle_timeout=30) as ws:
            for i in range(3):
                await ws.send(f"{number}:{i}")
            answers[number] = [await ws.receive() for _ in range(3)]

    async with ws_server(echo) as server:
        before = _open_descriptors()
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for number in range(100):
                    group.start_soon(client, server, number)
            while server.open_connections:
                await server.connection_closed.wait()
        after = _open_descriptors()
    assert answers == {n: [f"{n}:{i}" for i in range(3)] for n in range(100)}
    assert server.connections == 100
    assert all(peer.close_received == (1000, "") for peer in server.peers)
    if before is not None and after is not None:
        assert after <= before


async def test_a_stream_dropped_unclosed_warns_and_its_socket_is_closed() -> None:
    async def talker(peer: Peer) -> None:
        await peer.send("first")
        await peer.wait_closed()

    async with ws_server(talker) as server:
        connection = connect_websocket(server.url + "/v1/realtime?api-key=sk-secret")
        held = [await connection.__aenter__()]
        assert await held[0].receive() == "first"
        del connection
        held_stream = held.pop()
        with pytest.warns(ResourceWarning) as caught:
            del held_stream
        assert [str(w.message) for w in caught] == [
            f"a WebSocketStream for {server.url}/v1/realtime was never closed, so its socket is "
            "being closed now: use `async with connect_websocket(...)` or "
            "`await stream.aclose()`"
        ]
        await server.all_closed()
        with warnings.catch_warnings(record=True) as late:
            warnings.simplefilter("always")
            for _ in range(10):
                await anyio.lowlevel.checkpoint()
            gc.collect()
        assert [str(w.message) for w in late] == []


async def test_with_prefetch_a_close_code_still_comes_after_the_messages_before_it() -> None:
    async def three_then_close(peer: Peer) -> None:
        for i in range(3):
            await peer.send(f"m{i}")
        await peer.close(4002, "over quota")

    async with ws_server(three_then_close) as server:
        received: list[str | bytes] = []
        with pytest.raises(WebSocketClosedError) as caught:
            await _read_all(server.url, received, prefetch=4)
    assert received == ["m0", "m1", "m2"]
    assert (caught.value.code, caught.value.reason) == (4002, "over quota")


async def _read_all(url: str, into: list[str | bytes], **options: Any) -> None:
    async with connect_websocket(url, **options) as ws:
        async for message in ws:
            into.append(message)
