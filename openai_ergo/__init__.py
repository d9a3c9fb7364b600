"""openai-ergo: a fast, ergonomic async client for the OpenAI API on anyio."""

from __future__ import annotations

import typing

from openai_ergo._client import Client
from openai_ergo._config import RequestOptions, Timeouts
from openai_ergo._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    InvalidWebhookSignatureError,
    NotFoundError,
    OpenAIErgoError,
    OutputParseError,
    PermissionDeniedError,
    RateLimitError,
    RefusalError,
    ResponseFailedError,
    ResponseIncompleteError,
    StreamError,
    StreamEventError,
    StreamIdleTimeoutError,
    StreamInterruptedError,
    StreamNotFinishedError,
    ToolError,
    TruncatedOutputError,
    TruncatedResponseError,
    UnprocessableEntityError,
    WaitTimeoutError,
    WebhookError,
)
from openai_ergo._multipart import FileInput, FileUpload, MultipartBody
from openai_ergo._pagination import Page, Paginator
from openai_ergo._pipeline._auth import KeyPool, TokenProvider
from openai_ergo._pipeline._buckets import RateLimitScope
from openai_ergo._pipeline._circuit import CircuitBreaker
from openai_ergo._pipeline._clock import Clock
from openai_ergo._pipeline._logging import redact_secrets
from openai_ergo._pipeline._middleware import Middleware
from openai_ergo._pipeline._observe import Observer, Operation, OperationEvent
from openai_ergo._pipeline._ratelimit import RateLimiter, RateLimitInfo
from openai_ergo._pipeline._retry import RetryPolicy, RetryStop
from openai_ergo._response import APIResponse, BinaryResponse, EventStream
from openai_ergo._transport import HTTP11Transport
from openai_ergo._webhooks import Webhooks

if typing.TYPE_CHECKING:
    from openai_ergo.observability import AuditLog, AuditRecord, OpenTelemetry, PrometheusMetrics
    from openai_ergo.resources import (
        AssistantRunBuilder,
        BatchBuilder,
        BatchFailedError,
        BatchJob,
        BatchLineError,
        BatchResult,
        ChatBuilder,
        ChatHistory,
        ChatStream,
        Conversation,
        Embeddings,
        EmbeddingsBuilder,
        FineTuningError,
        FineTuningJobBuilder,
        FunctionTool,
        GeneratedImage,
        Images,
        ImagesBuilder,
        ImageStream,
        Moderation,
        ModerationsBuilder,
        Parsed,
        ResponsesBuilder,
        ResponseStream,
        RunStream,
        SpeechBuilder,
        SpeechStream,
        ToolRun,
        Transcript,
        TranscriptionBuilder,
        TranscriptStream,
        TuningEvents,
        TuningJob,
        UploadHandle,
        UploadPartError,
        VectorStore,
        VectorStoreBuilder,
        VectorStoreSearch,
        audio,
        file,
        file_search,
        image,
        tool,
    )

__version__ = "0.1.0"

# The builders, streams and tools (and the typed events and decoders they pull in) load on first
# use: `from openai_ergo import Client` does not need them, and they are a quarter of the import.
_LAZY_FROM_RESOURCES = frozenset(
    {
        "BatchBuilder",
        "BatchFailedError",
        "BatchJob",
        "BatchLineError",
        "BatchResult",
        "AssistantRunBuilder",
        "ChatBuilder",
        "ChatHistory",
        "ChatStream",
        "FineTuningError",
        "FineTuningJobBuilder",
        "FunctionTool",
        "GeneratedImage",
        "Images",
        "ImagesBuilder",
        "ImageStream",
        "SpeechBuilder",
        "SpeechStream",
        "Transcript",
        "TranscriptionBuilder",
        "TranscriptStream",
        "Conversation",
        "Embeddings",
        "EmbeddingsBuilder",
        "Moderation",
        "ModerationsBuilder",
        "Parsed",
        "ResponseStream",
        "ResponsesBuilder",
        "RunStream",
        "ToolRun",
        "UploadHandle",
        "UploadPartError",
        "TuningEvents",
        "TuningJob",
        "VectorStore",
        "VectorStoreBuilder",
        "VectorStoreSearch",
        "audio",
        "file",
        "file_search",
        "image",
        "tool",
    }
)


# The observers load with `openai_ergo.observability` (their extras only when one is made).
_LAZY_FROM_OBSERVABILITY = frozenset(
    {"AuditLog", "AuditRecord", "OpenTelemetry", "PrometheusMetrics"}
)


def __getattr__(name: str) -> typing.Any:
    if name in _LAZY_FROM_OBSERVABILITY:
        from openai_ergo import observability

        found = getattr(observability, name)
        globals()[name] = found
        return found
    if name in _LAZY_FROM_RESOURCES:
        from openai_ergo import resources

        value = getattr(resources, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'openai_ergo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_FROM_RESOURCES | _LAZY_FROM_OBSERVABILITY)


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AssistantRunBuilder",
    "AuditLog",
    "AuditRecord",
    "AuthenticationError",
    "BadRequestError",
    "BatchBuilder",
    "BatchFailedError",
    "BatchJob",
    "BatchLineError",
    "BatchResult",
    "BinaryResponse",
    "ChatBuilder",
    "ChatHistory",
    "ChatStream",
    "CircuitBreaker",
    "CircuitOpenError",
    "Client",
    "Clock",
    "ConfigurationError",
    "ConflictError",
    "Conversation",
    "Embeddings",
    "EmbeddingsBuilder",
    "EventStream",
    "FileInput",
    "FileUpload",
    "FineTuningError",
    "FineTuningJobBuilder",
    "FunctionTool",
    "GeneratedImage",
    "HTTP11Transport",
    "ImageStream",
    "Images",
    "ImagesBuilder",
    "InternalServerError",
    "InvalidRequestError",
    "InvalidWebhookSignatureError",
    "KeyPool",
    "Middleware",
    "Moderation",
    "ModerationsBuilder",
    "MultipartBody",
    "NotFoundError",
    "Observer",
    "OpenAIErgoError",
    "OpenTelemetry",
    "Operation",
    "OperationEvent",
    "OutputParseError",
    "Page",
    "Paginator",
    "Parsed",
    "PermissionDeniedError",
    "PrometheusMetrics",
    "RateLimitError",
    "RateLimitInfo",
    "RateLimitScope",
    "RateLimiter",
    "RefusalError",
    "RequestOptions",
    "ResponseFailedError",
    "ResponseIncompleteError",
    "ResponseStream",
    "ResponsesBuilder",
    "RetryPolicy",
    "RetryStop",
    "RunStream",
    "SpeechBuilder",
    "SpeechStream",
    "StreamError",
    "StreamEventError",
    "StreamIdleTimeoutError",
    "StreamInterruptedError",
    "StreamNotFinishedError",
    "Timeouts",
    "TokenProvider",
    "ToolError",
    "ToolRun",
    "Transcript",
    "TranscriptStream",
    "TranscriptionBuilder",
    "TruncatedOutputError",
    "TruncatedResponseError",
    "TuningEvents",
    "TuningJob",
    "UnprocessableEntityError",
    "UploadHandle",
    "UploadPartError",
    "VectorStore",
    "VectorStoreBuilder",
    "VectorStoreSearch",
    "WaitTimeoutError",
    "WebhookError",
    "Webhooks",
    "__version__",
    "audio",
    "file",
    "file_search",
    "image",
    "redact_secrets",
    "tool",
]
