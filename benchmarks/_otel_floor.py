"""The OpenTelemetry SDK's own cost per request, with no client around it.

`benchmarks.observability` measures these beside its rows, in the same run, so the cost of the
`otel` row splits into what the SDK must do for any instrumentation and what this client adds:

- `sdk_floor`: the least any GenAI instrumentation does per request: one CLIENT span started
  and ended (`tracer.start_span`, no context attached: neither do we), and one
  `gen_ai.client.operation.duration` point with the two attributes the conventions require;
- `sdk_same_records`: the SDK given exactly what `OpenTelemetry()` records for one of the
  benchmark's chat completions (the span's 13 attributes, the duration point and the two
  token points, with 6, 7 and 7 attributes), every attribute dict built beforehand: the
  SDK's share of the `otel` row. What the row costs beyond it is this client's own.

Both run on the providers the `otel` row uses (`sdk_providers()`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import Sampler

__all__ = ["FLOORS", "floor_loop", "sdk_providers"]

#: Floor name -> what it measures.
FLOORS = {
    "sdk_floor": "bare SDK: start_span + end + one histogram point",
    "sdk_same_records": "SDK given our span and 3 points, attributes prebuilt",
}


def sdk_providers(sampler: Sampler | None = None) -> tuple[TracerProvider, MeterProvider]:
    """The SDK's tracer provider, spans through a `BatchSpanProcessor` to an exporter that
    discards them, and a meter provider whose points a reader aggregates and never exports."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider(sampler=sampler, shutdown_on_exit=False)
    tracer_provider.add_span_processor(BatchSpanProcessor(Discard(), max_queue_size=65536))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    return tracer_provider, meter_provider


def floor_loop(kind: str) -> Callable[[int], None]:
    """A function that does `kind`'s work for N requests."""
    from opentelemetry.trace import SpanKind

    if kind not in FLOORS:
        raise ValueError(f"unknown floor {kind!r}: one of {', '.join(FLOORS)}")
    tracer_provider, meter_provider = sdk_providers()
    tracer = tracer_provider.get_tracer("benchmarks")
    meter = meter_provider.get_meter("benchmarks")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    if kind == "sdk_floor":
        required: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
        }

        def bare(count: int) -> None:
            for _ in range(count):
                span = tracer.start_span("chat gpt-4o-mini", kind=SpanKind.CLIENT)
                span.end()
                duration.record(0.01, required)

        return bare

    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    # What `OpenTelemetry()` records for one of the `requests` scenario's chat completions.
    sampling: dict[str, Any] = {
        "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1",
        "server.port": 8000,
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
    }
    outcome: dict[str, Any] = {
        "http.response.status_code": 200,
        "openai_ergo.request_id": "req_0123456789abcdef",
        "gen_ai.response.id": "chatcmpl-0123456789abcdef",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 30,
        "openai.response.system_fingerprint": "fp_0123456789",
        "gen_ai.response.finish_reasons": ("stop",),
    }
    point: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1",
        "server.port": 8000,
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
    }
    point_in = {**point, "gen_ai.token.type": "input"}
    point_out = {**point, "gen_ai.token.type": "output"}

    def same(count: int) -> None:
        for _ in range(count):
            span = tracer.start_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=sampling)
            span.set_attributes(outcome)
            span.end()
            duration.record(0.01, point)
            tokens.record(12, point_in)
            tokens.record(30, point_out)

    return same
