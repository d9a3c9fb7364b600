"""What a request returns: `APIResponse` for plain calls, `EventStream` for streamed events,
`BinaryResponse` for a streamed binary body."""

from __future__ import annotations

import functools
import warnings
from collections.abc import AsyncIterator, Callable
from os import PathLike
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, final

import anyio
import httpx
import msgspec

from openai_ergo._errors import (
    APIResponseValidationError,
    StreamError,
    StreamIdleTimeoutError,
    StreamInterruptedError,
)
from openai_ergo._pipeline._logging import excerpt, redact_text
from openai_ergo._pipeline._middleware import Middleware, RequestState
from openai_ergo._pipeline._ratelimit import RateLimitInfo
from openai_ergo._pipeline._request_id import request_id_of
from openai_ergo._pydantic import is_model, json_decoder
from openai_ergo._transport._prepared import HeaderView, PlainResponse, header_view

if TYPE_CHECKING:
    from openai_ergo._pipeline._observe import Operation, StreamOutcome
    from openai_ergo._pipeline._observed import ObservedRequests
    from streaming import EventSource, ServerSentEvent

T = TypeVar("T")

_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}
_json_decode = msgspec.json.decode
_DECODE_FAILURES = (msgspec.DecodeError, msgspec.ValidationError)


def decoder_for(type_: Any) -> msgspec.json.Decoder[Any]:
    """A cached `msgspec.json.Decoder` for `type_` (building one costs far more than using it)."""
    decoder = _DECODERS.get(type_)
    if decoder is None:
        decoder = _DECODERS[type_] = msgspec.json.Decoder(type_)
    return decoder


@final
class APIResponse:
    """A complete, successful (2xx) response: status, headers, body bytes and ways to decode it."""

    __slots__ = ("_headers", "_rate_limit", "attempts", "content", "method", "status_code", "url")

    def __init__(
        self,
        *,
        status_code: int,
        headers: httpx.Headers | HeaderView,
        content: bytes,
        method: str,
        url: str,
        attempts: int = 1,
    ) -> None:
        self.status_code = status_code
        # A `HeaderView` becomes `httpx.Headers` only when `headers` is read.
        self._headers = headers
        #: The raw body.
        self.content = content
        self.method = method
        self.url = url
        #: How many attempts it took (1 when nothing was retried).
        self.attempts = attempts
        self._rate_limit: RateLimitInfo | bool | None = False

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        headers = self._headers
        if isinstance(headers, HeaderView):
            headers = self._headers = httpx.Headers(headers.raw)
        return headers

    @property
    def request_id(self) -> str | None:
        """The request id: the `x-request-id` header, or a compatible server's equivalent
        (docs/client.md lists them). Quote it when asking OpenAI about this request."""
        return request_id_of(self._headers)

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The parsed `x-ratelimit-*` headers, or `None` when the server sent none."""
        if self._rate_limit is False:
            self._rate_limit = RateLimitInfo.from_headers(self._headers)
        return self._rate_limit if isinstance(self._rate_limit, RateLimitInfo) else None

    def json(self) -> Any:
        """The body decoded as JSON into dicts, lists and scalars."""
        return self.decode(_json_decode, "JSON document")

    def parse(self, type_: type[T]) -> T:
        """The body decoded into `type_` (a msgspec Struct, dataclass, TypedDict, pydantic
        model, ...)."""
        name = getattr(type_, "__name__", None) or repr(type_)
        decode: Callable[[bytes], T] = (
            json_decoder(type_) if is_model(type_) else decoder_for(type_).decode
        )
        return self.decode(decode, name)

    def decode(self, decode: Callable[[bytes], T], what: str) -> T:
        """The body decoded by `decode`; a body that is not JSON or not a `what` raises
        `APIResponseValidationError` quoting the decoder's reason and the start of the body."""
        try:
            return decode(self.content)
        except _DECODE_FAILURES as exc:
            raise self._validation_error(exc, what) from exc

    def _validation_error(self, exc: Exception, what: str) -> APIResponseValidationError:
        body = excerpt(self.content)
        reason = redact_text(str(exc))
        request_id = self.request_id
        sentence = (
            f"{self.method} {httpx.URL(self.url).path} answered {self.status_code} with a body "
            f"that is not a valid {what}: {reason}"
        )
        if request_id:
            sentence += f" (request {request_id})"
        sentence += f"; the body begins {body!r}" if body else "; the body is empty"
        return APIResponseValidationError(
            sentence + ".",
            status_code=self.status_code,
            request_id=request_id,
            body=body,
            reason=reason,
            method=self.method,
            url=self.url,
        )

    def __repr__(self) -> str:
        return (
            f"<APIResponse {self.status_code} {self.method} {self.url} "
            f"request_id={self.request_id!r} bytes={len(self.content)}>"
        )


