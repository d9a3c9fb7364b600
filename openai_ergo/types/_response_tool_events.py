"""Responses stream events about built-in tools (code interpreter, file and web search, image
generation, MCP, custom tools, shell) and audio. Named as their schemas in the OpenAPI spec."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, final

from openai_ergo.types._response_events import _Event


@final
class ResponseAudioDeltaEvent(_Event, tag="response.audio.delta", kw_only=True):
    """Emitted when there is a partial audio response."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.audio.delta"]]

    delta: str


@final
class ResponseAudioDoneEvent(_Event, tag="response.audio.done", kw_only=True):
    """Emitted when the audio response is complete."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.audio.done"]]


@final
class ResponseAudioTranscriptDeltaEvent(
    _Event, tag="response.audio.transcript.delta", kw_only=True
):
    """Emitted when there is a partial transcript of audio."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.audio.transcript.delta"]]

    delta: str


@final
class ResponseAudioTranscriptDoneEvent(_Event, tag="response.audio.transcript.done", kw_only=True):
    """Emitted when the full audio transcript is completed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.audio.transcript.done"]]


@final
class ResponseCodeInterpreterCallCodeDeltaEvent(
    _Event, tag="response.code_interpreter_call_code.delta", kw_only=True
):
    """Emitted when a partial code snippet is streamed by the code interpreter."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.code_interpreter_call_code.delta"]]

    output_index: int = 0
    item_id: str = ""
    delta: str


@final
class ResponseCodeInterpreterCallCodeDoneEvent(
    _Event, tag="response.code_interpreter_call_code.done", kw_only=True
):
    """Emitted when the code snippet is finalized by the code interpreter."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.code_interpreter_call_code.done"]]

    output_index: int = 0
    item_id: str = ""
    code: str = ""


@final
class ResponseCodeInterpreterCallCompletedEvent(
    _Event, tag="response.code_interpreter_call.completed", kw_only=True
):
    """Emitted when the code interpreter call is completed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.code_interpreter_call.completed"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseCodeInterpreterCallInProgressEvent(
    _Event, tag="response.code_interpreter_call.in_progress", kw_only=True
):
    """Emitted when a code interpreter call is in progress."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.code_interpreter_call.in_progress"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseCodeInterpreterCallInterpretingEvent(
    _Event, tag="response.code_interpreter_call.interpreting", kw_only=True
):
    """Emitted when the code interpreter is actively interpreting the code snippet."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.code_interpreter_call.interpreting"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseFileSearchCallCompletedEvent(
    _Event, tag="response.file_search_call.completed", kw_only=True
):
    """Emitted when a file search call is completed (results found)."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.file_search_call.completed"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseFileSearchCallInProgressEvent(
    _Event, tag="response.file_search_call.in_progress", kw_only=True
):
    """Emitted when a file search call is initiated."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.file_search_call.in_progress"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseFileSearchCallSearchingEvent(
    _Event, tag="response.file_search_call.searching", kw_only=True
):
    """Emitted when a file search is currently searching."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.file_search_call.searching"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseShellCallCommandAddedStreamingEvent(
    _Event, tag="response.shell_call_command.added", kw_only=True
):
    """A streaming event that indicated a shell command was added to a tool call."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.shell_call_command.added"]]

    output_index: int = 0
    command_index: int = 0
    command: str = ""


@final
class ResponseShellCallCommandDeltaStreamingEvent(
    _Event, tag="response.shell_call_command.delta", kw_only=True
):
    """A streaming event that indicated a shell command was incrementally updated."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.shell_call_command.delta"]]

    output_index: int = 0
    command_index: int = 0
    delta: str


@final
class ResponseShellCallCommandDoneStreamingEvent(
    _Event, tag="response.shell_call_command.done", kw_only=True
):
    """A streaming event that indicated a shell command was completed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.shell_call_command.done"]]

    output_index: int = 0
    command_index: int = 0
    command: str = ""


@final
class ResponseShellCallOutputContentDeltaStreamingEvent(
    _Event, tag="response.shell_call_output_content.delta", kw_only=True
):
    """A streaming event that indicated shell call output was incrementally added."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.shell_call_output_content.delta"]]

    item_id: str = ""
    output_index: int = 0
    command_index: int = 0
    delta: dict[str, Any] = {}


@final
class ResponseShellCallOutputContentDoneStreamingEvent(
    _Event, tag="response.shell_call_output_content.done", kw_only=True
):
    """A streaming event that indicated shell call output was completed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.shell_call_output_content.done"]]

    item_id: str = ""
    output_index: int = 0
    command_index: int = 0
    output: list[dict[str, Any]] = []


