"""Middleware: an ordered chain of async interceptors around every request.

A middleware subclasses `Middleware` and overrides the hooks it needs. `on_request` runs before
each attempt in chain order and may return a replacement request; `on_response` sees every
response (retried ones too); `on_event` sees each event of a returned stream; `on_stream_end`
runs once when that stream ends, fails, is closed early or is cancelled. `state` is one dict per
logical request, shared by all hooks of all middleware for that request; the pipeline keeps
`method`, `path` and `attempt` in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from streaming import ServerSentEvent

RequestState = dict[str, Any]


class Middleware:
    """Base class for interceptors; every hook is a no-op until overridden.

    Only middleware that override `on_event` cost anything per stream event: with none, events
    pass through in batches untouched.
    """

    async def on_request(self, request: httpx.Request, state: RequestState) -> httpx.Request | None:
        """Before each attempt: change `request` in place, or return a new one."""
        return None

    async def on_response(self, response: httpx.Response, state: RequestState) -> None:
        """After each response's headers arrived (its body may not be read yet)."""
        return

    def on_event(self, event: ServerSentEvent, state: RequestState) -> None:
        """For each event of a stream, in order, before the consumer sees it. Keep it cheap."""
        return

    async def on_stream_end(self, state: RequestState, error: BaseException | None) -> None:
        """Once, when a stream ends: `error` is `None` at a clean end or an early close, the
        exception when it failed, and the cancellation exception when it was cancelled."""
        return


def event_observers(chain: Sequence[Middleware]) -> tuple[Middleware, ...]:
    """The middleware that actually override `on_event` (the rest need no per-event call)."""
    return tuple(m for m in chain if type(m).on_event is not Middleware.on_event)


def stream_enders(chain: Sequence[Middleware]) -> tuple[Middleware, ...]:
    """The middleware that override `on_stream_end`."""
    return tuple(m for m in chain if type(m).on_stream_end is not Middleware.on_stream_end)
