"""Typed models of the OpenAI API: msgspec Structs for every object and stream event.

Decoding is fast and forward compatible: unknown fields are ignored, enum-like fields are plain
strings, and an item, part, annotation or stream event of a `type` this version does not know
decodes to an `Unknown*` object holding its raw payload instead of failing. Stream event classes
are named as their schemas in the OpenAPI spec.

Every other schema of the spec has a generated type here too (`FileObject`, `Batch`, ...),
loaded with its module on first use: `openai_ergo.types._generated` is the generated room,
`openai_ergo/codegen` the generator. `decode(data, type=T)` decodes into any of them and keeps
objects of unknown tags as `Unknown*Variant`s; `obj.to_dict()` / `obj.to_json()` give plain data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai_ergo.types._realtime import (
        decode_realtime_beta_event,
        decode_realtime_event,
        realtime_append_audio,
        realtime_cancel_response,
        realtime_clear_audio,
        realtime_commit_audio,
        realtime_create_item,
        realtime_create_response,
        realtime_delete_item,
        realtime_session_update,
        realtime_truncate,
    )
    from openai_ergo.types._webhooks import decode_webhook_event

from openai_ergo.types import _generated
from openai_ergo.types._base import (
    APIObject,
    UnknownObject,
)
from openai_ergo.types._chat import (
    ChatChoiceLogprobs,
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionChunkChoice,
    ChatCompletionDelta,
    ChatCompletionMessage,
    ChatCompletionTokenLogprob,
    ChatCompletionToolCall,
    ChatCompletionToolCallDelta,
    ChatCustomCall,
    ChatFunctionCall,
    ChatFunctionCallDelta,
    ChatStreamError,
    ChatTopLogprob,
    CompletionTokensDetails,
    CompletionUsage,
    PromptTokensDetails,
    decode_chat_chunk,
    decode_chat_completion,
)
from openai_ergo.types._response_content import (
    Annotation,
    ContainerFileCitation,
    FileCitation,
    FilePathAnnotation,
    LogProb,
    OutputContent,
    OutputRefusal,
    OutputText,
    ReasoningText,
    SummaryText,
    TopLogProb,
    UnknownAnnotation,
    UnknownContent,
    UrlCitation,
)
from openai_ergo.types._response_events import (
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextAnnotationAddedEvent,
    ResponseQueuedEvent,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryPartDoneEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseReasoningSummaryTextDoneEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseReasoningTextDoneEvent,
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    StreamErrorDetail,
)
from openai_ergo.types._response_items import (
    AdditionalTools,
    ApplyPatchCall,
    ApplyPatchCallOutput,
    CodeInterpreterCall,
    CompactionItem,
    ComputerCall,
    ComputerCallOutput,
    CustomToolCall,
    CustomToolCallOutput,
    FileSearchCall,
    FunctionCall,
    FunctionCallOutput,
    ImageGenerationCall,
    LocalShellCall,
    LocalShellCallOutput,
    McpApprovalRequest,
    McpApprovalResponse,
    McpCall,
    McpListTools,
    OutputItem,
    OutputMessage,
    ProgramItem,
    ProgramOutputItem,
    ReasoningItem,
    ShellCall,
    ShellCallOutput,
    ToolSearchCall,
    ToolSearchOutput,
    UnknownOutputItem,
    WebSearchCall,
)
from openai_ergo.types._response_stream import (
    ResponseStreamEvent,
    UnknownEvent,
    decode_response,
    decode_response_event,
)
from openai_ergo.types._response_tool_events import (
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseCodeInterpreterCallCodeDeltaEvent,
    ResponseCodeInterpreterCallCodeDoneEvent,
    ResponseCodeInterpreterCallCompletedEvent,
    ResponseCodeInterpreterCallInProgressEvent,
    ResponseCodeInterpreterCallInterpretingEvent,
    ResponseCustomToolCallInputDeltaEvent,
    ResponseCustomToolCallInputDoneEvent,
    ResponseFileSearchCallCompletedEvent,
    ResponseFileSearchCallInProgressEvent,
    ResponseFileSearchCallSearchingEvent,
    ResponseImageGenCallCompletedEvent,
    ResponseImageGenCallGeneratingEvent,
    ResponseImageGenCallInProgressEvent,
    ResponseImageGenCallPartialImageEvent,
    ResponseMCPCallArgumentsDeltaEvent,
    ResponseMCPCallArgumentsDoneEvent,
    ResponseMCPCallCompletedEvent,
    ResponseMCPCallFailedEvent,
    ResponseMCPCallInProgressEvent,
    ResponseMCPListToolsCompletedEvent,
    ResponseMCPListToolsFailedEvent,
    ResponseMCPListToolsInProgressEvent,
    ResponseShellCallCommandAddedStreamingEvent,
    ResponseShellCallCommandDeltaStreamingEvent,
    ResponseShellCallCommandDoneStreamingEvent,
    ResponseShellCallOutputContentDeltaStreamingEvent,
    ResponseShellCallOutputContentDoneStreamingEvent,
    ResponseWebSearchCallCompletedEvent,
    ResponseWebSearchCallInProgressEvent,
    ResponseWebSearchCallSearchingEvent,
)
from openai_ergo.types._responses import (
    IncompleteDetails,
    InputTokensDetails,
    OutputTokensDetails,
    Response,
    ResponseError,
    ResponseUsage,
)
from openai_ergo.types._variants import (
    UnknownEventVariant,
    UnknownObjectVariant,
    UnknownRoleVariant,
    UnknownTypeVariant,
    UnknownVariant,
    decode,
)

if TYPE_CHECKING:
    from openai_ergo.types._generated import *  # noqa: F403

__all__ = [
    "APIObject",
    "AdditionalTools",
    "Annotation",
    "ApplyPatchCall",
    "ApplyPatchCallOutput",
    "ChatChoiceLogprobs",
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionChunkChoice",
    "ChatCompletionDelta",
    "ChatCompletionMessage",
    "ChatCompletionTokenLogprob",
    "ChatCompletionToolCall",
    "ChatCompletionToolCallDelta",
    "ChatCustomCall",
    "ChatFunctionCall",
    "ChatFunctionCallDelta",
    "ChatStreamError",
    "ChatTopLogprob",
    "CodeInterpreterCall",
    "CompactionItem",
    "CompletionTokensDetails",
    "CompletionUsage",
    "ComputerCall",
    "ComputerCallOutput",
    "ContainerFileCitation",
    "CustomToolCall",
    "CustomToolCallOutput",
    "FileCitation",
    "FilePathAnnotation",
    "FileSearchCall",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageGenerationCall",
    "IncompleteDetails",
    "InputTokensDetails",
    "LocalShellCall",
    "LocalShellCallOutput",
    "LogProb",
    "McpApprovalRequest",
    "McpApprovalResponse",
    "McpCall",
    "McpListTools",
    "OutputContent",
    "OutputItem",
    "OutputMessage",
    "OutputRefusal",
    "OutputText",
    "OutputTokensDetails",
    "ProgramItem",
    "ProgramOutputItem",
    "PromptTokensDetails",
    "ReasoningItem",
    "ReasoningText",
    "Response",
    "ResponseAudioDeltaEvent",
    "ResponseAudioDoneEvent",
    "ResponseAudioTranscriptDeltaEvent",
    "ResponseAudioTranscriptDoneEvent",
    "ResponseCodeInterpreterCallCodeDeltaEvent",
    "ResponseCodeInterpreterCallCodeDoneEvent",
    "ResponseCodeInterpreterCallCompletedEvent",
    "ResponseCodeInterpreterCallInProgressEvent",
    "ResponseCodeInterpreterCallInterpretingEvent",
    "ResponseCompletedEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreatedEvent",
    "ResponseCustomToolCallInputDeltaEvent",
    "ResponseCustomToolCallInputDoneEvent",
    "ResponseError",
    "ResponseErrorEvent",
    "ResponseFailedEvent",
    "ResponseFileSearchCallCompletedEvent",
    "ResponseFileSearchCallInProgressEvent",
    "ResponseFileSearchCallSearchingEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseImageGenCallCompletedEvent",
    "ResponseImageGenCallGeneratingEvent",
    "ResponseImageGenCallInProgressEvent",
    "ResponseImageGenCallPartialImageEvent",
    "ResponseInProgressEvent",
    "ResponseIncompleteEvent",
    "ResponseMCPCallArgumentsDeltaEvent",
    "ResponseMCPCallArgumentsDoneEvent",
    "ResponseMCPCallCompletedEvent",
    "ResponseMCPCallFailedEvent",
    "ResponseMCPCallInProgressEvent",
    "ResponseMCPListToolsCompletedEvent",
    "ResponseMCPListToolsFailedEvent",
    "ResponseMCPListToolsInProgressEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputTextAnnotationAddedEvent",
    "ResponseQueuedEvent",
    "ResponseReasoningSummaryPartAddedEvent",
    "ResponseReasoningSummaryPartDoneEvent",
    "ResponseReasoningSummaryTextDeltaEvent",
    "ResponseReasoningSummaryTextDoneEvent",
    "ResponseReasoningTextDeltaEvent",
    "ResponseReasoningTextDoneEvent",
    "ResponseRefusalDeltaEvent",
    "ResponseRefusalDoneEvent",
    "ResponseShellCallCommandAddedStreamingEvent",
    "ResponseShellCallCommandDeltaStreamingEvent",
    "ResponseShellCallCommandDoneStreamingEvent",
    "ResponseShellCallOutputContentDeltaStreamingEvent",
    "ResponseShellCallOutputContentDoneStreamingEvent",
    "ResponseStreamEvent",
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseUsage",
    "ResponseWebSearchCallCompletedEvent",
    "ResponseWebSearchCallInProgressEvent",
    "ResponseWebSearchCallSearchingEvent",
    "ShellCall",
    "ShellCallOutput",
    "StreamErrorDetail",
    "SummaryText",
    "ToolSearchCall",
    "ToolSearchOutput",
    "TopLogProb",
    "UnknownAnnotation",
    "UnknownContent",
    "UnknownEvent",
    "UnknownEventVariant",
    "UnknownObject",
    "UnknownObjectVariant",
    "UnknownOutputItem",
    "UnknownRoleVariant",
    "UnknownTypeVariant",
    "UnknownVariant",
    "UrlCitation",
    "WebSearchCall",
    "decode",
    "decode_chat_chunk",
    "decode_chat_completion",
    "decode_realtime_beta_event",
    "decode_realtime_event",
    "decode_response",
    "decode_response_event",
    "decode_webhook_event",
    "realtime_append_audio",
    "realtime_cancel_response",
    "realtime_clear_audio",
    "realtime_commit_audio",
    "realtime_create_item",
    "realtime_create_response",
    "realtime_delete_item",
    "realtime_session_update",
    "realtime_truncate",
]
__all__ += _generated.__all__

# The webhook decoder loads on first use, with the generated module that defines the events
# (`WebhookEvent`, their union, is a generated name like the others).
_LAZY_WEBHOOKS = frozenset({"decode_webhook_event"})


# The Realtime decoders and client-event encoders load on first use, with the generated
# modules their events live in.
_LAZY_REALTIME = frozenset(
    {
        "decode_realtime_beta_event",
        "decode_realtime_event",
        "realtime_append_audio",
        "realtime_cancel_response",
        "realtime_clear_audio",
        "realtime_commit_audio",
        "realtime_create_item",
        "realtime_create_response",
        "realtime_delete_item",
        "realtime_session_update",
        "realtime_truncate",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_WEBHOOKS:
        from openai_ergo.types import _webhooks

        return getattr(_webhooks, name)
    if name in _LAZY_REALTIME:
        from openai_ergo.types import _realtime

        return getattr(_realtime, name)
    # A generated type: its module loads now, on first use.
    try:
        return getattr(_generated, name)
    except AttributeError:
        import difflib  # only for a misspelt name: not worth its import time up front

        close = difflib.get_close_matches(name, __all__, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}{hint}") from None


def __dir__() -> list[str]:
    return list(__all__)