def _stream_error(exc: BaseException, request_id: str | None) -> StreamError:
    from streaming import StreamingError, StreamTimeoutError

    if isinstance(exc, StreamTimeoutError | httpx.TimeoutException):
        return StreamIdleTimeoutError(f"the stream timed out: {exc}", request_id=request_id)
    if isinstance(exc, StreamingError | httpx.HTTPError):
        reason = str(exc) or type(exc).__name__
        return StreamInterruptedError(f"the stream broke off: {reason}", request_id=request_id)
    raise exc


class _StreamedHead:
    """What a streamed result tells before its body: the headers of its `httpx.Response`."""

    __slots__ = ()
    response: httpx.Response

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self.response.headers

    @property
    def status_code(self) -> int:
        """The response status (2xx: errors are raised before a stream or body is returned)."""
        return self.response.status_code

    @property
    def request_id(self) -> str | None:
        """The request id (the `x-request-id` header, or another server's equivalent)."""
        return request_id_of(header_view(self.response))

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The parsed `x-ratelimit-*` headers, or `None`."""
        return RateLimitInfo.from_headers(header_view(self.response))


@final
class EventStream(_StreamedHead):
    """A streamed response: an async iterator of `streaming.ServerSentEvent`.

    Use it as an async context manager (or call `aclose()`): leaving the block, breaking the
    loop, an error or a cancellation closes the response and returns the connection to the pool.
    `next_batch()` returns every event one read decoded — the fast path for layers above, since
    the per-event cost is then a list index. A mid-stream failure raises `StreamIdleTimeoutError`
    or `StreamInterruptedError` (with `partial=None`; typed layers above fill it in).
    """

    def __init__(
        self,
        source: EventSource,
        *,
        first_batch: list[ServerSentEvent],
        state: RequestState,
        observers: tuple[Middleware, ...],
        enders: tuple[Middleware, ...],
        on_close: Callable[[], None],
        operation: Operation | None = None,
        observed: ObservedRequests | None = None,
        replay: dict[Any, Any] | None = None,
    ) -> None:
        self._source = source
        self._pending: list[ServerSentEvent] | None = first_batch
        #: A response-cache hit held in memory: what typed handles decoded of it before
        #: (keyed by how they decode), so that they replay those objects instead of decoding.
        self.replay = replay
        self._state = state
        self._observers = observers
        self._enders = enders
        self._on_close: Callable[[], None] | None = on_close
        self._batch: list[ServerSentEvent] = []
        self._index = 0
        self._error: BaseException | None = None
        self._closed = False
        self._ended = False
        #: The request as observers see it, until they heard that it ended.
        self._operation = operation
        self._observed = observed
        self._outcome: Callable[[], StreamOutcome] | None = None
        #: The underlying `httpx.Response` (headers arrived, body streaming).
        self.response: httpx.Response = source.response
        if isinstance(self.response, PlainResponse):
            # Opening read what it needed of the head; the stream keeps it to its end.
            self.response.compact_head()

    @property
    def closed(self) -> bool:
        """Whether the stream was closed (the connection is back in the pool or discarded)."""
        return self._closed

    async def next_batch(self) -> list[ServerSentEvent]:
        """Every event of the next read, in order; an empty list only at the end of the stream."""
        batch = self._pending
        if batch is not None:
            self._pending = None
        elif self._closed:
            return []
        else:
            try:
                batch = await self._source.next_batch()
            except BaseException as exc:
                self._error = exc
                await self.aclose()
                raise _stream_error(exc, self.request_id) from exc
        if not batch:
            self._ended = True
            await self.aclose()
            return batch
        if self._observers:
            state = self._state
            for event in batch:
                for middleware in self._observers:
                    middleware.on_event(event, state)
        return batch

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> ServerSentEvent:
        index = self._index
        batch = self._batch
        if index < len(batch):
            self._index = index + 1
            return batch[index]
        batch = await self.next_batch()
        if not batch:
            raise StopAsyncIteration
        self._batch = batch
        self._index = 1
        return batch[0]

    async def aclose(self) -> None:
        """Close the response (shielded: it completes even when cancelled). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if not self._enders and self._operation is None:
            # The source shields its own close; nothing else here awaits (no middleware hears
            # the end, and no observer waits for it).
            try:
                await self._source.aclose()
            finally:
                on_close, self._on_close = self._on_close, None
                if on_close is not None:
                    on_close()
            return
        with anyio.CancelScope(shield=True):
            try:
                await self._source.aclose()
            finally:
                on_close, self._on_close = self._on_close, None
                if on_close is not None:
                    on_close()
                for middleware in self._enders:
                    await middleware.on_stream_end(self._state, self._error)
                if self._operation is not None and self._outcome is None:
                    self._end_operation(None)

    @property
    def observed(self) -> bool:
        """Whether observers hear about this stream (`Client(observers=...)`)."""
        return self._operation is not None

    def report_outcome(self, outcome: Callable[[], StreamOutcome]) -> None:
        """For a layer that aggregates this stream: `outcome()` tells the observers what the
        stream amounted to when that layer calls `end_observation()`, which it must do once it
        closed the stream (the observers then hear the aggregate and the typed error)."""
        self._outcome = outcome

    def end_observation(self) -> None:
        """Tell the observers the stream is over, with what `report_outcome` reads
        (idempotent; a no-op for a stream nobody observes)."""
        outcome = self._outcome
        if self._operation is not None and outcome is not None:
            self._end_operation(outcome())

    def _end_operation(self, outcome: StreamOutcome | None) -> None:
        operation, self._operation = self._operation, None
        observed = self._observed
        if operation is None or observed is None:
            return
        error = self._error
        if outcome is not None:
            if outcome.result is not None:
                operation.read_result(outcome.result)
            error = outcome.error or error
            operation.events = outcome.events
            done = outcome.done
            if (error is not None or not done) and operation.output_tokens is None:
                operation.estimated_output_tokens = outcome.text_deltas
        else:
            done = self._ended
        if error is not None:
            operation.fail(error, anyio.get_cancelled_exc_class())
        else:
            operation.closed_early = not done
        observed.end(operation)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and self._error is None:
            self._error = exc
        await self.aclose()

    def __del__(self) -> None:
        # The event source itself warns about the leaked connection (ResourceWarning); the
        # concurrency slot at least goes back, or a leak would starve the rate limiter.
        on_close = getattr(self, "_on_close", None)
        if on_close is not None:
            self._on_close = None
            on_close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<EventStream {state} {self.status_code} request_id={self.request_id!r}>"


