"""One exception hierarchy for the whole client, rooted at `OpenAIErgoError`.

Exceptions are mapped at one boundary (the request pipeline): nothing from httpx, anyio or
`streaming` escapes a public call untranslated. Every message is one sentence a person can act
on, and none of them ever contains a secret: the pipeline builds them from redacted values.
"""

from __future__ import annotations

# Not `typing.TYPE_CHECKING`: `import openai_ergo` loads this module, and importing `typing`
# alone would cost more than the rest of the import (type checkers read any `TYPE_CHECKING`).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "CircuitOpenError",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "InvalidRequestError",
    "InvalidWebhookSignatureError",
    "NotFoundError",
    "OpenAIErgoError",
    "OutputParseError",
    "PermissionDeniedError",
    "RateLimitError",
    "RealtimeClosedError",
    "RealtimeEventError",
    "RedisCommandError",
    "RedisUnavailableError",
    "RefusalError",
    "ResponseFailedError",
    "ResponseIncompleteError",
    "StreamError",
    "StreamEventError",
    "StreamIdleTimeoutError",
    "StreamInterruptedError",
    "StreamNotFinishedError",
    "ToolError",
    "TruncatedOutputError",
    "TruncatedResponseError",
    "UnprocessableEntityError",
    "WaitTimeoutError",
    "WebhookError",
]


class OpenAIErgoError(Exception):
    """The root of every error this library raises on purpose."""


class ConfigurationError(OpenAIErgoError):
    """The client was configured in a way that cannot work (for example, no API key).

    The message names the argument or environment variable to set.
    """


class InvalidRequestError(OpenAIErgoError, ValueError):
    """A request was rejected before anything was sent: a value out of range, or options
    that exclude each other. `param` names the offending field."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class APIError(OpenAIErgoError):
    """An error while talking to the API; carries the method and URL of the request."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        attempts: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url
        #: One record per attempt the retry policy made (status or error, wait), oldest first.
        self.attempts: tuple[Mapping[str, Any], ...] = tuple(attempts)

    def __str__(self) -> str:
        return self.message


class APIConnectionError(APIError):
    """The request never got an HTTP response: DNS, connect, TLS, or the peer hung up."""


class APITimeoutError(APIConnectionError):
    """A connect, read, write, pool or total-deadline timeout expired."""


class CircuitOpenError(APIError):
    """The circuit breaker for this endpoint is open: failing fast instead of calling it.

    `retry_at` is the monotonic-clock time (seconds) when it half-opens.
    """

    def __init__(self, message: str, *, endpoint: str, retry_at: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.endpoint = endpoint
        self.retry_at = retry_at


class APIResponseValidationError(APIError):
    """The API answered 2xx with a body that is not the object it promises: not JSON, or a field
    of the wrong shape. Carries `status_code`, `request_id`, `body` (an excerpt, secrets
    removed) and `reason`, the decoder's message naming the field (`$.output[0].content`)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        body: str = "",
        reason: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code
        self.request_id = request_id
        self.body = body
        self.reason = reason


class APIStatusError(APIError):
    """The API answered with a non-2xx status.

    Carries what OpenAI's error body says (`type`, `code`, `param`, message), the request id,
    the response headers, and the raw body (an excerpt of it when it was not JSON).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        method: str | None = None,
        url: str | None = None,
        attempts: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message, method=method, url=url, attempts=attempts)
        self.status_code = status_code
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.headers: Mapping[str, str] = dict(headers or {})
        self.body = body


class BadRequestError(APIStatusError):
    """400: the request was malformed or named something that does not exist."""


class AuthenticationError(APIStatusError):
    """401: the API key or token is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but may not use this resource."""


class NotFoundError(APIStatusError):
    """404: no such endpoint, model or object."""


class ConflictError(APIStatusError):
    """409: the object changed under the request."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but could not be processed."""


