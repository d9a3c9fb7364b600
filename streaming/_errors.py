"""The errors of `streaming`, rooted at `StreamingError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from ._event import ServerSentEvent

__all__ = [
    "DeadlineExceededError",
    "IdleTimeoutError",
    "PongTimeoutError",
    "ReconnectError",
    "SSEError",
    "SSELimitError",
    "StreamTimeoutError",
    "StreamingError",
    "WebSocketClosedError",
    "WebSocketConnectError",
    "WebSocketHandshakeError",
    "WebSocketLimitError",
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
    """The stream went quiet for `idle_timeout` seconds.

    On an event stream: no bytes at all (not even a comment) arrived. On a WebSocket: no message
    data arrived while a message was awaited (pings and pongs do not count: servers send them on
    their own, which would hide an application that hangs).
    """


@final
class PongTimeoutError(StreamTimeoutError):
    """A WebSocket sent a ping after `ping_interval` seconds of silence, and nothing at all came
    back within `pong_timeout` seconds: the connection is presumed dead."""


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


@final
class WebSocketConnectError(StreamingError, ConnectionError):
    """A WebSocket connection could not be opened: the name did not resolve, the connection was
    refused or timed out, or TLS failed. `url` is the address without its query string; the
    cause is chained as `__cause__`."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


@final
class WebSocketHandshakeError(StreamingError):
    """The server answered the WebSocket upgrade with a plain HTTP response.

    Carries the `status_code`, the response `headers` (names lower-cased), `body` (an excerpt of
    at most a few KiB, decoded as UTF-8) and `url` (without its query string, which may carry
    credentials).
    """

    def __init__(
        self, *, status_code: int, headers: dict[str, str], body: str = "", url: str = ""
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body
        self.url = url
        excerpt = " ".join(body.split())
        if len(excerpt) > _EXCERPT_IN_MESSAGE:
            excerpt = excerpt[:_EXCERPT_IN_MESSAGE] + "…"
        said = f"; the body says: {excerpt}" if excerpt else ""
        super().__init__(
            f"{url or 'the server'} refused the WebSocket upgrade with HTTP {status_code}{said}"
        )


#: Close codes that end a WebSocket's messages cleanly, as the websockets library reads them:
#: normal closure, going away, and a close frame without a code.
NORMAL_CLOSE_CODES = frozenset({1000, 1001, 1005})

_CLOSE_CODE_NAMES = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status code",
    1006: "the connection dropped without a close frame",
    1007: "invalid message data",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
    1015: "TLS handshake failure",
}


@final
class WebSocketClosedError(StreamingError):
    """A WebSocket closed with a code that is not a normal closure, or dropped without a close
    frame (`code` 1006). Also raised by a send on a closed connection.

    `code` and `reason` are what the close frame said (`reason` is `""` when it said nothing);
    `by_server` tells who closed. Messages that arrived complete before the close were all
    handed over before this error.
    """

    def __init__(self, *, code: int, reason: str = "", by_server: bool = True) -> None:
        self.code = code
        self.reason = reason
        self.by_server = by_server
        name = _CLOSE_CODE_NAMES.get(code, "an application-defined code")
        who = "the server" if by_server else "this side"
        said = f": {reason}" if reason else ""
        super().__init__(f"the WebSocket was closed by {who} with code {code} ({name}){said}")


@final
class WebSocketLimitError(StreamingError, ValueError):
    """A WebSocket message grew past `max_message_size`.

    `limit` names the option, `value` is its value in bytes and `size` the size reached when the
    connection was closed (with code 1009, "message too big"). The messages completed before it
    were handed over first.
    """

    def __init__(self, *, limit: str, value: int, size: int) -> None:
        self.limit = limit
        self.value = value
        self.size = size
        super().__init__(
            f"a WebSocket message reached {size} bytes, over {limit}={value}; raise {limit} if "
            "the server's messages are legitimately this large"
        )