@final
class BinaryResponse(_StreamedHead):
    """A streamed binary body (file content, speech audio, video, zip): read it in chunks, so
    that the whole body is never held in memory unless `read()` asks for it.

    `async for chunk in body`, `await body.write_to(path)` or `await body.read()`. It owns its
    connection: use it as an async context manager (or call `aclose()`); leaving the block,
    breaking the loop, an error or a cancellation closes the response and returns the
    connection. `write_to` and `read` close it when they finish. A body dropped unclosed warns
    `ResourceWarning`. A body that breaks off mid-way raises `StreamInterruptedError`, a silent
    one `StreamIdleTimeoutError`.
    """

    __slots__ = ("_chunks", "_closed", "_on_close", "attempts", "method", "response", "url")

    def __init__(
        self,
        response: httpx.Response,
        *,
        method: str,
        url: str,
        attempts: int = 1,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        #: The underlying `httpx.Response` (headers arrived, body not read yet).
        self.response = response
        self.method = method
        self.url = url
        #: How many attempts it took (1 when nothing was retried).
        self.attempts = attempts
        self._on_close = on_close
        self._chunks: AsyncIterator[bytes] | None = None
        self._closed = False

    @property
    def content_type(self) -> str | None:
        """The `Content-Type` header (`audio/mpeg`, `application/octet-stream`, ...)."""
        content_type: str | None = self.response.headers.get("content-type")
        return content_type

    @property
    def content_length(self) -> int | None:
        """The `Content-Length` header, when the server sent one."""
        length = self.response.headers.get("content-length")
        return int(length) if length is not None and length.isdigit() else None

    @property
    def closed(self) -> bool:
        """Whether the body was closed (the connection is back in the pool or discarded)."""
        return self._closed

    def _open_chunks(self) -> AsyncIterator[bytes]:
        response = self.response
        stream = response.stream
        coding = response.headers.get("content-encoding", "").strip().lower()
        if isinstance(stream, httpx.AsyncByteStream) and coding in ("", "identity"):
            # No content coding to undo: the transport's own (class-based) stream, one
            # generator layer less per chunk than `aiter_bytes()`.
            response.is_stream_consumed = True
            return stream.__aiter__()
        return response.aiter_bytes()

    def __aiter__(self) -> BinaryResponse:
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        chunks = self._chunks
        if chunks is None:
            chunks = self._chunks = self._open_chunks()
        while True:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                await self.aclose()
                raise
            except BaseException as exc:
                await self.aclose()
                if isinstance(exc, httpx.HTTPError):
                    raise _stream_error(exc, self.request_id) from exc
                raise
            if chunk:
                return chunk

    async def read(self) -> bytes:
        """The rest of the body, whole (it is then held in memory); closes the body."""
        async with self:
            return b"".join([chunk async for chunk in self])

    async def write_to(
        self,
        path: str | PathLike[str],
        *,
        on_progress: Callable[[int], object] | None = None,
    ) -> int:
        """Write the rest of the body to the file at `path`, chunk by chunk, and close the body.
        `on_progress` is called with the bytes written so far after each chunk. Returns the
        number of bytes written."""
        written = 0
        async with self, await anyio.open_file(path, "wb") as file:
            async for chunk in self:
                await file.write(chunk)
                written += len(chunk)
                if on_progress is not None:
                    on_progress(written)
        return written

    async def aclose(self) -> None:
        """Close the response and give the connection back (shielded: it completes even when
        cancelled). Idempotent."""
        if self._closed:
            return
        self._closed = True
        chunks, self._chunks = self._chunks, None
        try:
            from streaming._response import close_response

            await close_response(self.response, chunks)
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()

    async def __aenter__(self) -> BinaryResponse:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # getattr: __init__ may not have run to its end.
        if getattr(self, "_closed", True):
            return
        self._closed = True
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()  # the concurrency slot goes back, or a leak would starve the limiter
        response, chunks = self.response, self._chunks
        self._chunks = None
        if response.is_closed:
            return
        from streaming._finalizer import close_soon, finish_async_generator
        from streaming._response import close_response

        closing = close_soon(functools.partial(close_response, response, chunks))
        if not closing:
            finish_async_generator(chunks)
        # Last: under `-W error` this raises, and the close above must be on its way.
        warnings.warn(
            f"the binary body of {self.method} {httpx.URL(self.url).path} was never closed"
            + (", so its connection is being closed now" if closing else "")
            + ": use `async with` or `await body.aclose()` when you are done with it",
            ResourceWarning,
            stacklevel=2,
        )

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<BinaryResponse {state} {self.status_code} {self.content_type!r} "
            f"request_id={self.request_id!r}>"
        )
