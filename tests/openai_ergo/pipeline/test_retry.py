"""Retries against a scripted loopback server; waits are asserted on a fake clock."""

from __future__ import annotations

import os
import uuid
import warnings
from email.utils import formatdate

import anyio
import httpx
import pytest
from structlog.testing import capture_logs

from openai_ergo import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    Client,
    InternalServerError,
    RateLimitError,
    RequestOptions,
    RetryPolicy,
    RetryStop,
    Timeouts,
)
from openai_ergo._pipeline._idempotency import new_idempotency_key
from tests.openai_ergo.pipeline.conftest import FakeClock
from tests.openai_ergo.pipeline.scripted import Recorded, Reply, error_body, scripted_server

KEY = "sk-test-SECRET"
OK = Reply(json={"id": "resp_1"})
BUSY = Reply(status=429, json=error_body("Slow down", type="rate_limit_exceeded"))


def _client(url: str, clock: FakeClock, **kwargs: object) -> Client:
    return Client(KEY, base_url=url, clock=clock, **kwargs)  # type: ignore[arg-type]


async def test_429_with_retry_after_waits_then_succeeds(clock: FakeClock) -> None:
    limited = Reply(status=429, json=error_body("Slow down"), headers=[("Retry-After", "1")])
    async with scripted_server(limited, OK) as server, _client(server.url, clock) as client:
        response = await client.request("POST", "/responses", body={"input": "hi"})
    assert response.json() == {"id": "resp_1"}
    assert response.attempts == 2
    assert clock.sleeps == [1.0]
    assert len(server.requests) == 2


async def test_retry_after_ms_wins_over_retry_after(clock: FakeClock) -> None:
    limited = Reply(status=429, headers=[("retry-after-ms", "250"), ("Retry-After", "9")])
    async with scripted_server(limited, OK) as server, _client(server.url, clock) as client:
        await client.request("GET", "/models")
    assert clock.sleeps == [0.25]


async def test_retry_after_as_an_http_date(clock: FakeClock) -> None:
    import time

    when = formatdate(time.time() + 30, usegmt=True)
    limited = Reply(status=503, headers=[("Retry-After", when)])
    async with scripted_server(limited, OK) as server, _client(server.url, clock) as client:
        await client.request("GET", "/models")
    assert len(clock.sleeps) == 1
    # An HTTP date has one-second resolution and the request took a moment.
    assert 27.0 <= clock.sleeps[0] <= 30.0


async def test_x_should_retry_false_stops_at_once(clock: FakeClock) -> None:
    final = Reply(status=500, json=error_body("boom"), headers=[("x-should-retry", "false")])
    async with scripted_server(final, OK) as server, _client(server.url, clock) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.request("GET", "/models")
    assert len(server.requests) == 1
    assert clock.sleeps == []
    assert len(caught.value.attempts) == 1


async def test_x_should_retry_true_forces_a_retry_of_a_400(clock: FakeClock) -> None:
    forced = Reply(status=400, json=error_body("try again"), headers=[("x-should-retry", "true")])
    async with scripted_server(forced, OK) as server, _client(server.url, clock) as client:
        await client.request("GET", "/models")
    assert len(server.requests) == 2


async def test_a_400_is_not_retried(clock: FakeClock) -> None:
    bad = Reply(status=400, json=error_body("bad"))
    async with scripted_server(bad, OK) as server, _client(server.url, clock) as client:
        with pytest.raises(Exception, match="400 Bad Request: bad"):
            await client.request("GET", "/models")
    assert len(server.requests) == 1


async def test_5xx_retried_to_the_cap_then_a_typed_error_lists_every_attempt(
    clock: FakeClock,
) -> None:
    failing = Reply(status=502, json=error_body("upstream", type="server_error"))
    policy = RetryPolicy(max_attempts=4, initial_backoff=1.0, max_backoff=3.0, jitter=0.0)
    async with (
        scripted_server(failing) as server,
        _client(server.url, clock, retry=policy) as client,
    ):
        with pytest.raises(InternalServerError) as caught:
            await client.request("POST", "/responses", body={"input": "x"})
    error = caught.value
    assert len(server.requests) == 4
    assert clock.sleeps == [1.0, 2.0, 3.0]  # exponential, capped
    assert [a["status"] for a in error.attempts] == [502, 502, 502, 502]
    assert [a["retry_in"] for a in error.attempts] == [1.0, 2.0, 3.0, None]
    assert error.status_code == 502
    assert "after 4 attempts" in str(error)


async def test_jitter_stays_within_its_band(clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=6, initial_backoff=1.0, max_backoff=100.0, jitter=0.5)
    failing = Reply(status=500)
    async with (
        scripted_server(failing, failing, failing, failing, failing, OK) as server,
        _client(server.url, clock, retry=policy, circuit_breaker=False) as client,
    ):
        await client.request("GET", "/models")
    for attempt, slept in enumerate(clock.sleeps, start=1):
        base = 2.0 ** (attempt - 1)
        assert base * 0.5 <= slept <= base


