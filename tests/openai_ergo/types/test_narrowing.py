"""Narrowing works the way users write it on every hand-written union (`ResponseStreamEvent`,
`OutputItem`, `OutputContent`, `Annotation`): `.type ==`, `isinstance` and `match`, each member and
the unknown fallback (whose tag reads "<unknown>"). mypy --strict checks this file (`make
typecheck`): a branch that did not narrow, or a chain that is not exhaustive, fails it; the tests
run every branch with a decoded object of each tag.

The functions are written out member by member, as a user would, so the type checker sees each
comparison; the list of members is the runtime union's.
"""

from __future__ import annotations

from typing import Any, Literal, NoReturn, TypeVar, get_args

import msgspec
import pytest

from openai_ergo.types import (
    AdditionalTools,
    Annotation,
    APIObject,
    ApplyPatchCall,
    ApplyPatchCallOutput,
    CodeInterpreterCall,
    CompactionItem,
    ComputerCall,
    ComputerCallOutput,
    ContainerFileCitation,
    CustomToolCall,
    CustomToolCallOutput,
    FileCitation,
    FilePathAnnotation,
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
    OutputContent,
    OutputItem,
    OutputMessage,
    OutputRefusal,
    OutputText,
    ProgramItem,
    ProgramOutputItem,
    ReasoningItem,
    ReasoningText,
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseCodeInterpreterCallCodeDeltaEvent,
    ResponseCodeInterpreterCallCodeDoneEvent,
    ResponseCodeInterpreterCallCompletedEvent,
    ResponseCodeInterpreterCallInProgressEvent,
    ResponseCodeInterpreterCallInterpretingEvent,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseCustomToolCallInputDeltaEvent,
    ResponseCustomToolCallInputDoneEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseFileSearchCallCompletedEvent,
    ResponseFileSearchCallInProgressEvent,
    ResponseFileSearchCallSearchingEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseImageGenCallCompletedEvent,
    ResponseImageGenCallGeneratingEvent,
    ResponseImageGenCallInProgressEvent,
    ResponseImageGenCallPartialImageEvent,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseMCPCallArgumentsDeltaEvent,
    ResponseMCPCallArgumentsDoneEvent,
    ResponseMCPCallCompletedEvent,
    ResponseMCPCallFailedEvent,
    ResponseMCPCallInProgressEvent,
    ResponseMCPListToolsCompletedEvent,
    ResponseMCPListToolsFailedEvent,
    ResponseMCPListToolsInProgressEvent,
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
    ResponseShellCallCommandAddedStreamingEvent,
    ResponseShellCallCommandDeltaStreamingEvent,
    ResponseShellCallCommandDoneStreamingEvent,
    ResponseShellCallOutputContentDeltaStreamingEvent,
    ResponseShellCallOutputContentDoneStreamingEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseWebSearchCallCompletedEvent,
    ResponseWebSearchCallInProgressEvent,
    ResponseWebSearchCallSearchingEvent,
    ShellCall,
    ShellCallOutput,
    ToolSearchCall,
    ToolSearchOutput,
    UnknownAnnotation,
    UnknownContent,
    UnknownEvent,
    UnknownOutputItem,
    UrlCitation,
    WebSearchCall,
    decode_response,
    decode_response_event,
)

_T = TypeVar("_T")


def assert_never(value: NoReturn) -> NoReturn:
    """What `typing.assert_never` (Python 3.11) does: only type-checks where no member is left."""
    raise AssertionError(f"not narrowed: {value!r}")


def _narrowed(cls: type[_T], value: _T) -> type[APIObject]:
    # Accepting `value` as `_T` is the static check: it only type-checks when narrowed to `cls`.
    assert isinstance(value, cls)
    return type(value)  # type: ignore[return-value]


