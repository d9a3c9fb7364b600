"""The budgets the limiter learns from `x-ratelimit-*` headers: per scope, refilled continuously,
bounded, visible. Over loopback, on the fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from openai_ergo import (
    APIResponse,
    Client,
    KeyPool,
    RateLimiter,
    RateLimitError,
    RequestOptions,
    RetryPolicy,
)
from tests.openai_ergo.pipeline.bucket_server import BucketServer, VirtualClock, go_duration
from tests.openai_ergo.pipeline.conftest import FakeClock
from tests.openai_ergo.pipeline.scripted import (
    Recorded,
    Reply,
    ScriptedServer,
    error_body,
    scripted_server,
)

KEY = "sk-test-SECRET"
WAIT = "openai_ergo.rate_limit.wait"


def body(model: str, tokens: int = 100) -> dict[str, object]:
    return {"model": model, "input": "Hi", "max_output_tokens": tokens}


def costs(tokens: int) -> RequestOptions:
    return RequestOptions(estimated_tokens=tokens)


async def create(client: Client, model: str, tokens: int = 100) -> APIResponse:
    """A request for `model` that costs `tokens` (the client's estimate and the server's)."""
    return await client.request(
        "POST", "/responses", body=body(model, tokens), options=costs(tokens)
    )


@asynccontextmanager
async def serving(
    clock: FakeClock | VirtualClock, *replies: Reply, **options: Any
) -> AsyncIterator[tuple[ScriptedServer, Client]]:
    """The scripted server, and a client of it on `clock`."""
    async with (
        scripted_server(*replies) as server,
        Client(KEY, base_url=server.url, clock=clock, **options) as client,
    ):
        yield server, client


def budget(
    kind: str, remaining: int, reset: str, limit: int | None = None
) -> list[tuple[str, str]]:
    headers = [(f"x-ratelimit-remaining-{kind}", str(remaining))]
    headers.append((f"x-ratelimit-reset-{kind}", reset))
    if limit is not None:
        headers.append((f"x-ratelimit-limit-{kind}", str(limit)))
    return headers


async def test_a_429_with_a_six_minute_token_reset_costs_one_second_not_six_minutes(
    clock: FakeClock,
) -> None:
    # A user's story: the 429 says retry after 1 s, tokens 0 of 150,000, full in 6m0s.
    limited = Reply(
        status=429,
        json=error_body("Rate limit reached for tokens", type="tokens"),
        headers=[("retry-after", "1"), *budget("tokens", 0, "6m0s", 150_000)],
    )
    async with (
        scripted_server(limited, Reply(json={})) as server,
        Client(KEY, base_url=server.url, clock=clock) as client,
    ):
        with capture_logs() as logs:
            retried = await create(client, "gpt-4o-mini", 100)
            assert retried.attempts == 2
            # The retry waited for the server's Retry-After alone: no limiter wait on top.
            assert clock.sleeps == [1.0]
            # The next request needs 100 tokens; 1 s of refill (about 417) covers it.
            await create(client, "gpt-4o-mini", 100)
            assert clock.sleeps == [1.0]
            # A third one finds the bucket at about 417 - 200: still no wait.
            await create(client, "gpt-4o-mini", 100)
    assert clock.sleeps == [1.0]
    assert len(server.requests) == 4
    assert not [e for e in logs if e["event"] == WAIT]


async def test_the_retry_of_a_429_waits_for_its_retry_after_alone(clock: FakeClock) -> None:
    # 2,000 tokens need 4.8 s of this bucket's refill, but the server said "retry after 1 s":
    # its word decides this retry, and the booking is paid off by the requests after it.
    limited = Reply(
        status=429,
        json=error_body("Rate limit reached for tokens", type="tokens"),
        headers=[("retry-after", "1"), *budget("tokens", 0, "6m0s", 150_000)],
    )
    async with serving(clock, limited, Reply(json={})) as (server, client):
        retried = await create(client, "gpt-4o-mini", 2_000)
        assert retried.attempts == 2
        assert clock.sleeps == [1.0]
        await create(client, "gpt-4o-mini", 100)
    # The next one waits for what the retry took beyond the 1 s refill: (2,100 - 417) / 417 s.
    assert clock.sleeps == [1.0, pytest.approx(2100 / (150_000 / 360.001) - 1.0, abs=0.001)]
    assert len(server.requests) == 3


async def test_a_drained_150k_token_bucket_holds_a_100_token_request_about_a_quarter_second(
    clock: FakeClock,
) -> None:
    drained = Reply(json={}, headers=budget("tokens", 0, "6m0s", 150_000))
    async with serving(clock, drained) as (_server, client):
        await create(client, "gpt-4o-mini", 100)
        with capture_logs() as logs:
            await create(client, "gpt-4o-mini", 100)
    # 150,000 tokens in 360 s is about 417 a second: 100 tokens take 0.24 s.
    assert clock.sleeps == [pytest.approx(0.24, abs=0.001)]
    [wait] = [e for e in logs if e["event"] == WAIT]
    assert wait["reason"] == "learned tokens budget"
    assert wait["scope"] == "model 'gpt-4o-mini'"
    assert wait["seconds"] == pytest.approx(0.24, abs=0.001)


async def test_a_drained_10000_request_bucket_lets_the_next_request_go_within_40_ms(
    clock: FakeClock,
) -> None:
    drained = Reply(json={}, headers=budget("requests", 0, "6m0s", 10_000))
    async with serving(clock, drained) as (_server, client):
        await client.request("GET", "/models")
        await client.request("GET", "/models")
    [wait] = clock.sleeps
    assert 0.0 < wait <= 0.040
    assert wait == pytest.approx(0.036, abs=0.001)


async def test_a_model_whose_requests_are_spent_for_40_s_does_not_hold_back_another_model(
    clock: FakeClock,
) -> None:
    async def answer(request: Recorded) -> Reply:
        model = msgspec.json.decode(request.body)["model"]
        if model == "gpt-4o":
            return Reply(json={}, headers=budget("requests", 0, "40s", 10))
        return Reply(json={}, headers=budget("requests", 499, "120ms", 500))

    async with serving(clock) as (server, client):
        server.handler = answer
        await create(client, "gpt-4o")
        started = clock.now()
        await create(client, "gpt-4o-mini")
        await create(client, "gpt-4o-mini")
        assert clock.now() == started  # the other model went at once, twice
        await create(client, "gpt-4o")
    # 10 requests per 40 s: the spent model's next request waits for one refill, 4 s.
    assert clock.sleeps == [pytest.approx(4.0, abs=0.001)]
    scopes = client.rate_limiter.statistics()["scopes"]  # type: ignore[union-attr]
    assert scopes["model 'gpt-4o'"]["waits"] == 1
    assert scopes["model 'gpt-4o'"]["waited_seconds"] == pytest.approx(4.0, abs=0.001)
    assert scopes["model 'gpt-4o'"]["requests"]["limit"] == 10
    assert scopes["model 'gpt-4o-mini'"] == {
        "admitted": 2,
        "waits": 0,
        "waited_seconds": 0.0,
        "requests": {
            "limit": 500.0,
            "limit_estimated": False,
            "available": 500.0,  # refilled during the other model's 4 s wait
            "refill_per_second": pytest.approx(1 / 0.121),
            "full_in": 0.0,
        },
        "tokens": None,
    }


async def test_operations_without_a_model_share_one_scope(clock: FakeClock) -> None:
    spent = Reply(json={}, headers=budget("requests", 0, "10s", 5))
    async with serving(clock, spent) as (_server, client):
        await client.request("GET", "/models")
        await client.request("GET", "/files")
        await create(client, "gpt-4o")  # its own scope
    assert clock.sleeps == [pytest.approx(2.0, abs=0.001)]
    scopes = client.rate_limiter.statistics()["scopes"]  # type: ignore[union-attr]
    assert scopes["requests without a model"]["admitted"] == 2
    assert scopes["model 'gpt-4o'"]["waits"] == 0


async def test_each_key_of_a_pool_has_its_own_budget(clock: FakeClock) -> None:
    keys = ["sk-first-000000", "sk-second-11111"]
    spent = Reply(json={}, headers=budget("requests", 0, "40s", 1))
    async with (
        scripted_server(spent) as server,
        Client(auth=KeyPool(keys, clock=clock), base_url=server.url, clock=clock) as client,
    ):
        await create(client, "gpt-4o")
        await create(client, "gpt-4o")
        assert clock.sleeps == []  # the second key's budget was untouched
        await create(client, "gpt-4o")
    sent_with = [r.headers["authorization"] for r in server.requests]
    assert sent_with == [f"Bearer {k}" for k in (*keys, keys[0])]
    # The first key's one request per 40 s: its turn comes again after a 40 s wait.
    assert clock.sleeps == [pytest.approx(40.0, abs=0.002)]
    scopes = client.rate_limiter.statistics()["scopes"]  # type: ignore[union-attr]
    assert set(scopes) == {"model 'gpt-4o', key sk-…0000", "model 'gpt-4o', key sk-…1111"}
    assert not any(key in repr(scopes) for key in keys)


def test_keys_that_mask_alike_are_distinct_scopes_across_a_rotation() -> None:
    pool = KeyPool(["sk-first-0000", "sk-second-0000"])
    assert [pool.choose() for _ in range(3)] == ["sk-…0000", "sk-…0000#2", "sk-…0000"]
    # The kept key keeps its label (a request in flight may name it); the new one gets another.
    pool.replace(["sk-third-0000", "sk-second-0000"])
    assert [pool.choose(), pool.choose()] == ["sk-…0000#2", "sk-…0000"]  # second, third
    assert "second" not in repr(pool)


async def test_a_learned_wait_beyond_the_maximum_fails_at_once_and_sends_nothing(
    clock: FakeClock,
) -> None:
    drained = Reply(json={}, headers=budget("tokens", 0, "6m0s", 1_000))
    async with serving(clock, drained) as (server, client):
        await create(client, "gpt-4o", 500)
        with pytest.raises(RateLimitError) as caught:
            await create(client, "gpt-4o", 500)
    assert len(server.requests) == 1  # nothing was sent
    assert clock.sleeps == []  # and nothing was slept
    error = caught.value
    assert error.client_side
    assert error.scope == "model 'gpt-4o'"
    assert error.retry_after == pytest.approx(180.0, abs=0.01)
    assert error.method == "POST"
    assert error.url == f"{server.url}/responses"
    assert error.attempts == ()
    message = str(error)
    assert message.startswith("POST /v1/responses was not sent: the server's tokens budget for ")
    assert "model 'gpt-4o' needs 180.0 s to refill enough for about 500 tokens" in message
    assert "longer than the 60 s the rate limiter may wait" in message
    assert "full again in 360 s, at " in message
    assert message.count(" UTC). ") == 1
    assert "RateLimiter(max_wait=...)" in message


async def test_the_maximum_learned_wait_is_the_retry_policys_max_retry_after_or_max_wait(
    clock: FakeClock,
) -> None:
    drained = Reply(json={}, headers=budget("requests", 0, "6m0s", 2))
    patient = RetryPolicy(max_retry_after=200.0)
    async with (
        scripted_server(drained) as server,
        Client(KEY, base_url=server.url, clock=clock, retry=patient) as client,
        Client(
            KEY,
            base_url=server.url,
            clock=clock,
            rate_limiter=RateLimiter(max_wait=10.0, clock=clock),
            retry=patient,
        ) as strict,
    ):
        await client.request("GET", "/models")
        await client.request("GET", "/models")  # 180 s is within the policy's 200 s
        assert clock.sleeps == [pytest.approx(180.0, abs=0.01)]
        await strict.request("GET", "/models")
        with pytest.raises(RateLimitError, match="longer than the 10 s the rate limiter"):
            await strict.request("GET", "/models")
        with pytest.raises(RateLimitError, match="longer than the 100 s the rate limiter"):
            await client.request(
                "GET", "/models", options=RequestOptions(retry=RetryPolicy(max_retry_after=100))
            )
    assert len(server.requests) == 3


async def test_without_a_limit_header_the_wait_never_exceeds_the_reset(clock: FakeClock) -> None:
    # No limit: the largest remaining seen (100) stands in for it, so 100 requests refill over
    # the reported 6 minutes: 3.6 s for the next one, not the six minutes a window would take.
    replies = [
        Reply(json={}, headers=budget("requests", 100, "0s")),
        Reply(json={}, headers=budget("requests", 0, "6m0s")),
        Reply(json={}, headers=budget("requests", 0, "5s")),
    ]
    async with serving(clock, *replies) as (_server, client):
        await client.request("GET", "/models")
        await client.request("GET", "/models")
        await client.request("GET", "/models")
        assert clock.sleeps == [pytest.approx(3.6, abs=0.001)]
        scopes = client.rate_limiter.statistics()["scopes"]  # type: ignore[union-attr]
        learned = scopes["requests without a model"]["requests"]
        assert learned["limit"] == 100.0
        assert learned["limit_estimated"] is True
    # A cold client told only "0 left, full in 5 s" has no rate: it waits for the reset, no more.
    async with serving(clock, replies[2]) as (_server, cold):
        await cold.request("GET", "/models")
        await cold.request("GET", "/models")
    assert clock.sleeps[1:] == [pytest.approx(5.001, abs=0.001)]


async def test_a_cancelled_wait_gives_its_booking_back(clock: FakeClock) -> None:
    limiter = RateLimiter(clock=clock)
    limiter.observe(dict(budget("requests", 0, "10s", 10)))
    with anyio.move_on_after(0):
        await limiter.acquire()  # books the 1 s refill, then is cancelled in its sleep
    # The fake sleep moved the clock that 1 s: the refill is there, and the cancelled request's
    # booking was given back, so the next one goes at once (it would wait 1 s otherwise).
    assert clock.sleeps == [pytest.approx(1.0, abs=0.001)]
    await limiter.acquire()
    assert len(clock.sleeps) == 1
    assert limiter.statistics()["admitted"] == 1


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.12, "120ms"), (1.5, "1.5s"), (360.0, "6m0s"), (61.25, "1m1.25s"), (0.0004, "0ms")],
)
def test_the_simulated_server_writes_resets_as_openai_does(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


async def test_a_600_request_burst_under_500_rpm_and_150k_tpm_gets_no_429_in_ideal_time() -> None:
    clock = VirtualClock()
    simulated = BucketServer(clock, requests_per_window=500, tokens_per_window=150_000)
    cost = 400  # 600 x 400 = 240k tokens: the token budget binds, not the request one
    async with (
        scripted_server() as server,
        Client(KEY, base_url=server.url, clock=clock, retry=RetryPolicy.never()) as client,
    ):
        server.handler = simulated
        # One request teaches the client the budgets, as any first request of a job does.
        await create(client, "gpt-4o", cost)
        started = clock.now()
        finished: list[float] = []

        async def one() -> None:
            try:
                await create(client, "gpt-4o", cost)
                finished.append(clock.now())
            finally:
                clock.finished()

        async with anyio.create_task_group() as group:
            for _ in range(600):
                clock.started()
                group.start_soon(one)
        elapsed = max(finished) - started
    assert simulated.rejected == 0
    assert len(simulated.admitted) == 601
    # Ideal: what the bucket held after the first request at once, then its refill of 2,500
    # tokens a second for the rest.
    ideal = (600 * cost - (150_000 - cost)) / 2_500
    assert ideal == pytest.approx(36.16)
    assert ideal <= elapsed <= ideal * 1.05
    # And the client was not merely slow: it used the bucket's burst at once.
    assert sum(1 for a in simulated.admitted[1:] if a.at == started) == 374


windows = st.floats(min_value=1.0, max_value=400.0).map(lambda s: round(s, 3))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    request_limit=st.integers(1, 60),
    token_limit=st.integers(100, 20_000),
    request_window=windows,
    token_window=windows,
    traffic=st.lists(st.tuples(st.floats(0.0, 30.0), st.floats(0.0, 1.0)), min_size=1, max_size=40),
)
async def test_learned_waits_stay_within_the_reset_and_never_overspend_the_bucket(
    request_limit: int,
    token_limit: int,
    request_window: float,
    token_window: float,
    traffic: list[tuple[float, float]],
) -> None:
    clock = FakeClock()
    simulated = BucketServer(
        clock,
        requests_per_window=request_limit,
        tokens_per_window=token_limit,
        requests_window=request_window,
        tokens_window=token_window,
    )
    limiter = RateLimiter(max_wait=10_000, clock=clock)
    async with (
        scripted_server() as server,
        Client(
            KEY,
            base_url=server.url,
            clock=clock,
            rate_limiter=limiter,
            retry=RetryPolicy.never(),
        ) as client,
    ):
        server.handler = simulated
        latest_reset = 0.0
        for gap, share in traffic:
            clock.advance(gap)
            tokens = max(1, round(share * token_limit))
            before = clock.now()
            response = await create(client, "m", tokens)
            waited = clock.now() - before
            # Never longer than the reset the server last reported (+ the 1 ms the client adds
            # for the header's rounding), aged by the gap since.
            assert waited <= max(0.0, latest_reset - gap) + 0.0015
            info = response.rate_limit
            assert info is not None
            latest_reset = max(info.reset_requests or 0.0, info.reset_tokens or 0.0)
    assert simulated.rejected == 0
    # The bucket's law, checked on what the server admitted: over any stretch of time, no more
    # than a full bucket plus what refilled meanwhile.
    admitted = simulated.admitted
    for first in range(len(admitted)):
        spent_tokens = 0
        for spent_requests, last in enumerate(range(first, len(admitted)), start=1):
            spent_tokens += admitted[last].tokens
            span = admitted[last].at - admitted[first].at
            assert spent_requests <= request_limit + span * request_limit / request_window + 1e-6
            assert spent_tokens <= token_limit + span * token_limit / token_window + 1e-6