class RateLimitError(APIStatusError):
    """429: a rate limit or quota was hit; `headers` holds the `x-ratelimit-*` values.

    The rate limiter raises it too, before sending anything (`client_side` is then true), when
    a budget the server reported would need a wait longer than it may sleep: `scope` names the
    budget (model, key), `retry_after` is the wait in seconds and `reset_at` the time (seconds
    since the epoch) the server said the budget is full again.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        scope: str | None = None,
        retry_after: float | None = None,
        reset_at: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, status_code=status_code, **kwargs)
        self.scope = scope
        self.retry_after = retry_after
        self.reset_at = reset_at
        #: Raised by the client's rate limiter: the request was never sent.
        self.client_side = scope is not None


class InternalServerError(APIStatusError):
    """5xx: the API failed; retried by default before this is raised."""


class StreamError(OpenAIErgoError):
    """A stream ended badly after it started. Nothing is lost: `partial` is the aggregate of
    everything received so far (the library's typed object, or `None` before the first event)
    and `events` are the events received so far, in order."""

    def __init__(
        self,
        message: str,
        *,
        partial: Any = None,
        events: Sequence[Any] = (),
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial
        self.events: tuple[Any, ...] = tuple(events)
        self.request_id = request_id


class StreamIdleTimeoutError(StreamError):
    """No bytes arrived for longer than the stream idle timeout (or the total deadline passed)."""


class StreamInterruptedError(StreamError):
    """The connection broke mid-stream, or the server sent bytes that are not a valid event."""


class StreamNotFinishedError(OpenAIErgoError, RuntimeError):
    """`final()` was asked of a stream before its end: inside the block, `await
    stream.until_done()` reads the rest; after an early exit, `stream.partial` is what arrived."""


class StreamEventError(StreamError):
    """The server reported an error inside the stream (an `error` event, or an `error` payload in
    a chat chunk). Carries the error's `type`, `code` and `param` as the API sent them."""

    def __init__(
        self,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.type = type
        self.code = code
        self.param = param


class ResponseFailedError(StreamEventError):
    """A Responses stream ended with `response.failed`; `partial` is the failed response."""


class ResponseIncompleteError(StreamEventError):
    """A Responses stream ended with `response.incomplete` (for example `max_output_tokens`);
    `partial` is the incomplete response and `reason` says why."""

    def __init__(self, message: str, *, reason: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason


class OutputParseError(OpenAIErgoError):
    """Structured output could not be decoded into the requested type; `text` is what came."""

    def __init__(self, message: str, *, text: str | None = None, result: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        #: The full response or completion the text came from.
        self.result = result


class RefusalError(OutputParseError):
    """The model refused to answer; `refusal` is its explanation."""

    def __init__(self, message: str, *, refusal: str, result: Any = None) -> None:
        super().__init__(message, text=None, result=result)
        self.refusal = refusal


class TruncatedOutputError(OutputParseError):
    """The output stopped early (token limit or content filter) so it cannot be parsed."""


class TruncatedResponseError(ResponseIncompleteError, TruncatedOutputError):
    """A structured-output Responses stream ended with `response.incomplete`: the same
    `TruncatedOutputError` the awaited `.parse()` raises (`text`, `result`), and the
    `ResponseIncompleteError` any Responses stream raises (`partial`, `events`, `reason`), so
    either `except` catches it."""

    def __init__(
        self, message: str, *, text: str | None = None, result: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.text = text
        self.result = result


class ToolError(OpenAIErgoError):
    """The tool loop could not go on: an unknown tool name, or `max_steps` reached."""


class WaitTimeoutError(OpenAIErgoError, TimeoutError):
    """A workflow's wait (a batch job, a vector store indexing, a fine-tuning job) ran out of
    its deadline, on the client's clock, before the job finished.

    `what` names the job (`vector store vs_...`), `state` is the state it was last seen in
    (`in_progress`, `running`, ...), `detail` what else that reading said (file or request
    counts, the job's last event), `waited` the seconds spent and `last` the last typed reading
    (a `VectorStoreObject`, a `FineTuningJob`, a batch job's list of `Batch`), for a caller who
    wants to look closer or wait again."""

    def __init__(
        self, message: str, *, what: str, state: str, detail: str, waited: float, last: Any
    ) -> None:
        super().__init__(message)
        self.what = what
        self.state = state
        self.detail = detail
        self.waited = waited
        self.last = last


class WebhookError(OpenAIErgoError, ValueError):
    """A webhook delivery could not be accepted. `reason` says why in a word or two:
    `missing header`, `bad timestamp`, `too old`, `too new`, `no match` (the signature
    checks, as `InvalidWebhookSignatureError`) or `bad payload` (a verified body that is not
    an event)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidWebhookSignatureError(WebhookError):
    """A webhook delivery failed its signature check (the official SDK's name): a header
    missing, a timestamp outside the tolerance, or no signature that matches. Do not act on
    it; answer it with a 4xx."""


class BudgetExceededError(OpenAIErgoError):
    """A `Budget` refused a request before it was sent: its estimated cost would take the
    spending past the limit for the period. Nothing was sent.

    `limit`, `spent` (counted and reserved so far in this period) and `estimate` are in US
    dollars (`Decimal`); `resets_at` is when the period ends (epoch seconds, None for a budget
    without a period).
    """

    def __init__(
        self,
        message: str,
        *,
        limit: Any,
        spent: Any,
        estimate: Any,
        resets_at: float | None,
        model: str | None,
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.spent = spent
        self.estimate = estimate
        self.resets_at = resets_at
        self.model = model


# -- WebSocket sessions (the Realtime API, Responses over WebSocket) ------------------------------


class RealtimeEventError(StreamEventError):
    """The server sent an `error` event on a WebSocket session (a refused client event, a
    response that failed). `event` is the typed event as it arrived (`error.type`, `code`,
    `param`, and `event_id`: the client event it answers); `events` the events the response
    in progress had received. The session stays open: the API goes on after most errors."""

    def __init__(self, message: str, *, event: Any, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.event = event


class RealtimeClosedError(StreamInterruptedError):
    """A WebSocket session's connection closed with a code that is not a normal closure, or
    dropped without a close frame (`code` 1006). `code` and `reason` are the close frame's;
    `events` and `partial` keep what the response in progress had received (its text so far)."""

    def __init__(self, message: str, *, code: int, reason: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code
        self.reason = reason


# -- Redis (shared limits and state) ----------------------------------------------------------


class RedisUnavailableError(OpenAIErgoError):
    """Redis (shared limits and state) did not answer in time or could not be reached.

    `url` is the server's URL with any password masked. Limiters and stores built on Redis
    catch it and go on locally; it reaches the caller only where no fallback was configured.
    """

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class RedisCommandError(OpenAIErgoError):
    """Redis answered a command with an error (a key of the wrong type, a script that failed):
    the server is up, so this is no outage. `url` has any password masked."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url
