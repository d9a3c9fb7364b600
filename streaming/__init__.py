"""streaming: a provider-agnostic toolkit for Server-Sent Event streams on anyio and httpx.

Byte-level SSE decoding, event sources with backpressure, timeouts and ownership, and composition
(tee, merge, batching, aggregation) for any async iterable; WebSocket message streams with the
same semantics, and the way back to a browser: an SSE encoder and an ASGI response. It imports
nothing from `openai_ergo`.
"""

from __future__ import annotations

import typing

from ._asgi import SSEResponse
from ._batch import Batches, BatchStatistics, batched
from ._compose import RunningValues, TextAccumulator, accumulate, collect_text
from ._connect import connect_sse
from ._decoder import SSEDecoder
from ._encoder import encode_sse, encode_sse_comment
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

if typing.TYPE_CHECKING:
    from ._asgi_starlette import StarletteSSEResponse
    from ._websocket import WebSocketStatistics, WebSocketStream
    from ._websocket_connect import connect_websocket

#: Loaded on first use: they need websockets (the `websocket` extra) or Starlette, which
#: `import streaming` must not require, or load.
_LAZY = {
    "StarletteSSEResponse": "._asgi_starlette",
    "WebSocketStatistics": "._websocket",
    "WebSocketStream": "._websocket",
    "connect_websocket": "._websocket_connect",
}


def __getattr__(name: str) -> typing.Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'streaming' has no attribute {name!r}")
    import importlib

    try:
        module = importlib.import_module(module_name, __name__)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] == "websockets":
            raise ModuleNotFoundError(
                f"streaming.{name} needs websockets: install ergo-streaming[websocket] "
                "(or openai-ergo[realtime])",
                name="websockets",
            ) from exc
        if exc.name == "starlette":
            raise ModuleNotFoundError(
                f"streaming.{name} is for Starlette and FastAPI apps, and needs Starlette: "
                "install it (FastAPI brings it), or use SSEResponse, which needs nothing",
                name="starlette",
            ) from exc
        raise
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
    "SSEResponse",
    "ServerSentEvent",
    "StarletteSSEResponse",
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
    "encode_sse",
    "encode_sse_comment",
    "merge",
    "tee",
]
