"""OpenTelemetry spans and metrics after the GenAI semantic conventions (the `otel` extra).

One CLIENT span per logical request, named `{gen_ai.operation.name} {gen_ai.request.model}`
(`chat gpt-4o-mini`) for inference and after its route (`GET /v1/files/{id}`) for any other
API call. It starts before the first attempt and ends with the result: for a stream, when the
stream ends, breaks off, fails or is closed. Attempts (of a request that took more than one),
retry and rate-limit waits and circuit-breaker refusals are span events. The metrics are the
conventions' `gen_ai.client.operation.duration`, `gen_ai.client.token.usage` and
`gen_ai.client.operation.time_to_first_chunk` histograms, for inference operations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, final

from openai_ergo._errors import ConfigurationError
from openai_ergo._pipeline._observe import LocalSpan, Observer, Operation, OperationEvent
from openai_ergo.observability._content import (
    ContentRedactor,
    input_messages,
    output_messages,
    system_instructions,
)

if TYPE_CHECKING:
    import httpx
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider

__all__ = ["OpenTelemetry"]

PROVIDER = "openai"
AZURE_PROVIDER = "azure.ai.openai"
_SCOPE = "openai_ergo"
_VERSION = "0.1.0"
#: The conventions' advised bucket boundaries.
_DURATION_BUCKETS = tuple(0.01 * 2.0**power for power in range(14))  # 0.01 s to 81.92 s
_TOKEN_BUCKETS = tuple(4.0**power for power in range(14))
#: Request fields and the attributes they become (numbers as they are).
_REQUEST_NUMBERS = (
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
    ("seed", "gen_ai.request.seed"),
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("max_output_tokens", "gen_ai.request.max_tokens"),
)
_EVENT_NAMES = {
    "attempt": "openai_ergo.attempt",
    "retry_wait": "openai_ergo.retry",
    "rate_limit_wait": "openai_ergo.rate_limit.wait",
    "circuit_open": "openai_ergo.circuit_breaker.open",
}
DETAILS_EVENT = "gen_ai.client.inference.operation.details"


def provider_name(operation: Operation) -> str:
    """`azure.ai.openai` for Azure OpenAI's routes (`/openai/deployments/...`,
    `/openai/v1/...`), `openai` for OpenAI and the compatible servers that speak its API."""
    return AZURE_PROVIDER if operation.path.startswith("/openai/") else PROVIDER


#: Every request field `_add_request_details` reads: a dict body with none of them (the common
#: case) is passed over with one set operation instead of fourteen look-ups.
_PARAMETER_FIELDS = frozenset(
    [field for field, _ in _REQUEST_NUMBERS]
    + ["stop", "n", "service_tier", "conversation", "response_format", "text"]
)
#: How many distinct metric attribute sets an observer keeps built (the SDK's own default
#: cardinality limit per instrument is 2,000); past it the cache starts over.
_MAX_METRIC_SETS = 1024
#: An operation's metric attributes: for its duration, its input tokens, its output tokens.
_MetricAttributes = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]


def _field(body: Any, name: str) -> Any:
    if isinstance(body, dict):
        return body.get(name)
    return getattr(body, name, None)


def _output_type(body: Any) -> str | None:
    """`json` when the request asks for JSON output, `text` for a text format, else None."""
    fmt = _field(body, "response_format")
    if fmt is None:
        text = _field(body, "text")
        fmt = _field(text, "format") if text is not None else None
    kind = _field(fmt, "type") if fmt is not None else None
    if kind in ("json_schema", "json_object"):
        return "json"
    return "text" if kind == "text" else None


def sampling_attributes(operation: Operation) -> dict[str, Any]:
    """The attributes a span starts with: those the conventions name as relevant to a
    sampler's decision (the operation, the provider, the requested model, the server)."""
    attributes: dict[str, Any] = {
        "gen_ai.provider.name": provider_name(operation),
        "server.address": operation.server_address,
    }
    if operation.server_port is not None:
        attributes["server.port"] = operation.server_port
    name = operation.name
    if name is None:
        attributes["http.request.method"] = operation.method
        return attributes
    attributes["gen_ai.operation.name"] = name
    if operation.model is not None:
        attributes["gen_ai.request.model"] = operation.model
    return attributes


