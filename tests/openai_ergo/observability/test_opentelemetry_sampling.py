"""OpenTelemetry under a sampler that drops traces, and the metric points' attribute sets:
real requests to the mock server, read from the SDK's in-memory exporter and metric reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import context, trace
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from openai_ergo import Client, InternalServerError, RequestOptions, RetryPolicy
from openai_ergo.mock import Fault, MockServer
from tests.openai_ergo.observability.telemetry import Telemetry, attributes
from tests.openai_ergo.pipeline.conftest import FakeClock

KEY = "sk-test-otel-sampling-0123456789"


@pytest.fixture
def dropping() -> Iterator[Telemetry]:
    """Telemetry whose tracer provider samples no trace of its own (a sampled parent's
    children are still recorded: `ParentBased`)."""
    found = Telemetry(sampler=ParentBased(TraceIdRatioBased(0.0)))
    yield found
    found.close()


def make_client(server: MockServer, telemetry: Telemetry, **options: Any) -> Client:
    return Client(
        api_key=KEY,
        base_url=server.url,
        rate_limiter=False,
        circuit_breaker=False,
        clock=FakeClock(),
        observers=[telemetry.observer(**options)],
    )


async def test_a_dropped_trace_records_no_span_but_every_metric_point(
    mock_openai: MockServer, dropping: Telemetry
) -> None:
    async with make_client(mock_openai, dropping) as client:
        reply = await client.chat("gpt-4o-mini").user("Hi").temperature(0.3)
        mock_openai.fail_next(Fault.server_error(500), times=3)
        with pytest.raises(InternalServerError):
            await (
                client.with_options(retry=RetryPolicy(max_attempts=2))
                .chat("gpt-4o-mini")
                .user("Hi")
            )
    assert dropping.spans() == []
    durations = {
        (p.attributes or {}).get("error.type"): p.count
        for p in dropping.points("gen_ai.client.operation.duration")
    }
    assert durations == {None: 1, "500": 1}
    assert reply.usage is not None
    usage = {
        (p.attributes or {})["gen_ai.token.type"]: p.sum
        for p in dropping.points("gen_ai.client.token.usage")
    }
    assert usage == {"input": reply.usage.prompt_tokens, "output": reply.usage.completion_tokens}


async def test_a_dropped_trace_still_propagates_its_context_unsampled(
    mock_openai: MockServer, dropping: Telemetry
) -> None:
    async with make_client(mock_openai, dropping, propagate=True) as client:
        await client.chat("gpt-4o-mini").user("Hi")
    assert dropping.spans() == []
    version, trace_id, span_id, flags = mock_openai.requests[0].headers["traceparent"].split("-")
    assert version == "00"
    assert int(trace_id, 16) != 0
    assert int(span_id, 16) != 0
    assert not int(flags, 16) & 1  # the gateway learns the trace is not sampled


async def test_a_request_inside_a_sampled_trace_is_recorded_with_every_attribute(
    mock_openai: MockServer, dropping: Telemetry
) -> None:
    parent = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(parent)))
    try:
        async with make_client(mock_openai, dropping) as client:
            reply = await (
                client.chat("gpt-4o-mini")
                .user("Hi")
                .temperature(0.3)
                .max_tokens(50)
                .options(RequestOptions(tag="t"))
            )
    finally:
        context.detach(token)
    [span] = dropping.spans()
    assert span.context is not None
    assert span.context.trace_id == parent.trace_id
    assert span.parent is not None
    assert span.parent.span_id == parent.span_id
    found = attributes(span)
    assert found["gen_ai.operation.name"] == "chat"
    assert found["gen_ai.request.model"] == "gpt-4o-mini"
    assert found["gen_ai.request.temperature"] == 0.3
    assert found["gen_ai.request.max_tokens"] == 50
    assert found["openai_ergo.tag"] == "t"
    assert found["gen_ai.response.id"] == reply.id
    assert found["http.response.status_code"] == 200


async def test_metric_points_are_grouped_by_model_and_outcome(
    mock_openai: MockServer, telemetry: Telemetry
) -> None:
    async with make_client(mock_openai, telemetry) as client:
        for model in ("gpt-4o-mini", "gpt-4o-mini", "gpt-4o"):
            await client.chat(model).user("Hi")
        mock_openai.fail_next(Fault.server_error(500), times=1)
        with pytest.raises(InternalServerError):
            await client.with_options(retry=RetryPolicy.never()).chat("gpt-4o-mini").user("Hi")
    durations = {
        (
            (p.attributes or {})["gen_ai.request.model"],
            (p.attributes or {}).get("error.type"),
        ): p.count
        for p in telemetry.points("gen_ai.client.operation.duration")
    }
    assert durations == {("gpt-4o-mini", None): 2, ("gpt-4o", None): 1, ("gpt-4o-mini", "500"): 1}
    tokens = [
        ((p.attributes or {})["gen_ai.request.model"], (p.attributes or {})["gen_ai.token.type"])
        for p in telemetry.points("gen_ai.client.token.usage")
    ]
    assert sorted(tokens) == [
        ("gpt-4o", "input"),
        ("gpt-4o", "output"),
        ("gpt-4o-mini", "input"),
        ("gpt-4o-mini", "output"),
    ]
