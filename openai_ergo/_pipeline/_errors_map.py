"""The one boundary where HTTP statuses and httpx exceptions become `openai_ergo` errors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

import httpx
import msgspec

from openai_ergo._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from openai_ergo._pipeline._logging import redact_text, redact_value
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


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def status_error(
    response: httpx.Response,
    content: bytes,
    *,
    method: str,
    path: str,
    url: str,
    attempts: Sequence[Mapping[str, Any]],
    secrets: Iterable[str],
) -> APIStatusError:
    """The typed error for a non-2xx response, its message one readable sentence."""
    status = response.status_code
    headers = response.headers
    request_id = headers.get("x-request-id")
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
    elif isinstance(error, str):
        message = error
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
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
    if len(attempts) > 1:
        sentence += f" after {len(attempts)} attempts"
    cls = _STATUS_CLASSES.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return cls(
        sentence + ".",
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
    if len(attempts) > 1:
        sentence += f" after {len(attempts)} attempts"
    cls = APITimeoutError if timed_out else APIConnectionError
    return cls(sentence + ".", method=method, url=url, attempts=attempts)
