"""Circuit breaker states and the rate limiter's pacing, on a fake clock."""

from __future__ import annotations

import anyio
import pytest
from structlog.testing import capture_logs

from openai_ergo import (
    CircuitBreaker,
    CircuitOpenError,
    Client,
    InternalServerError,
    NotFoundError,
    RateLimiter,
    RetryPolicy,
)
from openai_ergo._pipeline._ratelimit import parse_reset_duration
from tests.openai_ergo.pipeline.conftest import FakeClock
from tests.openai_ergo.pipeline.scripted import Recorded, Reply, error_body, scripted_server

KEY = "sk-test-SECRET"
ENDPOINT = "GET /v1/models"


async def test_the_circuit_opens_fails_fast_half_opens_and_closes(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown=30, clock=clock)
    failing = Reply(status=500, json=error_body("down", type="server_error"))
    models = [failing, failing, failing, failing, Reply(json={})]

    async def handler(request: Recorded) -> Reply:
        if request.path != "/v1/models":
            return Reply(json={})
        return models.pop(0) if len(models) > 1 else models[0]

    async with (
        scripted_server() as server,
        Client(
            KEY,
            base_url=server.url,
            circuit_breaker=breaker,
            retry=RetryPolicy.never(),
            clock=clock,
        ) as client,
    ):
        server.handler = handler
        for _ in range(3):
            with pytest.raises(InternalServerError):
                await client.request("GET", "/models")
        assert breaker.state(ENDPOINT) == "open"
        with pytest.raises(CircuitOpenError) as caught:
            await client.request("GET", "/models")
        assert len(server.requests) == 3  # failed fast: nothing was sent
        assert caught.value.endpoint == ENDPOINT
        assert "open after 3 consecutive failures" in str(caught.value)
        # Other routes are not affected.
        await client.request("GET", "/files/file-abc123")
        assert breaker.state("GET /v1/files/{id}") == "closed"

        clock.advance(30)
        assert breaker.state(ENDPOINT) == "half-open"
        with pytest.raises(InternalServerError):  # the trial fails: open again
            await client.request("GET", "/models")
        assert breaker.state(ENDPOINT) == "open"
        clock.advance(30)
        await client.request("GET", "/models")  # the trial succeeds: closed
        assert breaker.state(ENDPOINT) == "closed"
        await client.request("GET", "/models")


async def test_4xx_do_not_trip_the_circuit(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=clock)
    async with (
        scripted_server(Reply(status=404, json=error_body("nope"))) as server,
        Client(KEY, base_url=server.url, circuit_breaker=breaker, clock=clock) as client,
    ):
        for _ in range(4):
            with pytest.raises(NotFoundError):
                await client.request("GET", "/models")
    assert breaker.state(ENDPOINT) == "closed"


async def test_only_one_trial_goes_through_while_half_open(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown=5, clock=clock)
    breaker.record(ENDPOINT, False)
    clock.advance(5)
    assert breaker.admit(ENDPOINT) is True
    with pytest.raises(CircuitOpenError, match="after the trial request in flight"):
        breaker.admit(ENDPOINT)
    breaker.record(ENDPOINT, None, trial=True)  # the trial was cancelled: no verdict
    assert breaker.admit(ENDPOINT) is True


async def test_50_requests_at_600_per_minute_take_at_least_4_5_simulated_seconds(
    clock: FakeClock,
) -> None:
    limiter = RateLimiter(requests_per_minute=600, clock=clock)
    async with (
        scripted_server() as server,
        Client(KEY, base_url=server.url, rate_limiter=limiter, clock=clock) as client,
    ):
        start = clock.now()
        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(client.request, "GET", "/models")
        elapsed = clock.now() - start
    assert len(server.requests) == 50
    assert elapsed >= 4.5
    assert elapsed == pytest.approx(4.9)
    assert limiter.statistics()["admitted"] == 50


async def test_tokens_per_minute_paces_by_the_estimated_size(clock: FakeClock) -> None:
    limiter = RateLimiter(tokens_per_minute=60_000, clock=clock)
    body = {"input": "x" * 3996, "max_output_tokens": 9_000}  # ~1000 prompt + 9000 output
    async with (
        scripted_server() as server,
        Client(KEY, base_url=server.url, rate_limiter=limiter, clock=clock) as client,
    ):
        for _ in range(3):
            await client.request("POST", "/responses", body=body)
    # 10k tokens each at 1k tokens/s: the 2nd waits ~10 s, the 3rd ~10 s more.
    assert sum(clock.sleeps) == pytest.approx(20.0, rel=0.01)