def event_by_tag(event: ResponseStreamEvent) -> type[APIObject]:
    """`.type ==` narrows ResponseStreamEvent to each member, the unknown one included."""
    if event.type == "response.audio.delta":
        return _narrowed(ResponseAudioDeltaEvent, event)
    if event.type == "response.audio.done":
        return _narrowed(ResponseAudioDoneEvent, event)
    if event.type == "response.audio.transcript.delta":
        return _narrowed(ResponseAudioTranscriptDeltaEvent, event)
    if event.type == "response.audio.transcript.done":
        return _narrowed(ResponseAudioTranscriptDoneEvent, event)
    if event.type == "response.code_interpreter_call_code.delta":
        return _narrowed(ResponseCodeInterpreterCallCodeDeltaEvent, event)
    if event.type == "response.code_interpreter_call_code.done":
        return _narrowed(ResponseCodeInterpreterCallCodeDoneEvent, event)
    if event.type == "response.code_interpreter_call.completed":
        return _narrowed(ResponseCodeInterpreterCallCompletedEvent, event)
    if event.type == "response.code_interpreter_call.in_progress":
        return _narrowed(ResponseCodeInterpreterCallInProgressEvent, event)
    if event.type == "response.code_interpreter_call.interpreting":
        return _narrowed(ResponseCodeInterpreterCallInterpretingEvent, event)
    if event.type == "response.completed":
        return _narrowed(ResponseCompletedEvent, event)
    if event.type == "response.content_part.added":
        return _narrowed(ResponseContentPartAddedEvent, event)
    if event.type == "response.content_part.done":
        return _narrowed(ResponseContentPartDoneEvent, event)
    if event.type == "response.created":
        return _narrowed(ResponseCreatedEvent, event)
    if event.type == "response.custom_tool_call_input.delta":
        return _narrowed(ResponseCustomToolCallInputDeltaEvent, event)
    if event.type == "response.custom_tool_call_input.done":
        return _narrowed(ResponseCustomToolCallInputDoneEvent, event)
    if event.type == "error":
        return _narrowed(ResponseErrorEvent, event)
    if event.type == "response.failed":
        return _narrowed(ResponseFailedEvent, event)
    if event.type == "response.file_search_call.completed":
        return _narrowed(ResponseFileSearchCallCompletedEvent, event)
    if event.type == "response.file_search_call.in_progress":
        return _narrowed(ResponseFileSearchCallInProgressEvent, event)
    if event.type == "response.file_search_call.searching":
        return _narrowed(ResponseFileSearchCallSearchingEvent, event)
    if event.type == "response.function_call_arguments.delta":
        return _narrowed(ResponseFunctionCallArgumentsDeltaEvent, event)
    if event.type == "response.function_call_arguments.done":
        return _narrowed(ResponseFunctionCallArgumentsDoneEvent, event)
    if event.type == "response.image_generation_call.completed":
        return _narrowed(ResponseImageGenCallCompletedEvent, event)
    if event.type == "response.image_generation_call.generating":
        return _narrowed(ResponseImageGenCallGeneratingEvent, event)
    if event.type == "response.image_generation_call.in_progress":
        return _narrowed(ResponseImageGenCallInProgressEvent, event)
    if event.type == "response.image_generation_call.partial_image":
        return _narrowed(ResponseImageGenCallPartialImageEvent, event)
    if event.type == "response.in_progress":
        return _narrowed(ResponseInProgressEvent, event)
    if event.type == "response.incomplete":
        return _narrowed(ResponseIncompleteEvent, event)
    if event.type == "response.mcp_call_arguments.delta":
        return _narrowed(ResponseMCPCallArgumentsDeltaEvent, event)
    if event.type == "response.mcp_call_arguments.done":
        return _narrowed(ResponseMCPCallArgumentsDoneEvent, event)
    if event.type == "response.mcp_call.completed":
        return _narrowed(ResponseMCPCallCompletedEvent, event)
    if event.type == "response.mcp_call.failed":
        return _narrowed(ResponseMCPCallFailedEvent, event)
    if event.type == "response.mcp_call.in_progress":
        return _narrowed(ResponseMCPCallInProgressEvent, event)
    if event.type == "response.mcp_list_tools.completed":
        return _narrowed(ResponseMCPListToolsCompletedEvent, event)
    if event.type == "response.mcp_list_tools.failed":
        return _narrowed(ResponseMCPListToolsFailedEvent, event)
    if event.type == "response.mcp_list_tools.in_progress":
        return _narrowed(ResponseMCPListToolsInProgressEvent, event)
    if event.type == "response.output_item.added":
        return _narrowed(ResponseOutputItemAddedEvent, event)
    if event.type == "response.output_item.done":
        return _narrowed(ResponseOutputItemDoneEvent, event)
    if event.type == "response.output_text.annotation.added":
        return _narrowed(ResponseOutputTextAnnotationAddedEvent, event)
    if event.type == "response.queued":
        return _narrowed(ResponseQueuedEvent, event)
    if event.type == "response.reasoning_summary_part.added":
        return _narrowed(ResponseReasoningSummaryPartAddedEvent, event)
    if event.type == "response.reasoning_summary_part.done":
        return _narrowed(ResponseReasoningSummaryPartDoneEvent, event)
    if event.type == "response.reasoning_summary_text.delta":
        return _narrowed(ResponseReasoningSummaryTextDeltaEvent, event)
    if event.type == "response.reasoning_summary_text.done":
        return _narrowed(ResponseReasoningSummaryTextDoneEvent, event)
    if event.type == "response.reasoning_text.delta":
        return _narrowed(ResponseReasoningTextDeltaEvent, event)
    if event.type == "response.reasoning_text.done":
        return _narrowed(ResponseReasoningTextDoneEvent, event)
    if event.type == "response.refusal.delta":
        return _narrowed(ResponseRefusalDeltaEvent, event)
    if event.type == "response.refusal.done":
        return _narrowed(ResponseRefusalDoneEvent, event)
    if event.type == "response.shell_call_command.added":
        return _narrowed(ResponseShellCallCommandAddedStreamingEvent, event)
    if event.type == "response.shell_call_command.delta":
        return _narrowed(ResponseShellCallCommandDeltaStreamingEvent, event)
    if event.type == "response.shell_call_command.done":
        return _narrowed(ResponseShellCallCommandDoneStreamingEvent, event)
    if event.type == "response.shell_call_output_content.delta":
        return _narrowed(ResponseShellCallOutputContentDeltaStreamingEvent, event)
    if event.type == "response.shell_call_output_content.done":
        return _narrowed(ResponseShellCallOutputContentDoneStreamingEvent, event)
    if event.type == "response.output_text.delta":
        return _narrowed(ResponseTextDeltaEvent, event)
    if event.type == "response.output_text.done":
        return _narrowed(ResponseTextDoneEvent, event)
    if event.type == "response.web_search_call.completed":
        return _narrowed(ResponseWebSearchCallCompletedEvent, event)
    if event.type == "response.web_search_call.in_progress":
        return _narrowed(ResponseWebSearchCallInProgressEvent, event)
    if event.type == "response.web_search_call.searching":
        return _narrowed(ResponseWebSearchCallSearchingEvent, event)
    if event.type == "<unknown>":
        return _narrowed(UnknownEvent, event)
    assert_never(event)


