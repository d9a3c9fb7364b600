"""Observability: OpenTelemetry spans and metrics, Prometheus metrics, audit records.

Each is an `Observer` given to `Client(observers=[...])`. OpenTelemetry and Prometheus are
optional extras (`openai-ergo[otel]`, `openai-ergo[prometheus]`), imported when an observer is
made, never by `import openai_ergo`. docs/observability.md shows them at work.
"""

from __future__ import annotations

from openai_ergo._pipeline._observe import LocalSpan, Observer, Operation, OperationEvent
from openai_ergo.observability._audit import AuditLog, AuditRecord
from openai_ergo.observability._otel import OpenTelemetry
from openai_ergo.observability._prometheus import PrometheusMetrics

__all__ = [
    "AuditLog",
    "AuditRecord",
    "LocalSpan",
    "Observer",
    "OpenTelemetry",
    "Operation",
    "OperationEvent",
    "PrometheusMetrics",
]
