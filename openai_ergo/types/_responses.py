"""The Response object of the Responses API, and its usage and status details."""

from __future__ import annotations

from typing import Any, final

from openai_ergo.types._base import APIObject
from openai_ergo.types._response_content import OutputText
from openai_ergo.types._response_items import FunctionCall, OutputItem, OutputMessage

__all__ = [
    "IncompleteDetails",
    "InputTokensDetails",
    "OutputTokensDetails",
    "Response",
    "ResponseError",
    "ResponseUsage",
]


@final
class InputTokensDetails(APIObject, kw_only=True):
    """How the input tokens break down: how many came from the prompt cache."""

    cached_tokens: int = 0
    cache_write_tokens: int | None = None


@final
class OutputTokensDetails(APIObject, kw_only=True):
    """How the output tokens break down: how many were spent reasoning."""

    reasoning_tokens: int = 0


@final
class ResponseUsage(APIObject, kw_only=True):
    """Tokens used by one response."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: InputTokensDetails | None = None
    output_tokens_details: OutputTokensDetails | None = None


@final
class ResponseError(APIObject, kw_only=True):
    """Why a response failed: a machine-readable `code` and a sentence for people."""

    code: str | None = None
    message: str = ""


@final
class IncompleteDetails(APIObject, kw_only=True):
    """Why a response stopped early: `max_output_tokens` or `content_filter`."""

    reason: str | None = None


@final
class Response(APIObject, kw_only=True):
    """A model response: its status, its output items, and the usage it cost.

    Everything but the output is optional, so responses from OpenAI-compatible servers that send
    less still decode. `output_text` joins the text of every output message, like the official SDK.
    """

    id: str = ""
    object: str = "response"
    #: Unix seconds. The spec's own `response.queued` example sends an ISO 8601 string here,
    #: so a string is accepted rather than failing the whole event.
    created_at: float | str | None = None
    completed_at: float | None = None
    model: str = ""
    #: `completed`, `failed`, `in_progress`, `cancelled`, `queued` or `incomplete`.
    status: str | None = None
    output: list[OutputItem] = []
    usage: ResponseUsage | None = None
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | list[dict[str, Any]] | None = None
    previous_response_id: str | None = None
    conversation: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = []
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_logprobs: int | None = None
    truncation: str | None = None
    service_tier: str | None = None
    background: bool | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    prompt: dict[str, Any] | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    safety_identifier: str | None = None
    user: str | None = None

    @property
    def output_text(self) -> str:
        """The text of every `output_text` part of every output message, joined."""
        return "".join(
            part.text
            for item in self.output
            if isinstance(item, OutputMessage)
            for part in item.content
            if isinstance(part, OutputText)
        )

    @property
    def function_calls(self) -> list[FunctionCall]:
        """The function calls in the output, in order: what a tool loop has to answer."""
        return [item for item in self.output if isinstance(item, FunctionCall)]