def event_by_class(event: ResponseStreamEvent) -> str:
    """`isinstance` narrows ResponseStreamEvent to each member; the tag reads as its `Literal`."""
    if isinstance(event, ResponseAudioDeltaEvent):
        tag_1: Literal["response.audio.delta"] = event.type
        return tag_1
    if isinstance(event, ResponseAudioDoneEvent):
        tag_2: Literal["response.audio.done"] = event.type
        return tag_2
    if isinstance(event, ResponseAudioTranscriptDeltaEvent):
        tag_3: Literal["response.audio.transcript.delta"] = event.type
        return tag_3
    if isinstance(event, ResponseAudioTranscriptDoneEvent):
        tag_4: Literal["response.audio.transcript.done"] = event.type
        return tag_4
    if isinstance(event, ResponseCodeInterpreterCallCodeDeltaEvent):
        tag_5: Literal["response.code_interpreter_call_code.delta"] = event.type
        return tag_5
    if isinstance(event, ResponseCodeInterpreterCallCodeDoneEvent):
        tag_6: Literal["response.code_interpreter_call_code.done"] = event.type
        return tag_6
    if isinstance(event, ResponseCodeInterpreterCallCompletedEvent):
        tag_7: Literal["response.code_interpreter_call.completed"] = event.type
        return tag_7
    if isinstance(event, ResponseCodeInterpreterCallInProgressEvent):
        tag_8: Literal["response.code_interpreter_call.in_progress"] = event.type
        return tag_8
    if isinstance(event, ResponseCodeInterpreterCallInterpretingEvent):
        tag_9: Literal["response.code_interpreter_call.interpreting"] = event.type
        return tag_9
    if isinstance(event, ResponseCompletedEvent):
        tag_10: Literal["response.completed"] = event.type
        return tag_10
    if isinstance(event, ResponseContentPartAddedEvent):
        tag_11: Literal["response.content_part.added"] = event.type
        return tag_11
    if isinstance(event, ResponseContentPartDoneEvent):
        tag_12: Literal["response.content_part.done"] = event.type
        return tag_12
    if isinstance(event, ResponseCreatedEvent):
        tag_13: Literal["response.created"] = event.type
        return tag_13
    if isinstance(event, ResponseCustomToolCallInputDeltaEvent):
        tag_14: Literal["response.custom_tool_call_input.delta"] = event.type
        return tag_14
    if isinstance(event, ResponseCustomToolCallInputDoneEvent):
        tag_15: Literal["response.custom_tool_call_input.done"] = event.type
        return tag_15
    if isinstance(event, ResponseErrorEvent):
        tag_16: Literal["error"] = event.type
        return tag_16
    if isinstance(event, ResponseFailedEvent):
        tag_17: Literal["response.failed"] = event.type
        return tag_17
    if isinstance(event, ResponseFileSearchCallCompletedEvent):
        tag_18: Literal["response.file_search_call.completed"] = event.type
        return tag_18
    if isinstance(event, ResponseFileSearchCallInProgressEvent):
        tag_19: Literal["response.file_search_call.in_progress"] = event.type
        return tag_19
    if isinstance(event, ResponseFileSearchCallSearchingEvent):
        tag_20: Literal["response.file_search_call.searching"] = event.type
        return tag_20
    if isinstance(event, ResponseFunctionCallArgumentsDeltaEvent):
        tag_21: Literal["response.function_call_arguments.delta"] = event.type
        return tag_21
    if isinstance(event, ResponseFunctionCallArgumentsDoneEvent):
        tag_22: Literal["response.function_call_arguments.done"] = event.type
        return tag_22
    if isinstance(event, ResponseImageGenCallCompletedEvent):
        tag_23: Literal["response.image_generation_call.completed"] = event.type
        return tag_23
    if isinstance(event, ResponseImageGenCallGeneratingEvent):
        tag_24: Literal["response.image_generation_call.generating"] = event.type
        return tag_24
    if isinstance(event, ResponseImageGenCallInProgressEvent):
        tag_25: Literal["response.image_generation_call.in_progress"] = event.type
        return tag_25
    if isinstance(event, ResponseImageGenCallPartialImageEvent):
        tag_26: Literal["response.image_generation_call.partial_image"] = event.type
        return tag_26
    if isinstance(event, ResponseInProgressEvent):
        tag_27: Literal["response.in_progress"] = event.type
        return tag_27
    if isinstance(event, ResponseIncompleteEvent):
        tag_28: Literal["response.incomplete"] = event.type
        return tag_28
    if isinstance(event, ResponseMCPCallArgumentsDeltaEvent):
        tag_29: Literal["response.mcp_call_arguments.delta"] = event.type
        return tag_29
    if isinstance(event, ResponseMCPCallArgumentsDoneEvent):
        tag_30: Literal["response.mcp_call_arguments.done"] = event.type
        return tag_30
    if isinstance(event, ResponseMCPCallCompletedEvent):
        tag_31: Literal["response.mcp_call.completed"] = event.type
        return tag_31
    if isinstance(event, ResponseMCPCallFailedEvent):
        tag_32: Literal["response.mcp_call.failed"] = event.type
        return tag_32
    if isinstance(event, ResponseMCPCallInProgressEvent):
        tag_33: Literal["response.mcp_call.in_progress"] = event.type
        return tag_33
    if isinstance(event, ResponseMCPListToolsCompletedEvent):
        tag_34: Literal["response.mcp_list_tools.completed"] = event.type
        return tag_34
    if isinstance(event, ResponseMCPListToolsFailedEvent):
        tag_35: Literal["response.mcp_list_tools.failed"] = event.type
        return tag_35
    if isinstance(event, ResponseMCPListToolsInProgressEvent):
        tag_36: Literal["response.mcp_list_tools.in_progress"] = event.type
        return tag_36
    if isinstance(event, ResponseOutputItemAddedEvent):
        tag_37: Literal["response.output_item.added"] = event.type
        return tag_37
    if isinstance(event, ResponseOutputItemDoneEvent):
        tag_38: Literal["response.output_item.done"] = event.type
        return tag_38
    if isinstance(event, ResponseOutputTextAnnotationAddedEvent):
        tag_39: Literal["response.output_text.annotation.added"] = event.type
        return tag_39
    if isinstance(event, ResponseQueuedEvent):
        tag_40: Literal["response.queued"] = event.type
        return tag_40
    if isinstance(event, ResponseReasoningSummaryPartAddedEvent):
        tag_41: Literal["response.reasoning_summary_part.added"] = event.type
        return tag_41
    if isinstance(event, ResponseReasoningSummaryPartDoneEvent):
        tag_42: Literal["response.reasoning_summary_part.done"] = event.type
        return tag_42
    if isinstance(event, ResponseReasoningSummaryTextDeltaEvent):
        tag_43: Literal["response.reasoning_summary_text.delta"] = event.type
        return tag_43
    if isinstance(event, ResponseReasoningSummaryTextDoneEvent):
        tag_44: Literal["response.reasoning_summary_text.done"] = event.type
        return tag_44
    if isinstance(event, ResponseReasoningTextDeltaEvent):
        tag_45: Literal["response.reasoning_text.delta"] = event.type
        return tag_45
    if isinstance(event, ResponseReasoningTextDoneEvent):
        tag_46: Literal["response.reasoning_text.done"] = event.type
        return tag_46
    if isinstance(event, ResponseRefusalDeltaEvent):
        tag_47: Literal["response.refusal.delta"] = event.type
        return tag_47
    if isinstance(event, ResponseRefusalDoneEvent):
        tag_48: Literal["response.refusal.done"] = event.type
        return tag_48
    if isinstance(event, ResponseShellCallCommandAddedStreamingEvent):
        tag_49: Literal["response.shell_call_command.added"] = event.type
        return tag_49
    if isinstance(event, ResponseShellCallCommandDeltaStreamingEvent):
        tag_50: Literal["response.shell_call_command.delta"] = event.type
        return tag_50
    if isinstance(event, ResponseShellCallCommandDoneStreamingEvent):
        tag_51: Literal["response.shell_call_command.done"] = event.type
        return tag_51
    if isinstance(event, ResponseShellCallOutputContentDeltaStreamingEvent):
        tag_52: Literal["response.shell_call_output_content.delta"] = event.type
        return tag_52
    if isinstance(event, ResponseShellCallOutputContentDoneStreamingEvent):
        tag_53: Literal["response.shell_call_output_content.done"] = event.type
        return tag_53
    if isinstance(event, ResponseTextDeltaEvent):
        tag_54: Literal["response.output_text.delta"] = event.type
        return tag_54
    if isinstance(event, ResponseTextDoneEvent):
        tag_55: Literal["response.output_text.done"] = event.type
        return tag_55
    if isinstance(event, ResponseWebSearchCallCompletedEvent):
        tag_56: Literal["response.web_search_call.completed"] = event.type
        return tag_56
    if isinstance(event, ResponseWebSearchCallInProgressEvent):
        tag_57: Literal["response.web_search_call.in_progress"] = event.type
        return tag_57
    if isinstance(event, ResponseWebSearchCallSearchingEvent):
        tag_58: Literal["response.web_search_call.searching"] = event.type
        return tag_58
    if isinstance(event, UnknownEvent):
        tag_59: Literal["<unknown>"] = event.type
        return tag_59
    assert_never(event)


