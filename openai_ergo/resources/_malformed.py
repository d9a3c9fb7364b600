"""A stream event that is not what the server promised, as a typed error quoting it.

The event is quoted (bounded, secrets removed) next to the decoder's message, which names the
field: enough to see at once whether the server, a proxy in front of it, or the request is at
fault. Bodies of plain responses get the same treatment from `APIResponse.decode`.
"""

from __future__ import annotations

import msgspec

from openai_ergo._errors import StreamInterruptedError
from openai_ergo._pipeline._logging import excerpt, redact_text

__all__ = ["DecodeFailure", "malformed_event_error"]

#: What a decoder raises for data that is not JSON, or not of the expected shape.
DecodeFailure = (msgspec.DecodeError, msgspec.ValidationError)


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
