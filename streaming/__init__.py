"""streaming: a provider-agnostic toolkit for Server-Sent Event streams on anyio and httpx.

Byte-level SSE decoding, event sources with backpressure, timeouts and ownership, and composition
(tee, merge, batching, aggregation) for any async iterable. It imports nothing from `openai_ergo`.
"""

from __future__ import annotations

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
from ._reconnect import ReconnectPolicy
from ._source import EventSource, EventSourceStatistics

__all__ = [
    "DeadlineExceededError",
    "EventSource",
    "EventSourceStatistics",
    "IdleTimeoutError",
    "ReconnectError",
    "ReconnectPolicy",
    "SSEDecoder",
    "SSEError",
    "SSELimitError",
    "ServerSentEvent",
    "StreamTimeoutError",
    "StreamingError",
    "connect_sse",
]
