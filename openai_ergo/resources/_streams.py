"""Typed stream handles for the Responses and Chat Completions APIs, and the structured-output
request and stream over either.

A Responses stream is whole only when its terminal event arrives (`response.completed`, or
`response.failed` / `response.incomplete`, which raise); a chat stream when every choice has
its `finish_reason`, with or without the `data: [DONE]` some servers omit (a `[DONE]` before
that is a stream cut short, unless the builder says `require_finish_reason(False)`). A stream
that ends cleanly short of that raises `StreamInterruptedError` with what arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Hashable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, final

from anyio.abc import AsyncResource

from openai_ergo._errors import StreamError, StreamNotFinishedError, TruncatedResponseError
from openai_ergo._metadata import RawResponse, ResponseHead, ResponseMetadata
from openai_ergo.resources._aggregate import (
    ChatCompletionAccumulator,
    ResponseAccumulator,
    StreamFailure,
)
from openai_ergo.resources._malformed import DecodeFailure
from openai_ergo.resources._structured import OutputFormat, Parsed
from openai_ergo.resources._typed_stream import Opener, TextDeltas, _TypedStream
from openai_ergo.types import (
    ChatCompletion,
    ChatCompletionChunk,
    Response,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    decode_chat_chunk,
    decode_response_event,
)

if TYPE_CHECKING:
    from openai_ergo._response import APIResponse
    from streaming import ServerSentEvent

__all__ = [
    "ChatStream",
    "ParsedStream",
    "ResponseStream",
    "StreamNotFinishedError",
    "TextDeltas",
]

R = TypeVar("R")
T = TypeVar("T")


@final
class ResponseStream(_TypedStream[ResponseStreamEvent, Response]):
    """A streamed Responses API call: an async iterator of typed events.

    Use it as `async with builder.stream() as stream:`. `text()` yields the text deltas only,
    `final()` is the completed `Response` (equal to the non-streamed call's), `partial` is what
    has arrived so far, `request_id` names the request. An `error` event, `response.failed` or
    `response.incomplete` raises `StreamEventError`, `ResponseFailedError` or
    `ResponseIncompleteError` at the end of the stream, with `partial` and `events` filled in.
    """

    __slots__ = ("_accumulator", "_parsing")

    def __init__(self, opener: Opener, *, parsing: bool = False) -> None:
        super().__init__(opener)
        self._accumulator = ResponseAccumulator()
        # A stream of structured output: `response.incomplete` means the output is cut short,
        # which the awaited `.parse()` reports as `TruncatedOutputError`.
        self._parsing = parsing

    def _decode(self, batch: list[ServerSentEvent]) -> list[ResponseStreamEvent]:
        add = self._accumulator.add
        decoded: list[ResponseStreamEvent] = []
        append = decoded.append
        try:
            for sse in batch:
                data = sse.data
                if data == "[DONE]":
                    # The Responses API sends no `[DONE]`, but some compatible servers end
                    # with one: it carries nothing, and the terminal event decides completeness.
                    continue
                event = decode_response_event(data)
                add(event)
                append(event)
        except DecodeFailure as exc:
            self._reject(sse.data, exc, len(decoded))
        return decoded

    def _cut_short(self) -> str | None:
        if self._accumulator.ended:
            return None
        return (
            "the stream ended before response.completed (no terminal event arrived), so the "
            "answer may be cut short: `partial` holds what arrived"
        )

    def _stops_on_error(self) -> bool:
        # An `error` event is followed by `response.failed` on the live API: read on to it,
        # so the error carries the failed response.
        return False

    def _failure_error(self, failure: StreamFailure) -> StreamError:
        if not (self._parsing and failure.kind == "incomplete"):
            return super()._failure_error(failure)
        partial = self._snapshot()
        reason = failure.reason or "incomplete"
        return TruncatedResponseError(
            f"the output stopped early ({reason}) and cannot be parsed",
            text=partial.output_text,
            result=partial,
            reason=failure.reason,
            partial=partial,
            events=self._events,
            request_id=self.request_id,
        )

    def _snapshot(self) -> Response:
        return self._accumulator.snapshot()

    def _final(self) -> Response:
        return self._accumulator.final()

    def _failure(self) -> StreamFailure | None:
        return self._accumulator.failure

    def _text_of(self, event: ResponseStreamEvent) -> str | None:
        return event.delta if type(event) is ResponseTextDeltaEvent else None

    def _replay_key(self) -> Hashable:
        return (ResponseStream, self._parsing)

    def _memo(self) -> tuple[tuple[ResponseStreamEvent, ...], ResponseAccumulator]:
        return tuple(self._events), self._accumulator

    def _restore(
        self, memo: tuple[tuple[ResponseStreamEvent, ...], ResponseAccumulator]
    ) -> list[ResponseStreamEvent]:
        events, self._accumulator = memo
        return list(events)

    def __repr__(self) -> str:
        return f"<ResponseStream {self._state()} events={len(self._events)}>"


@final
class ChatStream(_TypedStream[ChatCompletionChunk, ChatCompletion]):
    """A streamed chat completion: an async iterator of `ChatCompletionChunk`s.

    Use it as `async with builder.stream() as stream:`. `text()` yields the first choice's
    content deltas (`text(choice=i)` another's), `final()` is the `ChatCompletion` with every
    choice and the usage, `partial` is what has arrived so far. A chunk carrying `error` raises
    `StreamEventError` with `partial` and `events` filled in.

    With `fold_usage` (the library, not the caller, asked for usage), the usage-only chunk
    that ends the stream is folded into `final()` and not handed out, nor kept in `events`:
    every chunk the loop sees has a choice, as when the official SDK streams without usage.
    """

    __slots__ = ("_accumulator", "_fold_usage", "_require_finish_reason", "_saw_done")

    def __init__(
        self, opener: Opener, *, require_finish_reason: bool = True, fold_usage: bool = False
    ) -> None:
        super().__init__(opener)
        self._accumulator = ChatCompletionAccumulator()
        self._saw_done = False
        self._require_finish_reason = require_finish_reason
        self._fold_usage = fold_usage

    def _decode(self, batch: list[ServerSentEvent]) -> list[ChatCompletionChunk]:
        accumulator = self._accumulator
        add = accumulator.add
        decoded: list[ChatCompletionChunk] = []
        append = decoded.append
        fold_usage = self._fold_usage
        try:
            for sse in batch:
                data = sse.data
                if data == "[DONE]":
                    self._saw_done = True
                    continue
                chunk = decode_chat_chunk(data)
                add(chunk)
                if accumulator.error is not None:
                    break  # events before the error are handed out; the error ends the stream
                if fold_usage and not chunk.choices and chunk.usage is not None:
                    continue  # usage the caller did not ask for: in final(), not the loop
                append(chunk)
        except DecodeFailure as exc:
            self._reject(sse.data, exc, len(decoded))
        return decoded

    def _cut_short(self) -> str | None:
        # Some OpenAI-compatible servers omit `[DONE]`: a stream whose every choice finished
        # is whole without it. The reverse does not hold: llama-cpp-python ends a stream it
        # interrupts (for another request, by default) with `[DONE]` and no finish_reason.
        if self._accumulator.finished:
            return None
        if self._saw_done and not self._require_finish_reason:
            return None
        unfinished = self._accumulator.unfinished_choices
        if not unfinished:
            end = "[DONE]" if self._saw_done else "no [DONE]"
            return f"the stream ended with no choice and {end}: `partial` holds what arrived"
        numbers = ", ".join(str(index) for index in unfinished)
        plural = "s" if len(unfinished) > 1 else ""
        if self._saw_done:
            return (
                f"the server sent [DONE] with choice{plural} {numbers} unfinished (no "
                "finish_reason), which is how a server cuts a stream short, so the answer may "
                "be incomplete: `partial` holds what arrived (for a server that never sends "
                "finish_reason, use .require_finish_reason(False))"
            )
        return (
            f"the stream ended before [DONE] with choice{plural} {numbers} unfinished (no "
            "finish_reason), so the answer may be cut short: `partial` holds what arrived"
        )

    async def _refill(self) -> bool:
        if self._accumulator.error is not None and not self._done and self._error is None:
            # The chunks before an error chunk were handed out; now the error ends the stream.
            return await self._finish()
        return await super()._refill()

    def _snapshot(self) -> ChatCompletion:
        return self._accumulator.snapshot()

    def _final(self) -> ChatCompletion:
        return self._accumulator.final()

    def _failure(self) -> StreamFailure | None:
        return self._accumulator.failure

    def text(self, choice: int = 0) -> TextDeltas:
        """An async iterator of one choice's content deltas (the first choice by default)."""
        if choice == 0:
            return TextDeltas(self, self._text_of)

        def text_of(event: ChatCompletionChunk) -> str | None:
            for piece in event.choices:
                if piece.index == choice:
                    return piece.delta.content
            return None

        return TextDeltas(self, text_of)

    def _text_of(self, event: ChatCompletionChunk) -> str | None:
        for choice in event.choices:
            if choice.index == 0:
                return choice.delta.content
        return None

    def _replay_key(self) -> Hashable:
        return (ChatStream, self._fold_usage, self._require_finish_reason)

    def _memo(self) -> tuple[tuple[ChatCompletionChunk, ...], ChatCompletionAccumulator, bool]:
        return tuple(self._events), self._accumulator, self._saw_done

    def _restore(
        self, memo: tuple[tuple[ChatCompletionChunk, ...], ChatCompletionAccumulator, bool]
    ) -> list[ChatCompletionChunk]:
        events, self._accumulator, self._saw_done = memo
        return list(events)

    def __repr__(self) -> str:
        return f"<ChatStream {self._state()} chunks={len(self._events)}>"


@final
class ParsedStream(AsyncResource, ResponseMetadata, Generic[T, R]):
    """A stream of a structured-output request: the same events, `text()`, `partial` and
    response metadata (`request_id`, `headers`, `rate_limit`) as the stream it wraps, and
    `final()`, the same `Parsed` the awaited request returns: `.parsed` (the answer decoded
    into the requested type), `.text`, and `.result` (the whole object)."""

    __slots__ = ("_parse", "stream")

    def __init__(self, stream: _TypedStream[Any, R], parse: Callable[[R], Parsed[T, R]]) -> None:
        #: The underlying typed stream.
        self.stream = stream
        self._parse = parse

    async def __aenter__(self) -> ParsedStream[T, R]:
        await self.stream.__aenter__()
        return self

    async def aclose(self) -> None:
        """Close the HTTP response (shielded); idempotent."""
        await self.stream.aclose()

    def __aiter__(self) -> _TypedStream[Any, R]:
        # Iterating hands out the wrapped stream itself: no extra layer per event.
        return self.stream

    def text(self) -> TextDeltas:
        """The text deltas (the JSON as it is written)."""
        return self.stream.text()

    @property
    def partial(self) -> R:
        """Everything received so far."""
        return self.stream.partial

    def _response_head(self) -> ResponseHead | None:
        return self.stream._response_head()

    def final(self) -> Parsed[T, R]:
        """The structured answer once the stream has ended, equal to what awaiting the request
        returns: `final().parsed` is the decoded value, `final().result` the whole `Response` or
        `ChatCompletion`. Raises `RefusalError`, `TruncatedOutputError` or `OutputParseError`
        when there is no answer to decode (each carries the whole result)."""
        return self._parse(self.stream.final())

    def parsed(self) -> Parsed[T, R]:
        """The same as `final()`."""
        return self.final()

    async def until_done(self) -> Parsed[T, R]:
        """Read the rest of the stream and return `final()`."""
        await self.stream.until_done()
        return self.final()


class _Sendable(Protocol[R]):
    async def create(self) -> R: ...

    async def with_raw_response(self) -> RawResponse[R]: ...

    def stream(self) -> _TypedStream[Any, R]: ...


B = TypeVar("B", bound=_Sendable[Any])


class _StructuredRequest(Generic[B, T, R]):
    """A request for structured output of type `T` on builder `B`: `await` it for `Parsed[T,
    R]`, or `stream()` it and read `final().parsed` at the end. Each endpoint's subclass says
    how its result `R` is parsed."""

    __slots__ = ("builder", "output")

    def __init__(self, builder: B, output: OutputFormat[T]) -> None:
        #: The request, with its output format set.
        self.builder = builder
        self.output = output

    def _parse(self, result: R) -> Parsed[T, R]:
        raise NotImplementedError

    async def create(self) -> Parsed[T, R]:
        """Send the request and parse the answer."""
        return self._parse(await self.builder.create())

    def __await__(self) -> Generator[Any, None, Parsed[T, R]]:
        return self.create().__await__()

    async def with_raw_response(self) -> RawResponse[Parsed[T, R]]:
        """Send the request and return the response as it came: `request_id`, `headers`,
        `rate_limit`, `status_code`, and `parse()`, the `Parsed` that `await` gives."""
        raw = await self.builder.with_raw_response()
        parse = self._parse

        def parsed(response: APIResponse) -> Parsed[T, R]:
            return parse(raw.parse())

        return RawResponse(raw.response, parsed)

    def stream(self) -> ParsedStream[T, R]:
        """Stream the request; `stream.final().parsed` is the structured answer at the end."""
        return ParsedStream(self.builder.stream(), self._parse)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.output.name}, {self.builder!r})"
