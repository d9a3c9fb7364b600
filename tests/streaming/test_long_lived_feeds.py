"""Long-lived feeds against a third-party server (sse-starlette on uvicorn): reconnection after a
drop, after an idle timeout, after a failed first connection, and with refreshed auth; heartbeats
as activity; tagged merges of feeds that reuse ids."""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator

import anyio
import anyio.abc
import anyio.lowlevel
import anyio.to_thread
import httpx
import pytest

from streaming import (
    EventSource,
    IdleTimeoutError,
    ReconnectAttempt,
    ReconnectError,
    ReconnectPolicy,
    SSEError,
    connect_sse,
    merge,
)
from tests.streaming.starlette_feeds import feed_server

NO_WAIT = ReconnectPolicy(max_attempts=3, initial_delay=0, jitter=0)


async def collect_ids(source: EventSource, into: list[str]) -> None:
    """Append the id of every event to `into` until the stream ends or fails."""
    async for event in source:
        into.append(event.id)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with feed_server() as base:
        yield base


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_dropped_feed_resumes_after_the_last_event_id(url: str) -> None:
    async with (
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", f"{url}/drop?count=7&every=3", reconnect=NO_WAIT) as source,
    ):
        ids = [event.id async for event in source]
        assert source.statistics().reconnections == 2
    assert ids == ["1", "2", "3", "4", "5", "6", "7"]


async def test_without_reconnect_on_idle_a_quiet_feed_fails_fast(url: str) -> None:
    async with httpx.AsyncClient() as client:
        received: list[str] = []
        with anyio.fail_after(5):
            async with connect_sse(
                client, "GET", f"{url}/quiet?count=4&every=2", idle_timeout=0.3, reconnect=NO_WAIT
            ) as source:
                with pytest.raises(IdleTimeoutError, match="idle_timeout"):
                    await collect_ids(source, received)
    assert received == ["1", "2"]


async def test_reconnect_on_idle_reopens_a_feed_that_went_quiet(url: str) -> None:
    policy = ReconnectPolicy(max_attempts=3, initial_delay=0, jitter=0, reconnect_on_idle=True)
    async with httpx.AsyncClient() as client:
        started = anyio.current_time()
        with anyio.fail_after(10):
            async with connect_sse(
                client, "GET", f"{url}/quiet?count=5&every=2", idle_timeout=0.3, reconnect=policy
            ) as source:
                ids = [event.id async for event in source]
                reconnections = source.statistics().reconnections
        took = anyio.current_time() - started
    assert ids == ["1", "2", "3", "4", "5"]
    assert reconnections == 2
    # Two silences, each cut at the idle timeout (a lower bound: the timer really waited).
    assert took >= 0.6


async def test_idle_reconnections_are_bounded_and_chain_the_idle_timeout(url: str) -> None:
    # One event, then silence; every resumed connection is silent from the start, so no
    # reconnection ever brings an event.
    policy = ReconnectPolicy(max_attempts=2, initial_delay=0, jitter=0, reconnect_on_idle=True)
    async with httpx.AsyncClient() as client:
        with anyio.fail_after(10):
            async with connect_sse(
                client,
                "GET",
                f"{url}/quiet?count=3&every=1&stuck=1",
                idle_timeout=0.2,
                reconnect=policy,
            ) as source:
                with pytest.raises(ReconnectError, match="went quiet") as caught:
                    await collect_ids(source, [])
    assert caught.value.attempts == 2
    assert caught.value.last_event_id == "1"
    assert isinstance(caught.value.__cause__, IdleTimeoutError)


async def test_a_failed_first_connection_fails_at_once_by_default() -> None:
    dead = f"http://127.0.0.1:{_free_port()}/feed"
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            async with connect_sse(client, "GET", dead, reconnect=NO_WAIT):
                pass


async def test_retry_first_connection_waits_for_a_server_that_comes_up() -> None:
    port = _free_port()
    attempts: list[ReconnectAttempt] = []
    listening = anyio.Event()

    async def serve_later() -> None:
        # The server appears only after the first attempt has been refused.
        await listening.wait()
        async with await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port) as lst:

            async def answer(stream: anyio.abc.SocketStream) -> None:
                async with stream:
                    await stream.receive()
                    await stream.send(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                        b"content-length: 18\r\nconnection: close\r\n\r\nid: 1\ndata: late\n\n"
                    )

            await lst.serve(answer)

    def on_reconnect(attempt: ReconnectAttempt) -> None:
        attempts.append(attempt)
        listening.set()

    policy = ReconnectPolicy(
        max_attempts=5,
        initial_delay=0.05,
        jitter=0,
        retry_first_connection=True,
        on_reconnect=on_reconnect,
    )
    async with anyio.create_task_group() as group, httpx.AsyncClient() as client:
        group.start_soon(serve_later)
        with anyio.fail_after(10):
            url = f"http://127.0.0.1:{port}/feed"
            async with connect_sse(client, "GET", url, reconnect=policy) as source:
                data = [event.data async for event in source]
        group.cancel_scope.cancel()
    assert data == ["late"]
    assert attempts[0].attempt == 1
    assert isinstance(attempts[0].error, httpx.ConnectError)
    assert attempts[0].last_event_id == ""