async def test_one_idempotency_key_travels_across_every_attempt(clock: FakeClock) -> None:
    async with (
        scripted_server(Reply(status=500), Reply(status=500), OK) as server,
        _client(server.url, clock) as client,
    ):
        await client.request("POST", "/responses", body={"input": "a"})
        await client.request("POST", "/responses", body={"input": "b"})
    keys = [r.headers["idempotency-key"] for r in server.requests]
    assert len(keys) == 4
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] != keys[0]  # a new logical request gets a new key


async def test_generated_idempotency_keys_are_distinct_version_4_uuids(clock: FakeClock) -> None:
    async with scripted_server(*[OK] * 20) as server, _client(server.url, clock) as client:
        for _ in range(20):
            await client.request("POST", "/responses", body={"input": "a"})
    keys = [r.headers["idempotency-key"] for r in server.requests]
    assert len(set(keys)) == 20
    for key in keys:
        prefix, _, text = key.partition("openai-ergo-")
        parsed = uuid.UUID(text)
        assert (prefix, str(parsed), parsed.version, parsed.variant) == (
            "",
            text,
            4,
            uuid.RFC_4122,
        )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_its_parents_idempotency_keys() -> None:
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads; the child only writes.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: its next two keys, then out without running pytest's teardown
        try:
            os.write(write_end, f"{new_idempotency_key()} {new_idempotency_key()}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    parents = {new_idempotency_key(), new_idempotency_key()}
    with os.fdopen(read_end, "rb") as pipe:
        childs = set(pipe.read().decode().split())
    os.waitpid(pid, 0)
    assert len(childs) == 2
    assert not childs & parents
    # Not only a different counter: the child drew its own random part.
    assert {key[:-12] for key in childs}.isdisjoint({key[:-12] for key in parents})


async def test_a_users_idempotency_key_is_kept(clock: FakeClock) -> None:
    async with (
        scripted_server(Reply(status=500), OK) as server,
        _client(server.url, clock) as client,
    ):
        await client.request(
            "POST", "/batches", body={}, options=RequestOptions(idempotency_key="job-7")
        )
        await client.request("POST", "/batches", body={}, headers={"Idempotency-Key": "job-8"})
    assert [r.headers["idempotency-key"] for r in server.requests] == ["job-7", "job-7", "job-8"]


async def test_a_very_long_retry_after_is_not_waited_out(clock: FakeClock) -> None:
    quota = Reply(status=429, json=error_body("quota"), headers=[("Retry-After", "3600")])
    async with scripted_server(quota) as server, _client(server.url, clock) as client:
        with pytest.raises(RateLimitError):
            await client.request("GET", "/models")
    assert clock.sleeps == []


async def test_connection_errors_are_retried_then_typed(clock: FakeClock) -> None:
    async with scripted_server() as server:
        dead = server.url  # closed below: nothing listens there any more
    async with _client(dead, clock, retry=RetryPolicy(max_attempts=2, jitter=0.0)) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.request("GET", "/models")
    assert len(caught.value.attempts) == 2
    assert caught.value.attempts[0]["error"] == "ConnectError"
    assert "GET /v1/models could not reach the server" in str(caught.value)


async def test_per_request_retry_policy_overrides_the_clients(clock: FakeClock) -> None:
    async with (
        scripted_server(Reply(status=500), OK) as server,
        _client(server.url, clock) as client,
    ):
        with pytest.raises(InternalServerError):
            await client.request(
                "GET", "/models", options=RequestOptions(retry=RetryPolicy.never())
            )
    assert len(server.requests) == 1


async def test_the_total_deadline_bounds_a_request_and_its_retries() -> None:
    async def never_answers(request: Recorded) -> Reply:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async with (
        scripted_server() as server,
        Client(KEY, base_url=server.url, timeouts=Timeouts(total=0.2)) as client,
    ):
        server.handler = never_answers
        with pytest.raises(APITimeoutError, match=r"total deadline of 0\.2 s"):
            await client.request("GET", "/models")


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_each_retryable_status_is_retried(
    status: int, clock: FakeClock, anyio_backend: str
) -> None:
    async with (
        scripted_server(Reply(status=status), OK) as server,
        _client(server.url, clock, circuit_breaker=False) as client,
    ):
        response = await client.request("GET", "/models")
    assert response.attempts == 2
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_not_retried(
    status: int, clock: FakeClock, anyio_backend: str
) -> None:
    async with (
        scripted_server(Reply(status=status), OK) as server,
        _client(server.url, clock) as client,
    ):
        with pytest.raises(APIStatusError) as caught:
            await client.request("GET", "/models")
    assert caught.value.status_code == status
    assert len(server.requests) == 1
    assert clock.sleeps == []


async def test_a_read_timeout_is_retried_then_typed(clock: FakeClock) -> None:
    async def silent(request: Recorded) -> Reply:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    policy = RetryPolicy(max_attempts=2, jitter=0.0)
    async with (
        scripted_server() as server,
        _client(server.url, clock, retry=policy, timeouts=Timeouts(read=0.05)) as client,
    ):
        server.handler = silent
        with pytest.raises(APITimeoutError) as caught:
            await client.request("POST", "/responses", body={"input": "x"})
    assert len(server.requests) == 2
    assert [a["error"] for a in caught.value.attempts] == ["ReadTimeout", "ReadTimeout"]
    assert "POST /v1/responses timed out" in str(caught.value)
    assert "after 2 attempts" in str(caught.value)
    # The one logical POST kept its idempotency key across the timed-out attempts.
    assert len({r.headers["idempotency-key"] for r in server.requests}) == 1


async def test_the_pool_timeout_bounds_the_wait_for_a_connection(clock: FakeClock) -> None:
    # One connection, held by an open stream: the next request times out waiting for the pool.
    held = Reply(events=[b"data: 1\n\n"], hang=True)
    async with (
        scripted_server(held) as server,
        _client(
            server.url,
            clock,
            limits=httpx.Limits(max_connections=1),
            timeouts=Timeouts(pool=0.05),
            retry=RetryPolicy.never(),
        ) as client,
    ):
        stream = await client.request("GET", "/x", stream=True)
        async with stream:
            with pytest.raises(APITimeoutError, match="PoolTimeout"):
                await client.request("GET", "/models")
    assert len(server.requests) == 1


# -- why retrying stopped -----------------------------------------------------------------------


async def test_a_retry_after_beyond_max_retry_after_says_it_was_not_retried(
    clock: FakeClock,
) -> None:
    busy = Reply(status=503, json=error_body("busy"), headers=[("Retry-After", "3")])
    policy = RetryPolicy(max_retry_after=2)
    with capture_logs() as logs:
        async with (
            scripted_server(busy, OK) as server,
            _client(server.url, clock, retry=policy) as client,
        ):
            with pytest.raises(InternalServerError) as caught:
                await client.request("GET", "/models")
    assert str(caught.value) == (
        "GET /v1/models failed with 503 Service Unavailable: busy; not retried: the server asked "
        "for 3 s, more than max_retry_after (2 s)."
    )
    assert len(server.requests) == 1
    assert clock.sleeps == []
    reason = "the server asked for 3 s, more than max_retry_after (2 s)"
    assert caught.value.attempts[-1]["stopped"] == reason
    assert [e.get("stopped") for e in logs if e["event"] == "openai_ergo.request"] == [reason]


async def test_a_long_retry_after_after_a_retry_says_it_was_not_retried_again(
    clock: FakeClock,
) -> None:
    quota = Reply(status=429, json=error_body("quota"), headers=[("Retry-After", "3600")])
    async with (
        scripted_server(Reply(status=500), quota) as server,
        _client(server.url, clock, retry=RetryPolicy(jitter=0.0)) as client,
    ):
        with pytest.raises(RateLimitError) as caught:
            await client.request("GET", "/models")
    assert str(caught.value).endswith(
        ": quota after 2 attempts; not retried again: the server asked for 3600 s, more than "
        "max_retry_after (60 s)."
    )
    assert clock.sleeps == [0.5]
    assert [a["retry_in"] for a in caught.value.attempts] == [0.5, None]


async def test_attempts_used_up_end_the_message_with_their_count(clock: FakeClock) -> None:
    failing = Reply(status=503, json=error_body("busy"), headers=[("Retry-After", "1")])
    async with scripted_server(failing) as server, _client(server.url, clock) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.request("GET", "/models")
    assert str(caught.value).endswith(": busy after 3 attempts.")
    assert "not retried" not in str(caught.value)
    assert clock.sleeps == [1.0, 1.0]
    assert caught.value.attempts[-1]["stopped"] == "after 3 attempts"
    async with scripted_server() as server:
        dead = server.url
    async with _client(dead, clock, retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(APIConnectionError) as refused:
            await client.request("GET", "/models")
    assert str(refused.value).endswith(") after 2 attempts.")


def test_the_policy_tells_attempts_used_up_from_a_wait_too_long() -> None:
    policy = RetryPolicy(max_attempts=3, max_retry_after=2, jitter=0.0)
    too_long = {"retry-after": "3"}
    assert policy.next_attempt(1, {"retry-after": "2"}, now_epoch=0.0) == 2.0
    assert policy.next_attempt(2, None, now_epoch=0.0) == 1.0
    assert policy.next_attempt(3, None, now_epoch=0.0) == RetryStop("attempts_used_up", 3)
    stop = policy.next_attempt(1, too_long, now_epoch=0.0)
    assert stop == RetryStop("retry_after_too_long", 1, asked=3.0, max_retry_after=2)
    assert isinstance(stop, RetryStop)
    assert stop.reason == "the server asked for 3 s, more than max_retry_after (2 s)"
    assert RetryStop("retry_after_too_long", 1, asked=0.25, max_retry_after=0.1).reason == (
        "the server asked for 0.25 s, more than max_retry_after (0.1 s)"
    )
    # Attempts used up wins over the server's advice: there is no next attempt to wait for.
    assert policy.next_attempt(3, too_long, now_epoch=0.0) == RetryStop("attempts_used_up", 3)
    # `delay` keeps its older, coarser answer.
    assert policy.delay(1, too_long, now_epoch=0.0) is None
    assert policy.delay(3, None, now_epoch=0.0) is None
