"""Typed stream handles: events decoded a batch at a time and folded into the final object.

Per event the handle does one decode and one accumulator step, and hands the event out with a
list index: it awaits only when a whole batch (every event of one socket read) is used up.
A stream that ends badly raises the `StreamError` family with `partial` (the aggregate so far)
and `events` (every event so far) filled in. Leaving `async with`, an exception or a cancellation
closes the HTTP response and returns the connection to the pool.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

import msgspec

from openai_ergo._errors import StreamError, StreamInterruptedError, StreamNotFinishedError
from openai_ergo.resources._aggregate import (
    ChatCompletionAccumulator,
    ResponseAccumulator,
    StreamFailure,
)
from openai_ergo.resources._structured import Parsed
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
    from openai_ergo._response import EventStream
    from streaming import ServerSentEvent

__all__ = [
    "ChatStream",
    "ParsedStream",
    "ResponseStream",
    "StreamNotFinishedError",
    "TextDeltas",
]

E = TypeVar("E")
R = TypeVar("R")
T = TypeVar("T")

Opener = Callable[[], Awaitable["EventStream"]]


class _TypedStream(Generic[E, R]):
    """The machinery both handles share: opening, batch decoding, closing, errors."""

    __slots__ = (
        "__weakref__",
        "_batch",
        "_closed",
        "_done",
        "_error",
        "_events",
        "_index",
        "_opener",
        "_source",
    )

    def __init__(self, opener: Opener) -> None:
        self._opener: Opener | None = opener
        self._source: EventStream | None = None
        self._batch: list[E] = []
        self._index = 0
        self._events: list[E] = []
        self._done = False
        self._closed = False
        self._error: BaseException | None = None

    # -- subclass hooks ---------------------------------------------------------------------

    def _decode(self, batch: list[ServerSentEvent]) -> list[E]:
        """Decode and fold in one batch; stop early (and remember why) on a failure."""
        raise NotImplementedError

    def _snapshot(self) -> R:
        raise NotImplementedError

    def _final(self) -> R:
        raise NotImplementedError

    def _failure(self) -> StreamFailure | None:
        raise NotImplementedError

    # -- lifetime ---------------------------------------------------------------------------

    async def _open(self) -> EventStream:
        opener, self._opener = self._opener, None
        if opener is None:
            raise StreamError("this stream was already closed", events=self._events)
        self._source = await opener()
        return self._source

    async def __aenter__(self: _S) -> _S:
        if self._source is None:
            await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP response (shielded, so it completes even when cancelled); idempotent."""
        self._closed = True
        self._opener = None
        source = self._source
        if source is not None:
            await source.aclose()

    def __del__(self) -> None:
        # getattr: the slots are unset when `__init__` did not run to its end. Only an opened,
        # unfinished stream holds a connection; one never opened holds nothing.
        if getattr(self, "_source", None) is not None and not getattr(self, "_closed", True):
            warnings.warn(
                f"a {type(self).__name__} was opened and never closed, so its connection was "
                "not freed: use `async with builder.stream() as stream:` or "
                "`await stream.aclose()`",
                ResourceWarning,
                stacklevel=2,
                # No `source=self`: a recorded warning would keep the handle, and with it the
                # leaked response, alive for as long as the record lives.
            )

    @property
    def request_id(self) -> str | None:
        """The `x-request-id` of the response (once the stream is open)."""
        return self._source.request_id if self._source is not None else None

    @property
    def partial(self) -> R:
        """Everything received so far, as the final object's type."""
        return self._snapshot()

    @property
    def events(self) -> list[E]:
        """Every event received so far, in order."""
        return list(self._events)

    @property
    def done(self) -> bool:
        """Whether the stream reached its end (successfully or not)."""
        return self._done

    def final(self) -> R:
        """The aggregated object, equal to what the non-streamed call returns.

        Raises the stream's error if it ended badly, and `StreamNotFinishedError` before the
        end: inside the block, `await stream.until_done()` reads the rest and returns this;
        after an early exit, `partial` is what arrived."""
        if self._error is not None:
            raise self._error
        if not self._done:
            if self._closed:
                raise StreamNotFinishedError(
                    "the stream was closed before its end, so there is no final object: "
                    "`stream.partial` holds what arrived"
                )
            raise StreamNotFinishedError(
                "the stream has not ended yet: iterate it to the end, or "
                "`await stream.until_done()` to read the rest and get the final object"
            )
        return self._final()

    async def until_done(self) -> R:
        """Read the rest of the stream and return `final()` (what the official SDK calls
        `get_final_completion()` / `get_final_response()`)."""
        async with self:
            while self._index < len(self._batch) or await self._refill():
                self._index = len(self._batch)
        return self.final()

    # -- iteration --------------------------------------------------------------------------

    def __aiter__(self: _S) -> _S:
        return self

    async def __anext__(self) -> E:
        index = self._index
        batch = self._batch
        if index < len(batch):
            self._index = index + 1
            return batch[index]
        if not await self._refill():
            raise StopAsyncIteration
        self._index = 1
        return self._batch[0]

    async def _refill(self) -> bool:
        """Read and decode the next batch. False at the end; raises when the stream failed."""
        if self._error is not None:
            raise self._error
        if self._done:
            return False
        if self._closed:
            # Closed before its end (an early exit, or a cancellation): reading on would
            # pass a cut-off answer off as the whole one.
            raise StreamError(
                "this stream was closed before its end: `partial` holds what arrived",
                partial=self._snapshot(),
                events=self._events,
                request_id=self.request_id,
            )
        source = self._source
        if source is None:
            source = await self._open()
        while True:
            try:
                raw = await source.next_batch()
            except StreamError as exc:
                raise await self._fail(exc) from exc.__cause__
            except BaseException:
                await self.aclose()
                raise
            if not raw:
                return await self._finish()
            try:
                decoded = self._decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                error = StreamInterruptedError(
                    f"the server sent an event that is not valid: {exc}",
                    request_id=source.request_id,
                )
                raise await self._fail(error) from exc
            if decoded:
                self._events.extend(decoded)
                self._batch = decoded
                self._index = 0
                return True
            failure = self._failure()
            if failure is not None and failure.kind == "error" and self._stops_on_error():
                return await self._finish()

    def _stops_on_error(self) -> bool:
        return True

    def _state(self) -> str:
        if self._done:
            return "done"
        if self._closed:
            return "closed"
        return "open" if self._source is not None else "unopened"

    async def _finish(self) -> bool:
        self._done = True
        self._batch = []
        self._index = 0
        await self.aclose()
        failure = self._failure()
        if failure is not None:
            self._error = failure.to_error(
                partial=self._snapshot(), events=self._events, request_id=self.request_id
            )
            raise self._error
        return False

    async def _fail(self, error: StreamError) -> StreamError:
        """Fill in what was received so far, remember the error, close."""
        error.partial = self._snapshot()
        error.events = tuple(self._events)
        if error.request_id is None:
            error.request_id = self.request_id
        self._error = error
        self._done = True
        await self.aclose()
        return error

    def text(self) -> TextDeltas:
        """An async iterator of the text deltas only (across the whole answer)."""
        return TextDeltas(self, self._text_of)

    def _text_of(self, event: E) -> str | None:
        raise NotImplementedError


