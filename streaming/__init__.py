"""streaming: a provider-agnostic toolkit for Server-Sent Event streams on anyio and httpx.

Byte-level SSE decoding, event sources with backpressure, timeouts and ownership, and composition
(tee, merge, batching, aggregation) for any async iterable; WebSocket message streams with the
same semantics, and the way back to a browser: an SSE encoder and an ASGI response. It imports
nothing from `openai_ergo`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._batch import Batches, BatchStatistics, batched
from ._compose import RunningValues, TextAccumulator, accumulate, collect_text
from ._connect import connect_sse
from ._decoder import SSEDecoder
from ._errors import (
    DeadlineExceededError,
    IdleTimeoutError,
    PongTimeoutError,
    ReconnectError,
    SSEError,
    SSELimitError,
    StreamingError,
    StreamTimeoutError,
    WebSocketClosedError,
    WebSocketConnectError,
    WebSocketHandshakeError,
    WebSocketLimitError,
)
from ._event import ServerSentEvent
from ._merge import Merged, MergeStatistics, merge
from ._metrics import MetricsSnapshot, StreamMetrics
from ._reconnect import ReconnectAttempt, ReconnectHook, ReconnectPolicy
from ._source import EventSource, EventSourceStatistics
from ._tee import Tee, TeeConsumer, TeeInterruptedError, TeeLagError, TeeStatistics, tee

if TYPE_CHECKING:
    from ._websocket import WebSocketStatistics, WebSocketStream
    from ._websocket_connect import connect_websocket

#: Loaded on first use: they need wsproto, the `websocket` extra, which `import streaming` must
#: not require (or load).
_LAZY = {
    "WebSocketStatistics": "._websocket",
    "WebSocketStream": "._websocket",
    "connect_websocket": "._websocket_connect",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'streaming' has no attribute {name!r}")
    import importlib

    try:
        module = importlib.import_module(module_name, __name__)
    except ModuleNotFoundError as exc:
        if exc.name != "wsproto":
            raise
        raise ModuleNotFoundError(
            f"streaming.{name} needs wsproto: install ergo-streaming[websocket] "
            "(or openai-ergo[realtime])",
            name="wsproto",
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "PongTimeoutError",
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
    "WebSocketClosedError",
    "WebSocketConnectError",
    "WebSocketHandshakeError",
    "WebSocketLimitError",
    "WebSocketStatistics",
    "WebSocketStream",
    "accumulate",
    "batched",
    "collect_text",
    "connect_sse",
    "connect_websocket",
    "merge",
    "tee",
]
