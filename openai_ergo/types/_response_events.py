"""Responses stream events about the response itself and its messages, text, reasoning and
function calls. Every class is named as its schema in the OpenAPI spec, and tagged with the
`type` the server sends; built-in tool events live in `_response_tool_events.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, final

import msgspec

from openai_ergo.types._base import APIObject, TaggedObject
from openai_ergo.types._response_content import Annotation, LogProb, OutputContent, SummaryText
from openai_ergo.types._response_items import OutputItem
from openai_ergo.types._responses import Response


class _Event(TaggedObject, kw_only=True):
    """Base of every Responses stream event: the tag and the server's sequence number."""

    sequence_number: int | None = None


@final
class StreamErrorDetail(APIObject, kw_only=True):
    """The error an `error` event reports, as nested by the live API."""

    type: str | None = None
    code: str | None = None
    message: str = ""
    param: str | None = None


@final
class ResponseCompletedEvent(_Event, tag="response.completed", kw_only=True):
    """Emitted when the model response is complete."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.completed"]]

    response: Response = msgspec.field(default_factory=Response)


@final
class ResponseContentPartAddedEvent(_Event, tag="response.content_part.added", kw_only=True):
    """Emitted when a new content part is added."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.content_part.added"]]

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    part: OutputContent


@final
class ResponseContentPartDoneEvent(_Event, tag="response.content_part.done", kw_only=True):
    """Emitted when a content part is done."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.content_part.done"]]

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    part: OutputContent


@final
class ResponseCreatedEvent(_Event, tag="response.created", kw_only=True):
    """An event that is emitted when a response is created."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.created"]]

    response: Response = msgspec.field(default_factory=Response)


@final
class ResponseErrorEvent(_Event, tag="error", kw_only=True):
    """Emitted when an error occurs. The spec puts `code`, `message` and `param` at the top; the
    live API nests them in `error`: `detail()` reads whichever came."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["error"]]

    code: str | None = None
    message: str = ""
    param: str | None = None
    error: StreamErrorDetail | None = None

    def detail(self) -> StreamErrorDetail:
        """The error, from the nested `error` object when present, else from the top level."""
        nested = self.error
        if nested is None:
            return StreamErrorDetail(code=self.code, message=self.message, param=self.param)
        return StreamErrorDetail(
            type=nested.type,
            code=nested.code if nested.code is not None else self.code,
            message=nested.message or self.message,
            param=nested.param if nested.param is not None else self.param,
        )


@final
class ResponseFunctionCallArgumentsDeltaEvent(
    _Event, tag="response.function_call_arguments.delta", kw_only=True
):
    """Emitted when there is a partial function-call arguments delta."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.function_call_arguments.delta"]]

    item_id: str = ""
    output_index: int = 0
    delta: str


@final
class ResponseFunctionCallArgumentsDoneEvent(
    _Event, tag="response.function_call_arguments.done", kw_only=True
):
    """Emitted when function-call arguments are finalized."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.function_call_arguments.done"]]

    item_id: str = ""
    name: str = ""
    output_index: int = 0
    arguments: str = ""


@final
class ResponseInProgressEvent(_Event, tag="response.in_progress", kw_only=True):
    """Emitted when the response is in progress."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.in_progress"]]

    response: Response = msgspec.field(default_factory=Response)


@final
class ResponseFailedEvent(_Event, tag="response.failed", kw_only=True):
    """An event that is emitted when a response fails."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.failed"]]

    response: Response = msgspec.field(default_factory=Response)


@final
class ResponseIncompleteEvent(_Event, tag="response.incomplete", kw_only=True):
    """An event that is emitted when a response finishes as incomplete."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.incomplete"]]

    response: Response = msgspec.field(default_factory=Response)


@final
class ResponseOutputItemAddedEvent(_Event, tag="response.output_item.added", kw_only=True):
    """Emitted when a new output item is added."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.output_item.added"]]

    output_index: int = 0
    item: OutputItem


@final
class ResponseOutputItemDoneEvent(_Event, tag="response.output_item.done", kw_only=True):
    """Emitted when an output item is marked done."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.output_item.done"]]

    output_index: int = 0
    item: OutputItem