_S = TypeVar("_S", bound=_TypedStream[Any, Any])


@final
class TextDeltas:
    """The text deltas of a stream, as an async iterator of `str` (class-based, so breaking
    out needs no cleanup of its own; the stream's `async with` closes the connection)."""

    __slots__ = ("_stream", "_text_of")

    def __init__(
        self, stream: _TypedStream[Any, Any], text_of: Callable[[Any], str | None]
    ) -> None:
        self._stream = stream
        self._text_of = text_of

    def __aiter__(self) -> TextDeltas:
        return self

    async def __anext__(self) -> str:
        stream = self._stream
        text_of = self._text_of
        while True:
            batch = stream._batch
            index = stream._index
            while index < len(batch):
                text = text_of(batch[index])
                index += 1
                if text:
                    stream._index = index
                    return text
            stream._index = index
            if not await stream._refill():
                raise StopAsyncIteration


@final
class ResponseStream(_TypedStream[ResponseStreamEvent, Response]):
    """A streamed Responses API call: an async iterator of typed events.

    Use it as `async with builder.stream() as stream:`. `text()` yields the text deltas only,
    `final()` is the completed `Response` (equal to the non-streamed call's), `partial` is what
    has arrived so far, `request_id` names the request. An `error` event, `response.failed` or
    `response.incomplete` raises `StreamEventError`, `ResponseFailedError` or
    `ResponseIncompleteError` at the end of the stream, with `partial` and `events` filled in.
    """

    __slots__ = ("_accumulator",)

    def __init__(self, opener: Opener) -> None:
        super().__init__(opener)
        self._accumulator = ResponseAccumulator()

    def _decode(self, batch: list[ServerSentEvent]) -> list[ResponseStreamEvent]:
        add = self._accumulator.add
        decoded: list[ResponseStreamEvent] = []
        append = decoded.append
        for sse in batch:
            event = decode_response_event(sse.data)
            add(event)
            append(event)
        return decoded

    def _stops_on_error(self) -> bool:
        # An `error` event is followed by `response.failed` on the live API: read on to it,
        # so the error carries the failed response.
        return False

    def _snapshot(self) -> Response:
        return self._accumulator.snapshot()

    def _final(self) -> Response:
        return self._accumulator.final()

    def _failure(self) -> StreamFailure | None:
        return self._accumulator.failure

    def _text_of(self, event: ResponseStreamEvent) -> str | None:
        return event.delta if type(event) is ResponseTextDeltaEvent else None

    def __repr__(self) -> str:
        return f"<ResponseStream {self._state()} events={len(self._events)}>"