def event_by_match(event: ResponseStreamEvent) -> str:
    """`match` over ResponseStreamEvent is exhaustive with the unknown member."""
    match event:
        case ResponseAudioDeltaEvent():
            return event.type
        case ResponseAudioDoneEvent():
            return event.type
        case ResponseAudioTranscriptDeltaEvent():
            return event.type
        case ResponseAudioTranscriptDoneEvent():
            return event.type
        case ResponseCodeInterpreterCallCodeDeltaEvent():
            return event.type
        case ResponseCodeInterpreterCallCodeDoneEvent():
            return event.type
        case ResponseCodeInterpreterCallCompletedEvent():
            return event.type
        case ResponseCodeInterpreterCallInProgressEvent():
            return event.type
        case ResponseCodeInterpreterCallInterpretingEvent():
            return event.type
        case ResponseCompletedEvent():
            return event.type
        case ResponseContentPartAddedEvent():
            return event.type
        case ResponseContentPartDoneEvent():
            return event.type
        case ResponseCreatedEvent():
            return event.type
        case ResponseCustomToolCallInputDeltaEvent():
            return event.type
        case ResponseCustomToolCallInputDoneEvent():
            return event.type
        case ResponseErrorEvent():
            return event.type
        case ResponseFailedEvent():
            return event.type
        case ResponseFileSearchCallCompletedEvent():
            return event.type
        case ResponseFileSearchCallInProgressEvent():
            return event.type
        case ResponseFileSearchCallSearchingEvent():
            return event.type
        case ResponseFunctionCallArgumentsDeltaEvent():
            return event.type
        case ResponseFunctionCallArgumentsDoneEvent():
            return event.type
        case ResponseImageGenCallCompletedEvent():
            return event.type
        case ResponseImageGenCallGeneratingEvent():
            return event.type
        case ResponseImageGenCallInProgressEvent():
            return event.type
        case ResponseImageGenCallPartialImageEvent():
            return event.type
        case ResponseInProgressEvent():
            return event.type
        case ResponseIncompleteEvent():
            return event.type
        case ResponseMCPCallArgumentsDeltaEvent():
            return event.type
        case ResponseMCPCallArgumentsDoneEvent():
            return event.type
        case ResponseMCPCallCompletedEvent():
            return event.type
        case ResponseMCPCallFailedEvent():
            return event.type
        case ResponseMCPCallInProgressEvent():
            return event.type
        case ResponseMCPListToolsCompletedEvent():
            return event.type
        case ResponseMCPListToolsFailedEvent():
            return event.type
        case ResponseMCPListToolsInProgressEvent():
            return event.type
        case ResponseOutputItemAddedEvent():
            return event.type
        case ResponseOutputItemDoneEvent():
            return event.type
        case ResponseOutputTextAnnotationAddedEvent():
            return event.type
        case ResponseQueuedEvent():
            return event.type
        case ResponseReasoningSummaryPartAddedEvent():
            return event.type
        case ResponseReasoningSummaryPartDoneEvent():
            return event.type
        case ResponseReasoningSummaryTextDeltaEvent():
            return event.type
        case ResponseReasoningSummaryTextDoneEvent():
            return event.type
        case ResponseReasoningTextDeltaEvent():
            return event.type
        case ResponseReasoningTextDoneEvent():
            return event.type
        case ResponseRefusalDeltaEvent():
            return event.type
        case ResponseRefusalDoneEvent():
            return event.type
        case ResponseShellCallCommandAddedStreamingEvent():
            return event.type
        case ResponseShellCallCommandDeltaStreamingEvent():
            return event.type
        case ResponseShellCallCommandDoneStreamingEvent():
            return event.type
        case ResponseShellCallOutputContentDeltaStreamingEvent():
            return event.type
        case ResponseShellCallOutputContentDoneStreamingEvent():
            return event.type
        case ResponseTextDeltaEvent():
            return event.type
        case ResponseTextDoneEvent():
            return event.type
        case ResponseWebSearchCallCompletedEvent():
            return event.type
        case ResponseWebSearchCallInProgressEvent():
            return event.type
        case ResponseWebSearchCallSearchingEvent():
            return event.type
        case UnknownEvent():
            return event.type
        case _:
            assert_never(event)


