"""WebSocket time bounds over loopback: idle timeout, deadline, pings in both directions.

Each timeout's test asserts when it fired: not before its bound, and well within a generous
upper bound measured on the event loop's clock.
"""

from __future__ import annotations

import anyio
import pytest
from wsproto.events import TextMessage

from streaming import (
    DeadlineExceededError,
    IdleTimeoutError,
    PongTimeoutError,
    StreamTimeoutError,
    connect_websocket,
)
from tests.streaming.ws_loopback import Peer, ws_server

#: Slack for a loaded CI machine: a timeout must fire before its bound plus this.
LATE = 1.0


async def _pinging_but_silent(peer: Peer) -> None:
    """Sends one message, then only pings: a live connection whose application hangs."""
    await peer.send("hello")
    while True:
        await anyio.sleep(0.05)
        await peer.ping()


async def test_idle_timeout_fires_when_no_message_comes_even_if_pings_do() -> None:
    async with (
        ws_server(_pinging_but_silent) as server,
        connect_websocket(server.url, idle_timeout=0.3) as ws,
    ):
        assert await ws.receive() == "hello"
        started = anyio.current_time()
        with pytest.raises(IdleTimeoutError, match="idle_timeout") as caught:
            await ws.receive()
        waited = anyio.current_time() - started
        assert ws.statistics().pings_answered >= 1
        # The stream left with a close frame ("going away") and closed its socket: the
        # server's next ping fails and its handler ends.
        await server.all_closed()
    assert 0.3 <= waited < 0.3 + LATE
    assert caught.value.timeout == 0.3
    assert isinstance(caught.value, StreamTimeoutError)
    assert isinstance(caught.value, TimeoutError)
    assert server.peers[0].disconnected


async def test_the_idle_timeout_restarts_with_every_piece_of_message_data() -> None:
    async def trickle(peer: Peer) -> None:
        await peer.accept()
        frame = peer.frame(TextMessage(data="x" * 10))
        for i in range(len(frame)):  # 0.1 s per byte: 1.2 s for the message in all
            await peer.send_raw(frame[i : i + 1])
            await anyio.sleep(0.1)
        await peer.wait_closed()

    async with ws_server(trickle) as server, connect_websocket(server.url, idle_timeout=0.5) as ws:
        with anyio.fail_after(10):
            assert await ws.receive() == "x" * 10


async def test_idle_timeout_bounds_the_wait_for_the_upgrade_answer() -> None:
    async def never_answers(peer: Peer) -> None:
        await anyio.sleep_forever()

    async with ws_server(never_answers) as server:
        started = anyio.current_time()
        with pytest.raises(IdleTimeoutError, match="upgrade"):
            async with connect_websocket(server.url, idle_timeout=0.2):
                pass
        assert 0.2 <= anyio.current_time() - started < 0.2 + LATE


async def test_the_deadline_counts_from_the_connection_and_fires_mid_stream() -> None:
    async def steady(peer: Peer) -> None:
        await peer.accept()
        for i in range(1000):
            if peer.close_received is not None or peer.disconnected:
                return  # the client has closed at its deadline: nothing more to send
            await peer.send(str(i))
            await anyio.sleep(0.05)

    received: list[str | bytes] = []

    async def read_all(url: str) -> None:
        async with connect_websocket(url, deadline=0.4, idle_timeout=5) as ws:
            async for message in ws:
                received.append(message)

    async with ws_server(steady) as server:
        started = anyio.current_time()
        with pytest.raises(DeadlineExceededError, match=r"deadline of 0\.4 s") as caught:
            await read_all(server.url)
        waited = anyio.current_time() - started
    assert 0.4 <= waited < 0.4 + LATE
    assert caught.value.timeout == 0.4
    assert 2 <= len(received) < 100


async def test_server_pings_are_answered_while_reading() -> None:
    async def pings(peer: Peer) -> None:
        await peer.accept()
        await peer.ping(b"one")
        await peer.ping(b"two")
        await peer.send("after the pings")
        await peer.wait_closed()

    async with ws_server(pings) as server, connect_websocket(server.url) as ws:
        assert await ws.receive() == "after the pings"
        assert ws.statistics().pings_answered == 2
    assert server.peers[0].pongs_received == 2


async def test_a_silent_connection_is_pinged_and_lives_while_pongs_come_back() -> None:
    async def answers_pings_late(peer: Peer) -> None:
        await peer.accept()
        async with anyio.create_task_group() as group:
            # One reader answers every ping as it comes, until the client closes (never cut
            # short: a read cancelled mid-way could drop a ping it already took).
            group.start_soon(peer.wait_closed)
            # Three pings, however slowly a loaded machine runs the client's ping timer;
            # bounded, so a client that stops pinging fails.
            with anyio.fail_after(20):
                await peer.wait_for_pings(3)
            await peer.send("still here")

    async with (
        ws_server(answers_pings_late) as server,
        connect_websocket(server.url, ping_interval=0.1, pong_timeout=0.5) as ws,
    ):
        assert await ws.receive() == "still here"
        assert ws.statistics().pings_sent >= 3
    assert server.peers[0].pings_received >= 3


async def test_a_connection_that_does_not_answer_a_ping_is_dead() -> None:
    async def deaf(peer: Peer) -> None:
        await peer.accept()
        await anyio.sleep_forever()  # reads nothing, so answers nothing

    async with (
        ws_server(deaf) as server,
        connect_websocket(server.url, ping_interval=0.1, pong_timeout=0.2) as ws,
    ):
        started = anyio.current_time()
        with pytest.raises(PongTimeoutError, match="pong_timeout") as caught:
            await ws.receive()
        waited = anyio.current_time() - started
    # One ping after 0.1 s of silence, then 0.2 s without an answer.
    assert 0.3 <= waited < 0.3 + LATE
    assert caught.value.timeout == 0.2
    assert ws.statistics().pings_sent == 1


async def test_the_deadline_bounds_the_upgrade_too() -> None:
    async def never_answers(peer: Peer) -> None:
        await anyio.sleep_forever()

    async with ws_server(never_answers) as server:
        started = anyio.current_time()
        with pytest.raises(DeadlineExceededError, match="did not answer within its deadline"):
            async with connect_websocket(server.url, deadline=0.2, idle_timeout=30):
                pass
        assert 0.2 <= anyio.current_time() - started < 0.2 + LATE
