"""One logical request through the pipeline: circuit breaker, rate limit, middleware, auth and
transport for each attempt, the retry policy between attempts, and errors mapped at the end."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from openai_ergo._config import Timeouts, model_of
from openai_ergo._errors import APIStatusError, CircuitOpenError, OpenAIErgoError, RateLimitError
from openai_ergo._multipart import MultipartBody
from openai_ergo._pipeline._auth import KEY_LABEL, KeyPool, SecretHolder
from openai_ergo._pipeline._buckets import RateLimitScope
from openai_ergo._pipeline._call import Call
from openai_ergo._pipeline._circuit import CircuitBreaker, endpoint_key
from openai_ergo._pipeline._clock import Clock
from openai_ergo._pipeline._direct import DirectSender, TimedStream
from openai_ergo._pipeline._errors_map import (
    is_local_failure,
    local_error,
    status_error,
    transport_error,
)
from openai_ergo._pipeline._idempotency import new_idempotency_key
from openai_ergo._pipeline._logging import log_event, logging_configured, redact_value
from openai_ergo._pipeline._middleware import (
    Middleware,
    RequestState,
    event_observers,
    result_observers,
    senders,
    stream_enders,
)
from openai_ergo._pipeline._observe import Observer, Operation
from openai_ergo._pipeline._observed import ObservedRequests
from openai_ergo._pipeline._plain import PlainRequests
from openai_ergo._pipeline._ratelimit import (
    RateLimiter,
    RateLimiting,
    RateLimitPermit,
    estimate_tokens,
)
from openai_ergo._pipeline._request_id import request_id_of
from openai_ergo._pipeline._retry import RetryPolicy, RetryStop, parse_retry_after
from openai_ergo._response import APIResponse, BinaryResponse, EventStream
from openai_ergo._transport._prepared import header_view

if TYPE_CHECKING:
    from openai_ergo._cache._response_cache import ResponseCache
    from streaming import EventSource

LOG_EVENT = "openai_ergo.request"
#: Where `send` leaves the response cache's recorder of a streamed request (its state key).
RECORDER = "cache.recorder"
#: Parsed URLs kept per pipeline: a client talks to a handful of endpoints, over and over.
_MAX_TARGETS = 256


def _nothing() -> None:
    return None


def _is_sse_error(exc: BaseException | None) -> bool:
    from streaming import SSEError

    return isinstance(exc, SSEError)


@dataclass(slots=True)
class _Limits:
    """What the rate limiter needs across the attempts of one request."""

    model: str | None
    #: The longest learned wait the limiter may sleep: the retry policy's `max_retry_after`.
    max_wait: float
    tokens: int | None = None
    #: The scope of the last attempt's response, and the one whose next wait the server's
    #: `Retry-After` already covers.
    last: RateLimitScope | None = None
    exempt: RateLimitScope | None = None
    #: The scope `scope()` made last (one object per key, not one per question).
    made: RateLimitScope | None = None

    def scope(self, key: object) -> RateLimitScope:
        """The scope for this request on the key labelled `key` (none without a key pool)."""
        label = key if isinstance(key, str) and key else None
        made = self.made
        if made is None or made.key != label:
            made = self.made = RateLimitScope(self.model, label)
        return made


@dataclass(slots=True)
class _Outcome:
    """What one attempt produced: a result, or what to report if it is the last."""

    result: APIResponse | EventStream | BinaryResponse | None = None
    response: httpx.Response | None = None
    content: bytes = b""
    exception: BaseException | None = None
    retryable: bool = False


async def _read_all(response: httpx.Response, headers: Mapping[str, str]) -> bytes:
    """The whole body. Without a content coding to undo, straight from the transport's stream
    (`TimedStream.read_to_end`): `aread()` steps two generator layers per block and a decoder
    chain that would pass the bytes through unchanged."""
    stream = response.stream
    if type(stream) is TimedStream:
        coding = headers.get("content-encoding")
        if coding is None or coding.strip().lower() in ("", "identity"):
            return await stream.read_to_end()
    return await response.aread()


def _http_failure(outcome: _Outcome, record: dict[str, Any], exc: httpx.HTTPError) -> bool | None:
    """An attempt that failed in HTTP itself, sending or reading: a transport failure may be
    retried, any other (a body that does not decode, too many redirects) may not. Returns the
    circuit verdict: a request that failed on our side before it left (a header value with a
    line break, a URL no transport serves) says nothing about the server, so it gives none."""
    outcome.exception = exc
    local = is_local_failure(exc)
    outcome.retryable = isinstance(exc, httpx.TransportError) and not local
    record["error"] = type(exc).__name__
    return None if local else False


class Pipeline:
    """The shared machinery behind a `Client` and the clients derived from it."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        auth: httpx.Auth,
        middleware: tuple[Middleware, ...],
        rate_limiter: RateLimiting | None,
        circuit_breaker: CircuitBreaker | None,
        retry: RetryPolicy,
        timeouts: Timeouts,
        clock: Clock,
        cache: ResponseCache | None = None,
        observers: tuple[Observer, ...] = (),
    ) -> None:
        self.http = http
        self.auth = auth
        self.middleware = middleware
        self.rate_limiter = rate_limiter
        #: The limiter's admission without a wait, asked before `_acquire` (not with a key
        #: pool, whose requests pick their key, and so their scope, first).
        self._admit_now = (
            rate_limiter.admit_now
            if type(rate_limiter) is RateLimiter and not isinstance(auth, KeyPool)
            else None
        )
        self.circuit_breaker = circuit_breaker
        self.retry = retry
        self.timeouts = timeouts
        self.clock = clock
        #: Who hears about every logical request (empty: nothing is measured at all).
        self.observers = observers
        self.observed = ObservedRequests(observers, circuit_breaker) if observers else None
        self._observers = event_observers(middleware)
        self._enders = stream_enders(middleware)
        #: Accounting: middleware that see each logical request before and after it.
        self._senders = senders(middleware)
        self._result_observers = result_observers(middleware)
        self.cache = cache
        self._targets: dict[str, tuple[httpx.URL, str]] = {}
        #: Sends through the transport itself when httpx's client adds nothing but layers.
        self.direct = DirectSender.for_client(http)
        #: Writes the head itself when nothing installed needs an `httpx.Request`.
        self.plain = PlainRequests.for_client(
            http, self.direct.transport if self.direct is not None else None, auth, middleware
        )
        self._transport_timeouts = {
            stream: timeouts.for_transport(stream=stream).as_dict() for stream in (False, True)
        }

    def target(self, url: str) -> tuple[httpx.URL, str]:
        """`url` parsed, and its path (for logs, errors and the circuit breaker)."""
        hit = self._targets.get(url)
        if hit is None:
            parsed = httpx.URL(url)
            if len(self._targets) >= _MAX_TARGETS:
                self._targets.clear()
            hit = self._targets[url] = (parsed, parsed.path)
        return hit

    def _timeout_dict(self, call: Call, timeouts: Timeouts) -> dict[str, float | None]:
        """The attempt's timeouts as the transport reads them (shared: copy before changing)."""
        if timeouts is self.timeouts:
            return self._transport_timeouts[bool(call.stream)]
        return timeouts.for_transport(stream=bool(call.stream)).as_dict()

    def _build_request(self, call: Call, timeouts: Timeouts) -> httpx.Request:
        # httpx's `build_request` would merge base URL, default headers and cookies again on
        # every attempt; the client merged its headers once and the URL is parsed already.
        timeout = dict(self._timeout_dict(call, timeouts))
        # A multipart body is given as the stream itself (its headers are set): httpx would
        # wrap an async iterable in a one-pass stream, and each attempt must read it afresh.
        body: dict[str, Any] = (
            {"stream": call.content}
            if isinstance(call.content, MultipartBody)
            else {"content": call.content}
        )
        request = httpx.Request(
            call.method,
            call.target,
            headers=call.headers.httpx(),
            params=call.query,
            extensions={"timeout": timeout},
            **body,
        )
        if "host" not in request.headers:
            # `httpx.Request(stream=...)` skips the headers httpx adds itself, Host among them,
            # which HTTP/1.1 requires (a server answers 400, or hangs up, without it).
            request.headers["Host"] = request.url.netloc.decode("ascii")
        cookies = self.http.cookies
        if cookies.jar:
            # Cookies a server set (a CDN's, say) go back as httpx itself would send them.
            cookies.set_cookie_header(request)
        return request

    def _another_key_ready(self) -> bool:
        auth = self.auth
        return isinstance(auth, KeyPool) and auth.available > 0

    def secrets(self) -> tuple[str, ...]:
        """The secrets the auth may send, for scrubbing text built from responses."""
        return self.auth.secrets() if isinstance(self.auth, SecretHolder) else ()

    async def send(
        self, call: Call, operation: Operation | None = None
    ) -> APIResponse | EventStream | BinaryResponse:
        """Run one logical request to its result or its typed error: from the response
        cache when it holds the answer, else through the accounting middleware around the
        attempts; told to the observers when there are any."""
        if operation is None and self.observers:
            return await self._send_observed(call)
        state: RequestState = {"method": call.method, "path": call.path, "attempt": 0}
        cache = self.cache
        key = None
        if cache is not None and call.options.cache and call.stream != "bytes":
            key = cache.key(call.method, call.url, call.body)
            if key is not None:
                hit = await cache._lookup(key, call)
                if hit is not None:
                    return hit
                if call.stream:
                    state[RECORDER] = cache._recorder(key)
        if not (self._senders or self._result_observers):
            result = await self._timed(call, state, operation)
        else:
            state["body"] = call.body
            state["model"] = model_of(call.body) or call.options.deployment
            state["stream"] = call.stream
            state["tag"] = call.options.tag
            try:
                # Inside the try: a sender that refuses after another reserved something
                # still lets every observer see the end (with the refusal as the error).
                for middleware in self._senders:
                    await middleware.on_send(state)
                result = await self._timed(call, state, operation)
            except BaseException as exc:
                with anyio.CancelScope(shield=True):
                    for middleware in self._result_observers:
                        await middleware.on_result(state, None, exc)
                raise
            if not isinstance(result, EventStream):  # a stream's end goes to on_stream_end
                body = result if isinstance(result, APIResponse) else None
                for middleware in self._result_observers:
                    await middleware.on_result(state, body, None)
        if key is not None and cache is not None:
            if isinstance(result, APIResponse):
                await cache._keep(key, call, result)
            elif isinstance(result, EventStream):
                cache._opened(state[RECORDER], result)
        return result

    async def _timed(
        self, call: Call, state: RequestState, operation: Operation | None
    ) -> APIResponse | EventStream | BinaryResponse:
        timeouts = call.options.timeouts or self.timeouts
        if call.method == "POST" and not call.headers.has(b"idempotency-key"):
            key = call.options.idempotency_key
            if not key:
                call.headers.set_generated_key(new_idempotency_key())
            else:
                call.headers.set("Idempotency-Key", key)
        if call.stream or timeouts.total is None:
            return await self._attempts(call, timeouts, None, operation, state=state)
        attempts: list[dict[str, Any]] = []
        try:
            with anyio.fail_after(timeouts.total):
                return await self._attempts(call, timeouts, attempts, operation, state=state)
        except TimeoutError as exc:
            raise transport_error(
                TimeoutError(f"the total deadline of {timeouts.total} s passed"),
                method=call.method,
                path=call.path,
                url=call.url,
                attempts=attempts,
                secrets=self.secrets(),
            ) from exc

    async def _send_observed(self, call: Call) -> APIResponse | EventStream | BinaryResponse:
        """`send`, told to the observers: started, each attempt and wait, and the end (for a
        stream or a binary body, when it closes)."""
        observed = self.observed
        assert observed is not None
        operation = observed.begin(call, model_of(call.body) or call.options.deployment)
        try:
            result = await self.send(call, operation)
        except BaseException as exc:
            observed.failed(operation, exc)
            raise
        observed.returned(operation, result)
        return result

    async def _attempts(
        self,
        call: Call,
        timeouts: Timeouts,
        attempts: list[dict[str, Any]] | None = None,
        operation: Operation | None = None,
        *,
        state: RequestState,
    ) -> APIResponse | EventStream | BinaryResponse:
        retry = call.options.retry or self.retry
        attempts = [] if attempts is None else attempts
        endpoint = call.options.endpoint or endpoint_key(call.method, call.path)
        limits = _Limits(model_of(call.body) or call.options.deployment, retry.max_retry_after)
        attempt = 0
        while True:
            attempt += 1
            state["attempt"] = attempt
            record: dict[str, Any] = {"attempt": attempt}
            attempts.append(record)
            try:
                outcome = await self._attempt(
                    call, timeouts, state, record, endpoint, limits, operation
                )
            except (CircuitOpenError, RateLimitError) as exc:
                # Failed fast before sending (a 429 from the server is an outcome, not raised).
                if operation is not None and isinstance(exc, CircuitOpenError):
                    assert self.observed is not None
                    self.observed.refused(operation, exc, attempt)
                attempts.pop()
                exc.attempts = tuple(attempts)
                exc.method, exc.url = call.method, call.url
                raise
            if operation is not None:
                assert self.observed is not None
                self.observed.attempt_ended(
                    operation, record, outcome.exception, report=attempt > 1
                )
            if outcome.result is not None:
                return outcome.result
            wait: float | RetryStop | None = None
            if outcome.retryable:
                response = outcome.response
                headers = header_view(response) if response is not None else None
                wait = retry.next_attempt(attempt, headers, now_epoch=time.time())
                if (
                    response is not None
                    and response.status_code == 429
                    and attempt < retry.max_attempts
                    and self._another_key_ready()
                ):
                    # The pool cooled the limited key down; another key can go at once, and
                    # waiting out the limited key's Retry-After would only delay the answer.
                    wait = 0.0
                if (
                    response is not None
                    and response.status_code == 429
                    and not isinstance(wait, RetryStop)
                ):
                    # The server's Retry-After is authoritative for this retry: the limiter
                    # adds no learned wait of its own to the budget that answered 429.
                    asked = parse_retry_after(header_view(response), now_epoch=time.time())
                    limits.exempt = limits.last if asked is not None else None
            if (
                wait is not None
                and not isinstance(wait, RetryStop)
                and isinstance(call.content, MultipartBody)
                and not call.content.replayable
            ):
                wait = RetryStop("body_not_replayable", attempt)
            stop, delay = (wait, None) if isinstance(wait, RetryStop) else (None, wait)
            record["retry_in"] = delay
            if stop is not None:
                record["stopped"] = stop.reason
            self._log(call, record, failed=True)
            if delay is None:
                # A transport failure stays chained for debugging. Not chained: an SSEError,
                # which quotes the response body (the typed error carries it redacted), and a
                # local failure, whose message may quote a header value (a key).
                cause = outcome.exception
                raise self._error(call, outcome, attempts, stop) from (
                    None if _is_sse_error(cause) or is_local_failure(cause) else cause
                )
            if operation is not None:
                assert self.observed is not None
                self.observed.retrying(operation, record, outcome.exception, delay)
            if delay > 0:
                await self.clock.sleep(delay)

    async def _attempt(
        self,
        call: Call,
        timeouts: Timeouts,
        state: RequestState,
        record: dict[str, Any],
        endpoint: str,
        limits: _Limits,
        operation: Operation | None = None,
    ) -> _Outcome:
        breaker = self.circuit_breaker
        trial = False
        if breaker is not None:
            trial = breaker.admit(endpoint, method=call.method, url=call.url)
        verdict: bool | None = None
        permit: RateLimitPermit | None = None
        outcome = _Outcome()
        started = time.perf_counter()
        try:
            request: httpx.Request | None = None
            prepared = None
            if self.plain is not None:
                prepared = self.plain.prepare(call, self._timeout_dict(call, timeouts))
            if prepared is None:
                request = self._build_request(call, timeouts)
            if self.rate_limiter is not None:
                admit_now = self._admit_now
                permit = admit_now(limits.scope(None)) if admit_now is not None else None
                if permit is None:
                    permit = await self._acquire(call, request, limits)
                else:
                    limits.exempt = None  # as `_acquire`: an exemption covers one attempt
                record["waited"] = permit.waited
                if operation is not None and permit.waited:
                    assert self.observed is not None
                    self.observed.rate_limited(operation, record["attempt"], permit.waited)
            if request is not None:
                for middleware in self.middleware:
                    replaced = await middleware.on_request(request, state)
                    if replaced is not None:
                        request = replaced
            started = time.perf_counter()
            try:
                direct = self.direct
                if prepared is not None:
                    assert direct is not None
                    response = await direct.send_prepared(prepared)
                elif direct is not None:
                    assert request is not None
                    response = await direct.send(request, self.auth)
                else:
                    assert request is not None
                    response = await self.http.send(request, auth=self.auth, stream=True)
            except httpx.HTTPError as exc:
                verdict = _http_failure(outcome, record, exc)
                return outcome
            outcome.response = response
            headers = header_view(response)
            status = response.status_code
            success = 200 <= status < 300
            record["status"] = status
            record["request_id"] = request_id_of(headers)
            try:
                for middleware in self.middleware:
                    await middleware.on_response(response, state)
                if self.rate_limiter is not None:
                    label = request.extensions.get(KEY_LABEL) if request is not None else None
                    limits.last = limits.scope(label)
                    self.rate_limiter.observe(headers, scope=limits.last, permit=permit)
                if success and call.stream == "bytes":
                    # The body is the caller's to read, chunk by chunk: the handle owns the
                    # connection and the concurrency slot until it closes.
                    verdict = True
                    outcome.result = BinaryResponse(
                        response,
                        method=call.method,
                        url=call.url,
                        attempts=record["attempt"],
                        on_close=self._closer(permit, operation),
                    )
                    permit = None
                    self._log(call, record, failed=False, started=started)
                    return outcome
                if success and call.stream:
                    verdict = await self._open_stream(
                        call, timeouts, state, outcome, permit, operation
                    )
                    if outcome.result is not None:
                        permit = None  # the stream owns the slot until it closes
                        self._log(call, record, failed=False, started=started)
                    return outcome
                outcome.content = await _read_all(response, headers)
            except httpx.HTTPError as exc:
                verdict = _http_failure(outcome, record, exc)
                return outcome
            finally:
                if outcome.result is None:
                    stream = response.stream
                    if type(stream) is TimedStream and stream.close_finished(response):
                        # The body was read to its end and the connection given back:
                        # closing awaits nothing, and a shield would cost a cancel scope.
                        pass
                    else:
                        with anyio.CancelScope(shield=True):
                            await response.aclose()
            if success:
                verdict = True
                outcome.result = APIResponse(
                    status_code=status,
                    headers=headers,
                    content=outcome.content,
                    method=call.method,
                    url=call.url,
                    attempts=record["attempt"],
                )
                self._log(call, record, failed=False, started=started)
                return outcome
            # A 4xx proves the endpoint is up: only server failures count against the circuit.
            verdict = status < 500
            retry = call.options.retry or self.retry
            outcome.retryable = retry.should_retry_status(status, headers)
            return outcome
        finally:
            if "ms" not in record:  # a logged attempt has it already
                record["ms"] = round((time.perf_counter() - started) * 1000.0, 1)
            if permit is not None:
                permit.release()
            if breaker is not None:
                breaker.record(endpoint, verdict, trial=trial)

    async def _acquire(
        self, call: Call, request: httpx.Request | None, limits: _Limits
    ) -> RateLimitPermit:
        """Wait for the rate limiter in the request's scope (its model and, with a key pool,
        the key it will go out with)."""
        limiter = self.rate_limiter
        assert limiter is not None
        label = None
        if isinstance(self.auth, KeyPool):
            assert request is not None  # a key pool's requests take httpx's path
            label = request.extensions[KEY_LABEL] = self.auth.choose()
        scope = limits.scope(label)
        if limits.tokens is None and limiter.counts_tokens:
            limits.tokens = call.options.estimated_tokens or estimate_tokens(
                call.body, call.content if isinstance(call.content, bytes) else None
            )
        exempt = limits.exempt is not None and limits.exempt == scope
        limits.exempt = None
        return await limiter.acquire(
            limits.tokens or 1,
            scope=scope,
            max_wait=limits.max_wait,
            exempt=exempt,
            request=f"{call.method} {call.path}",
        )

    async def _open_stream(
        self,
        call: Call,
        timeouts: Timeouts,
        state: RequestState,
        outcome: _Outcome,
        permit: RateLimitPermit | None,
        operation: Operation | None = None,
    ) -> bool:
        """Open the event source and read its first batch, so that a stream that breaks before
        its first event is retried like any failed request. Returns the circuit verdict."""
        # Loaded with the first stream, not with the client; a plain import, since importing
        # names from a package runs a Python step per stream.
        import streaming

        assert outcome.response is not None
        source: EventSource = streaming.EventSource(
            outcome.response, idle_timeout=timeouts.stream_idle, deadline=timeouts.stream_total
        )
        try:
            first = await source.next_batch()
        except streaming.SSEError as exc:  # a 2xx that is not an event stream: retrying won't help
            await source.aclose()
            outcome.exception = exc
            return True
        except (streaming.StreamingError, httpx.HTTPError) as exc:
            await source.aclose()
            outcome.exception = exc
            outcome.retryable = True
            return False
        except BaseException:
            await source.aclose()
            raise
        observers, enders = self._observers, self._enders
        recorder = state.get(RECORDER)
        if recorder is not None:
            # The response cache keeps this stream's events, to store it if it ends whole.
            observers, enders = (*observers, recorder), (*enders, recorder)
        outcome.result = EventStream(
            source,
            first_batch=first,
            state=state,
            observers=observers,
            enders=enders,
            on_close=permit.release if permit is not None else _nothing,
            operation=operation,
            observed=self.observed if operation is not None else None,
        )
        if operation is not None:
            assert self.observed is not None
            self.observed.first_chunk(operation)
        return True

    def _closer(
        self, permit: RateLimitPermit | None, operation: Operation | None
    ) -> Callable[[], None] | None:
        """What a binary body calls when it closes."""
        release = permit.release if permit is not None else None
        if operation is None or self.observed is None:
            return release
        return self.observed.closer(release, operation)

    def _error(
        self,
        call: Call,
        outcome: _Outcome,
        attempts: list[dict[str, Any]],
        stop: RetryStop | None,
    ) -> OpenAIErgoError:
        response = outcome.response
        exc = outcome.exception
        if response is not None and not response.is_success:
            return status_error(
                response,
                outcome.content,
                method=call.method,
                path=call.path,
                url=call.url,
                attempts=attempts,
                secrets=self.secrets(),
                stopped=stop,
            )
        if call.stream and response is not None and _is_sse_error(exc):
            return APIStatusError(
                f"{call.method} {call.path} answered {response.status_code} with content type "
                f"{getattr(exc, 'content_type', '') or 'none'!r} instead of an event stream.",
                status_code=response.status_code,
                request_id=request_id_of(response.headers),
                headers=response.headers,
                body=redact_value(getattr(exc, "body", None), self.secrets()),
                method=call.method,
                url=call.url,
                attempts=attempts,
            )
        assert exc is not None
        if is_local_failure(exc):
            return local_error(exc, method=call.method, path=call.path, secrets=self.secrets())
        return transport_error(
            exc,
            method=call.method,
            path=call.path,
            url=call.url,
            attempts=attempts,
            secrets=self.secrets(),
            stopped=stop,
        )

    def _log(
        self, call: Call, record: dict[str, Any], *, failed: bool, started: float | None = None
    ) -> None:
        if started is not None:
            record["ms"] = round((time.perf_counter() - started) * 1000.0, 1)
        if not logging_configured():
            return
        log_event(
            LOG_EVENT,
            self.secrets(),
            failed=failed,
            method=call.method,
            path=call.path,
            stream=call.stream,
            **record,
        )
