"""The one boundary where HTTP statuses and httpx exceptions become `openai_ergo` errors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypeGuard

import httpx
import msgspec

from openai_ergo._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    OpenAIErgoError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from openai_ergo._pipeline._auth import header_value_problem
from openai_ergo._pipeline._logging import redact_text, redact_value
from openai_ergo._pipeline._request_id import request_id_of
from openai_ergo._pipeline._retry import RetryStop
from openai_ergo._transport._network import describe_failure

_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_EXCERPT = 200
#: Validation errors quoted in an error's message; the rest stay in `err.body`.
_SHOWN_VALIDATION_ERRORS = 3
_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


def _excerpt(content: bytes, content_type: str) -> str:
    text = content.decode("utf-8", errors="replace")
    if "html" in content_type or text.lstrip()[:1] == "<":
        text = _TAG.sub(" ", text)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _ending(attempts: Sequence[Mapping[str, Any]], stopped: RetryStop | None) -> str:
    """How a message ends: how many attempts were made, and why the retry policy stopped when
    the server asked for a longer wait than it allows (a spent quota, a long outage)."""
    tried = f" after {len(attempts)} attempts" if len(attempts) > 1 else ""
    if stopped is None or stopped.cause == "attempts_used_up":
        return tried + "."
    again = " again" if tried else ""
    return f"{tried}; not retried{again}: {stopped.reason}."


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _validation_errors(items: list[Any]) -> str | None:
    """FastAPI's 422 `detail` list as text: `body.messages.1.content: Field required; ...`."""
    texts: list[str] = []
    for item in items:
        text = None
        if isinstance(item, dict):
            msg = item.get("msg") or item.get("message")
            loc = item.get("loc")
            where = ".".join(str(part) for part in loc) if isinstance(loc, list) else None
            text = f"{where}: {msg}" if where and msg else _str_or_none(msg)
        elif isinstance(item, str):
            text = item
        if text:
            texts.append(text)
    if len(texts) > _SHOWN_VALIDATION_ERRORS:
        more = len(texts) - _SHOWN_VALIDATION_ERRORS
        texts = [*texts[:_SHOWN_VALIDATION_ERRORS], f"and {more} more in err.body"]
    return "; ".join(texts) or None


def _message_of(body: Any, *, nested: bool = False) -> str | None:
    """The message of an error body that is not OpenAI's `{"error": {"message": ...}}`: the
    shapes compatible servers send are a string `error`, a top-level `message`, and FastAPI's
    `detail` (a string, a list of validation errors, or an object holding one of these)."""
    if not isinstance(body, dict):
        return None
    for key in ("error", "message"):
        if isinstance(body.get(key), str):
            text: str = body[key]
            return text
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return _validation_errors(detail)
    if isinstance(detail, dict) and not nested:
        inner = detail.get("error")
        if isinstance(inner, dict):
            return _message_of(inner, nested=True)
        return _message_of(detail, nested=True)
    return None


def status_error(
    response: httpx.Response,
    content: bytes,
    *,
    method: str,
    path: str,
    url: str,
    attempts: Sequence[Mapping[str, Any]],
    secrets: Iterable[str],
    stopped: RetryStop | None = None,
) -> APIStatusError:
    """The typed error for a non-2xx response, its message one readable sentence."""
    status = response.status_code
    headers = response.headers
    request_id = request_id_of(headers)
    body: Any = None
    message = type_ = code = param = None
    try:
        body = msgspec.json.decode(content) if content else None
    except msgspec.DecodeError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = _str_or_none(error.get("message"))
        type_ = _str_or_none(error.get("type"))
        code = _str_or_none(error.get("code"))
        param = _str_or_none(error.get("param"))
    else:
        message = _message_of(body)
    if body is None and content:
        body = _excerpt(content, headers.get("content-type", ""))
        message = f"the server sent a non-JSON body: {body!r}" if body else None
    secrets = tuple(secrets)
    if message is not None:
        message = redact_text(message.strip().rstrip("."), secrets)
    details = [f"code {code}" if code else None, f"request {request_id}" if request_id else None]
    detail = ", ".join(d for d in details if d)
    sentence = f"{method} {path} failed with {status} {_reason(status)}"
    if message:
        sentence += f": {message}"
    if detail:
        sentence += f" ({detail})"
    cls = _STATUS_CLASSES.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return cls(
        sentence + _ending(attempts, stopped),
        status_code=status,
        type=type_,
        code=code,
        param=param,
        request_id=request_id,
        headers=headers,
        # The body may echo what was sent (a proxy quoting the Authorization header, say).
        body=redact_value(body, secrets) if isinstance(body, dict | list | str) else None,
        method=method,
        url=url,
        attempts=attempts,
    )


def transport_error(
    exc: BaseException,
    *,
    method: str,
    path: str,
    url: str,
    attempts: Sequence[Mapping[str, Any]],
    secrets: Iterable[str],
    stopped: RetryStop | None = None,
) -> APIConnectionError:
    """`APITimeoutError` for httpx timeouts and total deadlines, `APIConnectionError` else."""
    timed_out = isinstance(exc, httpx.TimeoutException | TimeoutError)
    kind = type(exc).__name__
    what = str(exc)
    if not what or what == kind:
        # httpx's own transport often raises with no message (httpcore maps anyio's and trio's
        # nameless errors); the errno or SSL reason is down the cause chain.
        what = describe_failure(exc)[0] if exc.__cause__ or exc.__context__ else kind
    what = redact_text(what, tuple(secrets))
    verb = "timed out" if timed_out else "could not reach the server"
    sentence = f"{method} {path} {verb} ({kind}: {what})"
    cls = APITimeoutError if timed_out else APIConnectionError
    return cls(sentence + _ending(attempts, stopped), method=method, url=url, attempts=attempts)


def is_local_failure(exc: BaseException | None) -> TypeGuard[httpx.TransportError]:
    """Whether a request failed on our side before it left: a header value with a line break,
    a URL whose scheme no transport serves. httpx files both under `TransportError`, but
    retrying cannot fix them and they say nothing about the server."""
    return isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol)


def local_error(
    exc: httpx.TransportError, *, method: str, path: str, secrets: Iterable[str]
) -> OpenAIErgoError:
    """The error for a local failure: `ConfigurationError` for a URL no transport serves,
    `InvalidRequestError` naming the header (never its value) a transport refused to send."""
    try:
        request: httpx.Request | None = exc.request
    except RuntimeError:  # raised before httpx knew the request
        request = None
    if isinstance(exc, httpx.UnsupportedProtocol):
        scheme = f" (it has {request.url.scheme!r})" if request and request.url.scheme else ""
        return ConfigurationError(
            f"{method} {path} was not sent: its URL must start with http:// or https://{scheme}."
        )
    for name, value in request.headers.raw if request is not None else ():
        problem = header_value_problem(value.decode("latin-1"))
        if problem is not None:
            header = name.decode("latin-1")
            return InvalidRequestError(
                f"{method} {path} was not sent: the value of its {header} header contains "
                f"{problem}; remove it (a value read from a file often keeps its final newline).",
                param=header,
            )
    what = redact_text(str(exc), tuple(secrets)) or type(exc).__name__
    return InvalidRequestError(f"{method} {path} was not sent: {what}.")
