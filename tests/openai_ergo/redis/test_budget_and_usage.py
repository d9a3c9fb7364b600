"""RedisBudget and RedisUsageTracker against a real `redis-server` and the mock over loopback:
one budget and one set of usage counts for every process (each stands for one here, on its own
connection), reservations that are atomic and run out, and what an outage does to each."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import anyio
import pytest

from openai_ergo import (
    BudgetExceededError,
    Client,
    InvalidRequestError,
    RedisBudget,
    RedisConnection,
    RedisUnavailableError,
    RedisUsageTracker,
    RequestOptions,
    RetryPolicy,
    StreamInterruptedError,
    TokenCounter,
    TokenUsage,
    UsageTracker,
    cost_of,
)
from openai_ergo.mock import Fault, MockServer
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)

#: An estimate the budget makes for a small gpt-5-mini request capped at 100 output tokens.
SMALL = {"model": "gpt-5-mini", "input": "Hi", "max_output_tokens": 100}


def _client(server: MockServer, *middleware: Any) -> Client:
    return Client(
        api_key="sk-mock",
        base_url=server.url,
        rate_limiter=False,
        retry=RetryPolicy.never(),
        middleware=middleware,
    )


@asynccontextmanager
async def connections(url: str, count: int, **options: Any) -> AsyncIterator[list[RedisConnection]]:
    """`count` connections, one per process they stand for."""
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(RedisConnection(url, **({"timeout": 5.0} | options)))
            for _ in range(count)
        ]


async def test_one_budget_is_spent_by_every_process(
    redis_url: str, mock_openai: MockServer
) -> None:
    async with connections(redis_url, 2) as (one, two):
        first = RedisBudget(one, limit="1", period="day")
        second = RedisBudget(two, limit="1", period="day")
        async with _client(mock_openai, first) as a, _client(mock_openai, second) as b:
            x = await a.responses("gpt-5-mini").input("Hi").max_output_tokens(100)
            y = await b.responses("gpt-5-mini").input("Hello").max_output_tokens(100)
        assert x.usage is not None
        assert y.usage is not None
        spent = cost_of(x.usage, "gpt-5-mini") + cost_of(y.usage, "gpt-5-mini")
        for budget in (first, second):
            seen = await budget.read()
            # Whole nano-dollars, rounded up per request.
            assert spent <= seen["spent"] <= spent + Decimal("0.000000002")
            assert seen["reserved"] == 0
            assert seen["remaining"] == Decimal(1) - seen["spent"]
            assert seen["resets_at"] is not None


async def test_the_last_dollar_goes_to_one_process_only(
    redis_url: str, mock_openai: MockServer
) -> None:
    async with connections(redis_url, 2) as (one, two):
        first = RedisBudget(one, limit="1", period="hour")
        second = RedisBudget(two, limit="1", period="hour")
        estimate = first.estimate(SMALL, "gpt-5-mini")
        # Leave room for one and a half estimates: one request fits, two do not.
        room = Decimal(1) - estimate * Decimal("1.5")
        per_token = cost_of(TokenUsage(output=1_000_000), "gpt-5-mini") / 1_000_000
        await first.charge(TokenUsage(output=int(room / per_token)), "gpt-5-mini")
        results: list[str] = []

        async def ask(budget: RedisBudget) -> None:
            state: dict[str, Any] = {"model": "gpt-5-mini", "body": SMALL, "path": "/responses"}
            try:
                await budget.on_send(state)
            except BudgetExceededError:
                results.append("refused")
            else:
                results.append("reserved")

        async with anyio.create_task_group() as group:
            group.start_soon(ask, first)
            group.start_soon(ask, second)
        assert sorted(results) == ["refused", "reserved"]
        assert (await first.read())["reserved"] >= estimate
        assert first.statistics()["refused"] + second.statistics()["refused"] == 1


async def test_a_refusal_names_the_shared_budget_and_sends_nothing(
    redis_url: str, mock_openai: MockServer
) -> None:
    async with connections(redis_url, 2) as (one, two):
        spender = RedisBudget(one, limit="0.001", period=timedelta(minutes=10), name="team")
        checker = RedisBudget(two, limit="0.001", period=timedelta(minutes=10), name="team")
        other = RedisBudget(two, limit="0.001", period=timedelta(minutes=10), name="other")
        await spender.charge(TokenUsage(output=500), "gpt-4o")  # $0.005: past the limit
        (window,) = await one.run(lambda r: r.keys("openai-ergo:budget:team:*"))
        # The window's spending outlives the ten-minute window by a day, then Redis drops it.
        assert 86400 < await one.run(lambda r: r.ttl(window)) <= 86400 + 600
        async with _client(mock_openai, checker, other) as client:
            with pytest.raises(BudgetExceededError, match="shared") as caught:
                await client.responses("gpt-5-mini").input("Hi").max_output_tokens(16)
        assert mock_openai.requests == []
        assert caught.value.limit == Decimal("0.001")
        assert caught.value.spent == (await checker.read())["spent"]
        # The other name is another budget: nothing spent there, and nothing reserved either
        # (the request never reached it).
        assert (await other.read())["spent"] == 0


async def test_a_stream_that_broke_off_is_charged_its_partial_usage(
    redis_url: str, mock_openai: MockServer
) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        budget = RedisBudget(redis, limit="5", period="day")
        tracker = RedisUsageTracker(redis)
        local = UsageTracker()
        async with _client(mock_openai, tracker, budget, local) as client:
            ask = client.chat("gpt-4o-mini").user("Tell me a story")
            mock_openai.app.fail_next(Fault.disconnect(after=6))
            with pytest.raises(StreamInterruptedError):
                async with ask.stream() as stream:
                    await stream.until_done()
        row = local.by_model()["gpt-4o-mini"]
        assert row.estimated == 1
        assert row.usage.output > 0
        assert row.usage.input == TokenCounter("gpt-4o-mini").count_request(ask.request_body())
        seen = await budget.read()
        assert seen["reserved"] == 0
        assert row.cost is not None
        assert row.cost <= seen["spent"] <= row.cost + Decimal("0.000000001")
        shared = await tracker.rows()
        assert [(r.model, r.estimated, r.usage) for r in shared] == [("gpt-4o-mini", 1, row.usage)]


async def test_a_reservation_of_a_process_that_died_runs_out(redis_url: str) -> None:
    async with connections(redis_url, 2, timeout=1.0) as (one, two):
        dying = RedisBudget(one, limit="1", period="day", reservation_ttl=1.5)
        alive = RedisBudget(two, limit="1", period="day", reservation_ttl=1.5)
        state: dict[str, Any] = {"model": "gpt-5-mini", "body": SMALL}
        await dying.on_send(state)  # reserved, and never settled: the process "died"
        estimate = dying.estimate(SMALL, "gpt-5-mini")
        assert (await alive.read())["reserved"] >= estimate
        await anyio.sleep(1.6)
        await alive.on_send({"model": "gpt-5-mini", "body": SMALL})  # the check expires holds
        assert (await alive.read())["reserved"] <= estimate + Decimal("0.000000001")


async def test_closed_by_default_an_outage_refuses_and_sends_nothing(
    own_redis_server: RedisServer, mock_openai: MockServer
) -> None:
    async with RedisConnection(own_redis_server.url, timeout=5, retry_interval=0.1) as redis:
        budget = RedisBudget(redis, limit="1")
        assert budget.on_outage == "closed"
        own_redis_server.stop()
        async with _client(mock_openai, budget) as client:
            with anyio.fail_after(20), pytest.raises(RedisUnavailableError, match="not sent"):
                await client.responses("gpt-5-mini").input("Hi")
        assert mock_openai.requests == []
        assert budget.statistics()["outage_requests"] == 1


async def test_local_and_open_outages_go_on_and_their_spending_joins_later(
    own_redis_server: RedisServer, mock_openai: MockServer
) -> None:
    async with RedisConnection(own_redis_server.url, timeout=5, retry_interval=0.1) as redis:
        local = RedisBudget(redis, limit="1", on_outage="local", outage_limit="0.0005")
        opened = RedisBudget(redis, limit="1", on_outage="open", name="opened")
        tracker = RedisUsageTracker(redis, name="outage")
        own_redis_server.stop()
        async with _client(mock_openai, local, tracker) as a, _client(mock_openai, opened) as b:
            with anyio.fail_after(20):
                spent = await a.responses("gpt-5-mini").input("Hi").max_output_tokens(50)
                # The local budget (this process's share while Redis is away) refuses.
                with pytest.raises(BudgetExceededError):
                    await a.responses("gpt-4o").input("Hi").max_output_tokens(10_000)
                unchecked = await b.responses("gpt-4o").input("Hi").max_output_tokens(10_000)
        assert spent.usage is not None
        assert unchecked.usage is not None
        assert local.statistics()["pending"] > 0
        assert tracker.statistics()["pending_fields"] > 0
        own_redis_server.start()
        await anyio.sleep(0.15)
        # The next check carries the spending counted meanwhile into Redis.
        await local.on_send({"model": "gpt-5-mini", "body": SMALL})
        await opened.on_send({"model": "gpt-5-mini", "body": SMALL})
        # The redis-server restarted empty: what is there now is what the outage spent.
        assert (await local.read())["spent"] >= cost_of(spent.usage, "gpt-5-mini")
        assert (await opened.read())["spent"] >= cost_of(unchecked.usage, "gpt-4o")
        assert local.statistics()["pending"] == 0
        rows = await tracker.rows()
        assert [(r.model, r.requests) for r in rows] == [("gpt-5-mini", 1)]


async def test_usage_is_added_up_across_processes_and_exported(
    redis_url: str, mock_openai: MockServer
) -> None:
    async with connections(redis_url, 2) as (one, two):
        first = RedisUsageTracker(one)
        second = RedisUsageTracker(two)
        local = UsageTracker()
        async with (
            _client(mock_openai, first, local) as a,
            _client(mock_openai, second, local) as b,
        ):
            await a.responses("gpt-5-mini").input("One")
            await b.responses("gpt-5-mini").input("Two").options(RequestOptions(tag="team-a"))
            async with b.chat("gpt-4o-mini").user("Three").stream() as stream:
                await stream.until_done()
            await a.responses("my-local-model").input("Four")
        # Either process reads what both counted, as one UsageTracker would have.
        expected = {(r.model, r.tag): r for r in local.rows()}
        for reader in (first, second):
            rows = await reader.rows()
            assert {(r.model, r.tag) for r in rows} == set(expected)
            for row in rows:
                want = expected[(row.model, row.tag)]
                assert (row.requests, row.usage, row.estimated) == (
                    want.requests,
                    want.usage,
                    want.estimated,
                )
                if want.cost is None:
                    assert row.cost is None
                else:
                    assert row.cost is not None
                    assert want.cost <= row.cost <= want.cost + Decimal("0.000000001")
        exported = json.loads(json.dumps(await second.export()))
        assert exported["unpriced_models"] == ["my-local-model"]
        assert Decimal(exported["total_cost_usd"]) == await first.total_cost()
        assert {(r["model"], r["tag"]) for r in exported["rows"]} == set(expected)
        await first.reset()
        assert await second.rows() == []


async def test_reading_usage_while_redis_is_away_says_so(own_redis_server: RedisServer) -> None:
    async with RedisConnection(own_redis_server.url, timeout=5) as redis:
        tracker = RedisUsageTracker(redis)
        await tracker.record(TokenUsage(input=3, output=4), "gpt-5-mini", tag="t")
        own_redis_server.stop()
        await tracker.record(TokenUsage(input=1), "gpt-5-mini", tag="t")  # kept, no error
        with anyio.fail_after(20), pytest.raises(RedisUnavailableError):
            await tracker.rows()


def test_bad_settings_are_refused() -> None:
    redis = RedisConnection("redis://127.0.0.1:1/0")
    with pytest.raises(InvalidRequestError, match="on_outage"):
        RedisBudget(redis, limit=1, on_outage="maybe")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="name"):
        RedisBudget(redis, limit=1, name="a:b")
    with pytest.raises(InvalidRequestError, match="limit"):
        RedisBudget(redis, limit="-1")
    with pytest.raises(InvalidRequestError, match="reservation_ttl"):
        RedisBudget(redis, limit=1, reservation_ttl=0.1)
    with pytest.raises(InvalidRequestError, match="period"):
        RedisBudget(redis, limit=1, period="fortnight")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="name"):
        RedisUsageTracker(redis, name="")
    with pytest.raises(TypeError, match="RedisConnection"):
        RedisBudget("redis://localhost", limit=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="RedisConnection"):
        RedisUsageTracker("redis://localhost")  # type: ignore[arg-type]
