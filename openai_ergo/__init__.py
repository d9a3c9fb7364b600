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
    BudgetExceededError,
    CircuitOpenError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
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
)
from openai_ergo._multipart import FileInput, FileUpload, MultipartBody
from openai_ergo._pagination import Page, Paginator
from openai_ergo._pipeline._auth import KeyPool, TokenProvider
from openai_ergo._pipeline._buckets import RateLimitScope
from openai_ergo._pipeline._circuit import CircuitBreaker
from openai_ergo._pipeline._clock import Clock
from openai_ergo._pipeline._logging import redact_secrets
from openai_ergo._pipeline._middleware import Middleware
from openai_ergo._pipeline._ratelimit import RateLimiter, RateLimitInfo
from openai_ergo._pipeline._retry import RetryPolicy, RetryStop
from openai_ergo._response import APIResponse, BinaryResponse, EventStream
from openai_ergo._transport import HTTP11Transport

if typing.TYPE_CHECKING:
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

# -- token counting, cost, budgets and the response cache (loaded on first use) --------------
if typing.TYPE_CHECKING:
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


def __getattr__(name: str) -> typing.Any:
    if name in _LAZY_ACCOUNTING:
        import importlib

        value = getattr(importlib.import_module(_LAZY_ACCOUNTING[name]), name)
        globals()[name] = value
        return value
    if name in _LAZY_FROM_RESOURCES:
        from openai_ergo import resources

        value = getattr(resources, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'openai_ergo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_FROM_RESOURCES | set(_LAZY_ACCOUNTING))


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AssistantRunBuilder",
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
    "ImageStream",
    "Images",
    "ImagesBuilder",
    "InternalServerError",
    "InvalidRequestError",
    "KeyPool",
    "MemoryCacheBackend",
    "Middleware",
    "ModelPrice",
    "Moderation",
    "ModerationsBuilder",
    "MultipartBody",
    "NotFoundError",
    "OpenAIErgoError",
    "OutputParseError",
    "Page",
    "Paginator",
    "Parsed",
    "PermissionDeniedError",
    "PriceNotFoundError",
    "PriceTable",
    "RateLimitError",
    "RateLimitInfo",
    "RateLimitScope",
    "RateLimiter",
    "Reconciliation",
    "RefusalError",
    "RequestOptions",
    "ResponseCache",
    "ResponseFailedError",
    "ResponseIncompleteError",
    "ResponseStream",
    "ResponsesBuilder",
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
