"""Prometheus metrics for every request the client sends (the `prometheus` extra).

Counters of requests, errors by type, retries, rate-limit waits and circuit-breaker refusals;
each endpoint's circuit state; tokens as the server counted them; cost, once a price is known
(the `cost=` hook); streams in flight; and histograms of request duration and time to the
first chunk. Labels stay few and bounded: the route (`POST /v1/chat/completions`, ids folded)
and the requested model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, final

from openai_ergo._errors import ConfigurationError
from openai_ergo._pipeline._observe import Observer, Operation, OperationEvent

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["CostFunction", "PrometheusMetrics"]

#: What one request cost, in US dollars, or None when it cannot be priced (see `cost=`).
CostFunction = Callable[[Operation], "float | None"]
_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_FIRST_CHUNK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_CIRCUIT_STATES = ["closed", "half-open", "open"]


@final
class PrometheusMetrics(Observer):
    """A Prometheus collector fed by every request: `Client(observers=[PrometheusMetrics()])`.

    The metrics register in `registry` (the default `prometheus_client.REGISTRY` when not
    given); serve them as usual (`prometheus_client.start_http_server`, or
    `make_asgi_app(registry)` in your ASGI app). Names start with `namespace`
    (`openai_ergo_requests_total`, ...; docs/observability.md lists them).

    `cost(operation)` returns what a request cost in US dollars (or None when it cannot be
    priced): with it, `openai_ergo_cost_usd_total{model}` adds it up. The operation carries
    `model`, `response_model`, `input_tokens` and `output_tokens`, what a price table needs.
    `cost=True` prices them with the shipped price table (`cost_of`, docs/tokens-and-cost.md):
    input at the uncached rate, since the operation does not say how much of it the prompt
    cache served (an upper bound then), and nothing for a model the table does not know.
    Needs `pip install openai-ergo[prometheus]`.
    """

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        namespace: str = "openai_ergo",
        cost: CostFunction | bool | None = None,
        duration_buckets: Sequence[float] = _DURATION_BUCKETS,
        first_chunk_buckets: Sequence[float] = _FIRST_CHUNK_BUCKETS,
    ) -> None:
        try:
            import prometheus_client as prom
        except ImportError as exc:  # pragma: no cover - the extra is installed in CI
            raise ConfigurationError(
                "PrometheusMetrics() needs the prometheus-client package: "
                "pip install 'openai-ergo[prometheus]'"
            ) from exc
        if not namespace.isidentifier():
            raise ConfigurationError(
                f"PrometheusMetrics(namespace={namespace!r}): a metric name prefix is letters, "
                "digits and underscores, not starting with a digit"
            )
        self.registry = prom.REGISTRY if registry is None else registry
        self._cost: CostFunction | None = (
            _priced if cost is True else None if cost is False else cost
        )
        route = ["endpoint", "model"]
        created: list[Any] = []

        def make(kind: Any, name: str, text: str, labels: list[str], **extra: Any) -> Any:
            try:
                metric = kind(
                    name, text, labels, namespace=namespace, registry=self.registry, **extra
                )
            except ValueError as exc:
                for earlier in created:  # leave the registry as it was
                    self.registry.unregister(earlier)
                raise ConfigurationError(
                    f"PrometheusMetrics: {exc}; each collector needs its own registry or "
                    "namespace (pass registry=prometheus_client.CollectorRegistry())"
                ) from exc
            created.append(metric)
            return metric

        self.requests = make(prom.Counter, "requests", "Logical requests sent.", route)
        self.errors = make(
            prom.Counter, "errors", "Requests that ended in an error, by type.", [*route, "type"]
        )
        self.retries = make(prom.Counter, "retries", "Attempts retried.", route)
        self.rate_limit_waits = make(
            prom.Counter, "rate_limit_waits", "Waits for the client-side rate limiter.", route
        )
        self.rate_limit_wait_seconds = make(
            prom.Counter, "rate_limit_wait_seconds", "Time spent waiting for the limiter.", route
        )
        self.circuit_refusals = make(
            prom.Counter, "circuit_refusals", "Requests refused by an open circuit.", ["endpoint"]
        )
        self.circuit_state = make(
            prom.Enum,
            "circuit_state",
            "Each endpoint's circuit breaker state after its last request.",
            ["endpoint"],
            states=_CIRCUIT_STATES,
        )
        self.tokens = make(
            prom.Counter, "tokens", "Tokens the server counted, by type.", ["model", "type"]
        )
        self.cost = (
            make(prom.Counter, "cost_usd", "What requests cost, in US dollars.", ["model"])
            if self._cost is not None
            else None
        )
        self.streams_in_flight = make(prom.Gauge, "streams_in_flight", "Streams open now.", route)
        self.duration = make(
            prom.Histogram,
            "request_duration_seconds",
            "Request duration, to the end of the stream for streams.",
            route,
            buckets=tuple(duration_buckets),
        )
        self.time_to_first_chunk = make(
            prom.Histogram,
            "time_to_first_chunk_seconds",
            "Time from sending a streamed request to its first events.",
            route,
            buckets=tuple(first_chunk_buckets),
        )

    @staticmethod
    def _route(operation: Operation) -> tuple[str, str]:
        return operation.endpoint, operation.model or ""

    def event(self, operation: Operation, event: OperationEvent) -> None:
        """Count retries, rate-limit waits and circuit refusals."""
        kind = event.kind
        if kind == "retry_wait":
            self.retries.labels(*self._route(operation)).inc()
        elif kind == "rate_limit_wait":
            route = self._route(operation)
            self.rate_limit_waits.labels(*route).inc()
            self.rate_limit_wait_seconds.labels(*route).inc(event.seconds or 0.0)
        elif kind == "circuit_open":
            self.circuit_refusals.labels(operation.endpoint).inc()

    def first_chunk(self, operation: Operation) -> None:
        """A stream opened: it is in flight, and its first chunk is timed."""
        route = self._route(operation)
        self.streams_in_flight.labels(*route).inc()
        self.time_to_first_chunk.labels(*route).observe(operation.time_to_first_chunk or 0.0)

    def ended(self, operation: Operation) -> None:
        """Count the request, its error, its tokens and cost; time it."""
        route = self._route(operation)
        self.requests.labels(*route).inc()
        if operation.stream and operation.time_to_first_chunk is not None:
            self.streams_in_flight.labels(*route).dec()
        if operation.error_type is not None:
            self.errors.labels(*route, operation.error_type).inc()
        if operation.duration is not None:
            self.duration.labels(*route).observe(operation.duration)
        if operation.circuit is not None:
            self.circuit_state.labels(operation.endpoint).state(operation.circuit)
        model = operation.response_model or operation.model or ""
        for kind, count in (("input", operation.input_tokens), ("output", operation.output_tokens)):
            if count:
                self.tokens.labels(model, kind).inc(count)
        if self._cost is not None and self.cost is not None:
            spent = self._cost(operation)
            if spent:
                self.cost.labels(model).inc(spent)

    def __repr__(self) -> str:
        return f"PrometheusMetrics(cost={self._cost is not None})"


def _priced(operation: Operation) -> float | None:
    """What `operation` cost by the shipped price table; None when it cannot be priced."""
    from openai_ergo._accounting._prices import PriceNotFoundError, TokenUsage, cost_of

    model = operation.response_model or operation.model
    if model is None or (operation.input_tokens is None and operation.output_tokens is None):
        return None
    usage = TokenUsage(input=operation.input_tokens or 0, output=operation.output_tokens or 0)
    try:
        return float(cost_of(usage, model))
    except PriceNotFoundError:
        return None