def _add_request_details(operation: Operation, attributes: dict[str, Any]) -> None:
    """The request's attributes that are no sampler's business, added to `attributes`."""
    if operation.tag is not None:
        attributes["openai_ergo.tag"] = operation.tag
    if operation.name is None:
        attributes["openai_ergo.endpoint"] = operation.endpoint
        return
    if operation.stream:
        attributes["gen_ai.request.stream"] = True
    body = operation.body
    if body is None or isinstance(body, bytes | bytearray):
        return
    if isinstance(body, dict):
        if body.keys().isdisjoint(_PARAMETER_FIELDS):
            return
        get: Callable[[str], Any] = body.get
    else:

        def get(name: str) -> Any:
            return getattr(body, name, None)

    for field, key in _REQUEST_NUMBERS:
        value = get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[key] = value
    stop = get("stop")
    if isinstance(stop, str):
        attributes["gen_ai.request.stop_sequences"] = (stop,)
    elif isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop):
        attributes["gen_ai.request.stop_sequences"] = tuple(stop)
    choices = get("n")
    if isinstance(choices, int) and choices != 1:
        attributes["gen_ai.request.choice.count"] = choices
    tier = get("service_tier")
    if isinstance(tier, str) and tier != "auto":
        attributes["openai.request.service_tier"] = tier
    conversation = get("conversation")
    if isinstance(conversation, str):
        attributes["gen_ai.conversation.id"] = conversation
    output = _output_type(body)
    if output is not None:
        attributes["gen_ai.output.type"] = output


def _add_response_details(operation: Operation, attributes: dict[str, Any]) -> None:
    if operation.status is not None:
        attributes["http.response.status_code"] = operation.status
    if operation.request_id is not None:
        attributes["openai_ergo.request_id"] = operation.request_id
    if operation.attempts > 1:
        attributes["openai_ergo.attempts"] = operation.attempts
    if operation.error_type is not None:
        attributes["error.type"] = operation.error_type
    if operation.name is None:
        return
    for key, value in (
        ("gen_ai.response.id", operation.response_id),
        ("gen_ai.response.model", operation.response_model),
        ("gen_ai.usage.input_tokens", operation.input_tokens),
        ("gen_ai.usage.output_tokens", operation.output_tokens),
        ("openai.response.service_tier", operation.service_tier),
        ("openai.response.system_fingerprint", operation.system_fingerprint),
        ("gen_ai.response.time_to_first_chunk", operation.time_to_first_chunk),
        ("openai_ergo.stream.events", operation.events),
        ("openai_ergo.usage.estimated_output_tokens", operation.estimated_output_tokens),
    ):
        if value is not None:
            attributes[key] = value
    if operation.finish_reasons:
        attributes["gen_ai.response.finish_reasons"] = operation.finish_reasons
    if operation.closed_early:
        attributes["openai_ergo.stream.closed_early"] = True


def end_attributes(operation: Operation) -> dict[str, Any]:
    """What a recorded span is given at its end, in one call: the request's details (which a
    span the sampler drops never needs built) and the outcome."""
    attributes: dict[str, Any] = {}
    _add_request_details(operation, attributes)
    _add_response_details(operation, attributes)
    return attributes


@final
class _LocalSpan(LocalSpan):
    __slots__ = ("_span",)

    def __init__(self, span: Span) -> None:
        self._span = span

    def activate(self) -> Any:
        from opentelemetry.trace import use_span

        # The step's own outcome is told by `end()`: a StopAsyncIteration passing through
        # (a streamed loop's end) is no error.
        return use_span(
            self._span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        )

    def end(self, error: BaseException | None = None) -> None:
        span = self._span
        if error is not None:
            from opentelemetry.trace import StatusCode

            span.set_attribute("error.type", type(error).__name__)
            span.set_status(StatusCode.ERROR, str(error))
        span.end()


