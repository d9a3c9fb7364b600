"""The items of a Response's `output`: messages, reasoning, function and built-in tool calls.

Fields a model needs to make sense of an item are typed; the deep, tool-specific payloads (a
computer action, a web search action, code interpreter outputs) stay plain JSON so a new variant of
them never breaks decoding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, final

from openai_ergo.types._base import UNKNOWN_TAG, TaggedObject, UnknownTypeVariant
from openai_ergo.types._response_content import (
    OutputContent,
    OutputRefusal,
    OutputText,
    ReasoningText,
    SummaryText,
)

__all__ = [
    "AdditionalTools",
    "ApplyPatchCall",
    "ApplyPatchCallOutput",
    "CodeInterpreterCall",
    "CompactionItem",
    "ComputerCall",
    "ComputerCallOutput",
    "CustomToolCall",
    "CustomToolCallOutput",
    "FileSearchCall",
    "FunctionCall",
    "FunctionCallOutput",
    "ImageGenerationCall",
    "LocalShellCall",
    "LocalShellCallOutput",
    "McpApprovalRequest",
    "McpApprovalResponse",
    "McpCall",
    "McpListTools",
    "OutputItem",
    "OutputMessage",
    "ProgramItem",
    "ProgramOutputItem",
    "ReasoningItem",
    "ShellCall",
    "ShellCallOutput",
    "ToolSearchCall",
    "ToolSearchOutput",
    "UnknownOutputItem",
    "WebSearchCall",
]


@final
class OutputMessage(TaggedObject, tag="message", kw_only=True):
    """A message from the model: output text and refusals."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["message"]]

    id: str = ""
    role: str = "assistant"
    status: str | None = None
    content: list[OutputContent] = []
    #: `commentary` or `final_answer` on models that interleave preambles with tool calls.
    phase: str | None = None

    @property
    def text(self) -> str:
        """All output text of this message, joined."""
        return "".join(part.text for part in self.content if isinstance(part, OutputText))

    @property
    def refusal(self) -> str | None:
        """The refusal text, when the model refused; otherwise `None`."""
        pieces = [part.refusal for part in self.content if isinstance(part, OutputRefusal)]
        return "".join(pieces) if pieces else None


@final
class ReasoningItem(TaggedObject, tag="reasoning", kw_only=True):
    """The model's reasoning: a summary, raw text where exposed, and encrypted content to send
    back on the next turn."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["reasoning"]]

    id: str = ""
    summary: list[SummaryText] = []
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None
    status: str | None = None


@final
class FunctionCall(TaggedObject, tag="function_call", kw_only=True):
    """A call of one of your functions; `arguments` is a JSON string, as the model wrote it."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["function_call"]]

    call_id: str = ""
    name: str = ""
    arguments: str = ""
    id: str | None = None
    namespace: str | None = None
    status: str | None = None
    caller: dict[str, Any] | None = None


@final
class FunctionCallOutput(TaggedObject, tag="function_call_output", kw_only=True):
    """The result of a function call, as sent back to the model."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["function_call_output"]]

    call_id: str = ""
    output: str | list[dict[str, Any]] = ""
    id: str | None = None
    status: str | None = None
    name: str | None = None
    namespace: str | None = None
    caller: dict[str, Any] | None = None
    created_by: str | None = None


@final
class CustomToolCall(TaggedObject, tag="custom_tool_call", kw_only=True):
    """A call of a custom (free-form input) tool; `input` is the text the model wrote."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["custom_tool_call"]]

    call_id: str = ""
    name: str = ""
    input: str = ""
    id: str | None = None
    namespace: str | None = None
    caller: dict[str, Any] | None = None


@final
class CustomToolCallOutput(TaggedObject, tag="custom_tool_call_output", kw_only=True):
    """The result of a custom tool call."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["custom_tool_call_output"]]

    call_id: str = ""
    output: str | list[dict[str, Any]] = ""
    id: str | None = None
    status: str | None = None
    caller: dict[str, Any] | None = None
    created_by: str | None = None


@final
class FileSearchCall(TaggedObject, tag="file_search_call", kw_only=True):
    """A run of the file search tool: its queries and, when included, its results."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["file_search_call"]]

    id: str = ""
    status: str | None = None
    queries: list[str] = []
    results: list[dict[str, Any]] | None = None