async def test_retry_first_connection_reaches_an_sse_starlette_feed_that_starts_late() -> None:
    # Nothing listens on the port when the feed is opened; the server starts only once the
    # first attempt has been refused and the hook has seen it.
    port = _free_port()
    attempts: list[ReconnectAttempt] = []
    with contextlib.ExitStack() as servers:

        async def start_the_server(attempt: ReconnectAttempt) -> None:
            attempts.append(attempt)
            if attempt.attempt == 1:
                await anyio.to_thread.run_sync(servers.enter_context, feed_server(port))

        policy = ReconnectPolicy(
            max_attempts=3,
            initial_delay=0,
            jitter=0,
            retry_first_connection=True,
            on_reconnect=start_the_server,
        )
        async with httpx.AsyncClient() as client:
            with anyio.fail_after(30):
                url = f"http://127.0.0.1:{port}/feed?count=3"
                async with connect_sse(client, "GET", url, reconnect=policy) as source:
                    ids = [event.id async for event in source]
    assert ids == ["1", "2", "3"]
    assert [(a.attempt, a.last_event_id) for a in attempts] == [(1, "")]
    assert isinstance(attempts[0].error, httpx.ConnectError)


async def test_retry_first_connection_gives_up_after_its_attempts() -> None:
    dead = f"http://127.0.0.1:{_free_port()}/feed"
    policy = ReconnectPolicy(max_attempts=2, initial_delay=0, jitter=0, retry_first_connection=True)
    async with httpx.AsyncClient() as client:
        with pytest.raises(ReconnectError, match="could not be opened") as caught:
            async with connect_sse(client, "GET", dead, reconnect=policy):
                pass
    assert caught.value.attempts == 2
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_on_reconnect_refreshes_an_expired_token(url: str) -> None:
    seen: list[tuple[int, str, str]] = []
    # The server remembers expired tokens for its whole life: this run's are its own.
    run = uuid.uuid4().hex
    tokens = iter(range(2, 10))

    async def refresh(attempt: ReconnectAttempt) -> dict[str, str]:
        seen.append((attempt.attempt, attempt.last_event_id, attempt.headers["authorization"]))
        assert isinstance(attempt.error, httpx.RemoteProtocolError)
        await anyio.lowlevel.checkpoint()  # an async hook, as a real token refresh would be
        return {"Authorization": f"Bearer token-{run}-{next(tokens)}"}

    policy = ReconnectPolicy(max_attempts=3, initial_delay=0, jitter=0, on_reconnect=refresh)
    async with (
        httpx.AsyncClient() as client,
        connect_sse(
            client,
            "GET",
            f"{url}/auth?count=6&every=2",
            headers={"Authorization": f"Bearer token-{run}-1"},
            reconnect=policy,
        ) as source,
    ):
        ids = [event.id async for event in source]
    assert ids == ["1", "2", "3", "4", "5", "6"]
    # The hook saw the token that just expired, and the id the request resumes after.
    assert seen == [(1, "2", f"Bearer token-{run}-1"), (1, "4", f"Bearer token-{run}-2")]


async def test_without_a_refresh_the_expired_token_is_refused(url: str) -> None:
    async with (
        httpx.AsyncClient() as client,
        connect_sse(
            client,
            "GET",
            f"{url}/auth?count=6&every=2",
            headers={"Authorization": f"Bearer token-{uuid.uuid4().hex}"},
            reconnect=NO_WAIT,
        ) as source,
    ):
        ids: list[str] = []
        with pytest.raises(SSEError, match="401"):
            await collect_ids(source, ids)
    assert ids == ["1", "2"]


async def test_a_hook_that_returns_something_else_is_a_type_error(url: str) -> None:
    def wrong(attempt: ReconnectAttempt) -> object:
        return "Bearer token-2"

    policy = ReconnectPolicy(max_attempts=3, initial_delay=0, jitter=0, on_reconnect=wrong)  # type: ignore[arg-type]
    async with (
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", f"{url}/drop?count=4&every=2", reconnect=policy) as source,
    ):
        with pytest.raises(TypeError, match="mapping of headers"):
            await collect_ids(source, [])


async def test_heartbeats_count_as_activity_and_make_no_events(url: str) -> None:
    comments: list[str] = []
    async with httpx.AsyncClient() as client:
        with anyio.fail_after(10):
            async with connect_sse(
                client,
                "GET",
                f"{url}/heartbeat?count=3&gap=0.4",
                # Longer than a ping's gap (0.1 s), shorter than an event's (0.4 s): only the
                # pings keep the stream alive.
                idle_timeout=0.25,
                on_comment=comments.append,
            ) as source:
                data = [event.data async for event in source]
    assert data == ["event 1", "event 2", "event 3"]
    assert comments
    assert all("ping" in comment for comment in comments)


async def test_a_tagged_merge_keeps_feeds_that_reuse_ids_apart(url: str) -> None:
    async with (
        httpx.AsyncClient() as client,
        connect_sse(client, "GET", f"{url}/feed?count=3") as prices,
        connect_sse(client, "GET", f"{url}/feed?count=2") as news,
        merge({"prices": prices, "news": news}) as merged,
    ):
        tagged = [(source, event.id) async for source, event in merged]
    assert sorted(tagged) == sorted(
        [("prices", "1"), ("prices", "2"), ("prices", "3"), ("news", "1"), ("news", "2")]
    )
    assert [event_id for source, event_id in tagged if source == "prices"] == ["1", "2", "3"]
