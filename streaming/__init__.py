"""streaming: a provider-agnostic toolkit for Server-Sent Event streams on anyio and httpx.

Byte-level SSE decoding, event sources with backpressure, timeouts and ownership, and composition
(tee, merge, batching, aggregation) for any async iterable. It imports nothing from `openai_ergo`.
"""

from __future__ import annotations

from ._batch import Batches, BatchStatistics, batched
from ._compose import RunningValues, TextAccumulator, accumulate, collect_text
from ._connect import connect_sse
from ._decoder import SSEDecoder
from ._errors import (
    DeadlineExceededError,
    IdleTimeoutError,
    ReconnectError,
    SSEError,
    SSELimitError,
    StreamingError,
    StreamTimeoutError,
)
from ._event import ServerSentEvent
from ._merge import Merged, MergeStatistics, merge
from ._metrics import MetricsSnapshot, StreamMetrics
from ._reconnect import ReconnectAttempt, ReconnectHook, ReconnectPolicy
from ._source import EventSource, EventSourceStatistics
from ._tee import Tee, TeeConsumer, TeeInterruptedError, TeeLagError, TeeStatistics, tee

__all__ = [
    "BatchStatistics",
    "Batches",
    "DeadlineExceededError",
    "EventSource",
    "EventSourceStatistics",
    "IdleTimeoutError",
    "MergeStatistics",
    "Merged",
    "MetricsSnapshot",
    "ReconnectAttempt",
    "ReconnectError",
    "ReconnectHook",
    "ReconnectPolicy",
    "RunningValues",
    "SSEDecoder",
    "SSEError",
    "SSELimitError",
    "ServerSentEvent",
    "StreamMetrics",
    "StreamTimeoutError",
    "StreamingError",
    "Tee",
    "TeeConsumer",
    "TeeInterruptedError",
    "TeeLagError",
    "TeeStatistics",
    "TextAccumulator",
    "accumulate",
    "batched",
    "collect_text",
    "connect_sse",
    "merge",
    "tee",
]