@final
class WebSearchCall(TaggedObject, tag="web_search_call", kw_only=True):
    """A run of the web search tool; `action` is what it did (search, open page, find)."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["web_search_call"]]

    id: str = ""
    status: str | None = None
    action: dict[str, Any] | None = None


@final
class ComputerCall(TaggedObject, tag="computer_call", kw_only=True):
    """An action the model asks a computer-use harness to perform."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["computer_call"]]

    id: str = ""
    call_id: str = ""
    status: str | None = None
    action: dict[str, Any] | None = None
    actions: list[dict[str, Any]] | None = None
    pending_safety_checks: list[dict[str, Any]] = []


@final
class ComputerCallOutput(TaggedObject, tag="computer_call_output", kw_only=True):
    """The screenshot a computer-use harness sent back."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["computer_call_output"]]

    id: str = ""
    call_id: str = ""
    output: dict[str, Any] | None = None
    status: str | None = None
    acknowledged_safety_checks: list[dict[str, Any]] | None = None
    created_by: str | None = None


@final
class ImageGenerationCall(TaggedObject, tag="image_generation_call", kw_only=True):
    """A run of the image generation tool; `result` is the base64 image."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["image_generation_call"]]

    id: str = ""
    status: str | None = None
    result: str | None = None


@final
class CodeInterpreterCall(TaggedObject, tag="code_interpreter_call", kw_only=True):
    """Code the model ran in a container, and its logs and images."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["code_interpreter_call"]]

    id: str = ""
    status: str | None = None
    container_id: str | None = None
    code: str | None = None
    outputs: list[dict[str, Any]] | None = None


@final
class LocalShellCall(TaggedObject, tag="local_shell_call", kw_only=True):
    """A command the model asks a local shell harness to run."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["local_shell_call"]]

    id: str = ""
    call_id: str = ""
    action: dict[str, Any] | None = None
    status: str | None = None


@final
class LocalShellCallOutput(TaggedObject, tag="local_shell_call_output", kw_only=True):
    """The output of a local shell command."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["local_shell_call_output"]]

    id: str = ""
    output: str = ""
    status: str | None = None


@final
class ShellCall(TaggedObject, tag="shell_call", kw_only=True):
    """Commands the model asks the shell tool to run."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["shell_call"]]

    id: str = ""
    call_id: str = ""
    action: dict[str, Any] | None = None
    status: str | None = None
    environment: dict[str, Any] | None = None
    caller: dict[str, Any] | None = None
    created_by: str | None = None


@final
class ShellCallOutput(TaggedObject, tag="shell_call_output", kw_only=True):
    """The outputs of shell tool commands."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["shell_call_output"]]

    id: str = ""
    call_id: str = ""
    output: list[dict[str, Any]] = []
    status: str | None = None
    max_output_length: int | None = None
    caller: dict[str, Any] | None = None
    created_by: str | None = None


@final
class ApplyPatchCall(TaggedObject, tag="apply_patch_call", kw_only=True):
    """A file operation (create, update, delete) the model asks a harness to apply."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["apply_patch_call"]]

    id: str = ""
    call_id: str = ""
    operation: dict[str, Any] | None = None
    status: str | None = None
    caller: dict[str, Any] | None = None
    created_by: str | None = None


@final
class ApplyPatchCallOutput(TaggedObject, tag="apply_patch_call_output", kw_only=True):
    """The result of applying a patch."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["apply_patch_call_output"]]

    id: str = ""
    call_id: str = ""
    output: str | None = None
    status: str | None = None
    caller: dict[str, Any] | None = None
    created_by: str | None = None


@final
class McpCall(TaggedObject, tag="mcp_call", kw_only=True):
    """A call of a tool on a remote MCP server, with its output or error."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["mcp_call"]]

    id: str = ""
    server_label: str = ""
    name: str = ""
    arguments: str = ""
    output: str | None = None
    error: str | dict[str, Any] | None = None
    status: str | None = None
    approval_request_id: str | None = None


