"""OpenTelemetry traces and metrics of real requests, after the GenAI semantic conventions.

One span per request (`chat gpt-4o-mini`), ending when its stream ends; a tool loop is an
`invoke_agent` span over its turns and its `execute_tool` calls. The metrics are the
conventions' histograms (`gen_ai.client.operation.duration`, `gen_ai.client.token.usage`,
`gen_ai.client.operation.time_to_first_chunk`).

This program keeps what it records in memory and prints it (docs/observability.md shows its
output); in production you would give the SDK an exporter (OTLP, say) instead. Needs the `otel`
extra and `opentelemetry-sdk`. Run it with OPENAI_API_KEY set to talk to OpenAI; without a key
it starts the embedded mock server and talks to that.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from openai_ergo import OpenTelemetry, tool
from openai_ergo.mock import client_or_mock

SHOWN = (
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.response.time_to_first_chunk",
    "gen_ai.tool.name",
    "error.type",
)


@tool
async def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}, 21 °C"


def shown_value(value: object) -> object:
    """A list for a sequence, a float rounded, anything else as it is."""
    if isinstance(value, tuple):
        return list(value)
    return round(value, 4) if isinstance(value, float) else value


def print_tree(spans: Sequence[ReadableSpan]) -> None:
    """Each span under its parent, with its duration and the attributes worth a look."""
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None else None
        children.setdefault(parent, []).append(span)

    def show(span: ReadableSpan, depth: int) -> None:
        lasted = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        attributes = span.attributes or {}
        shown = ", ".join(
            f"{key.split('.', 1)[1]}={shown_value(value)}"
            for key in SHOWN
            if (value := attributes.get(key)) is not None
        )
        print(f"{'  ' * depth}{span.name} [{span.kind.name}] {lasted:.1f} ms  {shown}")
        for event in span.events:
            print(f"{'  ' * depth}  · event {event.name}")
        assert span.context is not None
        for child in children.get(span.context.span_id, []):
            show(child, depth + 1)

    for root in children.get(None, []):
        show(root, 0)


def print_metrics(reader: InMemoryMetricReader) -> None:
    """Each histogram's data points: count and sum, by the attributes that split them."""
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                print(f"{metric.name} ({metric.unit})")
                for point in metric.data.data_points:
                    assert isinstance(point, HistogramDataPoint)
                    labels = dict(point.attributes or {})
                    split = labels.get("gen_ai.token.type") or labels.get("gen_ai.operation.name")
                    print(
                        f"  {labels.get('gen_ai.request.model')} {split}: "
                        f"count={point.count} sum={round(point.sum, 4)}"
                    )


async def main() -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)

    async with client_or_mock(seed=7, tokens_per_second=400) as plain:
        client = plain.with_options(observers=[telemetry])
        async with client.chat("gpt-4o-mini").user("Say hello in five words.").stream() as stream:
            async for text in stream.text():
                print(text, end="", flush=True)
        print()
        weather = client.responses("gpt-5-mini").input("Weather in Paris?").tools(get_weather)
        answer = await weather.tool_choice("required").run()
        print(answer.output_text)

    print("\nspans:")
    print_tree(spans.get_finished_spans())
    print("\nmetrics:")
    print_metrics(reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


if __name__ == "__main__":
    anyio.run(main)
