"""OpenTelemetry's SDK with in-memory exporters: what the client traced and measured."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from openai_ergo import OpenTelemetry


class Telemetry:
    """A tracer and a meter provider of their own (not the global ones), read in memory."""

    def __init__(self, sampler: Sampler | None = None) -> None:
        self.spans_out = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(sampler=sampler, shutdown_on_exit=False)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans_out))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)

    def observer(self, **options: Any) -> OpenTelemetry:
        """An `OpenTelemetry` observer reporting here."""
        return OpenTelemetry(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **options
        )

    def spans(self) -> list[ReadableSpan]:
        """Every finished span, in the order they ended."""
        return list(self.spans_out.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called `name`."""
        found = [span for span in self.spans() if span.name == name]
        assert len(found) == 1, [span.name for span in self.spans()]
        return found[0]

    def points(self, metric: str) -> list[HistogramDataPoint]:
        """The histogram data points of `metric` collected so far."""
        data = self.reader.get_metrics_data()
        found: list[HistogramDataPoint] = []
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for item in scope.metrics:
                    if item.name == metric:
                        found += [
                            p for p in item.data.data_points if isinstance(p, HistogramDataPoint)
                        ]
        return found

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def event_names(span: ReadableSpan) -> list[str]:
    """The names of a span's events, in order."""
    return [event.name for event in span.events]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    """A span's attributes as a plain dict (sequences as tuples)."""
    return {
        key: tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else value
        for key, value in (span.attributes or {}).items()
    }