@final
class McpListTools(TaggedObject, tag="mcp_list_tools", kw_only=True):
    """The tools a remote MCP server offers."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["mcp_list_tools"]]

    id: str = ""
    server_label: str = ""
    tools: list[dict[str, Any]] = []
    error: str | None = None


@final
class McpApprovalRequest(TaggedObject, tag="mcp_approval_request", kw_only=True):
    """The model asks for approval before calling an MCP tool."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["mcp_approval_request"]]

    id: str = ""
    server_label: str = ""
    name: str = ""
    arguments: str = ""


@final
class McpApprovalResponse(TaggedObject, tag="mcp_approval_response", kw_only=True):
    """An answer to an MCP approval request."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["mcp_approval_response"]]

    id: str = ""
    approval_request_id: str = ""
    approve: bool = False
    reason: str | None = None


@final
class ToolSearchCall(TaggedObject, tag="tool_search_call", kw_only=True):
    """A search over deferred tools; `arguments` is what was searched for."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["tool_search_call"]]

    id: str = ""
    call_id: str | None = None
    execution: str | None = None
    arguments: Any = None
    status: str | None = None
    created_by: str | None = None


@final
class ToolSearchOutput(TaggedObject, tag="tool_search_output", kw_only=True):
    """The tools a tool search loaded."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["tool_search_output"]]

    id: str = ""
    call_id: str | None = None
    execution: str | None = None
    tools: list[dict[str, Any]] = []
    status: str | None = None
    created_by: str | None = None


@final
class AdditionalTools(TaggedObject, tag="additional_tools", kw_only=True):
    """Tools added to the conversation mid-way."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["additional_tools"]]

    id: str = ""
    role: str | None = None
    tools: list[dict[str, Any]] = []


@final
class CompactionItem(TaggedObject, tag="compaction", kw_only=True):
    """An encrypted summary that replaces compacted conversation history."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["compaction"]]

    id: str = ""
    encrypted_content: str = ""
    created_by: str | None = None


@final
class ProgramItem(TaggedObject, tag="program", kw_only=True):
    """A program the model wrote to orchestrate tools."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["program"]]

    id: str = ""
    call_id: str = ""
    code: str = ""
    fingerprint: str | None = None


@final
class ProgramOutputItem(TaggedObject, tag="program_output", kw_only=True):
    """The result of running a program item."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["program_output"]]

    id: str = ""
    call_id: str = ""
    result: str = ""
    status: str | None = None


@final
class UnknownOutputItem(UnknownTypeVariant, tag=UNKNOWN_TAG, kw_only=True):
    """An output item of a `type` this version does not know; `raw` keeps all of it."""


_KNOWN_ITEMS = (
    OutputMessage
    | ReasoningItem
    | FunctionCall
    | FunctionCallOutput
    | CustomToolCall
    | CustomToolCallOutput
    | FileSearchCall
    | WebSearchCall
    | ComputerCall
    | ComputerCallOutput
    | ImageGenerationCall
    | CodeInterpreterCall
    | LocalShellCall
    | LocalShellCallOutput
    | ShellCall
    | ShellCallOutput
    | ApplyPatchCall
    | ApplyPatchCallOutput
    | McpCall
    | McpListTools
    | McpApprovalRequest
    | McpApprovalResponse
    | ToolSearchCall
    | ToolSearchOutput
    | AdditionalTools
    | CompactionItem
    | ProgramItem
    | ProgramOutputItem
)

# Only the type checker sees the fallback in the union; see `_response_content.py` for why.
if TYPE_CHECKING:
    OutputItem = _KNOWN_ITEMS | UnknownOutputItem
else:
    OutputItem = _KNOWN_ITEMS
