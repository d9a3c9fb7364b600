"""Fold Responses stream events into the `Response` a non-streamed call returns.

O(1) per delta: fragments are appended to lists and joined once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, final

import msgspec

from openai_ergo import types as events
from openai_ergo.resources._aggregate._failure import StreamFailure
from openai_ergo.types import (
    CodeInterpreterCall,
    CustomToolCall,
    FunctionCall,
    LogProb,
    McpCall,
    OutputContent,
    OutputItem,
    OutputMessage,
    OutputRefusal,
    OutputText,
    ReasoningItem,
    ReasoningText,
    Response,
    ResponseStreamEvent,
    SummaryText,
)
from openai_ergo.types import ResponseCompletedEvent as _Completed
from openai_ergo.types import ResponseErrorEvent as _Error
from openai_ergo.types import ResponseFailedEvent as _Failed
from openai_ergo.types import ResponseIncompleteEvent as _Incomplete

__all__ = ["ResponseAccumulator"]


@dataclass
class _PartState:
    part: OutputContent
    pieces: list[str] = field(default_factory=list)
    annotations: dict[int, Any] = field(default_factory=dict)
    logprobs: list[LogProb] | None = None
    done: OutputContent | None = None


@dataclass
class _ItemState:
    item: OutputItem
    #: Function-call arguments, custom tool input, MCP arguments or interpreter code.
    pieces: list[str] = field(default_factory=list)
    parts: dict[int, _PartState] = field(default_factory=dict)
    summary: dict[int, list[str]] = field(default_factory=dict)
    done: OutputItem | None = None


def _part(state: _PartState) -> OutputContent:
    if state.done is not None:
        return state.done
    part = state.part
    if isinstance(part, OutputText):
        annotations = list(part.annotations)
        annotations.extend(state.annotations[i] for i in sorted(state.annotations))
        logprobs = part.logprobs if state.logprobs is None else state.logprobs
        text = "".join(state.pieces) if state.pieces else part.text
        return msgspec.structs.replace(part, text=text, annotations=annotations, logprobs=logprobs)
    if isinstance(part, OutputRefusal) and state.pieces:
        return msgspec.structs.replace(part, refusal="".join(state.pieces))
    if isinstance(part, ReasoningText) and state.pieces:
        return msgspec.structs.replace(part, text="".join(state.pieces))
    return part


def _item(state: _ItemState) -> OutputItem:
    if state.done is not None:
        return state.done
    item = state.item
    if isinstance(item, OutputMessage):
        content = list(item.content)
        for index in sorted(state.parts):
            part = _part(state.parts[index])
            if index < len(content):
                content[index] = part
            else:
                content.append(part)
        return msgspec.structs.replace(item, content=content)
    # Deltas (or the `.done` event's full text, which replaces them) win over the added item's
    # text, which is empty in practice.
    if state.pieces:
        joined = "".join(state.pieces)
        if isinstance(item, (FunctionCall, McpCall)):
            return msgspec.structs.replace(item, arguments=joined)
        if isinstance(item, CustomToolCall):
            return msgspec.structs.replace(item, input=joined)
        if isinstance(item, CodeInterpreterCall):
            return msgspec.structs.replace(item, code=joined)
    if isinstance(item, ReasoningItem):
        summary = list(item.summary)
        for index in sorted(state.summary):
            text = SummaryText(text="".join(state.summary[index]))
            if index < len(summary):
                summary[index] = text
            else:
                summary.append(text)
        reasoning = item.content
        if state.parts:
            reasoning = [
                ReasoningText(text="".join(state.parts[i].pieces)) for i in sorted(state.parts)
            ]
        return msgspec.structs.replace(item, summary=summary, content=reasoning)
    return item


_TERMINAL: dict[type[Any], Literal["completed", "failed", "incomplete"]] = {
    _Completed: "completed",
    _Failed: "failed",
    _Incomplete: "incomplete",
}


@final
class ResponseAccumulator:
    """Folds Responses stream events into the `Response` the non-streamed call returns.

    `final()` is the terminal event's response (`response.completed`, `.failed` or
    `.incomplete`: the ground truth) when one arrived; otherwise, and for `snapshot()`, the
    response is assembled from the output item, content part and delta events received so far.
    `failure` tells when the stream reported an `error` event, `response.failed` or
    `response.incomplete`. Events of unknown types are ignored.
    """

    __slots__ = ("_base", "_error", "_items", "_terminal", "_terminal_kind")

    def __init__(self) -> None:
        self._base: Response | None = None
        self._terminal: Response | None = None
        self._terminal_kind: Literal["completed", "failed", "incomplete"] | None = None
        self._error: _Error | None = None
        self._items: dict[int, _ItemState] = {}

    def add(self, event: ResponseStreamEvent) -> None:
        """Fold one event in."""
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    @property
    def response(self) -> Response | None:
        """The latest whole response the server sent (created, in progress or terminal)."""
        return self._terminal if self._terminal is not None else self._base

    @property
    def completed(self) -> bool:
        """Whether `response.completed` arrived."""
        return self._terminal_kind == "completed"

    @property
    def ended(self) -> bool:
        """Whether a terminal event arrived (`response.completed`, `.failed` or `.incomplete`)."""
        return self._terminal_kind is not None

    def _assembled_output(self) -> list[OutputItem]:
        return [_item(self._items[i]) for i in sorted(self._items)]

    def snapshot(self) -> Response:
        """The response as far as it has arrived, assembled from the events."""
        base = self._terminal or self._base or Response()
        return msgspec.structs.replace(base, output=self._assembled_output())

    def final(self) -> Response:
        """The terminal event's response when one arrived, otherwise `snapshot()`.

        A terminal response that comes without output (some compatible servers strip it) gets
        the output assembled from the events.
        """
        terminal = self._terminal
        if terminal is None:
            return self.snapshot()
        if not terminal.output and self._items:
            return msgspec.structs.replace(terminal, output=self._assembled_output())
        return terminal

    @property
    def failure(self) -> StreamFailure | None:
        """How the stream ended badly (`error`, `response.failed`, `response.incomplete`), or
        `None` while it is healthy or when it completed."""
        kind = self._terminal_kind
        error = self._error.detail() if self._error is not None else None
        if kind == "incomplete":
            details = self._terminal.incomplete_details if self._terminal else None
            reason = details.reason if details is not None else None
            message = f"The response is incomplete: {reason or 'no reason given'}."
            return StreamFailure("incomplete", message, reason=reason)
        if kind == "failed" or error is not None:
            failed = self._terminal.error if kind == "failed" and self._terminal else None
            message = (error.message if error else "") or (failed.message if failed else "")
            code = (error.code if error else None) or (failed.code if failed else None)
            return StreamFailure(
                "failed" if kind == "failed" else "error",
                message or "The server reported an error in the stream.",
                type=error.type if error else None,
                code=code,
                param=error.param if error else None,
            )
        return None

    # -- handlers, one per event type that changes the aggregate ----------------------------

    def _state(self, output_index: int) -> _ItemState | None:
        return self._items.get(output_index)

    def _on_response(self, event: Any) -> None:
        self._base = event.response

    def _on_terminal(self, event: Any) -> None:
        self._terminal = event.response
        self._terminal_kind = _TERMINAL[type(event)]

    def _on_error(self, event: Any) -> None:
        self._error = event

    def _on_item_added(self, event: Any) -> None:
        self._items[event.output_index] = _ItemState(event.item)

    def _on_item_done(self, event: Any) -> None:
        state = self._items.get(event.output_index)
        if state is None:
            state = self._items[event.output_index] = _ItemState(event.item)
        state.done = event.item

    def _part_state(self, event: Any, default: OutputContent) -> _PartState | None:
        state = self._items.get(event.output_index)
        if state is None:
            return None
        part = state.parts.get(event.content_index)
        if part is None:
            part = state.parts[event.content_index] = _PartState(default)
        return part

    def _on_part_added(self, event: Any) -> None:
        state = self._items.get(event.output_index)
        if state is not None:
            state.parts[event.content_index] = _PartState(event.part)

    def _on_part_done(self, event: Any) -> None:
        part = self._part_state(event, event.part)
        if part is not None:
            part.done = event.part

    def _on_text_delta(self, event: Any) -> None:
        # The most frequent event: find its part without building a default part every time.
        state = self._items.get(event.output_index)
        if state is None:
            return
        part = state.parts.get(event.content_index)
        if part is None:
            part = state.parts[event.content_index] = _PartState(OutputText())
        part.pieces.append(event.delta)
        # The stream keeps every event until it ends: a delta shares its item's id string
        # instead of its own copy (~70 bytes a delta; docs/performance.md).
        item_id = getattr(state.item, "id", None)
        if item_id is not None and event.item_id == item_id:
            event.item_id = item_id
        if event.logprobs:
            if part.logprobs is None:
                part.logprobs = []
            part.logprobs.extend(event.logprobs)

    def _on_text_done(self, event: Any) -> None:
        part = self._part_state(event, OutputText())
        if part is not None:
            part.pieces = [event.text]
            if event.logprobs:
                part.logprobs = list(event.logprobs)

    def _on_annotation(self, event: Any) -> None:
        part = self._part_state(event, OutputText())
        if part is not None and event.annotation is not None:
            part.annotations[event.annotation_index] = event.annotation

    def _on_refusal_delta(self, event: Any) -> None:
        part = self._part_state(event, OutputRefusal())
        if part is not None:
            part.pieces.append(event.delta)

    def _on_refusal_done(self, event: Any) -> None:
        part = self._part_state(event, OutputRefusal())
        if part is not None:
            part.pieces = [event.refusal]

    def _on_reasoning_delta(self, event: Any) -> None:
        part = self._part_state(event, ReasoningText())
        if part is not None:
            part.pieces.append(event.delta)

    def _on_reasoning_done(self, event: Any) -> None:
        part = self._part_state(event, ReasoningText())
        if part is not None:
            part.pieces = [event.text]

    def _on_summary_part(self, event: Any) -> None:
        state = self._items.get(event.output_index)
        if state is not None:
            state.summary.setdefault(event.summary_index, [])

    def _on_summary_delta(self, event: Any) -> None:
        state = self._items.get(event.output_index)
        if state is not None:
            state.summary.setdefault(event.summary_index, []).append(event.delta)

    def _on_summary_done(self, event: Any) -> None:
        state = self._items.get(event.output_index)
        if state is not None:
            state.summary[event.summary_index] = [event.text]

    def _on_piece(self, event: Any) -> None:
        state = self._items.get(event.output_index)
        if state is not None:
            state.pieces.append(event.delta)

    def _on_pieces_done(self, event: Any, text: str) -> None:
        state = self._items.get(event.output_index)
        if state is not None:
            state.pieces = [text]

    def _on_arguments_done(self, event: Any) -> None:
        self._on_pieces_done(event, event.arguments)

    def _on_input_done(self, event: Any) -> None:
        self._on_pieces_done(event, event.input)

    def _on_code_done(self, event: Any) -> None:
        self._on_pieces_done(event, event.code)


_R = ResponseAccumulator
_HANDLERS: dict[type[Any], Any] = {
    events.ResponseCreatedEvent: _R._on_response,
    events.ResponseInProgressEvent: _R._on_response,
    events.ResponseQueuedEvent: _R._on_response,
    _Completed: _R._on_terminal,
    _Failed: _R._on_terminal,
    _Incomplete: _R._on_terminal,
    _Error: _R._on_error,
    events.ResponseOutputItemAddedEvent: _R._on_item_added,
    events.ResponseOutputItemDoneEvent: _R._on_item_done,
    events.ResponseContentPartAddedEvent: _R._on_part_added,
    events.ResponseContentPartDoneEvent: _R._on_part_done,
    events.ResponseTextDeltaEvent: _R._on_text_delta,
    events.ResponseTextDoneEvent: _R._on_text_done,
    events.ResponseOutputTextAnnotationAddedEvent: _R._on_annotation,
    events.ResponseRefusalDeltaEvent: _R._on_refusal_delta,
    events.ResponseRefusalDoneEvent: _R._on_refusal_done,
    events.ResponseReasoningTextDeltaEvent: _R._on_reasoning_delta,
    events.ResponseReasoningTextDoneEvent: _R._on_reasoning_done,
    events.ResponseReasoningSummaryPartAddedEvent: _R._on_summary_part,
    events.ResponseReasoningSummaryTextDeltaEvent: _R._on_summary_delta,
    events.ResponseReasoningSummaryTextDoneEvent: _R._on_summary_done,
    events.ResponseFunctionCallArgumentsDeltaEvent: _R._on_piece,
    events.ResponseFunctionCallArgumentsDoneEvent: _R._on_arguments_done,
    events.ResponseCustomToolCallInputDeltaEvent: _R._on_piece,
    events.ResponseCustomToolCallInputDoneEvent: _R._on_input_done,
    events.ResponseMCPCallArgumentsDeltaEvent: _R._on_piece,
    events.ResponseMCPCallArgumentsDoneEvent: _R._on_arguments_done,
    events.ResponseCodeInterpreterCallCodeDeltaEvent: _R._on_piece,
    events.ResponseCodeInterpreterCallCodeDoneEvent: _R._on_code_done,
}
