"""RedisRateLimiter against a real `redis-server`: the RateLimiter's semantics, shared.

Each test makes two limiters on one Redis, standing for two processes (the multi-process tests
in test_shared_limits.py run real ones). Waits are read from the limiter's own wait events,
which it logs before sleeping: they are computed on Redis's clock, not measured here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from openai_ergo import (
    Client,
    RateLimiter,
    RateLimitError,
    RateLimitScope,
    RedisConnection,
    RedisRateLimiter,
    RedisUnavailableError,
)
from openai_ergo.mock import MockServer
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)

MODEL = RateLimitScope(model="gpt-4o-mini")


@asynccontextmanager
async def limiters(url: str, count: int, **options: Any) -> AsyncIterator[list[RedisRateLimiter]]:
    """`count` limiters with the same name, each on its own connection (as processes are)."""
    async with AsyncExitStack() as stack:
        made = []
        for _ in range(count):
            # A generous timeout: a busy CI machine must not look like an outage here.
            redis = await stack.enter_async_context(RedisConnection(url, timeout=2.0))
            made.append(await stack.enter_async_context(RedisRateLimiter(redis, **options)))
        yield made


def _waits(logs: list[MutableMapping[str, Any]]) -> list[tuple[str, float]]:
    return [
        (log["reason"], log["seconds"])
        for log in logs
        if log["event"] == "openai_ergo.rate_limit.wait"
    ]


async def _started_waiting(limiter: RedisRateLimiter, **options: Any) -> None:
    """Acquire, and give up once the wait has begun (it was logged before the sleep)."""
    with anyio.move_on_after(0.05):
        await limiter.acquire(**options)


async def test_requests_per_minute_is_one_budget_for_every_process(redis_url: str) -> None:
    async with limiters(redis_url, 2, requests_per_minute=60) as (a, b):
        with capture_logs() as logs:
            permit = await a.acquire()
            await _started_waiting(b)
            await _started_waiting(a)
        assert permit.waited == 0
        (reason, first), (_, second) = _waits(logs)
        assert reason == "requests_per_minute"
        # 60/min is one a second, across both: B's turn in 1 s, A's next in 2 s (less the
        # 50 ms B spent waiting before it gave up).
        assert 0.9 < first <= 1.0
        assert 1.85 < second <= 2.0


async def test_limiters_of_other_names_do_not_share(redis_url: str) -> None:
    async with (
        RedisConnection(redis_url, timeout=2.0) as redis,
        RedisRateLimiter(redis, name="batch", requests_per_minute=60) as batch,
        RedisRateLimiter(redis, name="chat", requests_per_minute=60) as chat,
    ):
        assert (await batch.acquire()).waited == 0
        assert (await chat.acquire()).waited == 0


async def test_tokens_per_minute_is_shared_and_paced_by_cost(redis_url: str) -> None:
    async with limiters(redis_url, 2, tokens_per_minute=6000) as (a, b):
        assert a.counts_tokens
        with capture_logs() as logs:
            await a.acquire(300)  # 300 of 6000/min: the next may start 3 s later
            await _started_waiting(b, tokens=10)
        [(reason, seconds)] = _waits(logs)
        assert reason == "tokens_per_minute"
        assert 2.9 < seconds <= 3.0


async def test_one_admission_is_one_round_trip(redis_url: str) -> None:
    async with limiters(redis_url, 1, requests_per_minute=60_000) as (limiter,):
        for _ in range(20):
            permit = await limiter.acquire(scope=MODEL)
            permit.release()
        stats = await limiter.redis.run(lambda r: r.info("commandstats"))
        assert isinstance(stats, dict)
        calls = {name: entry["calls"] for name, entry in stats.items() if isinstance(entry, dict)}
        # EVAL once (the script was new to the server), then EVALSHA: 20 calls for 20.
        assert calls.get("cmdstat_evalsha", 0) + calls.get("cmdstat_eval", 0) == 21
        assert calls.get("cmdstat_eval", 0) == 1
        assert limiter.statistics()["round_trips"] == 20


async def test_concurrency_slots_are_shared_and_given_back(redis_url: str) -> None:
    async with limiters(redis_url, 2, max_concurrency=2) as (a, b):
        first, second = await a.acquire(), await a.acquire()
        assert a.statistics()["in_flight"] == 2
        with anyio.move_on_after(0.3) as waited:
            await b.acquire()
        assert waited.cancelled_caught, "B got a third slot while A held both"
        first.release()
        first.release()  # idempotent
        with anyio.fail_after(2):
            third = await b.acquire()
        assert b.statistics()["in_flight"] == 1
        second.release()
        third.release()


async def test_a_slot_given_back_in_the_process_wakes_its_waiter_at_once(redis_url: str) -> None:
    async with limiters(redis_url, 1, max_concurrency=1) as (limiter,):
        held = await limiter.acquire()
        admitted: list[float] = []

        async def waiter() -> None:
            await limiter.acquire()
            admitted.append(anyio.current_time())

        async with anyio.create_task_group() as group:
            group.start_soon(waiter)
            await anyio.sleep(0.6)  # the waiter now asks Redis every 0.5 s at most
            released_at = anyio.current_time()
            held.release()
        assert admitted[0] - released_at < 0.25


async def test_learned_budgets_are_shared_per_model(redis_url: str) -> None:
    spent = {
        "x-ratelimit-limit-requests": "10",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "10s",  # refills 1 a second
    }
    async with limiters(redis_url, 2) as (a, b):
        permit = await a.acquire(scope=MODEL)
        a.observe(spent, scope=MODEL, permit=permit)
        await a.acquire(scope=RateLimitScope(model="other"))  # carries the update along
        with capture_logs() as logs:
            await _started_waiting(b, scope=MODEL)
        [(reason, seconds)] = _waits(logs)
        assert reason == "learned requests budget"
        assert 0.9 < seconds <= 1.0
        # Another model's budget is its own.
        assert (await b.acquire(scope=RateLimitScope(model="gpt-4.1"))).waited == 0


async def test_a_learned_wait_beyond_max_wait_fails_at_once_for_every_process(
    redis_url: str,
) -> None:
    spent = {
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "60s",
    }
    async with limiters(redis_url, 2, max_wait=5.0) as (a, b):
        a.observe(spent, scope=MODEL)
        await a.acquire(scope=RateLimitScope(model="other"))  # carries the update along
        assert not b.counts_tokens  # B has not seen a tokens header itself...
        with pytest.raises(RateLimitError, match="shared through Redis") as raised:
            await b.acquire(500, scope=MODEL)
        assert raised.value.client_side
        # 500 tokens of a bucket refilling 1000 a minute: 30 s, more than 5.
        assert raised.value.retry_after == pytest.approx(30.0, rel=0.01)


async def test_learned_budgets_travel_without_an_admission(redis_url: str) -> None:
    spent = {
        "x-ratelimit-limit-requests": "10",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "10s",
    }
    async with limiters(redis_url, 2) as (a, b):
        a.observe(spent, scope=MODEL)
        await anyio.sleep(0.5)  # the background sends it after a quarter second
        with capture_logs() as logs:
            await _started_waiting(b, scope=MODEL)
        [(reason, seconds)] = _waits(logs)
        assert reason == "learned requests budget"
        assert 0.5 < seconds <= 1.0


async def test_an_outage_falls_back_to_the_local_limiter_then_shares_again(
    own_redis_server: RedisServer,
) -> None:
    async with (
        RedisConnection(own_redis_server.url, retry_interval=0.1) as redis,
        RedisRateLimiter(redis, requests_per_minute=6000) as limiter,
    ):
        await limiter.acquire()
        own_redis_server.stop()
        with capture_logs() as logs:
            for _ in range(5):
                permit = await limiter.acquire()
                assert permit.waited < 0.05  # the fallback paces at 100/s
            own_redis_server.start()
            await anyio.sleep(0.15)
            await limiter.acquire()
        events = [log["event"] for log in logs if log["event"] != "openai_ergo.rate_limit.wait"]
        assert events == [
            "openai_ergo.redis.unavailable",
            "openai_ergo.rate_limit.fallback",
            "openai_ergo.redis.recovered",
            "openai_ergo.rate_limit.shared",
        ]
        stats = limiter.statistics()
        assert stats["fallback_admitted"] == 5
        assert stats["admitted"] == 7
        assert limiter.fallback.statistics()["admitted"] == 5


async def test_failing_closed_refuses_requests_while_redis_is_down(
    own_redis_server: RedisServer,
) -> None:
    async with (
        RedisConnection(own_redis_server.url) as redis,
        RedisRateLimiter(redis, requests_per_minute=600, fail_open=False) as limiter,
    ):
        own_redis_server.stop()
        with pytest.raises(RedisUnavailableError, match="is unavailable"):
            await limiter.acquire()
        assert limiter.statistics()["admitted"] == 0


async def test_a_given_fallback_is_used_during_an_outage(own_redis_server: RedisServer) -> None:
    share = RateLimiter(requests_per_minute=150)
    async with (
        RedisConnection(own_redis_server.url) as redis,
        RedisRateLimiter(redis, requests_per_minute=600, fallback=share) as limiter,
    ):
        own_redis_server.stop()
        await limiter.acquire()
        assert share.statistics()["admitted"] == 1


async def test_a_client_paced_by_the_shared_limiter(redis_url: str) -> None:
    async with (
        MockServer() as server,
        RedisConnection(redis_url, timeout=2.0) as redis,
        RedisRateLimiter(redis, requests_per_minute=6000, max_concurrency=4) as limiter,
        Client(api_key="sk-mock", base_url=server.url, rate_limiter=limiter) as client,
    ):
        assert client.rate_limiter is limiter
        for _ in range(3):
            reply = await client.chat("gpt-4o-mini").user("Hi")
            assert reply.choices
        stats = limiter.statistics()
        assert stats["admitted"] == 3
        assert stats["in_flight"] == 0  # every slot given back
        assert limiter.counts_tokens  # the mock's tokens headers were learned
        await anyio.sleep(0.3)  # the last budget learned reaches Redis in the background
        keys = await redis.run(lambda r: r.keys("openai-ergo:rl:default:learned:*"))
        assert {key.rsplit(b":", 1)[1] for key in keys} == {b"requests", b"tokens"}


def test_bad_settings_are_refused() -> None:
    redis = RedisConnection(timeout=0.25)
    with pytest.raises(ValueError, match="requests_per_minute"):
        RedisRateLimiter(redis, requests_per_minute=0)
    with pytest.raises(ValueError, match="max_wait"):
        RedisRateLimiter(redis, max_wait=-1)
    with pytest.raises(ValueError, match="lease"):
        RedisRateLimiter(redis, lease=0.5)
    with pytest.raises(ValueError, match="name"):
        RedisRateLimiter(redis, name="a:b")
    with pytest.raises(TypeError, match="RedisConnection"):
        RedisRateLimiter("redis://localhost")  # type: ignore[arg-type]


async def test_a_limiter_must_be_opened(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        limiter = RedisRateLimiter(redis)
        with pytest.raises(RuntimeError, match="not open yet"):
            await limiter.acquire()
        async with limiter:
            pass
        with pytest.raises(RuntimeError, match="closed"):
            await limiter.acquire()
        assert "password" not in repr(limiter)


async def test_an_exempt_request_waits_for_nothing_but_is_counted(redis_url: str) -> None:
    async with limiters(redis_url, 2, requests_per_minute=60) as (a, b):
        await a.acquire()
        assert (await b.acquire(exempt=True)).waited == 0  # the retry of an answered 429
        with capture_logs() as logs:
            await _started_waiting(a)
        [(_, seconds)] = _waits(logs)
        assert 1.9 < seconds <= 2.0  # behind both


async def test_a_cancelled_wait_gives_its_slot_back(redis_url: str) -> None:
    async with limiters(redis_url, 2, requests_per_minute=60, max_concurrency=1) as (a, b):
        (await a.acquire()).release()
        with anyio.move_on_after(0.1) as scope:
            await a.acquire()  # has the slot, then waits a second for its turn
        assert scope.cancelled_caught
        assert a.statistics()["in_flight"] == 0
        with anyio.fail_after(3):
            permit = await b.acquire()  # the slot came back: only the pacing holds B
        assert permit.waited > 0
        permit.release()
