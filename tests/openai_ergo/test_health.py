"""`await client.health()` against the mock over loopback: healthy, a refused key, an unreachable
host, a 429 with its rate-limit headers, and a probe that times out."""

from __future__ import annotations

import socket

import anyio
import pytest

from openai_ergo import Client, ConfigurationError, Health, InvalidRequestError, RateLimitInfo
from openai_ergo.mock import MockServer


async def test_a_healthy_server_reports_latency_headroom_models_and_skew(
    mock_openai: MockServer,
) -> None:
    async with Client(base_url=mock_openai.url, api_key="sk-health") as client:
        health = await client.health()
    assert isinstance(health, Health)
    assert health.ok, health.error
    assert health.reachable
    assert health.authenticated is True
    assert health.status_code == 200
    assert health.base_url == mock_openai.url
    assert health.latency is not None
    assert 0 < health.latency < 10
    assert "gpt-4o-mini" in health.models
    # The mock's buckets are full at the start of a test, less this request.
    assert isinstance(health.rate_limit, RateLimitInfo)
    assert health.rate_limit.limit_requests == 5_000  # the mock's default requests per minute
    assert health.headroom is not None
    assert 0.99 < health.headroom <= 1.0
    # Same machine: the Date header (1 s resolution) is within a second and a bit.
    assert health.clock_skew is not None
    assert abs(health.clock_skew) < 1.5
    assert health.request_id
    assert health.verdict.startswith(f"{mock_openai.url} answered in ")
    [probe] = mock_openai.requests
    assert (probe.method, probe.path) == ("GET", "/v1/models")


async def test_a_refused_key_is_reported_not_raised_and_the_key_is_not_shown(
    mock_openai: MockServer,
) -> None:
    mock_openai.app.api_keys = frozenset({"sk-the-right-one"})
    async with Client(base_url=mock_openai.url, api_key="sk-wrong-secret-1234") as client:
        health = await client.health()
    assert not health.ok
    assert health.reachable
    assert health.authenticated is False
    assert health.status_code == 401
    assert health.error is not None
    assert "401" in health.error
    assert "sk-wrong-secret-1234" not in repr(health)
    assert "sk-wrong-secret-1234" not in health.verdict
    # Sent once: a health probe never retries.
    assert len(mock_openai.requests) == 1


async def test_an_unreachable_host_names_the_url() -> None:
    # A port that was free a moment ago and has no listener: the connection is refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    async with Client(base_url=url, api_key="sk-health") as client:
        health = await client.health()
    assert not health.ok
    assert not health.reachable
    assert health.authenticated is None
    assert health.latency is None
    assert health.status_code is None
    assert health.error is not None
    assert health.error.startswith(f"{url} is unreachable")


async def test_a_429_reports_the_rate_limit_headers_and_the_wait(mock_openai: MockServer) -> None:
    mock_openai.fail_next("rate_limit; retry_after=7", path="/v1/models")
    async with Client(base_url=mock_openai.url, api_key="sk-health") as client:
        health = await client.health()
    assert not health.ok
    assert health.reachable
    assert health.authenticated is True
    assert health.status_code == 429
    assert health.rate_limited
    assert health.retry_after == pytest.approx(7, abs=0.01)
    assert health.rate_limit is not None
    assert health.rate_limit.remaining_requests == 0
    assert health.headroom == 0.0
    assert health.error is not None
    assert "rate limiting" in health.error
    assert len(mock_openai.requests) == 1


async def test_a_probe_that_hangs_times_out_within_its_bound(mock_openai: MockServer) -> None:
    mock_openai.fail_next("hang; seconds=5", path="/v1/models")
    async with Client(base_url=mock_openai.url, api_key="sk-health") as client:
        started = anyio.current_time()
        health = await client.health(timeout=0.3)
        waited = anyio.current_time() - started
    # It fired at its own bound, long before the 5 s the server would have held it.
    assert 0.29 <= waited < 2.5
    assert not health.reachable
    assert health.error == f"{mock_openai.url} did not answer within 0.3 s."


async def test_a_5xx_leaves_authentication_unknown(mock_openai: MockServer) -> None:
    mock_openai.fail_next("server_error; status=503", path="/v1/models")
    async with Client(base_url=mock_openai.url, api_key="sk-health") as client:
        health = await client.health()
    assert health.reachable
    assert health.authenticated is None
    assert health.status_code == 503
    assert health.error is not None
    assert "503" in health.error


async def test_bad_timeout_and_closed_client_are_typed_errors(mock_openai: MockServer) -> None:
    client = Client(base_url=mock_openai.url, api_key="sk-health")
    with pytest.raises(InvalidRequestError, match="timeout") as caught:
        await client.health(timeout=0)
    assert caught.value.param == "timeout"
    await client.aclose()
    with pytest.raises(ConfigurationError, match="closed"):
        await client.health()