def item_by_tag(item: OutputItem) -> type[APIObject]:
    """`.type ==` narrows OutputItem to each member, the unknown one included."""
    if item.type == "additional_tools":
        return _narrowed(AdditionalTools, item)
    if item.type == "apply_patch_call":
        return _narrowed(ApplyPatchCall, item)
    if item.type == "apply_patch_call_output":
        return _narrowed(ApplyPatchCallOutput, item)
    if item.type == "code_interpreter_call":
        return _narrowed(CodeInterpreterCall, item)
    if item.type == "compaction":
        return _narrowed(CompactionItem, item)
    if item.type == "computer_call":
        return _narrowed(ComputerCall, item)
    if item.type == "computer_call_output":
        return _narrowed(ComputerCallOutput, item)
    if item.type == "custom_tool_call":
        return _narrowed(CustomToolCall, item)
    if item.type == "custom_tool_call_output":
        return _narrowed(CustomToolCallOutput, item)
    if item.type == "file_search_call":
        return _narrowed(FileSearchCall, item)
    if item.type == "function_call":
        return _narrowed(FunctionCall, item)
    if item.type == "function_call_output":
        return _narrowed(FunctionCallOutput, item)
    if item.type == "image_generation_call":
        return _narrowed(ImageGenerationCall, item)
    if item.type == "local_shell_call":
        return _narrowed(LocalShellCall, item)
    if item.type == "local_shell_call_output":
        return _narrowed(LocalShellCallOutput, item)
    if item.type == "mcp_approval_request":
        return _narrowed(McpApprovalRequest, item)
    if item.type == "mcp_approval_response":
        return _narrowed(McpApprovalResponse, item)
    if item.type == "mcp_call":
        return _narrowed(McpCall, item)
    if item.type == "mcp_list_tools":
        return _narrowed(McpListTools, item)
    if item.type == "message":
        return _narrowed(OutputMessage, item)
    if item.type == "program":
        return _narrowed(ProgramItem, item)
    if item.type == "program_output":
        return _narrowed(ProgramOutputItem, item)
    if item.type == "reasoning":
        return _narrowed(ReasoningItem, item)
    if item.type == "shell_call":
        return _narrowed(ShellCall, item)
    if item.type == "shell_call_output":
        return _narrowed(ShellCallOutput, item)
    if item.type == "tool_search_call":
        return _narrowed(ToolSearchCall, item)
    if item.type == "tool_search_output":
        return _narrowed(ToolSearchOutput, item)
    if item.type == "web_search_call":
        return _narrowed(WebSearchCall, item)
    if item.type == "<unknown>":
        return _narrowed(UnknownOutputItem, item)
    assert_never(item)


