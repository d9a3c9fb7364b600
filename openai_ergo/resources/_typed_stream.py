"""The machinery every typed stream handle shares: opening, batch decoding, closing, errors.

Per event a handle does one decode and one accumulator step, and hands the event out with a
list index: it awaits only when a whole batch (every event of one socket read) is used up.
A stream that ends badly raises the `StreamError` family with `partial` (the aggregate so far)
and `events` (every event so far) filled in, after every good event was handed out: an event
that does not decode, or an end that comes before the stream's terminal event, is raised only
once the consumer has read what came before it.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

from anyio.abc import AsyncResource

from openai_ergo._errors import StreamError, StreamInterruptedError, StreamNotFinishedError
from openai_ergo._metadata import ResponseMetadata
from openai_ergo._pipeline._observe import StreamOutcome
from openai_ergo.resources._aggregate import StreamFailure
from openai_ergo.resources._malformed import malformed_event_error

if TYPE_CHECKING:
    from openai_ergo._response import EventStream
    from streaming import ServerSentEvent

__all__ = ["Opener", "TextDeltas"]

E = TypeVar("E")
R = TypeVar("R")

Opener = Callable[[], Awaitable["EventStream"]]
#: Where a stream's reading stands: the batch and the index after an event of it.
ReadPosition = tuple[list[Any], int]


class _TypedStream(AsyncResource, ResponseMetadata, Generic[E, R]):
    """The machinery both handles share: opening, batch decoding, closing, errors, and the
    response's metadata (`request_id`, `headers`, `status_code`, `rate_limit`) once open."""

    __slots__ = (
        "__weakref__",
        "_batch",
        "_closed",
        "_done",
        "_error",
        "_events",
        "_index",
        "_opener",
        "_pending",
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
        #: A malformed event met while decoding a batch: raised once the events decoded
        #: before it (already in `_batch`) have been handed out.
        self._pending: StreamError | None = None

    # -- subclass hooks ---------------------------------------------------------------------

    def _decode(self, batch: list[ServerSentEvent]) -> list[E]:
        """Decode and fold in one batch. On an event that does not decode, return the events
        before it after calling `_reject` (which keeps the error for the next read)."""
        raise NotImplementedError

    def _snapshot(self) -> R:
        raise NotImplementedError

    def _final(self) -> R:
        raise NotImplementedError

    def _failure(self) -> StreamFailure | None:
        raise NotImplementedError

    def _cut_short(self) -> str | None:
        """Why a stream that ended cleanly is still not whole (no terminal event), or `None`."""
        raise NotImplementedError

    def _reject(self, data: str, exc: Exception, decoded: int) -> None:
        """Remember that the event after the first `decoded` ones of a batch does not decode."""
        self._pending = malformed_event_error(
            data, exc, received=len(self._events) + decoded, request_id=self.request_id
        )

    # -- lifetime ---------------------------------------------------------------------------

    async def _open(self) -> EventStream:
        opener, self._opener = self._opener, None
        if opener is None:
            raise StreamError("this stream was already closed", events=self._events)
        source = self._source = await opener()
        if source.observed:
            source.report_outcome(self._outcome)
        return source

    def _outcome(self) -> StreamOutcome:
        """What the stream amounted to, for observers: the aggregate (final or partial), the
        error, and for a stream that did not finish whole, the text deltas received (the
        estimate of its output tokens when the server sent no usage)."""
        error = self._error or self._pending
        deltas = 0
        if error is not None or not self._done:
            text_of = self._text_of
            deltas = sum(1 for event in self._events if text_of(event))
        return StreamOutcome(self._snapshot(), error, self._done, len(self._events), deltas)

    async def __aenter__(self: _S) -> _S:
        if self._source is None:
            await self._open()
        return self

    async def aclose(self) -> None:
        """Close the HTTP response (shielded, so it completes even when cancelled); idempotent."""
        self._closed = True
        self._opener = None
        source = self._source
        if source is not None:
            await source.aclose()
            source.end_observation()

    def __del__(self) -> None:
        # getattr: the slots are unset when `__init__` did not run to its end. Only an opened,
        # unfinished stream holds a connection; one never opened holds nothing.
        if getattr(self, "_source", None) is not None and not getattr(self, "_closed", True):
            warnings.warn(
                f"a {type(self).__name__} was opened and never closed, so its connection is "
                "being closed now, at garbage collection: use `async with builder.stream() as "
                "stream:` (`async with await client...create(..., stream=True) as stream:` on "
                "a typed method) or `await stream.aclose()`",
                ResourceWarning,
                stacklevel=2,
                # No `source=self`: a recorded warning would keep the handle, and with it the
                # leaked response, alive for as long as the record lives.
            )

    def _response_head(self) -> EventStream | None:
        # `request_id`, `headers`, `status_code` and `rate_limit` (ResponseMetadata) read the
        # response once the stream is open.
        return self._source

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
        if self._error is None and self._pending is not None:
            # The stream is known to be broken even if the consumer left before reading on.
            self._settle(self._pending)
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

    def _ready_items(self) -> list[tuple[E, ReadPosition]]:
        """The events already decoded and not handed out yet (no I/O), each with the position
        after it. The blocking facade takes them with the event it waited for, so a stream
        crosses threads once per read, and hands each out with `_resume_at(position)`: events
        it never hands out (a `break`) are still there for the next loop."""
        batch, index = self._batch, self._index
        return [(event, (batch, at)) for at, event in enumerate(batch[index:], index + 1)]

    def _resume_at(self, position: ReadPosition) -> None:
        """Mark the events up to `position` (from `_ready_items`) handed out."""
        batch, at = position
        if batch is self._batch and at > self._index:
            self._index = at

    async def _refill(self) -> bool:
        """Read and decode the next batch. False at the end; raises when the stream failed."""
        if self._error is not None:
            raise self._error
        pending = self._pending
        if pending is not None:
            raise await self._fail(pending) from pending.__cause__
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
        # Only an `EventStream` has `replay` (the Responses WebSocket's source has none).
        replay = getattr(source, "replay", None)
        if replay is not None and not self._events:
            memo = replay.get(self._replay_key())
            if memo is not None:
                return await self._replayed(source, memo)
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
            decoded = self._decode(raw)
            if decoded:
                self._events.extend(decoded)
                self._batch = decoded
                self._index = 0
                return True
            pending = self._pending
            if pending is not None:
                raise await self._fail(pending) from pending.__cause__
            failure = self._failure()
            if failure is not None and failure.kind == "error" and self._stops_on_error():
                return await self._finish()

    def _stops_on_error(self) -> bool:
        return True

    # -- a cache hit held in memory ---------------------------------------------------------

    def _replay_key(self) -> Hashable | None:
        """What decides how this handle decodes a stream (its type and options): a cache
        hit replays the objects a handle with the same key decoded. None: it decodes every
        time (a handle whose aggregate is not kept for replays)."""
        return None

    def _memo(self) -> Any:
        """The state a replay restores (the events, the folded aggregate), after a whole end."""
        raise NotImplementedError

    def _restore(self, memo: Any) -> list[E]:
        """Take the state `_memo` kept; return the events to hand out."""
        raise NotImplementedError

    async def _replayed(self, source: EventStream, memo: Any) -> bool:
        # The stored events are not decoded again: drain them, hand out the kept objects.
        while await source.next_batch():
            pass
        events = self._restore(memo)
        if not events:
            return await self._finish()
        self._events.extend(events)
        self._batch = events
        self._index = 0
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
        # The verdict comes before closing, so that observers hear it with the end.
        failure = self._failure()
        if failure is not None:
            self._error = self._failure_error(failure)
        else:
            reason = self._cut_short()
            replay = getattr(self._source, "replay", None)
            if reason is None and replay is not None:
                key = self._replay_key()
                if key is not None:
                    # A cache hit decoded whole: the next hit replays these objects. The
                    # accumulator is only read from here on (`final()` builds from it).
                    replay.setdefault(key, self._memo())
            if reason is not None:
                # A clean end without the terminal event looks like success on the wire (a
                # proxy or a server that gave up); passing the part off as the whole would
                # lose nothing visibly and everything in fact.
                self._error = StreamInterruptedError(
                    reason,
                    partial=self._snapshot(),
                    events=self._events,
                    request_id=self.request_id,
                )
        await self.aclose()
        if self._error is not None:
            raise self._error
        return False

    def _failure_error(self, failure: StreamFailure) -> StreamError:
        """The error to raise for how the server said the stream failed."""
        return failure.to_error(
            partial=self._snapshot(), events=self._events, request_id=self.request_id
        )

    def _settle(self, error: StreamError) -> StreamError:
        """Fill in what was received so far and remember the error as the stream's end."""
        error.partial = self._snapshot()
        error.events = tuple(self._events)
        if error.request_id is None:
            error.request_id = self.request_id
        self._error = error
        self._pending = None
        self._done = True
        return error

    async def _fail(self, error: StreamError) -> StreamError:
        """Settle the error, close, and return it for raising."""
        self._settle(error)
        self._batch = []
        self._index = 0
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

    def _ready_items(self) -> list[tuple[str, ReadPosition]]:
        """The text deltas of the events already decoded and not handed out yet (no I/O),
        each with the position after its event (`_TypedStream._ready_items`)."""
        text_of = self._text_of
        ready = []
        for event, position in self._stream._ready_items():
            text = text_of(event)
            if text:
                ready.append((text, position))
        return ready

    def _resume_at(self, position: ReadPosition) -> None:
        """Mark the events up to `position` handed out."""
        self._stream._resume_at(position)

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