@final
class OpenTelemetry(Observer):
    """Traces and measures every request after the OpenTelemetry GenAI semantic conventions.

    `Client(observers=[OpenTelemetry()])` uses the global tracer and meter providers (set them
    up with the OpenTelemetry SDK as usual), or pass `tracer_provider=` / `meter_provider=`.
    `traces=False` or `metrics=False` turns either off. `propagate=True` sends the W3C trace
    context (`traceparent`, through the globally configured propagator) with every request.
    `capture_content=True` adds the prompts and completions to each inference span as a
    `gen_ai.client.inference.operation.details` event, scrubbed of keys and tokens, passed
    through `redact` (for personal data) and cut to `max_content_chars` each: off by default,
    since prompts are often sensitive. Needs `pip install openai-ergo[otel]`.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        traces: bool = True,
        metrics: bool = True,
        propagate: bool = False,
        capture_content: bool = False,
        redact: Callable[[str], str] | None = None,
        max_content_chars: int = 4096,
    ) -> None:
        try:
            from opentelemetry import metrics as otel_metrics
            from opentelemetry import trace
        except ImportError as exc:  # pragma: no cover - the extra is installed in CI
            raise ConfigurationError(
                "OpenTelemetry() needs the opentelemetry-api package: "
                "pip install 'openai-ergo[otel]'"
            ) from exc
        self._trace = trace
        self._tracer = (
            trace.get_tracer(_SCOPE, _VERSION, tracer_provider=tracer_provider) if traces else None
        )
        self._propagate = propagate and traces
        self._content = ContentRedactor(redact, max_content_chars) if capture_content else None
        self._duration: Any = None
        self._tokens: Any = None
        self._first_chunk: Any = None
        self._metric_sets: dict[tuple[Any, ...], _MetricAttributes] = {}
        if metrics:
            meter = otel_metrics.get_meter(_SCOPE, _VERSION, meter_provider=meter_provider)
            self._duration = meter.create_histogram(
                "gen_ai.client.operation.duration",
                unit="s",
                description="GenAI operation duration.",
                explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
            )
            self._tokens = meter.create_histogram(
                "gen_ai.client.token.usage",
                unit="{token}",
                description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
            )
            self._first_chunk = meter.create_histogram(
                "gen_ai.client.operation.time_to_first_chunk",
                unit="s",
                description="Time to receive the first chunk of a streamed response.",
                explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
            )

    # -- spans --------------------------------------------------------------------------------

    def started(self, operation: Operation) -> None:
        """Open the request's span.

        It starts with the attributes a sampler may decide on; the rest are built only for a
        span that records, and given to it in one call when it ends. A span the sampler drops
        is kept only to propagate its context (`propagate=True`).
        """
        tracer = self._tracer
        if tracer is None:
            return
        name = operation.name
        if name is None:
            span_name = operation.endpoint
        else:
            span_name = f"{name} {operation.model}" if operation.model else name
        span = tracer.start_span(
            span_name, kind=self._trace.SpanKind.CLIENT, attributes=sampling_attributes(operation)
        )
        if self._propagate or span.is_recording():
            operation.data[self] = span

    def inject(self, operation: Operation, headers: httpx.Headers) -> None:
        """Put the span's W3C trace context on the request, when `propagate=True`."""
        if not self._propagate:
            return
        span = operation.data.get(self)
        if span is None:
            return
        from opentelemetry.propagate import inject

        carrier: dict[str, str] = {}
        inject(carrier, context=self._trace.set_span_in_context(span))
        headers.update(carrier)

    def event(self, operation: Operation, event: OperationEvent) -> None:
        """An attempt, a wait or a refusal, as a span event."""
        span = operation.data.get(self)
        if span is None or not span.is_recording():
            return
        attributes: dict[str, Any] = {"openai_ergo.attempt": event.attempt}
        if event.seconds is not None:
            attributes["openai_ergo.seconds"] = event.seconds
        if event.status is not None:
            attributes["http.response.status_code"] = event.status
        if event.error_type is not None:
            attributes["error.type"] = event.error_type
        if event.request_id is not None:
            attributes["openai_ergo.request_id"] = event.request_id
        if event.reason is not None:
            attributes["openai_ergo.reason"] = event.reason
        span.add_event(_EVENT_NAMES[event.kind], attributes)

    def first_chunk(self, operation: Operation) -> None:
        """Record the time to the first chunk."""
        histogram = self._first_chunk
        if histogram is not None and operation.name is not None:
            histogram.record(operation.time_to_first_chunk, self._metric_attributes(operation)[0])

    def ended(self, operation: Operation) -> None:
        """Close the span with the outcome, and record the duration and token metrics."""
        span = operation.data.pop(self, None)
        if span is not None and span.is_recording():
            span.set_attributes(end_attributes(operation))
            if self._content is not None and operation.name is not None:
                self._add_content(span, operation, self._content)
            error = operation.error
            if error is not None:
                span.set_status(self._trace.StatusCode.ERROR, str(error))
                if operation.error_type != "cancelled":
                    span.record_exception(error)
            span.end()
        duration = self._duration
        if operation.name is None or duration is None:
            return
        attributes, input_attributes, output_attributes = self._metric_attributes(operation)
        duration.record(operation.duration, attributes)
        # Only the server's counts: an estimate is no billable usage (it stays on the span).
        if operation.input_tokens is not None:
            self._tokens.record(operation.input_tokens, input_attributes)
        if operation.output_tokens is not None:
            self._tokens.record(operation.output_tokens, output_attributes)

    def _metric_attributes(self, operation: Operation) -> _MetricAttributes:
        """The attributes of an operation's duration (and time to first chunk), input token
        and output token points, built once per distinct set and then reused: the SDK copies
        what it keeps, and nothing here changes them after."""
        key = (
            operation.name,
            operation.path.startswith("/openai/"),
            operation.server_address,
            operation.server_port,
            operation.model,
            operation.response_model,
            operation.error_type,
        )
        found = self._metric_sets.get(key)
        if found is not None:
            return found
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation.name,
            "gen_ai.provider.name": provider_name(operation),
            "server.address": operation.server_address,
        }
        if operation.server_port is not None:
            attributes["server.port"] = operation.server_port
        if operation.model is not None:
            attributes["gen_ai.request.model"] = operation.model
        if operation.response_model is not None:
            attributes["gen_ai.response.model"] = operation.response_model
        if operation.error_type is not None:
            attributes["error.type"] = operation.error_type
        found = (
            attributes,
            {**attributes, "gen_ai.token.type": "input"},
            {**attributes, "gen_ai.token.type": "output"},
        )
        if len(self._metric_sets) >= _MAX_METRIC_SETS:
            self._metric_sets.clear()
        self._metric_sets[key] = found
        return found

    def _add_content(self, span: Span, operation: Operation, clean: ContentRedactor) -> None:
        details: dict[str, str] = {}
        for key, value in (
            ("gen_ai.system_instructions", system_instructions(operation.body, clean)),
            ("gen_ai.input.messages", input_messages(operation.body, clean)),
            ("gen_ai.output.messages", output_messages(operation, clean)),
        ):
            if value:
                # The SDK takes no structured attributes on span events: JSON text, as the
                # conventions allow.
                details[key] = json.dumps(value, ensure_ascii=False)
        if details:
            span.add_event(DETAILS_EVENT, details)

    def local_span(self, name: str, attributes: Mapping[str, Any]) -> LocalSpan | None:
        """An INTERNAL span for a tool loop (`invoke_agent`) or a tool call (`execute_tool`)."""
        tracer = self._tracer
        if tracer is None:
            return None
        full = {"gen_ai.provider.name": PROVIDER, **attributes}
        tool = attributes.get("gen_ai.tool.name")
        span_name = f"{name} {tool}" if tool else name
        return _LocalSpan(
            tracer.start_span(span_name, kind=self._trace.SpanKind.INTERNAL, attributes=full)
        )

    def __repr__(self) -> str:
        parts = [
            f"traces={self._tracer is not None}",
            f"metrics={self._duration is not None}",
            f"propagate={self._propagate}",
            f"capture_content={self._content is not None}",
        ]
        return f"OpenTelemetry({', '.join(parts)})"
