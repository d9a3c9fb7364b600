"""`EventSource`: the events of one streamed httpx response, pulled, timed and owned."""

from __future__ import annotations

import math
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import final

import anyio
import anyio.abc
import httpx

from ._decoder import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE, SSEDecoder
from ._errors import DeadlineExceededError, IdleTimeoutError, SSELimitError
from ._event import ServerSentEvent
from ._finalizer import close_soon, finish_async_generator
from ._read_ahead import ReadAhead
from ._reconnect import StreamOpener
from ._response import (
    check_event_stream,
    close_response,
    closes_at_once,
    describe_url,
    header_value,
    request_timeouts,
)

__all__ = ["EventSource", "EventSourceStatistics"]

#: After an early exit, how long closing may read on for the rest of the response so the
#: connection goes back to the pool instead of being closed ...
DEFAULT_DRAIN_TIMEOUT = 0.05
#: ... how many bytes it reads at most to get there ...
DRAIN_LIMIT = 64 * 1024
#: ... and the longest silence it waits through: the rest of a finished answer is already on
#: its way, while a live stream pauses between events (a user who leaves it must not wait).
DRAIN_IDLE_GAP = 0.01


@final
@dataclass(frozen=True)
class EventSourceStatistics:
    """A snapshot of an `EventSource`: what is buffered and what went through it."""

    #: Events decoded but not yet handed to the consumer.
    events_buffered: int
    #: The read-ahead bound (`prefetch`); 0 when nothing is read before it is asked for.
    max_buffered: int
    #: True while the read-ahead task waits for room: the server is being held back.
    prefetch_waiting: bool
    #: Events decoded so far.
    events_read: int
    #: Body bytes received so far (after content decoding), across reconnections.
    bytes_read: int
    #: Reconnections made after dropped connections.
    reconnections: int


def _transport_times_reads(response: httpx.Response, idle_timeout: float | None) -> bool:
    """Whether the transport already enforces `idle_timeout` on every socket read.

    A transport that hands over its `network_stream` (httpcore, and openai-ergo's HTTP/1.1
    transport) times each read with the request's read timeout. When that timeout is exactly the
    idle timeout, a read timeout is the idle timeout firing, and a timer of ours would only add
    a cancel scope (~4 µs) to every read.
    """
    if idle_timeout is None or "network_stream" not in response.extensions:
        return False
    timeouts = request_timeouts(response)
    return timeouts is not None and bool(timeouts.get("read") == idle_timeout)


def _describe_source(response: httpx.Response) -> str:
    """Names the source for a warning: method and URL, without the query (it may hold a key)."""
    try:
        request = response.request
    except RuntimeError:  # a response built by hand has no request
        return "an EventSource"
    return f"an EventSource for {request.method} {describe_url(request.url)}"


