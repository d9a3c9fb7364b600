"""The Redis connection against a real `redis-server`: timeouts, outages, recovery, scripts."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from openai_ergo import RedisCommandError, RedisConnection, RedisUnavailableError
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)


async def test_commands_run_through_the_connection(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        assert await redis.run(lambda r: r.set(redis.key("greeting"), "hello")) is True
        assert await redis.run(lambda r: r.get("openai-ergo:greeting")) == b"hello"
        assert redis.available
        assert redis.statistics() == {"calls": 2, "failures": 0, "outages": 0, "available": True}


async def test_a_script_survives_a_flushed_script_cache(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        script = redis.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        assert redis.script("return redis.call('INCRBY', KEYS[1], ARGV[1])") is script
        key = redis.key("counter")
        assert await script([key], [2]) == 2  # NOSCRIPT the first time: sent whole, cached
        assert await script([key], [3]) == 5  # EVALSHA now
        await redis.run(lambda r: r.script_flush())
        assert await script([key], [4]) == 9  # NOSCRIPT again, and EVAL again
        stats = await redis.run(lambda r: r.info("commandstats"))
        assert isinstance(stats, dict)
        calls = {name: entry["calls"] for name, entry in stats.items() if isinstance(entry, dict)}
        assert calls["cmdstat_evalsha"] == 3
        assert calls["cmdstat_eval"] == 2


async def test_a_command_redis_refuses_is_no_outage(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        await redis.run(lambda r: r.set("k", "text"))
        with pytest.raises(RedisCommandError, match="refused a command"):
            await redis.run(lambda r: r.incr("k"))
        assert redis.available


async def test_a_stopped_server_is_an_outage_logged_once_then_recovered(
    own_redis_server: RedisServer,
) -> None:
    async with RedisConnection(own_redis_server.url, retry_interval=0.2) as redis:
        await redis.run(lambda r: r.ping())
        own_redis_server.stop()
        with capture_logs() as logs:
            for _ in range(5):
                with pytest.raises(RedisUnavailableError, match="is unavailable"):
                    await redis.run(lambda r: r.ping())
            assert not redis.available
            await anyio.sleep(0.25)  # past retry_interval: the next call tries Redis again
            with pytest.raises(RedisUnavailableError):
                await redis.run(lambda r: r.ping())
            own_redis_server.start()
            await anyio.sleep(0.25)
            assert await redis.run(lambda r: r.ping()) == b"PONG"
        events = [(log["event"], log["log_level"]) for log in logs]
        assert events == [
            ("openai_ergo.redis.unavailable", "warning"),
            ("openai_ergo.redis.recovered", "info"),
        ]
        stats = redis.statistics()
        assert stats["available"]
        assert stats["outages"] == 1
        # Inside retry_interval the calls failed fast: only two of them reached for Redis.
        assert stats["failures"] == 2


async def test_a_server_that_stops_answering_fails_the_call_at_its_timeout(
    own_redis_server: RedisServer,
) -> None:
    async with RedisConnection(own_redis_server.url, timeout=0.2) as redis:
        await redis.run(lambda r: r.ping())
        pid = own_redis_server.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # alive, connected, silent: a slow Redis
        try:
            started = time.monotonic()
            with anyio.fail_after(5), pytest.raises(RedisUnavailableError, match=r"within 0\.2 s"):
                await redis.run(lambda r: r.ping())
            assert time.monotonic() - started < 1.0
            # Inside retry_interval the next call does not wait at all.
            started = time.monotonic()
            with pytest.raises(RedisUnavailableError, match="tried again in"):
                await redis.run(lambda r: r.ping())
            assert time.monotonic() - started < 0.1
        finally:
            os.kill(pid, signal.SIGCONT)


async def test_a_script_call_on_a_silent_server_fails_at_its_timeout_and_recovers(
    own_redis_server: RedisServer,
) -> None:
    async with RedisConnection(own_redis_server.url, timeout=0.2, retry_interval=0) as redis:
        script = redis.script("return tonumber(ARGV[1]) + 1")
        assert await script([], [1]) == 2  # the socket is open: later calls are watched
        assert await script([], [2]) == 3
        pid = own_redis_server.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # connected and silent
        stopped = True
        try:
            for _ in range(2):  # the watched call, then one on a new socket
                started = time.monotonic()
                with anyio.fail_after(5), pytest.raises(RedisUnavailableError, match=r"0\.2 s"):
                    await script([], [3])
                assert 0.15 <= time.monotonic() - started < 1.0
            os.kill(pid, signal.SIGCONT)
            stopped = False
            assert await script([], [4]) == 5  # a new socket, watched again from the next call
            assert await script([], [5]) == 6
            assert redis.available
        finally:
            if stopped:
                os.kill(pid, signal.SIGCONT)


async def test_concurrent_script_calls_take_turns_on_the_socket(redis_url: str) -> None:
    # A call's timeout covers its wait for the socket: generous, so that a busy machine's
    # twenty round trips in a row do not run out of it.
    async with RedisConnection(redis_url, timeout=10.0) as redis:
        script = redis.script("return tonumber(ARGV[1]) * 2")
        results: dict[int, Any] = {}

        async def call(number: int) -> None:
            results[number] = await script([], [number])

        async with anyio.create_task_group() as group:
            for number in range(20):
                group.start_soon(call, number)
        assert results == {number: number * 2 for number in range(20)}


async def test_a_server_down_at_start_is_an_outage_not_a_crash() -> None:
    from tests.redis_server import free_port

    async with RedisConnection(f"redis://127.0.0.1:{free_port()}/0") as redis:
        with pytest.raises(RedisUnavailableError, match="unavailable"):
            await redis.run(lambda r: r.ping())
        assert not redis.available


async def test_the_password_never_shows() -> None:
    secret = "s3cr3t-pass"
    async with RedisConnection(f"redis://user:{secret}@127.0.0.1:1/0") as redis:
        with pytest.raises(RedisUnavailableError) as raised:
            await redis.run(lambda r: r.ping())
        assert secret not in str(raised.value)
        assert secret not in repr(redis)
        assert secret not in raised.value.url
        assert "user:****@127.0.0.1:1" in redis.url


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        RedisConnection(timeout=0)
    with pytest.raises(ValueError, match="retry_interval"):
        RedisConnection(retry_interval=-1)
    with pytest.raises(ValueError, match=r"user:\*\*\*\*@example.com.*not a redis://"):
        RedisConnection("http://user:hunter2@example.com")


async def test_a_connection_dropped_open_warns(redis_url: str) -> None:
    redis = RedisConnection(redis_url)
    await redis.__aenter__()
    await redis.aclose()  # its sockets and tasks closed, then forgotten as if never closed
    redis._closed = False
    with pytest.warns(ResourceWarning, match="never closed"):
        redis.__del__()  # what the garbage collector calls
    redis._closed = True


async def test_calls_after_close_say_so(redis_url: str) -> None:
    async with RedisConnection(redis_url) as redis:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await redis.run(lambda r: r.ping())


async def test_scripts_authenticate_and_select_the_database(tmp_path: Path) -> None:
    secret = "lane-pass-7"
    try:
        server = RedisServer(tmp_path / "redis", password=secret)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    with server:
        url = server.url.replace("/0", "/3")
        async with RedisConnection(url, timeout=5) as redis:
            bump = redis.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            assert await bump(["counter"], [7]) == 7
            # The script wrote to database 3, as coredis reads it there.
            assert await redis.run(lambda r: r.get("counter")) == b"7"
            assert await redis.run(lambda r: r.dbsize()) == 1
        async with RedisConnection(url.replace(secret, "wrong")) as redis:
            with pytest.raises(RedisCommandError) as raised:
                await redis.script("return 1")()
            assert "wrong" not in str(raised.value)
