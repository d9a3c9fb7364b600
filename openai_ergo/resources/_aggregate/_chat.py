"""Fold Chat Completions chunks into the `ChatCompletion` a non-streamed call returns.

O(1) per delta: fragments are appended to lists and joined once (a call's name, short and
sent whole, is kept as a string).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, final

from openai_ergo.resources._aggregate._failure import StreamFailure
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
    CompletionUsage,
)

__all__ = ["ChatCompletionAccumulator"]

#: The `object` every chat chunk carries, one string for all of them.
_CHUNK_OBJECT = "chat.completion.chunk"


@dataclass
class _ToolCallState:
    id: str = ""
    type: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    custom_input: list[str] = field(default_factory=list)


@dataclass
class _ChoiceState:
    index: int
    role: str | None = None
    content: list[str] | None = None
    refusal: list[str] | None = None
    tool_calls: dict[int, _ToolCallState] = field(default_factory=dict)
    function_name: str | None = None
    function_arguments: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    logprobs_seen: bool = False
    content_logprobs: list[ChatCompletionTokenLogprob] | None = None
    refusal_logprobs: list[ChatCompletionTokenLogprob] | None = None


def _named(name: str, piece: str) -> str:
    """The name of a call once `piece` has arrived. OpenAI sends a name whole, in the call's
    first delta; llama-cpp-python repeats it in every delta (and LiteLLM passes that on), so a
    piece equal to the name so far is that repeat, not a fragment. Anything else still extends
    the name, for servers that split it like the arguments."""
    return name if piece == name else name + piece


def _tool_call(state: _ToolCallState) -> ChatCompletionToolCall:
    if state.type == "custom":
        custom = ChatCustomCall(name=state.name, input="".join(state.custom_input))
        return ChatCompletionToolCall(id=state.id, type="custom", custom=custom)
    function = ChatFunctionCall(name=state.name, arguments="".join(state.arguments))
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
            name=state.function_name, arguments="".join(state.function_arguments)
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
        # The API's non-streamed message always has its list, empty when there are none.
        annotations=list(state.annotations),
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
        # Every chunk repeats the id, model, fingerprint and object type, and the stream keeps
        # every chunk until it ends: a chunk that repeats one shares the string kept already
        # instead of its own copy (~280 bytes per chunk; docs/performance.md).
        id_ = chunk.id
        if id_:
            if id_ == self._id:
                chunk.id = self._id
            elif not self._id:
                self._id = id_
        model = chunk.model
        if model:
            if model == self._model:
                chunk.model = self._model
            else:
                self._model = model
        if chunk.created:
            self._created = chunk.created
        fingerprint = chunk.system_fingerprint
        if fingerprint is not None:
            if fingerprint == self._system_fingerprint:
                chunk.system_fingerprint = self._system_fingerprint
            else:
                self._system_fingerprint = fingerprint
        if chunk.object == _CHUNK_OBJECT:
            chunk.object = _CHUNK_OBJECT
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
                    state.function_name = ""
                if delta.function_call.name:
                    state.function_name = _named(state.function_name, delta.function_call.name)
                if delta.function_call.arguments:
                    state.function_arguments.append(delta.function_call.arguments)
            if delta.annotations:
                state.annotations.extend(delta.annotations)
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

    @property
    def unfinished_choices(self) -> list[int]:
        """The indexes of the choices that have no `finish_reason` yet, in order."""
        return [i for i in sorted(self._choices) if self._choices[i].finish_reason is None]

    @property
    def finished(self) -> bool:
        """Whether some choice arrived and every choice has its `finish_reason`."""
        return bool(self._choices) and not self.unfinished_choices

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
                    call.name = _named(call.name, delta.function.name)
                if delta.function.arguments:
                    call.arguments.append(delta.function.arguments)
            if delta.custom is not None:
                name = delta.custom.get("name")
                if isinstance(name, str) and name:
                    call.name = _named(call.name, name)
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
