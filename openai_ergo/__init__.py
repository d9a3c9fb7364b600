"""openai-ergo: a fast, ergonomic async client for the OpenAI API on anyio."""

from __future__ import annotations

from openai_ergo._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
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
    RealtimeClosedError,
    RealtimeEventError,
    RedisCommandError,
    RedisUnavailableError,
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

# Not `typing.TYPE_CHECKING`: importing `typing` would cost more than the rest of this import
# (type checkers read any name `TYPE_CHECKING` as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from openai_ergo._client import Client
    from openai_ergo._config import RequestOptions, Timeouts
    from openai_ergo._health import Health
    from openai_ergo._metadata import RawResponse, ResponseMetadata
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
    from openai_ergo._redis._budget import RedisBudget
    from openai_ergo._redis._cache import RedisCacheBackend
    from openai_ergo._redis._connection import RedisConnection
    from openai_ergo._redis._keys import RedisKeyCooldowns
    from openai_ergo._redis._ratelimit import RedisRateLimiter
    from openai_ergo._redis._usage import RedisUsageTracker
    from openai_ergo._response import APIResponse, BinaryResponse, EventStream
    from openai_ergo._transport import HTTP11Transport
    from openai_ergo._webhooks import Webhooks
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
        RealtimeBuilder,
        RealtimeResponse,
        RealtimeSession,
        RealtimeToolCall,
        ResponsesBuilder,
        ResponsesSocket,
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

# -- token counting, cost, budgets and the response cache (loaded on first use) --------------
if TYPE_CHECKING:
    from openai_ergo._accounting._budget import Budget
    from openai_ergo._accounting._counting import TokenCounter, count_tokens, counting_method
    from openai_ergo._accounting._prices import (
        ModelPrice,
        PriceNotFoundError,
        PriceTable,
        TokenUsage,
        cost_of,
        default_prices,
    )
    from openai_ergo._accounting._reconcile import Reconciliation
    from openai_ergo._accounting._tracker import UsageRow, UsageTracker
    from openai_ergo._cache._backend import CacheBackend, MemoryCacheBackend
    from openai_ergo._cache._response_cache import CacheStatistics, ResponseCache
    from openai_ergo._cache._semantic import SemanticMatcher

_LAZY_ACCOUNTING = {
    "Budget": "openai_ergo._accounting._budget",
    "TokenCounter": "openai_ergo._accounting._counting",
    "count_tokens": "openai_ergo._accounting._counting",
    "counting_method": "openai_ergo._accounting._counting",
    "ModelPrice": "openai_ergo._accounting._prices",
    "PriceNotFoundError": "openai_ergo._accounting._prices",
    "PriceTable": "openai_ergo._accounting._prices",
    "TokenUsage": "openai_ergo._accounting._prices",
    "cost_of": "openai_ergo._accounting._prices",
    "default_prices": "openai_ergo._accounting._prices",
    "Reconciliation": "openai_ergo._accounting._reconcile",
    "UsageRow": "openai_ergo._accounting._tracker",
    "UsageTracker": "openai_ergo._accounting._tracker",
    "CacheBackend": "openai_ergo._cache._backend",
    "MemoryCacheBackend": "openai_ergo._cache._backend",
    "CacheStatistics": "openai_ergo._cache._response_cache",
    "ResponseCache": "openai_ergo._cache._response_cache",
    "SemanticMatcher": "openai_ergo._cache._semantic",
}

__version__ = "0.1.0"

