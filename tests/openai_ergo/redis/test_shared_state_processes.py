"""The shared state with real processes and a slow Redis: four processes (two on asyncio, two on
trio) race for one budget and together reserve exactly what it allows; each piece costs the
round trips it claims; a Redis that stops answering costs each piece one timeout, never a hang.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from typing import Any

import anyio
import pytest

from openai_ergo import (
    BudgetExceededError,
    Client,
    KeyPool,
    RedisBudget,
    RedisCacheBackend,
    RedisConnection,
    RedisKeyCooldowns,
    RedisUnavailableError,
    RedisUsageTracker,
    ResponseCache,
    RetryPolicy,
)
from openai_ergo.mock import MockServer
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(90)

BODY = {"model": "gpt-5-mini", "input": "Hi", "max_output_tokens": 100}

_WORKER = textwrap.dedent(
    """
    import sys, anyio
    from openai_ergo import BudgetExceededError, RedisBudget, RedisConnection

    BODY = {"model": "gpt-5-mini", "input": "Hi", "max_output_tokens": 100}

    async def main() -> None:
        admitted = 0
        async with RedisConnection(sys.argv[1], timeout=2) as redis:
            budget = RedisBudget(redis, limit=sys.argv[2], period="day", name="race")
            while True:
                try:
                    await budget.on_send({"model": "gpt-5-mini", "body": BODY})
                except BudgetExceededError:
                    break
                admitted += 1
        print(admitted)

    anyio.run(main, backend=sys.argv[3])
    """
)


def test_processes_racing_for_one_budget_reserve_exactly_what_it_allows(redis_url: str) -> None:
    estimate = RedisBudget(RedisConnection(redis_url, timeout=5), limit=1).estimate(
        BODY, "gpt-5-mini"
    )
    nano = math.ceil(estimate * 1_000_000_000)
    allowed = 60
    limit = Decimal(nano * allowed + nano // 2) / 1_000_000_000
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, redis_url, str(limit), backend],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for backend in ("asyncio", "trio", "asyncio", "trio")
    ]
    counts = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        counts.append(int(out))
    # Atomic check-and-reserve: not one reservation too many across the four.
    assert sum(counts) == allowed


def _client(server: MockServer, **options: Any) -> Client:
    return Client(
        api_key="sk-mock",
        base_url=server.url,
        rate_limiter=False,
        retry=RetryPolicy.never(),
        **options,
    )


async def test_each_piece_costs_the_round_trips_it_claims(
    redis_url: str, mock_openai: MockServer
) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        budget = RedisBudget(redis, limit=5)
        usage = RedisUsageTracker(redis)
        async with _client(mock_openai, middleware=[budget, usage]) as client:
            await client.chat("gpt-4o-mini").user("Hi")
            before = redis.statistics()["calls"]
            await client.chat("gpt-4o-mini").user("Hello")
            # The budget's check-and-reserve and its settlement, and the usage's one write.
            assert redis.statistics()["calls"] - before == 3
        cache = ResponseCache(RedisCacheBackend(redis), ttl=60)
        async with _client(mock_openai, cache=cache) as client:
            before = redis.statistics()["calls"]
            await client.chat("gpt-4o-mini").user("Cached")  # a miss: a GET and a SET
            assert redis.statistics()["calls"] - before == 2
            await client.chat("gpt-4o-mini").user("Cached")  # a hit: one GET
            assert redis.statistics()["calls"] - before == 3


async def test_a_redis_that_stops_answering_costs_one_timeout_never_a_hang(
    own_redis_server: RedisServer, mock_openai: MockServer
) -> None:
    async with RedisConnection(own_redis_server.url, timeout=0.2, retry_interval=5) as redis:
        budget = RedisBudget(redis, limit=5, on_outage="open")
        usage = RedisUsageTracker(redis)
        cache = ResponseCache(RedisCacheBackend(redis), ttl=60)
        pool = KeyPool(["sk-mock-one-000000"], shared=RedisKeyCooldowns(redis), refresh_interval=0)
        await redis.run(lambda r: r.ping())
        pid = own_redis_server.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # connected and silent: a slow Redis
        try:
            async with Client(
                auth=pool,
                base_url=mock_openai.url,
                cache=cache,
                middleware=[budget, usage],
                rate_limiter=False,
                retry=RetryPolicy.never(),
            ) as client:
                started = time.monotonic()
                with anyio.fail_after(10):
                    for _ in range(3):
                        reply = await client.chat("gpt-4o-mini").user("Hi")
                        assert reply.choices
                # The first call waited its 0.2 s; inside retry_interval the rest failed fast.
                assert time.monotonic() - started < 3.0
            assert redis.statistics()["outages"] == 1
            assert budget.statistics()["outage_requests"] == 3
            closed = RedisBudget(redis, limit=5)
            with pytest.raises(RedisUnavailableError, match="on_outage='closed'"):
                await closed.on_send({"model": "gpt-5-mini", "body": BODY})
            with pytest.raises(BudgetExceededError):
                await RedisBudget(redis, limit="0.0000001", on_outage="local").on_send(
                    {"model": "gpt-5-mini", "body": BODY}
                )
        finally:
            os.kill(pid, signal.SIGCONT)
