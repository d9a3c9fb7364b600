"""The Prometheus collector, fed by real requests to the mock server and read back by scraping
its `/metrics` over HTTP, as Prometheus itself would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from openai_ergo import (
    CircuitBreaker,
    CircuitOpenError,
    Client,
    ConfigurationError,
    InternalServerError,
    Operation,
    PrometheusMetrics,
    RateLimiter,
    RequestOptions,
    RetryPolicy,
    StreamInterruptedError,
    TokenUsage,
    cost_of,
)
from openai_ergo.mock import Fault, MockServer
from tests.openai_ergo.pipeline.conftest import FakeClock

CHAT = "POST /v1/chat/completions"


class Scraper:
    """`/metrics` served from the registry on a loopback port, and read back as samples."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.server, self.thread = start_http_server(0, addr="127.0.0.1", registry=registry)
        self.url = f"http://127.0.0.1:{self.server.server_port}/metrics"

    async def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        async with httpx.AsyncClient() as http:
            response = await http.get(self.url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                found[sample.name, frozenset(sample.labels.items())] = sample.value
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def scraper(registry: CollectorRegistry) -> Iterator[Scraper]:
    served = Scraper(registry)
    yield served
    served.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def spent(operation: Operation) -> float | None:
    """A made-up price: a micro-dollar a token."""
    if operation.input_tokens is None or operation.output_tokens is None:
        return None
    return (operation.input_tokens + operation.output_tokens) / 1e6


@pytest.fixture
async def metrics_client(
    mock_openai: MockServer, registry: CollectorRegistry, clock: FakeClock
) -> AsyncIterator[Client]:
    metrics = PrometheusMetrics(registry=registry, cost=spent)
    async with Client(
        api_key="sk-test-prometheus",
        base_url=mock_openai.url,
        rate_limiter=RateLimiter(requests_per_minute=600, clock=clock, learn_from_headers=False),
        circuit_breaker=CircuitBreaker(failure_threshold=2, cooldown=60, clock=clock),
        retry=RetryPolicy(max_attempts=3),
        clock=clock,
        observers=[metrics],
    ) as client:
        yield client


async def test_scraping_metrics_shows_requests_tokens_cost_and_streams(
    metrics_client: Client, scraper: Scraper, mock_openai: MockServer
) -> None:
    model = "gpt-4o-mini"
    mock_openai.app.tokens_per_second = 100  # paced: the stream is left before its usage came
    reply = await metrics_client.chat(model).user("Hi")
    async with metrics_client.chat(model).user("Count to five").stream() as stream:
        async for _ in stream.text():
            during = await scraper.samples()
            break
    after = await scraper.samples()
    assert value(during, "openai_ergo_streams_in_flight", endpoint=CHAT, model=model) == 1
    assert value(after, "openai_ergo_streams_in_flight", endpoint=CHAT, model=model) == 0
    assert value(after, "openai_ergo_requests_total", endpoint=CHAT, model=model) == 2
    assert reply.usage is not None
    tokens_in = value(after, "openai_ergo_tokens_total", model=reply.model, type="input")
    assert tokens_in == reply.usage.prompt_tokens
    tokens_out = value(after, "openai_ergo_tokens_total", model=reply.model, type="output")
    assert tokens_out == reply.usage.completion_tokens
    cost = value(after, "openai_ergo_cost_usd_total", model=reply.model)
    assert cost == pytest.approx(reply.usage.total_tokens / 1e6)
    assert (
        value(after, "openai_ergo_request_duration_seconds_count", endpoint=CHAT, model=model) == 2
    )
    ttfc = value(after, "openai_ergo_time_to_first_chunk_seconds_count", endpoint=CHAT, model=model)
    assert ttfc == 1
    assert (
        value(after, "openai_ergo_circuit_state", endpoint=CHAT, openai_ergo_circuit_state="closed")
        == 1
    )


async def test_errors_by_type_retries_waits_and_an_opening_circuit_are_counted(
    metrics_client: Client, scraper: Scraper, mock_openai: MockServer, clock: FakeClock
) -> None:
    model = "gpt-4o-mini"
    mock_openai.fail_next(Fault.server_error(503))
    await metrics_client.chat(model).user("retried once")
    never = RequestOptions(retry=RetryPolicy.never())
    mock_openai.fail_next(Fault.server_error(500), times=2)
    for _ in range(2):
        with pytest.raises(InternalServerError):
            await metrics_client.chat(model).user("fails").options(never)
    with pytest.raises(CircuitOpenError):
        await metrics_client.chat(model).user("refused")
    samples = await scraper.samples()
    assert value(samples, "openai_ergo_retries_total", endpoint=CHAT, model=model) == 1
    assert value(samples, "openai_ergo_errors_total", endpoint=CHAT, model=model, type="500") == 2
    refused = value(
        samples, "openai_ergo_errors_total", endpoint=CHAT, model=model, type="CircuitOpenError"
    )
    assert refused == 1
    assert value(samples, "openai_ergo_circuit_refusals_total", endpoint=CHAT) == 1
    assert (
        value(samples, "openai_ergo_circuit_state", endpoint=CHAT, openai_ergo_circuit_state="open")
        == 1
    )
    assert value(samples, "openai_ergo_requests_total", endpoint=CHAT, model=model) == 4
    # Requests paced at 600 a minute on the fake clock: each after the first waited 0.1 s.
    waits = value(samples, "openai_ergo_rate_limit_waits_total", endpoint=CHAT, model=model)
    assert waits is not None
    assert waits >= 2
    waited = value(samples, "openai_ergo_rate_limit_wait_seconds_total", endpoint=CHAT, model=model)
    assert waited == pytest.approx(sum(s for s in clock.sleeps if s == pytest.approx(0.1)))


def test_two_collectors_in_one_registry_is_a_configuration_error(
    registry: CollectorRegistry,
) -> None:
    PrometheusMetrics(registry=registry)
    with pytest.raises(ConfigurationError, match="own registry"):
        PrometheusMetrics(registry=registry)
    # A second namespace in the same registry is fine, and the failed one left nothing behind.
    PrometheusMetrics(registry=registry, namespace="second")
    with pytest.raises(ConfigurationError, match="namespace"):
        PrometheusMetrics(registry=CollectorRegistry(), namespace="not a name")


async def test_cost_true_prices_requests_with_the_shipped_price_table(
    mock_openai: MockServer, registry: CollectorRegistry, scraper: Scraper
) -> None:
    async with Client(
        api_key="sk-test-prometheus",
        base_url=mock_openai.url,
        observers=[PrometheusMetrics(registry=registry, cost=True)],
    ) as client:
        reply = await client.chat("gpt-4o-mini").user("Hi")
        await client.chat("no-such-model-anywhere").user("Hi")  # unpriced: adds nothing
    samples = await scraper.samples()
    assert reply.usage is not None
    expected = cost_of(
        TokenUsage(input=reply.usage.prompt_tokens, output=reply.usage.completion_tokens),
        reply.model,
    )
    assert expected > 0
    cost = value(samples, "openai_ergo_cost_usd_total", model=reply.model)
    assert cost == pytest.approx(float(expected))
    assert value(samples, "openai_ergo_cost_usd_total", model="no-such-model-anywhere") is None


async def test_a_stream_cut_mid_way_leaves_no_stream_in_flight_and_counts_its_error(
    metrics_client: Client, scraper: Scraper, mock_openai: MockServer
) -> None:
    model = "gpt-4o-mini"
    never = RequestOptions(retry=RetryPolicy.never())
    mock_openai.fail_next(Fault.disconnect(after=4))
    with pytest.raises(StreamInterruptedError):
        await metrics_client.chat(model).user("Rivers?").options(never).stream().until_done()
    # A stream refused before its first chunk was never in flight.
    mock_openai.fail_next(Fault.server_error(500))
    with pytest.raises(InternalServerError):
        await metrics_client.chat(model).user("Lakes?").options(never).stream().until_done()
    samples = await scraper.samples()
    assert value(samples, "openai_ergo_streams_in_flight", endpoint=CHAT, model=model) == 0
    assert value(samples, "openai_ergo_requests_total", endpoint=CHAT, model=model) == 2
    cut = value(
        samples,
        "openai_ergo_errors_total",
        endpoint=CHAT,
        model=model,
        type="StreamInterruptedError",
    )
    assert cut == 1
    assert value(samples, "openai_ergo_errors_total", endpoint=CHAT, model=model, type="500") == 1
    ttfc = value(
        samples, "openai_ergo_time_to_first_chunk_seconds_count", endpoint=CHAT, model=model
    )
    assert ttfc == 1  # only the stream that got its first events
    # The server never sent the cut stream's usage: no tokens are counted for it.
    assert [key for key in samples if key[0] == "openai_ergo_tokens_total"] == []