def item_by_class(item: OutputItem) -> str:
    """`isinstance` narrows OutputItem to each member; the tag reads as its `Literal`."""
    if isinstance(item, AdditionalTools):
        tag_60: Literal["additional_tools"] = item.type
        return tag_60
    if isinstance(item, ApplyPatchCall):
        tag_61: Literal["apply_patch_call"] = item.type
        return tag_61
    if isinstance(item, ApplyPatchCallOutput):
        tag_62: Literal["apply_patch_call_output"] = item.type
        return tag_62
    if isinstance(item, CodeInterpreterCall):
        tag_63: Literal["code_interpreter_call"] = item.type
        return tag_63
    if isinstance(item, CompactionItem):
        tag_64: Literal["compaction"] = item.type
        return tag_64
    if isinstance(item, ComputerCall):
        tag_65: Literal["computer_call"] = item.type
        return tag_65
    if isinstance(item, ComputerCallOutput):
        tag_66: Literal["computer_call_output"] = item.type
        return tag_66
    if isinstance(item, CustomToolCall):
        tag_67: Literal["custom_tool_call"] = item.type
        return tag_67
    if isinstance(item, CustomToolCallOutput):
        tag_68: Literal["custom_tool_call_output"] = item.type
        return tag_68
    if isinstance(item, FileSearchCall):
        tag_69: Literal["file_search_call"] = item.type
        return tag_69
    if isinstance(item, FunctionCall):
        tag_70: Literal["function_call"] = item.type
        return tag_70
    if isinstance(item, FunctionCallOutput):
        tag_71: Literal["function_call_output"] = item.type
        return tag_71
    if isinstance(item, ImageGenerationCall):
        tag_72: Literal["image_generation_call"] = item.type
        return tag_72
    if isinstance(item, LocalShellCall):
        tag_73: Literal["local_shell_call"] = item.type
        return tag_73
    if isinstance(item, LocalShellCallOutput):
        tag_74: Literal["local_shell_call_output"] = item.type
        return tag_74
    if isinstance(item, McpApprovalRequest):
        tag_75: Literal["mcp_approval_request"] = item.type
        return tag_75
    if isinstance(item, McpApprovalResponse):
        tag_76: Literal["mcp_approval_response"] = item.type
        return tag_76
    if isinstance(item, McpCall):
        tag_77: Literal["mcp_call"] = item.type
        return tag_77
    if isinstance(item, McpListTools):
        tag_78: Literal["mcp_list_tools"] = item.type
        return tag_78
    if isinstance(item, OutputMessage):
        tag_79: Literal["message"] = item.type
        return tag_79
    if isinstance(item, ProgramItem):
        tag_80: Literal["program"] = item.type
        return tag_80
    if isinstance(item, ProgramOutputItem):
        tag_81: Literal["program_output"] = item.type
        return tag_81
    if isinstance(item, ReasoningItem):
        tag_82: Literal["reasoning"] = item.type
        return tag_82
    if isinstance(item, ShellCall):
        tag_83: Literal["shell_call"] = item.type
        return tag_83
    if isinstance(item, ShellCallOutput):
        tag_84: Literal["shell_call_output"] = item.type
        return tag_84
    if isinstance(item, ToolSearchCall):
        tag_85: Literal["tool_search_call"] = item.type
        return tag_85
    if isinstance(item, ToolSearchOutput):
        tag_86: Literal["tool_search_output"] = item.type
        return tag_86
    if isinstance(item, WebSearchCall):
        tag_87: Literal["web_search_call"] = item.type
        return tag_87
    if isinstance(item, UnknownOutputItem):
        tag_88: Literal["<unknown>"] = item.type
        return tag_88
    assert_never(item)