async def test_concurrency_is_capped(clock: FakeClock) -> None:
    limiter = RateLimiter(max_concurrency=3, clock=clock)
    in_flight = 0
    peak = 0

    async def handler(request: Recorded) -> Reply:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        return Reply(json={})

    async with (
        scripted_server() as server,
        Client(KEY, base_url=server.url, rate_limiter=limiter) as client,
        anyio.create_task_group() as group,
    ):
        server.handler = handler
        for _ in range(12):
            group.start_soon(client.request, "GET", "/models")
    assert peak == 3
    assert limiter.statistics()["in_flight"] == 0


async def test_the_limiter_learns_a_spent_budget_from_headers(clock: FakeClock) -> None:
    spent = Reply(
        json={},
        headers=[
            ("x-ratelimit-limit-requests", "100"),
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "6m0s"),
            ("x-ratelimit-remaining-tokens", "5000"),
            ("x-ratelimit-reset-tokens", "120ms"),
        ],
    )
    async with (
        scripted_server(spent, Reply(json={})) as server,
        Client(KEY, base_url=server.url, clock=clock) as client,
    ):
        first = await client.request("GET", "/models")
        assert first.rate_limit is not None
        assert first.rate_limit.reset_requests == 360.0
        assert first.rate_limit.remaining_tokens == 5000
        await client.request("GET", "/models")
    # The bucket refills continuously, 100 requests in 6 minutes: one request is back in 3.6 s,
    # not at the full reset.
    assert clock.sleeps == [pytest.approx(3.6, abs=0.001)]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6m0s", 360.0), ("1s", 1.0), ("120ms", 0.12), ("1h2m3.5s", 3723.5), ("20", 20.0)],
)
def test_reset_durations_parse(text: str, seconds: float) -> None:
    assert parse_reset_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5x", "m5"])
def test_unreadable_reset_durations_are_ignored(text: str) -> None:
    assert parse_reset_duration(text) is None


async def test_each_attempt_counts_so_a_retry_storm_trips_the_circuit(clock: FakeClock) -> None:
    # Every attempt is a call the endpoint failed, so retries count: the third failed attempt
    # opens the circuit and the fourth fails fast instead of adding load to a failing server.
    breaker = CircuitBreaker(failure_threshold=3, cooldown=30, clock=clock)
    policy = RetryPolicy(max_attempts=5, jitter=0.0)
    async with (
        scripted_server(Reply(status=503)) as server,
        Client(KEY, base_url=server.url, circuit_breaker=breaker, retry=policy, clock=clock) as c,
    ):
        with pytest.raises(CircuitOpenError) as caught:
            await c.request("GET", "/models")
    assert len(server.requests) == 3
    assert [a["status"] for a in caught.value.attempts] == [503, 503, 503]
    assert breaker.state(ENDPOINT) == "open"


async def test_the_rate_limiters_wait_is_in_the_attempts_log_event(clock: FakeClock) -> None:
    limiter = RateLimiter(requests_per_minute=60, clock=clock)
    with capture_logs() as logs:
        async with (
            scripted_server() as server,
            Client(KEY, base_url=server.url, rate_limiter=limiter, clock=clock) as client,
        ):
            await client.request("GET", "/models")
            await client.request("GET", "/models")
    events = [e for e in logs if e["event"] == "openai_ergo.request"]
    assert [e["waited"] for e in events] == [0.0, pytest.approx(1.0)]
    assert limiter.statistics()["waited_seconds"] == pytest.approx(1.0)
    # The wait also has an event of its own, saying why and for whom.
    waits = [e for e in logs if e["event"] == "openai_ergo.rate_limit.wait"]
    assert waits == [
        {
            "event": "openai_ergo.rate_limit.wait",
            "log_level": "info",
            "reason": "requests_per_minute",
            "scope": "requests without a model",
            "seconds": 1.0,
        }
    ]


async def test_a_retry_is_paced_by_the_limiter_like_any_request(clock: FakeClock) -> None:
    # 60/min is one request a second: after a 0.5 s backoff the retry still waits 0.5 s more.
    limiter = RateLimiter(requests_per_minute=60, clock=clock)
    policy = RetryPolicy(initial_backoff=0.5, jitter=0.0)
    async with (
        scripted_server(Reply(status=503), Reply(json={})) as server,
        Client(KEY, base_url=server.url, rate_limiter=limiter, retry=policy, clock=clock) as c,
    ):
        response = await c.request("GET", "/models")
    assert response.attempts == 2
    assert clock.sleeps == [0.5, pytest.approx(0.5)]
    assert limiter.statistics()["admitted"] == 2