@final
class ResponseReasoningSummaryPartAddedEvent(
    _Event, tag="response.reasoning_summary_part.added", kw_only=True
):
    """Emitted when a new reasoning summary part is added."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.reasoning_summary_part.added"]]

    item_id: str = ""
    output_index: int = 0
    summary_index: int = 0
    part: SummaryText


@final
class ResponseReasoningSummaryPartDoneEvent(
    _Event, tag="response.reasoning_summary_part.done", kw_only=True
):
    """Emitted when a reasoning summary part is completed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.reasoning_summary_part.done"]]

    item_id: str = ""
    output_index: int = 0
    summary_index: int = 0
    status: str | None = None
    part: SummaryText


@final
class ResponseReasoningSummaryTextDeltaEvent(
    _Event, tag="response.reasoning_summary_text.delta", kw_only=True
):
    """Emitted when a delta is added to a reasoning summary text."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.reasoning_summary_text.delta"]]

    item_id: str = ""
    output_index: int = 0
    summary_index: int = 0
    delta: str


@final
class ResponseReasoningSummaryTextDoneEvent(
    _Event, tag="response.reasoning_summary_text.done", kw_only=True
):
    """Emitted when a reasoning summary text is completed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.reasoning_summary_text.done"]]

    item_id: str = ""
    output_index: int = 0
    summary_index: int = 0
    text: str = ""


@final
class ResponseReasoningTextDeltaEvent(_Event, tag="response.reasoning_text.delta", kw_only=True):
    """Emitted when a delta is added to a reasoning text."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.reasoning_text.delta"]]

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    delta: str


@final
class ResponseReasoningTextDoneEvent(_Event, tag="response.reasoning_text.done", kw_only=True):
    """Emitted when a reasoning text is completed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.reasoning_text.done"]]

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    text: str = ""


@final
class ResponseRefusalDeltaEvent(_Event, tag="response.refusal.delta", kw_only=True):
    """Emitted when there is a partial refusal text."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.refusal.delta"]]

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    delta: str


@final
class ResponseRefusalDoneEvent(_Event, tag="response.refusal.done", kw_only=True):
    """Emitted when refusal text is finalized."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.refusal.done"]]

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    refusal: str = ""


@final
class ResponseTextDeltaEvent(_Event, tag="response.output_text.delta", kw_only=True):
    """Emitted when there is an additional text delta."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.output_text.delta"]]

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    delta: str
    logprobs: list[LogProb] | None = None


@final
class ResponseTextDoneEvent(_Event, tag="response.output_text.done", kw_only=True):
    """Emitted when text content is finalized."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.output_text.done"]]

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    text: str = ""
    logprobs: list[LogProb] | None = None


@final
class ResponseOutputTextAnnotationAddedEvent(
    _Event, tag="response.output_text.annotation.added", kw_only=True
):
    """Emitted when an annotation is added to output text content."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.output_text.annotation.added"]]

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    annotation_index: int = 0
    annotation: Annotation | None = None


@final
class ResponseQueuedEvent(_Event, tag="response.queued", kw_only=True):
    """Emitted when a response is queued and waiting to be processed."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["response.queued"]]

    response: Response = msgspec.field(default_factory=Response)


# Every event this module declares, for the stream decoder's tagged union.
CoreEvent = (
    ResponseCompletedEvent
    | ResponseContentPartAddedEvent
    | ResponseContentPartDoneEvent
    | ResponseCreatedEvent
    | ResponseErrorEvent
    | ResponseFunctionCallArgumentsDeltaEvent
    | ResponseFunctionCallArgumentsDoneEvent
    | ResponseInProgressEvent
    | ResponseFailedEvent
    | ResponseIncompleteEvent
    | ResponseOutputItemAddedEvent
    | ResponseOutputItemDoneEvent
    | ResponseReasoningSummaryPartAddedEvent
    | ResponseReasoningSummaryPartDoneEvent
    | ResponseReasoningSummaryTextDeltaEvent
    | ResponseReasoningSummaryTextDoneEvent
    | ResponseReasoningTextDeltaEvent
    | ResponseReasoningTextDoneEvent
    | ResponseRefusalDeltaEvent
    | ResponseRefusalDoneEvent
    | ResponseTextDeltaEvent
    | ResponseTextDoneEvent
    | ResponseOutputTextAnnotationAddedEvent
    | ResponseQueuedEvent
)