# Every public name but the errors loads on first use (PEP 562): `import openai_ergo` stays a
# few modules, and httpx, the transport and the pipeline load when a `Client` (or a name that
# needs them) is first touched. The errors are eager: they import nothing, and `except
# openai_ergo.APIError` should not load a network stack. Name -> the module that defines it.
_LAZY: dict[str, str] = {
    "Client": "openai_ergo._client",
    "RequestOptions": "openai_ergo._config",
    "Timeouts": "openai_ergo._config",
    "FileInput": "openai_ergo._multipart",
    "FileUpload": "openai_ergo._multipart",
    "MultipartBody": "openai_ergo._multipart",
    "Page": "openai_ergo._pagination",
    "Paginator": "openai_ergo._pagination",
    "KeyPool": "openai_ergo._pipeline._auth",
    "TokenProvider": "openai_ergo._pipeline._auth",
    "RateLimitScope": "openai_ergo._pipeline._buckets",
    "CircuitBreaker": "openai_ergo._pipeline._circuit",
    "Clock": "openai_ergo._pipeline._clock",
    "redact_secrets": "openai_ergo._pipeline._logging",
    "Middleware": "openai_ergo._pipeline._middleware",
    "RateLimiter": "openai_ergo._pipeline._ratelimit",
    "RateLimitInfo": "openai_ergo._pipeline._ratelimit",
    # Limits and state shared through Redis (coredis loads when a connection opens).
    "RedisConnection": "openai_ergo._redis._connection",
    "RedisRateLimiter": "openai_ergo._redis._ratelimit",
    # Cache, budget, usage and key cool-downs shared through Redis.
    "RedisBudget": "openai_ergo._redis._budget",
    "RedisCacheBackend": "openai_ergo._redis._cache",
    "RedisKeyCooldowns": "openai_ergo._redis._keys",
    "RedisUsageTracker": "openai_ergo._redis._usage",
    "RetryPolicy": "openai_ergo._pipeline._retry",
    "RetryStop": "openai_ergo._pipeline._retry",
    "APIResponse": "openai_ergo._response",
    "BinaryResponse": "openai_ergo._response",
    "EventStream": "openai_ergo._response",
    "HTTP11Transport": "openai_ergo._transport",
    "RawResponse": "openai_ergo._metadata",
    "ResponseMetadata": "openai_ergo._metadata",
    "Webhooks": "openai_ergo._webhooks",
    "Health": "openai_ergo._health",
    "Observer": "openai_ergo._pipeline._observe",
    "Operation": "openai_ergo._pipeline._observe",
    "OperationEvent": "openai_ergo._pipeline._observe",
    # The observers (their extras load only when one is made).
    **dict.fromkeys(
        ("AuditLog", "AuditRecord", "OpenTelemetry", "PrometheusMetrics"),
        "openai_ergo.observability",
    ),
    # Token counting, cost, budgets and the response cache.
    **_LAZY_ACCOUNTING,
    # The builders, streams and tools (and the typed events and decoders they pull in).
    **dict.fromkeys(
        (
            "AssistantRunBuilder",
            "BatchBuilder",
            "BatchFailedError",
            "BatchJob",
            "BatchLineError",
            "BatchResult",
            "ChatBuilder",
            "ChatHistory",
            "ChatStream",
            "Conversation",
            "Embeddings",
            "EmbeddingsBuilder",
            "FineTuningError",
            "FineTuningJobBuilder",
            "FunctionTool",
            "GeneratedImage",
            "ImageStream",
            "Images",
            "ImagesBuilder",
            "Moderation",
            "ModerationsBuilder",
            "Parsed",
            "RealtimeBuilder",
            "RealtimeResponse",
            "RealtimeSession",
            "RealtimeToolCall",
            "ResponseStream",
            "ResponsesBuilder",
            "ResponsesSocket",
            "RunStream",
            "SpeechBuilder",
            "SpeechStream",
            "ToolRun",
            "Transcript",
            "TranscriptStream",
            "TranscriptionBuilder",
            "TuningEvents",
            "TuningJob",
            "UploadHandle",
            "UploadPartError",
            "VectorStore",
            "VectorStoreBuilder",
            "VectorStoreSearch",
            "audio",
            "file",
            "file_search",
            "image",
            "tool",
        ),
        "openai_ergo.resources",
    ),
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'openai_ergo' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module_name), name)
    globals()[name] = value  # the next access is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted((set(globals()) | _LAZY.keys()) - {"TYPE_CHECKING"})


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
    "Budget",
    "BudgetExceededError",
    "CacheBackend",
    "CacheStatistics",
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
    "Health",
    "ImageStream",
    "Images",
    "ImagesBuilder",
    "InternalServerError",
    "InvalidRequestError",
    "InvalidWebhookSignatureError",
    "KeyPool",
    "MemoryCacheBackend",
    "Middleware",
    "ModelPrice",
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
    "PriceNotFoundError",
    "PriceTable",
    "PrometheusMetrics",
    "RateLimitError",
    "RateLimitInfo",
    "RateLimitScope",
    "RateLimiter",
    "RawResponse",
    "RealtimeBuilder",
    "RealtimeClosedError",
    "RealtimeEventError",
    "RealtimeResponse",
    "RealtimeSession",
    "RealtimeToolCall",
    "Reconciliation",
    "RedisBudget",
    "RedisCacheBackend",
    "RedisCommandError",
    "RedisConnection",
    "RedisKeyCooldowns",
    "RedisRateLimiter",
    "RedisUnavailableError",
    "RedisUsageTracker",
    "RefusalError",
    "RequestOptions",
    "ResponseCache",
    "ResponseFailedError",
    "ResponseIncompleteError",
    "ResponseMetadata",
    "ResponseStream",
    "ResponsesBuilder",
    "ResponsesSocket",
    "RetryPolicy",
    "RetryStop",
    "RunStream",
    "SemanticMatcher",
    "SpeechBuilder",
    "SpeechStream",
    "StreamError",
    "StreamEventError",
    "StreamIdleTimeoutError",
    "StreamInterruptedError",
    "StreamNotFinishedError",
    "Timeouts",
    "TokenCounter",
    "TokenProvider",
    "TokenUsage",
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
    "UsageRow",
    "UsageTracker",
    "VectorStore",
    "VectorStoreBuilder",
    "VectorStoreSearch",
    "WaitTimeoutError",
    "WebhookError",
    "Webhooks",
    "__version__",
    "audio",
    "cost_of",
    "count_tokens",
    "counting_method",
    "default_prices",
    "file",
    "file_search",
    "image",
    "redact_secrets",
    "tool",
]
