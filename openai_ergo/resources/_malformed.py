"""What the server sent that is not what it promised, as typed errors that show an excerpt of it.

A body or event that does not decode is quoted in the error (bounded, secrets removed) next to
the decoder's message, which names the field (`$.output[0].content`): enough to see at once
whether the server, a proxy in front of it, or the request is at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import httpx
import msgspec

from openai_ergo._errors import APIResponseValidationError, StreamInterruptedError
from openai_ergo._pipeline._logging import redact_text

if TYPE_CHECKING:
    from openai_ergo._response import APIResponse

__all__ = ["decode_body", "excerpt", "malformed_event_error"]

T = TypeVar("T")

#: How much of a bad body or event an error quotes.
EXCERPT_CHARS = 160

DecodeFailure = (msgspec.DecodeError, msgspec.ValidationError)


def excerpt(data: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """The start of `data` as text on one line, at most `limit` characters, secrets removed."""
    if isinstance(data, bytes):
        # Decode a little more than is shown: a cut multi-byte character becomes U+FFFD.
        data = data[: limit * 4].decode("utf-8", errors="replace")
    text = " ".join(data.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    # Redact after cutting, so a key cut in two by the limit is still caught by its prefix.
    return redact_text(text)


def decode_body(reply: APIResponse, decode: Callable[[bytes], T], what: str) -> T:
    """`reply`'s body decoded by `decode`, or `APIResponseValidationError` naming what was
    wrong when it is not JSON or not a `what`."""
    try:
        return decode(reply.content)
    except DecodeFailure as exc:
        raise _body_error(reply, exc, what) from exc


def _body_error(reply: APIResponse, exc: Exception, what: str) -> APIResponseValidationError:
    body = excerpt(reply.content)
    reason = redact_text(str(exc))
    request_id = reply.request_id
    path = httpx.URL(reply.url).path
    sentence = (
        f"{reply.method} {path} answered {reply.status_code} with a body that is not "
        f"a valid {what}: {reason}"
    )
    if request_id:
        sentence += f" (request {request_id})"
    sentence += f"; the body begins {body!r}" if body else "; the body is empty"
    return APIResponseValidationError(
        sentence + ".",
        status_code=reply.status_code,
        request_id=request_id,
        body=body,
        reason=reason,
        method=reply.method,
        url=reply.url,
    )


def malformed_event_error(
    data: str, exc: Exception, *, received: int, request_id: str | None
) -> StreamInterruptedError:
    """The error for a stream event whose data does not decode, after `received` good ones
    (`partial` and `events` are filled in by the stream that raises it)."""
    error = StreamInterruptedError(
        f"the server sent an event that is not valid after {received} good "
        f"{'event' if received == 1 else 'events'}: {redact_text(str(exc))}; "
        f"its data begins {excerpt(data)!r}",
        request_id=request_id,
    )
    error.__cause__ = exc
    return error
