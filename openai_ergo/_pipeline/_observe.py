"""Observers: what the client tells about each logical request, for metrics, traces and audits.

An `Observer` sees each logical request once, from the moment it is sent until its result is
known: every attempt, every retry and rate-limit wait, a circuit breaker's refusal, a stream's
first chunk, and the end (for a stream, when it ends, breaks off, fails or is closed early).
`Middleware` sees each attempt's HTTP request instead, and a middleware that sees requests puts
every request on httpx's slower path; an observer changes nothing about how a request is sent.

The hooks are plain functions called in line with the request: keep them quick (hand slow work
to a thread or a memory channel). A client without observers pays one empty-tuple test per
request and per stream.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, final

import msgspec

if TYPE_CHECKING:
    import httpx

    from openai_ergo._errors import CircuitOpenError

__all__ = [
    "LocalSpan",
    "Observer",
    "Operation",
    "OperationEvent",
    "StreamOutcome",
    "genai_operation_name",
]

#: The GenAI operation (semantic conventions' `gen_ai.operation.name`) of each inference path.
_GENAI_OPERATIONS: dict[str, str] = {
    "/chat/completions": "chat",
    "/responses": "chat",
    "/completions": "text_completion",
    "/embeddings": "embeddings",
}


def genai_operation_name(method: str, path: str) -> str | None:
    """`chat`, `text_completion` or `embeddings` for an inference request (Azure's
    deployment paths included), `None` for any other API call."""
    if method != "POST":
        return None
    for suffix, name in _GENAI_OPERATIONS.items():
        if path.endswith(suffix):
            return name
    return None


EventKind = Literal["attempt", "retry_wait", "rate_limit_wait", "circuit_open"]


@final
@dataclass(frozen=True, slots=True)
class OperationEvent:
    """Something that happened inside one logical request.

    - `attempt`: an attempt ended: `status` (or `error_type` when no response came),
      `seconds` it took, its `request_id`. Reported for every attempt of a request that took
      more than one, so a plain success costs nothing extra.
    - `retry_wait`: the retry policy waits `seconds` before attempt `attempt + 1`; `reason`
      is the status or error that caused it.
    - `rate_limit_wait`: the client-side rate limiter held attempt `attempt` for `seconds`.
    - `circuit_open`: the circuit breaker refused the request (`reason` names the endpoint).
    """

    kind: EventKind
    attempt: int
    seconds: float | None = None
    status: int | None = None
    error_type: str | None = None
    request_id: str | None = None
    reason: str | None = None


@final
@dataclass(slots=True)
class StreamOutcome:
    """What a typed stream handle reports when its stream ends: the aggregate (the final
    object, or the partial one), its error, whether it reached its end, how many events
    arrived and how many of them carried output text."""

    result: Any
    error: BaseException | None
    done: bool
    events: int
    text_deltas: int


class _Usage(msgspec.Struct, kw_only=True):
    input_tokens: int | None = None
    output_tokens: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _Choice(msgspec.Struct, kw_only=True):
    finish_reason: str | None = None


class _Incomplete(msgspec.Struct, kw_only=True):
    reason: str | None = None


class _OutputItem(msgspec.Struct, kw_only=True):
    type: str | None = None


class _Facts(msgspec.Struct, kw_only=True):
    """The few fields of an inference result that observers report (unknown ones skipped)."""

    id: str | None = None
    model: str | None = None
    usage: _Usage | None = None
    choices: list[_Choice] | None = None
    status: str | None = None
    incomplete_details: _Incomplete | None = None
    output: list[_OutputItem] | None = None
    service_tier: str | None = None
    system_fingerprint: str | None = None


_decode_facts = msgspec.json.Decoder(_Facts).decode
_DECODE_FAILURES = (msgspec.DecodeError, msgspec.ValidationError)


def _finish_reasons(result: Any) -> tuple[str, ...]:
    choices = getattr(result, "choices", None)
    if choices:
        return tuple(reason for c in choices if (reason := getattr(c, "finish_reason", None)))
    status = getattr(result, "status", None)
    if status == "completed":
        # A Responses turn that calls tools, as chat says it with `tool_calls`.
        output = getattr(result, "output", None) or ()
        calls = any(getattr(item, "type", None) == "function_call" for item in output)
        return ("tool_calls",) if calls else ("stop",)
    if status == "incomplete":
        details = getattr(result, "incomplete_details", None)
        return (getattr(details, "reason", None) or "length",)
    if status == "failed":
        return ("error",)
    return ()


@final
class Operation:
    """One logical request as observers see it: what was asked, and what came back.

    Request side (set before the first attempt): `method`, `path` (no query string), `url`,
    `endpoint` (the route, ids folded: `POST /v1/chat/completions`), `server_address`,
    `server_port`, `name` (the GenAI operation: `chat`, `text_completion`, `embeddings`, or
    `None` for other API calls), `model`, `body` (as passed: a dict, a Struct, bytes or `None`;
    read it, never change it), `stream` and `tag` (`RequestOptions.tag`).

    Outcome (set as it becomes known): `attempts`, `status`, `request_id`, `error` and
    `error_type` (the HTTP status as text for a status error, else the error's class name,
    `cancelled` for a cancellation), `duration` and `time_to_first_chunk` in seconds, the
    response's `response_id`, `response_model`, `finish_reasons`, `input_tokens`,
    `output_tokens`, `service_tier`, `system_fingerprint`, and for streams `events` (how many
    arrived), `closed_early` (the caller left before the end) and `estimated_output_tokens`
    (the text deltas counted, when a stream ended without the server's usage). `circuit` is
    the endpoint's circuit state after the request, when the client has a breaker. `result`
    is the typed aggregate of a stream (final or partial), `content` the body of a plain
    response. `data` is a dict observers may keep their own per-request state in.
    """

    __slots__ = (
        "attempts",
        "body",
        "circuit",
        "closed_early",
        "content",
        "data",
        "duration",
        "endpoint",
        "error",
        "error_type",
        "estimated_output_tokens",
        "events",
        "finish_reasons",
        "input_tokens",
        "method",
        "model",
        "name",
        "output_tokens",
        "path",
        "request_id",
        "response_id",
        "response_model",
        "result",
        "server_address",
        "server_port",
        "service_tier",
        "started",
        "started_at",
        "status",
        "stream",
        "system_fingerprint",
        "tag",
        "time_to_first_chunk",
        "url",
    )

    def __init__(
        self,
        *,
        method: str,
        path: str,
        url: str,
        endpoint: str,
        server_address: str,
        server_port: int | None,
        model: str | None,
        body: Any,
        stream: bool | Literal["bytes"],
        tag: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.url = url
        self.endpoint = endpoint
        self.server_address = server_address
        self.server_port = server_port
        self.name = genai_operation_name(method, path)
        self.model = model
        self.body = body
        self.stream = stream
        self.tag = tag
        #: `time.time()` when the request started (for records), and `perf_counter()` (for spans).
        self.started_at = time.time()
        self.started = time.perf_counter()
        self.attempts = 0
        self.status: int | None = None
        self.request_id: str | None = None
        self.error: BaseException | None = None
        self.error_type: str | None = None
        self.duration: float | None = None
        self.time_to_first_chunk: float | None = None
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: tuple[str, ...] = ()
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.service_tier: str | None = None
        self.system_fingerprint: str | None = None
        self.events: int | None = None
        self.closed_early = False
        self.estimated_output_tokens: int | None = None
        self.circuit: str | None = None
        self.result: Any = None
        self.content: bytes | None = None
        self.data: dict[Any, Any] = {}

    def read_result(self, result: Any) -> None:
        """Take the response facts from a typed result (a `Response`, `ChatCompletion`,
        `Embeddings` ... or what a stream aggregated so far)."""
        self.result = result
        self._take(
            getattr(result, "id", None),
            getattr(result, "model", None),
            getattr(result, "usage", None),
            _finish_reasons(result),
            getattr(result, "service_tier", None),
            getattr(result, "system_fingerprint", None),
        )

    def read_content(self, content: bytes, content_type: str | None) -> None:
        """Take the response facts from a plain response's JSON body."""
        self.content = content
        if self.name is None or (content_type is not None and "json" not in content_type):
            return
        try:
            facts = _decode_facts(content)
        except _DECODE_FAILURES:
            return
        self._take(
            facts.id,
            facts.model,
            facts.usage,
            _finish_reasons(facts),
            facts.service_tier,
            facts.system_fingerprint,
        )

    def _take(
        self,
        response_id: Any,
        model: Any,
        usage: Any,
        finish_reasons: tuple[str, ...],
        service_tier: Any,
        fingerprint: Any,
    ) -> None:
        self.response_id = response_id if isinstance(response_id, str) else None
        self.response_model = model if isinstance(model, str) else None
        self.finish_reasons = finish_reasons
        self.service_tier = service_tier if isinstance(service_tier, str) else None
        self.system_fingerprint = fingerprint if isinstance(fingerprint, str) else None
        if usage is not None:
            tokens_in = getattr(usage, "input_tokens", None)
            if tokens_in is None:
                tokens_in = getattr(usage, "prompt_tokens", None)
            tokens_out = getattr(usage, "output_tokens", None)
            if tokens_out is None:
                tokens_out = getattr(usage, "completion_tokens", None)
            self.input_tokens = tokens_in if isinstance(tokens_in, int) else None
            self.output_tokens = tokens_out if isinstance(tokens_out, int) else None

    def fail(self, error: BaseException, cancelled: type[BaseException] | None = None) -> None:
        """Record the error the request ended with."""
        self.error = error
        status = getattr(error, "status_code", None)
        if isinstance(status, int):
            self.status = status
            self.error_type = str(status)
        elif cancelled is not None and isinstance(error, cancelled):
            self.error_type = "cancelled"
        else:
            self.error_type = type(error).__name__
        request_id = getattr(error, "request_id", None)
        if isinstance(request_id, str) and self.request_id is None:
            self.request_id = request_id

    def __repr__(self) -> str:
        outcome = self.error_type or (self.status if self.status is not None else "pending")
        return f"<Operation {self.endpoint} model={self.model!r} {outcome}>"


class LocalSpan:
    """A step the client runs itself (a tool loop, one tool call), as an observer traces it:
    `activate()` makes it the current parent while the step's own work runs; `end()` closes it."""

    def activate(self) -> Any:
        """A context manager under which new spans become this one's children."""
        raise NotImplementedError

    def end(self, error: BaseException | None = None) -> None:
        """End the span, with the error the step ended with."""
        raise NotImplementedError


class Observer:
    """Base class for observers; every hook is a no-op until overridden.

    Pass instances to `Client(observers=[...])`. `OpenTelemetry`, `PrometheusMetrics` and
    `AuditLog` are observers; subclass this one for your own.
    """

    def started(self, operation: Operation) -> None:
        """A logical request is about to make its first attempt."""
        return

    def inject(self, operation: Operation, headers: httpx.Headers) -> None:
        """Add headers to every attempt of the request (a trace context, say)."""
        return

    def event(self, operation: Operation, event: OperationEvent) -> None:
        """Something happened inside the request: an attempt ended, a wait, a refusal."""
        return

    def first_chunk(self, operation: Operation) -> None:
        """A stream's first events arrived (`operation.time_to_first_chunk` is set)."""
        return

    def ended(self, operation: Operation) -> None:
        """The request is over: its result returned, its error raised, or its stream ended,
        failed, broke off or was closed."""
        return

    def local_span(self, name: str, attributes: Mapping[str, Any]) -> LocalSpan | None:
        """A span for a step the client runs itself (`invoke_agent`, `execute_tool`), or
        `None` when this observer does not trace."""
        return None


def circuit_event(error: CircuitOpenError, attempt: int) -> OperationEvent:
    """The event for a circuit breaker's refusal."""
    return OperationEvent(
        "circuit_open", attempt, error_type=type(error).__name__, reason=error.endpoint
    )
