"""Ways the mock misbehaves on purpose, chosen per request (a header) or ahead of time (a queue).

The header form reads like the value of `Cache-Control`: `x-mock-fault: disconnect; after=3`.
"""

from __future__ import annotations

import threading
from collections import deque
from http import HTTPStatus
from typing import Any, Literal, final, get_args

import msgspec

__all__ = ["Fault", "FaultKind"]

#: Every way the mock can fail a request.
FaultKind = Literal[
    "rate_limit", "server_error", "hang", "idle", "disconnect", "malformed", "error_event", "html"
]
_KINDS: tuple[str, ...] = get_args(FaultKind)
#: Faults that strike after some events of a stream rather than instead of the response.
MID_STREAM: frozenset[str] = frozenset({"idle", "disconnect", "malformed", "error_event"})

_DEFAULT_STATUS = {"rate_limit": 429, "server_error": 500, "html": 502}


@final
class Fault(msgspec.Struct, frozen=True, kw_only=True):
    """One failure to inject. Build it with the class methods, e.g. `Fault.rate_limit()`.

    - `rate_limit`: 429 with `Retry-After` and `x-ratelimit-*` headers.
    - `server_error`: 500 (or `status`, e.g. 503) with OpenAI's error body.
    - `hang`: no response headers at all, for `seconds` (default: until the client gives up).
    - `idle`: a stream that goes silent after `after` events.
    - `disconnect`: the connection closes after `after` events, mid-body.
    - `malformed`: event number `after` carries truncated JSON; the stream then goes on.
    - `error_event`: an error inside the stream after `after` events (Responses `error`,
      chat `{"error": ...}`), then the stream ends.
    - `html`: a proxy's HTML error page (`status`, default 502) instead of JSON.

    Mid-stream faults on a non-streamed request act on the body the same way where they can
    (disconnect half-way, idle before the body, truncated JSON); `error_event` becomes a 500.
    """

    kind: FaultKind
    status: int | None = None
    retry_after: float | None = None
    after: int = 5
    seconds: float | None = None
    code: str | None = None
    message: str | None = None

    @classmethod
    def rate_limit(cls, *, retry_after: float = 1.0) -> Fault:
        """429 Too Many Requests, asking the client to wait `retry_after` seconds."""
        return cls(kind="rate_limit", status=429, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500, *, retry_after: float | None = None) -> Fault:
        """A 5xx answer with OpenAI's JSON error body (503 says the engine is overloaded)."""
        return cls(kind="server_error", status=status, retry_after=retry_after)

    @classmethod
    def hang(cls, seconds: float | None = None) -> Fault:
        """Accept the request and send nothing: no status, no headers."""
        return cls(kind="hang", seconds=seconds)

    @classmethod
    def idle(cls, *, after: int = 5, seconds: float | None = None) -> Fault:
        """Start streaming, then go silent after `after` events."""
        return cls(kind="idle", after=after, seconds=seconds)

    @classmethod
    def disconnect(cls, *, after: int = 5) -> Fault:
        """Close the connection after `after` events, without ending the body."""
        return cls(kind="disconnect", after=after)

    @classmethod
    def malformed(cls, *, after: int = 5) -> Fault:
        """Send truncated JSON as event number `after` (counting from zero)."""
        return cls(kind="malformed", after=after)

    @classmethod
    def error_event(
        cls,
        *,
        after: int = 5,
        code: str = "server_error",
        message: str = "The server had an error while processing your request. Sorry about that!",
    ) -> Fault:
        """Report an error inside the stream after `after` events, then end it."""
        return cls(kind="error_event", after=after, code=code, message=message)

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """Answer with an HTML error page, as a proxy or load balancer does."""
        return cls(kind="html", status=status)

    @classmethod
    def parse(cls, text: str) -> Fault:
        """Read the header form: `kind; key=value; ...` (keys: status, retry_after, after,
        seconds, code, message). Raises ValueError naming what is wrong."""
        kind, *params = (part.strip() for part in text.split(";"))
        if kind not in _KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(_KINDS)}")
        values: dict[str, Any] = {}
        for param in filter(None, params):
            name, sep, raw = param.partition("=")
            name, raw = name.strip(), raw.strip()
            if not sep:
                raise ValueError(f"fault parameter {param!r} needs the form name=value")
            try:
                if name in ("status", "after"):
                    values[name] = int(raw)
                elif name in ("retry_after", "seconds"):
                    values[name] = float(raw)
                elif name in ("code", "message"):
                    values[name] = raw
                else:
                    raise ValueError(f"unknown fault parameter {name!r}")
            except ValueError as exc:
                if "unknown" in str(exc):
                    raise
                raise ValueError(f"fault parameter {name!r} is not a number: {raw!r}") from None
            if name not in ("code", "message") and values[name] < 0:
                raise ValueError(f"fault parameter {name!r} is negative: {raw!r}")
        if "status" not in values and kind in _DEFAULT_STATUS:
            values["status"] = _DEFAULT_STATUS[kind]
        if kind == "rate_limit" and "retry_after" not in values:
            values["retry_after"] = 1.0
        if kind == "error_event":
            values.setdefault("code", "server_error")
        return cls(kind=kind, **values)  # type: ignore[arg-type]

    @property
    def status_code(self) -> int:
        """The HTTP status this fault answers with (when it answers at all)."""
        return self.status or _DEFAULT_STATUS.get(self.kind, 500)


class FaultQueue:
    """Faults armed ahead of time, consumed one per matching request, safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[tuple[str | None, Fault]] = deque()

    def add(self, fault: Fault, times: int, path: str | None) -> None:
        """Fail the next `times` requests to `path` (any path when None) with `fault`."""
        with self._lock:
            self._queue.extend((path, fault) for _ in range(times))

    def take(self, path: str) -> Fault | None:
        """The first armed fault for this path, removed from the queue."""
        with self._lock:
            for index, (wanted, fault) in enumerate(self._queue):
                if wanted is None or wanted == path:
                    del self._queue[index]
                    return fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)


def html_page(status: int) -> bytes:
    """The kind of page a proxy in front of the API serves when the API is unreachable."""
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = f"{status} Error"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def fault_error(fault: Fault, model: str | None) -> tuple[str, str, str | None]:
    """(message, type, code) of the JSON error body a status fault answers with."""
    if fault.kind == "rate_limit":
        message = (
            f"Rate limit reached for {model or 'requests'} in organization mock-org on requests "
            f"per min (RPM): Limit 500, Used 500, Requested 1. "
            f"Please try again in {fault.retry_after or 1:g}s."
        )
        return message, "requests", fault.code or "rate_limit_exceeded"
    if fault.status_code == 503:
        return "The engine is currently overloaded, please try again later.", "server_error", None
    message = fault.message or (
        "The server had an error while processing your request. Sorry about that!"
    )
    return message, "server_error", fault.code
