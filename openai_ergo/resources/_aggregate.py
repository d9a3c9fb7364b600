"""Stream accumulators: fold streamed chunks and events into the object a non-streamed call returns.

Each delta costs O(1): text, refusal and argument fragments are appended to lists and joined only
when a snapshot or the final object is built. Nothing is dropped on failure: a snapshot taken when
the stream breaks is everything received so far, and `failure` says how a stream ended badly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, final

import msgspec

from openai_ergo import types as events
from openai_ergo._errors import (
    ResponseFailedError,
    ResponseIncompleteError,
    StreamEventError,
)
from openai_ergo.types import (
    ChatChoiceLogprobs,
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionTokenLogprob,
    ChatCompletionToolCall,
    ChatCustomCall,
    ChatFunctionCall,
    ChatStreamError,
    CodeInterpreterCall,
    CompletionUsage,
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

__all__ = ["ChatCompletionAccumulator", "ResponseAccumulator", "StreamFailure"]


@final
@dataclass(frozen=True)
class StreamFailure:
    """How a stream ended badly, as the server said it: an `error` event or chunk, or a terminal
    `response.failed` / `response.incomplete` event (`reason` says why it is incomplete)."""

    kind: Literal["error", "failed", "incomplete"]
    message: str
    type: str | None = None
    code: str | None = None
    param: str | None = None
    reason: str | None = None

    def to_error(
        self, *, partial: Any = None, events: Sequence[Any] = (), request_id: str | None = None
    ) -> StreamEventError:
        """The exception to raise for this failure, carrying what was received so far."""
        common: dict[str, Any] = {
            "type": self.type,
            "code": self.code,
            "param": self.param,
            "partial": partial,
            "events": events,
            "request_id": request_id,
        }
        if self.kind == "incomplete":
            return ResponseIncompleteError(self.message, reason=self.reason, **common)
        if self.kind == "failed":
            return ResponseFailedError(self.message, **common)
        return StreamEventError(self.message, **common)


# ---------------------------------------------------------------------------------------------
# Chat Completions


@dataclass
class _ToolCallState:
    id: str = ""
    type: str | None = None
    name: list[str] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    custom_input: list[str] = field(default_factory=list)


@dataclass
class _ChoiceState:
    index: int
    role: str | None = None
    content: list[str] | None = None
    refusal: list[str] | None = None
    tool_calls: dict[int, _ToolCallState] = field(default_factory=dict)
    function_name: list[str] | None = None
    function_arguments: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    logprobs_seen: bool = False
    content_logprobs: list[ChatCompletionTokenLogprob] | None = None
    refusal_logprobs: list[ChatCompletionTokenLogprob] | None = None


def _tool_call(state: _ToolCallState) -> ChatCompletionToolCall:
    if state.type == "custom":
        custom = ChatCustomCall(name="".join(state.name), input="".join(state.custom_input))
        return ChatCompletionToolCall(id=state.id, type="custom", custom=custom)
    function = ChatFunctionCall(name="".join(state.name), arguments="".join(state.arguments))
    return ChatCompletionToolCall(id=state.id, type=state.type or "function", function=function)


def _choice(state: _ChoiceState) -> ChatCompletionChoice:
    tool_calls = [_tool_call(state.tool_calls[i]) for i in sorted(state.tool_calls)] or None
    refusal = None if state.refusal is None else "".join(state.refusal)
    content = None if state.content is None else "".join(state.content)
    # The first delta often opens with `"content": ""`; a non-streamed answer that is only tool
    # calls or a refusal has `content: null`, so an empty string is no content there.
    if content == "" and (tool_calls or refusal is not None):
        content = None
    function_call = None
    if state.function_name is not None:
        function_call = ChatFunctionCall(
            name="".join(state.function_name), arguments="".join(state.function_arguments)
        )
    logprobs = None
    if state.logprobs_seen:
        logprobs = ChatChoiceLogprobs(
            content=None if state.content_logprobs is None else list(state.content_logprobs),
            refusal=None if state.refusal_logprobs is None else list(state.refusal_logprobs),
        )
    message = ChatCompletionMessage(
        role=state.role or "assistant",
        content=content,
        refusal=refusal,
        tool_calls=tool_calls,
        function_call=function_call,
    )
    return ChatCompletionChoice(
        index=state.index, message=message, finish_reason=state.finish_reason, logprobs=logprobs
    )


@final
class ChatCompletionAccumulator:
    """Folds `ChatCompletionChunk`s into the `ChatCompletion` the non-streamed call returns.

    Every choice of `n > 1` is kept apart by its index; tool-call fragments are joined per call
    index; log probabilities are concatenated; `usage` comes from the last chunk that carries it
    (the final chunk when `stream_options.include_usage` is on). A chunk with `error` is not
    folded in: it sets `failure`.

    ```python
    accumulator = ChatCompletionAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    completion = accumulator.final()
    ```
    """

    __slots__ = (
        "_choices",
        "_created",
        "_id",
        "_model",
        "_service_tier",
        "_system_fingerprint",
        "_usage",
        "error",
    )

    def __init__(self) -> None:
        self._id = ""
        self._model = ""
        self._created = 0
        self._system_fingerprint: str | None = None
        self._service_tier: str | None = None
        self._usage: CompletionUsage | None = None
        self._choices: dict[int, _ChoiceState] = {}
        #: The `error` payload a chunk reported, if any.
        self.error: ChatStreamError | None = None

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Fold one chunk in."""
        if chunk.error is not None:
            self.error = chunk.error
            return
        if chunk.id and not self._id:
            self._id = chunk.id
        if chunk.model:
            self._model = chunk.model
        if chunk.created:
            self._created = chunk.created
        if chunk.system_fingerprint is not None:
            self._system_fingerprint = chunk.system_fingerprint
        if chunk.service_tier is not None:
            self._service_tier = chunk.service_tier
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in chunk.choices:
            state = self._choices.get(choice.index)
            if state is None:
                state = self._choices[choice.index] = _ChoiceState(choice.index)
            delta = choice.delta
            if delta.role is not None:
                state.role = delta.role
            if delta.content is not None:
                if state.content is None:
                    state.content = []
                state.content.append(delta.content)
            if delta.refusal is not None:
                if state.refusal is None:
                    state.refusal = []
                state.refusal.append(delta.refusal)
            if delta.tool_calls:
                self._add_tool_calls(state, delta.tool_calls)
            if delta.function_call is not None:
                if state.function_name is None:
                    state.function_name = []
                if delta.function_call.name:
                    state.function_name.append(delta.function_call.name)
                if delta.function_call.arguments:
                    state.function_arguments.append(delta.function_call.arguments)
            if choice.finish_reason is not None:
                state.finish_reason = choice.finish_reason
            if choice.logprobs is not None:
                state.logprobs_seen = True
                if choice.logprobs.content is not None:
                    if state.content_logprobs is None:
                        state.content_logprobs = []
                    state.content_logprobs.extend(choice.logprobs.content)
                if choice.logprobs.refusal is not None:
                    if state.refusal_logprobs is None:
                        state.refusal_logprobs = []
                    state.refusal_logprobs.extend(choice.logprobs.refusal)

    @staticmethod
    def _add_tool_calls(state: _ChoiceState, deltas: Sequence[Any]) -> None:
        for delta in deltas:
            call = state.tool_calls.get(delta.index)
            if call is None:
                call = state.tool_calls[delta.index] = _ToolCallState()
            if delta.id and not call.id:
                call.id = delta.id
            if delta.type:
                call.type = delta.type
            if delta.function is not None:
                if delta.function.name:
                    call.name.append(delta.function.name)
                if delta.function.arguments:
                    call.arguments.append(delta.function.arguments)
            if delta.custom is not None:
                name = delta.custom.get("name")
                if isinstance(name, str) and name:
                    call.name.append(name)
                piece = delta.custom.get("input")
                if isinstance(piece, str):
                    call.custom_input.append(piece)
                call.type = call.type or "custom"

    def snapshot(self) -> ChatCompletion:
        """The completion as far as it has arrived: every choice, text joined so far."""
        return ChatCompletion(
            id=self._id,
            created=self._created,
            model=self._model,
            choices=[_choice(self._choices[i]) for i in sorted(self._choices)],
            usage=self._usage,
            system_fingerprint=self._system_fingerprint,
            service_tier=self._service_tier,
        )

    def final(self) -> ChatCompletion:
        """The completion, equal to what the non-streamed call returns (call after the last
        chunk; before that it is the same as `snapshot()`)."""
        return self.snapshot()

    @property
    def failure(self) -> StreamFailure | None:
        """The error a chunk reported, or `None` while the stream is healthy."""
        error = self.error
        if error is None:
            return None
        code = None if error.code is None else str(error.code)
        message = error.message or "The server reported an error in the stream."
        return StreamFailure("error", message, type=error.type, code=code, param=error.param)


# ---------------------------------------------------------------------------------------------
# Responses


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
        part = self._part_state(event, OutputText())
        if part is not None:
            part.pieces.append(event.delta)
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