@final
class ResponseWebSearchCallCompletedEvent(
    _Event, tag="response.web_search_call.completed", kw_only=True
):
    """Emitted when a web search call is completed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.web_search_call.completed"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseWebSearchCallInProgressEvent(
    _Event, tag="response.web_search_call.in_progress", kw_only=True
):
    """Emitted when a web search call is initiated."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.web_search_call.in_progress"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseWebSearchCallSearchingEvent(
    _Event, tag="response.web_search_call.searching", kw_only=True
):
    """Emitted when a web search call is executing."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.web_search_call.searching"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseImageGenCallCompletedEvent(
    _Event, tag="response.image_generation_call.completed", kw_only=True
):
    """Emitted when an image generation tool call has completed and the final image is available."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.image_generation_call.completed"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseImageGenCallGeneratingEvent(
    _Event, tag="response.image_generation_call.generating", kw_only=True
):
    """Emitted while an image generation tool call is generating an image."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.image_generation_call.generating"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseImageGenCallInProgressEvent(
    _Event, tag="response.image_generation_call.in_progress", kw_only=True
):
    """Emitted when an image generation tool call is in progress."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.image_generation_call.in_progress"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseImageGenCallPartialImageEvent(
    _Event, tag="response.image_generation_call.partial_image", kw_only=True
):
    """Emitted when a partial image is available during image generation streaming."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.image_generation_call.partial_image"]]

    output_index: int = 0
    item_id: str = ""
    partial_image_index: int = 0
    partial_image_b64: str = ""
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None


@final
class ResponseMCPCallArgumentsDeltaEvent(
    _Event, tag="response.mcp_call_arguments.delta", kw_only=True
):
    """Emitted when there is a delta (partial update) to the arguments of an MCP tool call."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.mcp_call_arguments.delta"]]

    output_index: int = 0
    item_id: str = ""
    delta: str


@final
class ResponseMCPCallArgumentsDoneEvent(
    _Event, tag="response.mcp_call_arguments.done", kw_only=True
):
    """Emitted when the arguments for an MCP tool call are finalized."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.mcp_call_arguments.done"]]

    output_index: int = 0
    item_id: str = ""
    arguments: str = ""


@final
class ResponseMCPCallCompletedEvent(_Event, tag="response.mcp_call.completed", kw_only=True):
    """Emitted when an MCP tool call has completed successfully."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.mcp_call.completed"]]

    item_id: str = ""
    output_index: int = 0


@final
class ResponseMCPCallFailedEvent(_Event, tag="response.mcp_call.failed", kw_only=True):
    """Emitted when an MCP tool call has failed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.mcp_call.failed"]]

    item_id: str = ""
    output_index: int = 0


@final
class ResponseMCPCallInProgressEvent(_Event, tag="response.mcp_call.in_progress", kw_only=True):
    """Emitted when an MCP tool call is in progress."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.mcp_call.in_progress"]]

    output_index: int = 0
    item_id: str = ""


@final
class ResponseMCPListToolsCompletedEvent(
    _Event, tag="response.mcp_list_tools.completed", kw_only=True
):
    """Emitted when the list of available MCP tools has been successfully retrieved."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.mcp_list_tools.completed"]]

    item_id: str = ""
    output_index: int = 0


@final
class ResponseMCPListToolsFailedEvent(_Event, tag="response.mcp_list_tools.failed", kw_only=True):
    """Emitted when the attempt to list available MCP tools has failed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.mcp_list_tools.failed"]]

    item_id: str = ""
    output_index: int = 0


@final
class ResponseMCPListToolsInProgressEvent(
    _Event, tag="response.mcp_list_tools.in_progress", kw_only=True
):
    """Emitted when the system is in the process of retrieving the list of available MCP tools."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.mcp_list_tools.in_progress"]]

    item_id: str = ""
    output_index: int = 0


@final
class ResponseCustomToolCallInputDeltaEvent(
    _Event, tag="response.custom_tool_call_input.delta", kw_only=True
):
    """Event representing a delta (partial update) to the input of a custom tool call."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.custom_tool_call_input.delta"]]

    output_index: int = 0
    item_id: str = ""
    delta: str


@final
class ResponseCustomToolCallInputDoneEvent(
    _Event, tag="response.custom_tool_call_input.done", kw_only=True
):
    """Event indicating that input for a custom tool call is complete."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.custom_tool_call_input.done"]]

    output_index: int = 0
    item_id: str = ""
    input: str = ""


# Every event this module declares, for the stream decoder's tagged union.
ToolEvent = (
    ResponseAudioDeltaEvent
    | ResponseAudioDoneEvent
    | ResponseAudioTranscriptDeltaEvent
    | ResponseAudioTranscriptDoneEvent
    | ResponseCodeInterpreterCallCodeDeltaEvent
    | ResponseCodeInterpreterCallCodeDoneEvent
    | ResponseCodeInterpreterCallCompletedEvent
    | ResponseCodeInterpreterCallInProgressEvent
    | ResponseCodeInterpreterCallInterpretingEvent
    | ResponseFileSearchCallCompletedEvent
    | ResponseFileSearchCallInProgressEvent
    | ResponseFileSearchCallSearchingEvent
    | ResponseShellCallCommandAddedStreamingEvent
    | ResponseShellCallCommandDeltaStreamingEvent
    | ResponseShellCallCommandDoneStreamingEvent
    | ResponseShellCallOutputContentDeltaStreamingEvent
    | ResponseShellCallOutputContentDoneStreamingEvent
    | ResponseWebSearchCallCompletedEvent
    | ResponseWebSearchCallInProgressEvent
    | ResponseWebSearchCallSearchingEvent
    | ResponseImageGenCallCompletedEvent
    | ResponseImageGenCallGeneratingEvent
    | ResponseImageGenCallInProgressEvent
    | ResponseImageGenCallPartialImageEvent
    | ResponseMCPCallArgumentsDeltaEvent
    | ResponseMCPCallArgumentsDoneEvent
    | ResponseMCPCallCompletedEvent
    | ResponseMCPCallFailedEvent
    | ResponseMCPCallInProgressEvent
    | ResponseMCPListToolsCompletedEvent
    | ResponseMCPListToolsFailedEvent
    | ResponseMCPListToolsInProgressEvent
    | ResponseCustomToolCallInputDeltaEvent
    | ResponseCustomToolCallInputDoneEvent
)
