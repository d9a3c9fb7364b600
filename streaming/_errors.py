"""The errors of `streaming`, rooted at `StreamingError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from ._event import ServerSentEvent

__all__ = [
    "DeadlineExceededError",
    "IdleTimeoutError",
    "ReconnectError",
    "SSEError",
    "SSELimitError",
    "StreamTimeoutError",
    "StreamingError",
]

_EXCERPT_IN_MESSAGE = 200


class StreamingError(Exception):
    """The root of every error `streaming` raises on purpose."""


@final
class SSEError(StreamingError):
    """The response is not an event stream: a non-2xx status or a wrong content type.

    Carries the `status_code`, the `content_type` the server sent (`""` when none), the request
    `method` and `url` (without its query string, which may carry credentials) and `body`, an
    excerpt of at most a few KiB of the response body decoded as UTF-8.
    """

    def __init__(
        self,
        *,
        status_code: int,
        content_type: str,
        body: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        self.status_code = status_code
        self.content_type = content_type
        self.body = body
        self.method = method
        self.url = url
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        target = f"{self.method} {self.url}".strip() or "the request"
        if not 200 <= self.status_code < 300:
            problem = f"answered HTTP {self.status_code}"
        else:
            problem = "answered with content type " + (
                repr(self.content_type) if self.content_type else "none"
            )
        excerpt = " ".join(self.body.split())
        if len(excerpt) > _EXCERPT_IN_MESSAGE:
            excerpt = excerpt[:_EXCERPT_IN_MESSAGE] + "…"
        said = f"; the body says: {excerpt}" if excerpt else ""
        return f"{target} {problem}, so it is not a text/event-stream{said}"


@final
class SSELimitError(StreamingError, ValueError):
    """A line or an event grew past its configured bound.

    `limit` names the option (`"max_line_size"` or `"max_event_size"`), `value` is its value in
    bytes and `size` the size reached when the stream was stopped. Nothing is lost: `events`
    holds the events completed by the same read before the bound was hit.
    """

    def __init__(
        self, *, limit: str, value: int, size: int, events: Sequence[ServerSentEvent] = ()
    ) -> None:
        self.limit = limit
        self.value = value
        self.size = size
        self.events: tuple[ServerSentEvent, ...] = tuple(events)
        what = "a line" if limit == "max_line_size" else "an event's data"
        super().__init__(
            f"{what} reached {size} bytes, over {limit}={value}; raise {limit} if the server's "
            "events are legitimately this large"
        )


class StreamTimeoutError(StreamingError, TimeoutError):
    """A stream took too long: see `IdleTimeoutError` and `DeadlineExceededError`.

    `timeout` is the configured number of seconds that ran out.
    """

    def __init__(self, message: str, *, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout


@final
class IdleTimeoutError(StreamTimeoutError):
    """No bytes at all (not even a comment) arrived for `idle_timeout` seconds."""


@final
class DeadlineExceededError(StreamTimeoutError):
    """The stream was still open `deadline` seconds after it was opened."""


@final
class ReconnectError(StreamingError):
    """The connection dropped and every reconnection attempt failed.

    `attempts` is how many reconnections were tried and `last_event_id` the id they resumed
    from; the last failure is chained as `__cause__`.
    """

    def __init__(self, message: str, *, attempts: int, last_event_id: str) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_event_id = last_event_id