@final
class EventSource:
    """The Server-Sent Events of an open, streamed `httpx.Response`.

    An async iterator of `ServerSentEvent` (also through `aiter_sse()`, as in httpx-sse), and
    `await next_batch()` returns every event one read decoded. Reading is pull: nothing is read
    from the socket until the consumer asks, so a slow consumer slows the server through TCP.
    `prefetch=N` instead reads ahead at most N events in a task; that task needs an owner, so a
    prefetching source must be used with `async with`.

    `idle_timeout` (seconds without any byte, comments included) raises `IdleTimeoutError`;
    `deadline` (seconds since the source was made) raises `DeadlineExceededError`. Leaving the
    `async with` block, `aclose()`, an exception, a cancellation or the end of the stream close
    the response and give its connection back to httpx's pool; a source dropped unclosed warns
    `ResourceWarning`, and its response is closed on the event loop that is running.
    `max_line_size`/`max_event_size` bound the decoder (`SSELimitError`); `on_comment`
    receives comment lines. After an early exit, closing reads on while the rest
    of the body keeps coming (up to a 10 ms pause, `drain_timeout` seconds and 64 KiB), so a
    response that was about to end keeps its connection; a cancelled close never waits.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        idle_timeout: float | None = None,
        deadline: float | None = None,
        prefetch: int = 0,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        on_comment: Callable[[str], object] | None = None,
        drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
    ) -> None:
        for name, value in (("idle_timeout", idle_timeout), ("deadline", deadline)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds or None")
        if prefetch < 0:
            raise ValueError(f"prefetch must be 0 or a positive number of events, not {prefetch}")
        self._response = response
        self._decoder = SSEDecoder(
            max_line_size=max_line_size, max_event_size=max_event_size, on_comment=on_comment
        )
        self._idle_timeout = idle_timeout
        self._deadline = deadline
        self._deadline_at = None if deadline is None else anyio.current_time() + deadline
        self._prefetch = prefetch
        self._drain_timeout = drain_timeout
        self._chunks: AsyncIterator[bytes] | None = None
        self._pending: list[ServerSentEvent] = []
        self._position = 0
        self._checked = False
        self._closed = False
        self._deferred_error: BaseException | None = None
        self._opener: StreamOpener | None = None
        self._events_read = 0
        self._bytes_read = 0
        self._reconnections = 0
        self._task_group: anyio.abc.TaskGroup | None = None
        #: The read-ahead (`prefetch`), made when the `async with` block is entered.
        self._read_ahead: ReadAhead[ServerSentEvent] | None = None
        #: The request's read timeout is the idle timeout, so a read timeout from the transport
        #: is the idle timeout firing ...
        self._read_timeout_is_idle = _transport_times_reads(response, idle_timeout)
        #: ... and the transport times every socket read with it anyway: no cancel scope per
        #: read is needed on our side.
        self._idle_timeout_in_transport = self._read_timeout_is_idle
        #: Reads need a cancel scope of ours (about 4 µs each): a deadline, or an idle timeout
        #: the transport does not enforce.
        self._timed = deadline is not None or (
            idle_timeout is not None and not self._idle_timeout_in_transport
        )

    # -- public surface -------------------------------------------------------------------------

    @property
    def response(self) -> httpx.Response:
        """The HTTP response the events currently come from (a new one after a reconnection)."""
        return self._response

    @property
    def last_event_id(self) -> str:
        """The stream's last event id: what a reconnection sends as `Last-Event-ID`."""
        return self._decoder.last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds the server asked for, or None."""
        return self._decoder.retry

    def statistics(self) -> EventSourceStatistics:
        """What is buffered now, and how many events and bytes went through."""
        buffered = len(self._pending) - self._position
        waiting = False
        read_ahead = self._read_ahead
        if read_ahead is not None:
            buffered += read_ahead.buffered
            waiting = read_ahead.waiting
        return EventSourceStatistics(
            events_buffered=buffered,
            max_buffered=self._prefetch,
            prefetch_waiting=waiting,
            events_read=self._events_read,
            bytes_read=self._bytes_read,
            reconnections=self._reconnections,
        )

    def aiter_sse(self) -> EventSource:
        """The events, as an async iterator (the name httpx-sse uses)."""
        return self

    def __aiter__(self) -> EventSource:
        return self

    async def __anext__(self) -> ServerSentEvent:
        pending = self._pending
        position = self._position
        if position < len(pending):
            self._position = position + 1
            return pending[position]
        batch = await self.next_batch()
        if not batch:
            raise StopAsyncIteration
        self._pending = batch
        self._position = 1
        return batch[0]

    async def next_batch(self) -> list[ServerSentEvent]:
        """Every event the next read decoded, in order; an empty list only at the end.

        Events already decoded but not yet iterated come first.
        """
        if self._position < len(self._pending):
            rest = self._pending[self._position :]
            self._pending = []
            self._position = 0
            return rest
        if self._deferred_error is not None and not self._prefetch:
            error, self._deferred_error = self._deferred_error, None
            raise error
        if self._closed and not self._prefetch:
            return []
        try:
            if self._prefetch:
                read_ahead = self._read_ahead
                if read_ahead is None:
                    raise RuntimeError(
                        "an EventSource with prefetch > 0 reads ahead in a task, which needs an "
                        "owner: use it as `async with EventSource(...) as source:` (connect_sse "
                        "does this)"
                    )
                return await read_ahead.receive()
            return await self._read_batch()
        except BaseException:
            await self._close(drain=False)
            raise

    async def aclose(self) -> None:
        """Close the response and give the connection back; idempotent, finishes even when
        cancelled."""
        await self._close(drain=True)

    async def __aenter__(self) -> EventSource:
        if self._prefetch and self._task_group is None:
            group = anyio.create_task_group()
            await group.__aenter__()
            self._task_group = group
            self._read_ahead = ReadAhead[ServerSentEvent](self._prefetch)
            self._read_ahead.start(group, self._read_batch, self._take_deferred_error)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        group = self._task_group
        try:
            if group is not None:
                self._task_group = None
                group.cancel_scope.cancel()
                # The read-ahead task never raises (it hands errors over), so the body's own
                # exception is not given to the group: it propagates as itself, not as a group.
                await group.__aexit__(None, None, None)
            return None
        finally:
            if self._read_ahead is not None:
                self._read_ahead.close()
            await self._close(drain=exc_type is None)

    def __del__(self) -> None:
        # getattr: __init__ may have refused its arguments before the state existed.
        if getattr(self, "_closed", True):
            return
        self._closed = True
        response, chunks = self._response, self._chunks
        self._chunks = None
        leaked = not response.is_closed
        closing = (leaked or chunks is not None) and close_soon(
            partial(close_response, response, chunks)
        )
        if not closing:
            # No event loop to close the response on: at least end httpx's byte iterator now,
            # so it is not collected unfinished (which trio reports as a leak of its own).
            finish_async_generator(chunks)
        if leaked:
            # Last: under `-W error` this raises, and the close above must be on its way.
            warnings.warn(
                f"{_describe_source(response)} was never closed"
                + (", so its connection is being closed now" if closing else "")
                + ": use `async with` or `await source.aclose()` when you are done with it",
                ResourceWarning,
                stacklevel=2,
            )

    # -- reading --------------------------------------------------------------------------------

    async def _read_batch(self) -> list[ServerSentEvent]:
        if not self._checked:
            self._checked = True
            if not await check_event_stream(self._response):
                self._closed = True
                return []
        decoder = self._decoder
        chunk: bytes | None
        while True:
            try:
                chunks = self._chunks
                if chunks is not None and self._timed is False:
                    chunk = await chunks.__anext__()
                else:
                    chunk = await self._receive_chunk()
            except StopAsyncIteration:
                chunk = None
            except IdleTimeoutError as exc:  # our own timer fired
                if not self._reconnects_on_idle():
                    raise
                if await self._reconnect(exc, "went quiet"):
                    continue
                return []
            except httpx.TransportError as exc:
                if exc._request is None:
                    # Read from the transport's stream directly, the error missed the request
                    # context `aiter_bytes()` would have given it; error handlers rely on it.
                    exc.request = self._response.request
                if isinstance(exc, httpx.ReadTimeout) and self._read_timeout_is_idle:
                    idle = self._idle_timeout_error()
                    if not self._reconnects_on_idle():
                        raise idle from exc
                    idle.__cause__ = exc
                    if await self._reconnect(idle, "went quiet"):
                        continue
                    return []
                if self._opener is None or self._opener.policy is None:
                    raise
                if await self._reconnect(exc, "dropped"):
                    continue
                return []
            if chunk is None:
                decoder.end()
                opener = self._opener
                if (
                    opener is not None
                    and opener.policy is not None
                    and opener.policy.reconnect_on_end
                    and await self._reconnect(None, "ended")
                ):
                    continue
                await self._close(drain=False)
                return []
            if not chunk:
                # An empty read is not the end: some transports hand one over mid-body.
                continue
            self._bytes_read += len(chunk)
            try:
                events = decoder.feed(chunk)
            except SSELimitError as exc:
                if not exc.events:
                    raise
                # Hand over what was decoded before the bound was hit; the error comes next.
                await self._close(drain=False)
                self._deferred_error = exc
                events = list(exc.events)
            if events:
                self._events_read += len(events)
                if self._opener is not None:
                    self._opener.attempts = 0
                return events

    def _open_chunks(self) -> AsyncIterator[bytes]:
        response = self._response
        stream = response.stream
        coding = header_value(response, "content-encoding").strip().lower()
        if (
            isinstance(stream, httpx.AsyncByteStream)
            and not response.is_stream_consumed
            and coding in ("", "identity")
        ):
            # No content coding to undo: read the transport's stream itself, which skips two
            # generator layers of `aiter_bytes()` per chunk (~0.4 µs of ~1.7 µs per event).
            response.is_stream_consumed = True
            return stream.__aiter__()
        return response.aiter_bytes()

    def _attach(
        self, opener: StreamOpener, deadline_at: float | None, idle_timeout_in_transport: bool
    ) -> None:
        """Called by connect_sse: reconnect through `opener`, keep its deadline, and let httpx's
        read timeout stand for the idle timeout."""
        self._opener = opener
        self._deadline_at = deadline_at
        self._read_timeout_is_idle = self._idle_timeout is not None
        self._idle_timeout_in_transport = idle_timeout_in_transport
        self._timed = deadline_at is not None or (
            self._idle_timeout is not None and not idle_timeout_in_transport
        )

    async def _receive_chunk(self) -> bytes:
        chunks = self._chunks
        if chunks is None:
            chunks = self._chunks = self._open_chunks()
        idle_timeout = None if self._idle_timeout_in_transport else self._idle_timeout
        deadline_at = self._deadline_at
        if not self._timed:
            return await chunks.__anext__()
        wait = math.inf if idle_timeout is None else idle_timeout
        remaining = math.inf
        if deadline_at is not None:
            remaining = deadline_at - anyio.current_time()
        with anyio.move_on_after(min(wait, remaining)):
            return await chunks.__anext__()
        if remaining <= wait:
            request = self._response.request
            raise DeadlineExceededError(
                f"the event stream from {request.method} {describe_url(request.url)} was still "
                f"open after its deadline of {self._deadline} s",
                timeout=self._deadline or 0.0,
            )
        raise self._idle_timeout_error()

    def _idle_timeout_error(self) -> IdleTimeoutError:
        request = self._response.request
        return IdleTimeoutError(
            f"the event stream from {request.method} {describe_url(request.url)} sent nothing "
            f"for {self._idle_timeout} s (idle_timeout)",
            timeout=self._idle_timeout or 0.0,
        )

    def _reconnects_on_idle(self) -> bool:
        opener = self._opener
        return opener is not None and opener.policy is not None and opener.policy.reconnect_on_idle

    async def _reconnect(self, error: BaseException | None, what: str) -> bool:
        """Replace the dropped response; False when the server said there is nothing more."""
        opener = self._opener
        assert opener is not None
        await close_response(self._response, self._chunks)
        self._chunks = None
        self._decoder.end()
        response = await opener.reopen(
            self._decoder.last_event_id,
            self._decoder.retry,
            self._deadline_at,
            self._deadline,
            error,
            what=what,
        )
        if response is None:
            self._closed = True
            return False
        self._response = response
        self._reconnections += 1
        return True

    # -- read-ahead -----------------------------------------------------------------------------

    def _take_deferred_error(self) -> BaseException | None:
        """The error the last read left for after its events (the read-ahead hands it over)."""
        error, self._deferred_error = self._deferred_error, None
        return error

    # -- closing --------------------------------------------------------------------------------

    async def _close(self, *, drain: bool) -> None:
        if self._closed:
            return
        self._closed = True
        # Asked outside the shield, which hides the caller's cancellation: a cancelled caller
        # gets the connection closed at once, never drained.
        drain = (
            drain
            and self._drain_timeout > 0
            and self._chunks is not None
            and not self._response.is_closed
            and anyio.current_effective_deadline() != -math.inf
        )
        if not drain and closes_at_once(self._response, self._chunks):
            # Nothing to wait for (the body ended, its connection went back): no shield.
            await close_response(self._response, self._chunks)
            return
        with anyio.CancelScope(shield=True):
            if drain:
                assert self._chunks is not None
                await self._drain(self._chunks)
            await close_response(self._response, self._chunks)

    async def _drain(self, chunks: AsyncIterator[bytes]) -> None:
        # A consumer that stops at the last event (OpenAI's `[DONE]`) leaves only the end of
        # the chunked body in flight: reading it keeps the connection alive for the next request.
        # A live stream goes quiet between events, and the first such pause ends the drain.
        budget = DRAIN_LIMIT
        gap = min(self._drain_timeout, DRAIN_IDLE_GAP)
        with anyio.move_on_after(self._drain_timeout):
            try:
                while budget >= 0:
                    with anyio.move_on_after(gap) as pause:
                        budget -= len(await chunks.__anext__())
                    if pause.cancelled_caught:
                        return
            except StopAsyncIteration:
                pass  # the whole body was read: the connection goes back to the pool
            except Exception:
                pass  # a failed drain only means the connection is closed, not reused