def item_by_match(item: OutputItem) -> str:
    """`match` over OutputItem is exhaustive with the unknown member."""
    match item:
        case AdditionalTools():
            return item.type
        case ApplyPatchCall():
            return item.type
        case ApplyPatchCallOutput():
            return item.type
        case CodeInterpreterCall():
            return item.type
        case CompactionItem():
            return item.type
        case ComputerCall():
            return item.type
        case ComputerCallOutput():
            return item.type
        case CustomToolCall():
            return item.type
        case CustomToolCallOutput():
            return item.type
        case FileSearchCall():
            return item.type
        case FunctionCall():
            return item.type
        case FunctionCallOutput():
            return item.type
        case ImageGenerationCall():
            return item.type
        case LocalShellCall():
            return item.type
        case LocalShellCallOutput():
            return item.type
        case McpApprovalRequest():
            return item.type
        case McpApprovalResponse():
            return item.type
        case McpCall():
            return item.type
        case McpListTools():
            return item.type
        case OutputMessage():
            return item.type
        case ProgramItem():
            return item.type
        case ProgramOutputItem():
            return item.type
        case ReasoningItem():
            return item.type
        case ShellCall():
            return item.type
        case ShellCallOutput():
            return item.type
        case ToolSearchCall():
            return item.type
        case ToolSearchOutput():
            return item.type
        case WebSearchCall():
            return item.type
        case UnknownOutputItem():
            return item.type
        case _:
            assert_never(item)


def content_by_tag(part: OutputContent) -> type[APIObject]:
    """`.type ==` narrows OutputContent to each member, the unknown one included."""
    if part.type == "refusal":
        return _narrowed(OutputRefusal, part)
    if part.type == "output_text":
        return _narrowed(OutputText, part)
    if part.type == "reasoning_text":
        return _narrowed(ReasoningText, part)
    if part.type == "<unknown>":
        return _narrowed(UnknownContent, part)
    assert_never(part)


def content_by_class(part: OutputContent) -> str:
    """`isinstance` narrows OutputContent to each member; the tag reads as its `Literal`."""
    if isinstance(part, OutputRefusal):
        tag_89: Literal["refusal"] = part.type
        return tag_89
    if isinstance(part, OutputText):
        tag_90: Literal["output_text"] = part.type
        return tag_90
    if isinstance(part, ReasoningText):
        tag_91: Literal["reasoning_text"] = part.type
        return tag_91
    if isinstance(part, UnknownContent):
        tag_92: Literal["<unknown>"] = part.type
        return tag_92
    assert_never(part)


def content_by_match(part: OutputContent) -> str:
    """`match` over OutputContent is exhaustive with the unknown member."""
    match part:
        case OutputRefusal():
            return part.type
        case OutputText():
            return part.type
        case ReasoningText():
            return part.type
        case UnknownContent():
            return part.type
        case _:
            assert_never(part)


def annotation_by_tag(annotation: Annotation) -> type[APIObject]:
    """`.type ==` narrows Annotation to each member, the unknown one included."""
    if annotation.type == "container_file_citation":
        return _narrowed(ContainerFileCitation, annotation)
    if annotation.type == "file_citation":
        return _narrowed(FileCitation, annotation)
    if annotation.type == "file_path":
        return _narrowed(FilePathAnnotation, annotation)
    if annotation.type == "url_citation":
        return _narrowed(UrlCitation, annotation)
    if annotation.type == "<unknown>":
        return _narrowed(UnknownAnnotation, annotation)
    assert_never(annotation)


