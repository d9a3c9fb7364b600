"""The schemas that hand-written classes define: the generator imports these instead of emitting
them, so no object is defined twice (docs/design.md, "Generated types").

These are the Responses and Chat Completions objects and stream events the builders, the
stream aggregators and the benchmarks use: they are tuned for streaming speed (`gc=False`,
fields the aggregators need typed, deep tool payloads kept as plain JSON) and stay hand-written.
Several schemas may map to one class (the chat tool call covers the function and custom calls).
"""

from __future__ import annotations

import importlib
from typing import get_args

__all__ = ["HANDWRITTEN", "member_classes", "tag_of"]

_ITEMS = "openai_ergo.types._response_items"
_CONTENT = "openai_ergo.types._response_content"
_RESPONSES = "openai_ergo.types._responses"
_CHAT = "openai_ergo.types._chat"

#: Component schema name -> (module, class) of the hand-written class that defines it.
HANDWRITTEN: dict[str, tuple[str, str]] = {
    "Response": (_RESPONSES, "Response"),
    "ResponseUsage": (_RESPONSES, "ResponseUsage"),
    "ResponseError": (_RESPONSES, "ResponseError"),
    "ResponseStreamEvent": ("openai_ergo.types._response_stream", "ResponseStreamEvent"),
    # Output items
    "OutputItem": (_ITEMS, "OutputItem"),
    "OutputMessage": (_ITEMS, "OutputMessage"),
    "FileSearchToolCall": (_ITEMS, "FileSearchCall"),
    "FunctionToolCall": (_ITEMS, "FunctionCall"),
    "FunctionToolCallOutputResource": (_ITEMS, "FunctionCallOutput"),
    "WebSearchToolCall": (_ITEMS, "WebSearchCall"),
    "ComputerToolCall": (_ITEMS, "ComputerCall"),
    "ComputerToolCallOutputResource": (_ITEMS, "ComputerCallOutput"),
    "ReasoningItem": (_ITEMS, "ReasoningItem"),
    "Program": (_ITEMS, "ProgramItem"),
    "ProgramOutput": (_ITEMS, "ProgramOutputItem"),
    "ToolSearchCall": (_ITEMS, "ToolSearchCall"),
    "ToolSearchOutput": (_ITEMS, "ToolSearchOutput"),
    "AdditionalTools": (_ITEMS, "AdditionalTools"),
    "CompactionBody": (_ITEMS, "CompactionItem"),
    "ImageGenToolCall": (_ITEMS, "ImageGenerationCall"),
    "CodeInterpreterToolCall": (_ITEMS, "CodeInterpreterCall"),
    "LocalShellToolCall": (_ITEMS, "LocalShellCall"),
    "LocalShellToolCallOutput": (_ITEMS, "LocalShellCallOutput"),
    "FunctionShellCall": (_ITEMS, "ShellCall"),
    "FunctionShellCallOutput": (_ITEMS, "ShellCallOutput"),
    "ApplyPatchToolCall": (_ITEMS, "ApplyPatchCall"),
    "ApplyPatchToolCallOutput": (_ITEMS, "ApplyPatchCallOutput"),
    "MCPToolCall": (_ITEMS, "McpCall"),
    "MCPListTools": (_ITEMS, "McpListTools"),
    "MCPApprovalRequest": (_ITEMS, "McpApprovalRequest"),
    "MCPApprovalResponseResource": (_ITEMS, "McpApprovalResponse"),
    "CustomToolCall": (_ITEMS, "CustomToolCall"),
    "CustomToolCallOutputResource": (_ITEMS, "CustomToolCallOutput"),
    "CustomToolCallOutput": (_ITEMS, "CustomToolCallOutput"),
    # Content parts and annotations
    "OutputContent": (_CONTENT, "OutputContent"),
    "OutputTextContent": (_CONTENT, "OutputText"),
    "RefusalContent": (_CONTENT, "OutputRefusal"),
    "ReasoningTextContent": (_CONTENT, "ReasoningText"),
    "SummaryTextContent": (_CONTENT, "SummaryText"),
    "Annotation": (_CONTENT, "Annotation"),
    "FileCitationBody": (_CONTENT, "FileCitation"),
    "UrlCitationBody": (_CONTENT, "UrlCitation"),
    "ContainerFileCitationBody": (_CONTENT, "ContainerFileCitation"),
    "FilePath": (_CONTENT, "FilePathAnnotation"),
    "LogProb": (_CONTENT, "LogProb"),
    "TopLogProb": (_CONTENT, "TopLogProb"),
    # Chat Completions
    "CreateChatCompletionResponse": (_CHAT, "ChatCompletion"),
    "CreateChatCompletionStreamResponse": (_CHAT, "ChatCompletionChunk"),
    "ChatCompletionResponseMessage": (_CHAT, "ChatCompletionMessage"),
    "ChatCompletionMessageToolCall": (_CHAT, "ChatCompletionToolCall"),
    "ChatCompletionMessageCustomToolCall": (_CHAT, "ChatCompletionToolCall"),
    "ChatCompletionMessageToolCallChunk": (_CHAT, "ChatCompletionToolCallDelta"),
    "ChatCompletionStreamResponseDelta": (_CHAT, "ChatCompletionDelta"),
    "ChatCompletionTokenLogprob": (_CHAT, "ChatCompletionTokenLogprob"),
    "CompletionUsage": (_CHAT, "CompletionUsage"),
}


def _stream_events() -> dict[str, tuple[str, str]]:
    # The Responses stream events are named as their schemas: every member of the hand-written
    # union stands for the schema of its name.
    from openai_ergo.types._response_stream import ResponseStreamEvent

    return {cls.__name__: (cls.__module__, cls.__name__) for cls in get_args(ResponseStreamEvent)}


HANDWRITTEN.update(_stream_events())


def tag_of(module: str, attr: str) -> tuple[str | None, str | None]:
    """The msgspec tag field and tag of a hand-written class (None, None for a union alias or
    an untagged class)."""
    value = getattr(importlib.import_module(module), attr)
    config = getattr(value, "__struct_config__", None)
    if config is None or config.tag is None:
        return None, None
    return config.tag_field, str(config.tag)


def member_classes(module: str, attr: str) -> list[str]:
    """The class names of a hand-written union (empty for a class)."""
    value = getattr(importlib.import_module(module), attr)
    return [cls.__name__ for cls in get_args(value)]
