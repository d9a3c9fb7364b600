"""`connect_sse`: send a request for an event stream and own what comes back."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import TracebackType
from typing import Any, final

import anyio
import httpx

from ._decoder import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE
from ._errors import DeadlineExceededError, IdleTimeoutError
from ._reconnect import ReconnectPolicy, StreamOpener
from ._source import DEFAULT_DRAIN_TIMEOUT, EventSource

__all__ = ["connect_sse"]

#: `httpx.AsyncClient.send` options; every other keyword goes to `build_request`.
_SEND_OPTIONS = frozenset({"auth", "follow_redirects"})


@final
class _EventSourceConnection:
    """The async context manager `connect_sse` returns."""

    def __init__(self, opener: StreamOpener, options: dict[str, Any]) -> None:
        self._opener = opener
        self._options = options
        self._source: EventSource | None = None

    async def __aenter__(self) -> EventSource:
        deadline: float | None = self._options["deadline"]
        started = anyio.current_time()
        idle_timeout: float | None = self._options["idle_timeout"]
        try:
            with anyio.move_on_after(math.inf if deadline is None else deadline) as scope:
                response = await self._open(None if deadline is None else started + deadline)
        except httpx.ReadTimeout as exc:
            if idle_timeout is None:
                raise
            raise IdleTimeoutError(
                f"{self._opener.described_url} sent nothing for {idle_timeout} s (idle_timeout)",
                timeout=idle_timeout,
            ) from exc
        if scope.cancelled_caught:
            raise DeadlineExceededError(
                f"{self._opener.described_url} did not answer within its deadline of {deadline} s",
                timeout=deadline or 0.0,
            )
        if response is None:
            # 204: a stream with no events; an empty response stands in for it.
            response = httpx.Response(
                204, content=b"", headers={"content-type": "text/event-stream"}
            )
        source = EventSource(response, **self._options)
        source._attach(
            self._opener,
            None if deadline is None else started + deadline,
            # httpcore (httpx's own transport) times every socket read with the request's read
            # timeout; other transports (MockTransport, ASGI, custom) may not, so we time them.
            idle_timeout_in_transport=idle_timeout is not None
            and "network_stream" in response.extensions,
        )
        self._source = source
        try:
            return await source.__aenter__()
        except BaseException:
            await source.aclose()
            raise

    async def _open(self, deadline_at: float | None) -> httpx.Response | None:
        opener = self._opener
        try:
            return await opener.open()
        except httpx.TransportError as exc:
            policy = opener.policy
            if policy is None or not policy.retry_first_connection:
                raise
            # As browsers do: a first connection that fails at the transport is tried again
            # under the policy (its delays, attempts, hook and the deadline).
            return await opener.reopen(
                "", None, deadline_at, self._options["deadline"], exc, what="could not be opened"
            )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        assert self._source is not None
        return await self._source.__aexit__(exc_type, exc, traceback)


def connect_sse(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL | str,
    *,
    idle_timeout: float | None = None,
    deadline: float | None = None,
    prefetch: int = 0,
    reconnect: ReconnectPolicy | None = None,
    max_line_size: int = DEFAULT_MAX_LINE_SIZE,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    on_comment: Callable[[str], object] | None = None,
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
    **kwargs: Any,
) -> _EventSourceConnection:
    """Send a request for an event stream; `async with` it to get its `EventSource`.

    Sends `Accept: text/event-stream` and `Cache-Control: no-store`, and raises `SSEError`
    unless the answer is a 2xx `text/event-stream` (a 204 is an empty stream). Other keywords
    (`headers`, `json`, `params`, `content`, `timeout`, `auth`, `follow_redirects`, ...) go to
    httpx. The `deadline` counts from sending the request, reconnections included; see
    `EventSource` for the other options and `ReconnectPolicy` for `reconnect`.
    """
    send_options = {key: kwargs.pop(key) for key in list(kwargs) if key in _SEND_OPTIONS}
    if idle_timeout is not None:
        # "No byte for idle_timeout seconds" is exactly httpx's read timeout, which httpx
        # already enforces on every socket read: using it costs nothing per event.
        given = kwargs.get("timeout", httpx.USE_CLIENT_DEFAULT)
        timeout = client.timeout if given is httpx.USE_CLIENT_DEFAULT else httpx.Timeout(given)
        kwargs["timeout"] = httpx.Timeout(
            connect=timeout.connect, read=idle_timeout, write=timeout.write, pool=timeout.pool
        )
    opener = StreamOpener(client, method, url, kwargs, send_options, reconnect)
    options: dict[str, Any] = {
        "idle_timeout": idle_timeout,
        "deadline": deadline,
        "prefetch": prefetch,
        "max_line_size": max_line_size,
        "max_event_size": max_event_size,
        "on_comment": on_comment,
        "drain_timeout": drain_timeout,
    }
    return _EventSourceConnection(opener, options)