def annotation_by_class(annotation: Annotation) -> str:
    """`isinstance` narrows Annotation to each member; the tag reads as its `Literal`."""
    if isinstance(annotation, ContainerFileCitation):
        tag_93: Literal["container_file_citation"] = annotation.type
        return tag_93
    if isinstance(annotation, FileCitation):
        tag_94: Literal["file_citation"] = annotation.type
        return tag_94
    if isinstance(annotation, FilePathAnnotation):
        tag_95: Literal["file_path"] = annotation.type
        return tag_95
    if isinstance(annotation, UrlCitation):
        tag_96: Literal["url_citation"] = annotation.type
        return tag_96
    if isinstance(annotation, UnknownAnnotation):
        tag_97: Literal["<unknown>"] = annotation.type
        return tag_97
    assert_never(annotation)


def annotation_by_match(annotation: Annotation) -> str:
    """`match` over Annotation is exhaustive with the unknown member."""
    match annotation:
        case ContainerFileCitation():
            return annotation.type
        case FileCitation():
            return annotation.type
        case FilePathAnnotation():
            return annotation.type
        case UrlCitation():
            return annotation.type
        case UnknownAnnotation():
            return annotation.type
        case _:
            assert_never(annotation)


def _event_payload(cls: type[Any]) -> dict[str, Any]:
    """The smallest payload of `cls`'s tag that decodes: its required fields filled."""
    tag = cls.__struct_config__.tag
    payload: dict[str, Any] = {"type": tag}
    for field in msgspec.structs.fields(cls):
        if field.required:
            payload[field.name] = {
                "item": {"type": "message"},
                "part": {"type": "summary_text" if "summary" in tag else "output_text"},
            }.get(field.name, "" if field.type is str else {})
    return payload


EVENTS = [_event_payload(cls) for cls in get_args(ResponseStreamEvent)]
OUTPUT_ITEMS = [{"type": cls.__struct_config__.tag} for cls in get_args(OutputItem)]


@pytest.mark.parametrize("payload", [*EVENTS, {"type": "response.telepathy.delta"}])
def test_every_event_narrows_by_tag_class_and_match(payload: dict[str, Any]) -> None:
    event = decode_response_event(msgspec.json.encode(payload))
    unknown = isinstance(event, UnknownEvent)
    assert unknown == (payload["type"] == "response.telepathy.delta")
    assert event_by_tag(event) is type(event)
    expected = "<unknown>" if unknown else payload["type"]
    assert event_by_class(event) == event_by_match(event) == expected
    assert event.to_dict() == payload if unknown else event.type == payload["type"]


@pytest.mark.parametrize("payload", [*OUTPUT_ITEMS, {"type": "hologram_call", "beam": 3}])
def test_every_output_item_narrows_by_tag_class_and_match(payload: dict[str, Any]) -> None:
    (item,) = decode_response(msgspec.json.encode({"output": [payload]})).output
    unknown = isinstance(item, UnknownOutputItem)
    assert unknown == (payload["type"] == "hologram_call")
    assert item_by_tag(item) is type(item)
    expected = "<unknown>" if unknown else payload["type"]
    assert item_by_class(item) == item_by_match(item) == expected
    if isinstance(item, UnknownOutputItem):
        assert item.raw == payload
        assert item.to_dict() == payload


@pytest.mark.parametrize(
    "part_tag", [*(cls.__struct_config__.tag for cls in get_args(OutputContent)), "output_smell"]
)
@pytest.mark.parametrize(
    "note_tag", [*(cls.__struct_config__.tag for cls in get_args(Annotation)), "smell_citation"]
)
def test_every_content_part_and_annotation_narrows(part_tag: str, note_tag: str) -> None:
    note = {"type": note_tag}
    part = {"type": part_tag, "annotations": [note]}
    message = {"type": "message", "content": [part]}
    (item,) = decode_response(msgspec.json.encode({"output": [message]})).output
    assert isinstance(item, OutputMessage)
    (content,) = item.content
    assert content_by_tag(content) is type(content)
    part_expected = "<unknown>" if part_tag == "output_smell" else part_tag
    assert content_by_class(content) == content_by_match(content) == part_expected
    if isinstance(content, UnknownContent):
        assert content.raw == part
    elif isinstance(content, OutputText):
        (annotation,) = content.annotations
        assert annotation_by_tag(annotation) is type(annotation)
        note_expected = "<unknown>" if note_tag == "smell_citation" else note_tag
        assert annotation_by_class(annotation) == annotation_by_match(annotation) == note_expected
        assert isinstance(annotation, UnknownAnnotation) == (note_tag == "smell_citation")
