"""Reconnection for generic SSE servers: resume with `Last-Event-ID` after a dropped connection."""

from __future__ import annotations

import inspect
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, final

import anyio
import httpx

from ._errors import DeadlineExceededError, ReconnectError
from ._response import check_event_stream, describe_url

__all__ = ["ReconnectAttempt", "ReconnectHook", "ReconnectPolicy", "StreamOpener"]


@final
@dataclass(frozen=True)
class ReconnectAttempt:
    """What an `on_reconnect` hook is told before each reconnection request is sent."""

    #: 1 for the first reconnection after events last arrived, then 2, 3, ... up to
    #: `max_attempts`.
    attempt: int
    #: The `Last-Event-ID` this request sends ("" when no event carried an id yet).
    last_event_id: str
    #: Why the stream is reconnecting: the transport error, the `IdleTimeoutError`, or None when
    #: the server ended the stream cleanly (`reconnect_on_end`).
    error: BaseException | None
    #: The headers this request will send (a copy): what a hook reads to decide on a refresh.
    headers: Mapping[str, str]


#: `on_reconnect`: sync or async; headers it returns are set on this request and every later one
#: (a refreshed `Authorization`, say). Raising from it stops reconnecting with that error.
ReconnectHook = Callable[
    [ReconnectAttempt], Awaitable[Mapping[str, str] | None] | Mapping[str, str] | None
]


@final
@dataclass(frozen=True)
class ReconnectPolicy:
    """When and how often an event source reconnects after its connection drops.

    A dropped connection (a transport error mid-stream) is reopened with the `Last-Event-ID`
    header, after the server's `retry:` time when it sent one, else after an exponential backoff
    from `initial_delay` doubling up to `max_delay` seconds, shortened by up to `jitter` (a
    fraction) so many clients do not return at once. After `max_attempts` reconnections in a row
    that bring no event, `ReconnectError` is raised. A stream that ends cleanly is finished,
    unless `reconnect_on_end` is true (the browser `EventSource` behaviour, for servers that
    close long polls). A 204 answer ends the stream; any other non-event-stream answer raises
    `SSEError` at once.

    For long-lived feeds, each opt-in:

    - `reconnect_on_idle`: an idle timeout (`idle_timeout` seconds without a byte) reconnects
      instead of raising `IdleTimeoutError` (a feed whose server went quiet behind a proxy);
    - `retry_first_connection`: a first connection that fails at the transport (refused, reset,
      timed out) is retried under the same policy, as browsers do, instead of raising at once;
    - `on_reconnect`: a hook called before every reconnection request with a `ReconnectAttempt`
      (the attempt, the last event id, the error); headers it returns are sent from then on,
      so an expired token can be refreshed.
    """

    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.5
    reconnect_on_end: bool = False
    reconnect_on_idle: bool = False
    retry_first_connection: bool = False
    on_reconnect: ReconnectHook | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts!r}")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("initial_delay and max_delay must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be a fraction between 0 and 1, not {self.jitter!r}")

    def delay(self, attempt: int, server_retry_ms: int | None) -> float:
        """Seconds to wait before reconnection `attempt` (1-based)."""
        if server_retry_ms is not None:
            return server_retry_ms / 1000
        backoff: float = min(self.initial_delay * 2.0 ** (attempt - 1), self.max_delay)
        return backoff * (1.0 - self.jitter * random.random())


@final
class StreamOpener:
    """Sends the request of an event source again and again: the first time and after drops."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: httpx.URL | str,
        request_options: Mapping[str, Any],
        send_options: Mapping[str, Any],
        policy: ReconnectPolicy | None,
    ) -> None:
        self.client = client
        self.method = method
        self.url = url
        self.request_options = dict(request_options)
        self.send_options = dict(send_options)
        self.policy = policy
        #: Reconnections in a row that have not yet brought an event.
        self.attempts = 0
        self.described_url = method

    async def open(self, last_event_id: str = "") -> httpx.Response | None:
        """Send the request; the checked streamed response, or None for a 204."""
        headers = httpx.Headers(self.request_options.get("headers"))
        headers["Accept"] = "text/event-stream"
        headers["Cache-Control"] = "no-store"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        options = {**self.request_options, "headers": headers}
        request = self.client.build_request(self.method, self.url, **options)
        self.described_url = f"{self.method} {describe_url(request.url)}"
        response = await self.client.send(request, stream=True, **self.send_options)
        try:
            if await check_event_stream(response):
                return response
        except BaseException:
            with anyio.CancelScope(shield=True):
                await response.aclose()
            raise
        return None

    async def reopen(
        self,
        last_event_id: str,
        server_retry_ms: int | None,
        deadline_at: float | None,
        deadline: float | None,
        error: BaseException | None = None,
        *,
        what: str = "dropped",
    ) -> httpx.Response | None:
        """Reconnect after `error` (None: a clean end), within the policy and the deadline."""
        policy = self.policy
        assert policy is not None
        last_error = error
        while self.attempts < policy.max_attempts:
            self.attempts += 1
            delay = policy.delay(self.attempts, server_retry_ms)
            if deadline_at is not None and anyio.current_time() + delay >= deadline_at:
                raise DeadlineExceededError(
                    f"the event stream from {self.described_url} {what} and its {deadline} s "
                    "deadline passes before it could reconnect",
                    timeout=deadline or 0.0,
                ) from last_error
            await anyio.sleep(delay)
            if policy.on_reconnect is not None:
                await self._call_hook(policy.on_reconnect, last_event_id, last_error)
            try:
                return await self.open(last_event_id)
            except httpx.TransportError as exc:
                last_error = exc
        raise ReconnectError(
            f"the event stream from {self.described_url} {what} and {self.attempts} "
            "reconnection attempts in a row brought no event",
            attempts=self.attempts,
            last_event_id=last_event_id,
        ) from last_error

    async def _call_hook(
        self, hook: ReconnectHook, last_event_id: str, error: BaseException | None
    ) -> None:
        headers = httpx.Headers(self.request_options.get("headers"))
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        attempt = ReconnectAttempt(
            attempt=self.attempts,
            last_event_id=last_event_id,
            error=error,
            headers=dict(headers.items()),
        )
        refreshed = hook(attempt)
        if inspect.isawaitable(refreshed):
            refreshed = await refreshed
        if refreshed is None:
            return
        if not isinstance(refreshed, Mapping):
            raise TypeError(
                "on_reconnect must return a mapping of headers to set, or None, "
                f"not {type(refreshed).__name__}"
            )
        merged = httpx.Headers(self.request_options.get("headers"))
        merged.update(refreshed)
        self.request_options["headers"] = merged