@final
class ChatStream(_TypedStream[ChatCompletionChunk, ChatCompletion]):
    """A streamed chat completion: an async iterator of `ChatCompletionChunk`s.

    Use it as `async with builder.stream() as stream:`. `text()` yields the first choice's
    content deltas (`text(choice=i)` another's), `final()` is the `ChatCompletion` with every
    choice and the usage, `partial` is what has arrived so far. A chunk carrying `error` raises
    `StreamEventError` with `partial` and `events` filled in.
    """

    __slots__ = ("_accumulator",)

    def __init__(self, opener: Opener) -> None:
        super().__init__(opener)
        self._accumulator = ChatCompletionAccumulator()

    def _decode(self, batch: list[ServerSentEvent]) -> list[ChatCompletionChunk]:
        accumulator = self._accumulator
        add = accumulator.add
        decoded: list[ChatCompletionChunk] = []
        append = decoded.append
        for sse in batch:
            data = sse.data
            if data == "[DONE]":
                continue
            chunk = decode_chat_chunk(data)
            add(chunk)
            if accumulator.error is not None:
                break  # events before the error are handed out; the error ends the stream
            append(chunk)
        return decoded

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

    def __repr__(self) -> str:
        return f"<ChatStream {self._state()} chunks={len(self._events)}>"


@final
class ParsedStream(Generic[T, R]):
    """A stream of a structured-output request: the same events, `text()` and `partial` as the
    stream it wraps, and `final()`, the same `Parsed` the awaited request returns: `.parsed`
    (the answer decoded into the requested type), `.text`, and `.result` (the whole object)."""

    __slots__ = ("_parse", "stream")

    def __init__(self, stream: _TypedStream[Any, R], parse: Callable[[R], Parsed[T, R]]) -> None:
        #: The underlying typed stream.
        self.stream = stream
        self._parse = parse

    async def __aenter__(self) -> ParsedStream[T, R]:
        await self.stream.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stream.aclose()

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

    @property
    def request_id(self) -> str | None:
        """The `x-request-id` of the response."""
        return self.stream.request_id

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
