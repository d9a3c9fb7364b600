"""Middleware: an ordered chain of async interceptors around every request.

A middleware subclasses `Middleware` and overrides the hooks it needs. `on_request` runs before
each attempt in chain order and may return a replacement request; `on_response` sees every
response (retried ones too); `on_event` sees each event of a returned stream; `on_stream_end`
runs once when that stream ends, fails, is closed early or is cancelled. `state` is one dict per
logical request, shared by all hooks of all middleware for that request; the pipeline keeps
`method`, `path` and `attempt` in it.

Two hooks see the logical request rather than its attempts, for accounting (usage, cost,
budgets): `on_send` once before the first attempt (it may refuse the request by raising), and
`on_result` once at the end of a request that did not return a stream, with its whole response
or its error. For them `state` also holds `body` (as the caller gave it), `model`, `stream` and
`tag` (`RequestOptions.tag`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from openai_ergo._response import APIResponse
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

    async def on_send(self, state: RequestState) -> None:
        """Once per logical request, before its first attempt and the rate limiter (a cache
        hit never gets here). Raise to refuse the request: nothing is sent, and `on_result`
        then sees the refusal as the error (also in middleware whose `on_send` did not run)."""
        return

    async def on_result(
        self, state: RequestState, response: APIResponse | None, error: BaseException | None
    ) -> None:
        """Once at the end of a request that did not return an event stream: its whole 2xx
        `response`, or the `error` it failed with; both None for a binary body, which is the
        caller's to read (an event stream's end goes to `on_stream_end`)."""
        return


def event_observers(chain: Sequence[Middleware]) -> tuple[Middleware, ...]:
    """The middleware that actually override `on_event` (the rest need no per-event call)."""
    return tuple(m for m in chain if type(m).on_event is not Middleware.on_event)


def stream_enders(chain: Sequence[Middleware]) -> tuple[Middleware, ...]:
    """The middleware that override `on_stream_end`."""
    return tuple(m for m in chain if type(m).on_stream_end is not Middleware.on_stream_end)


def senders(chain: Sequence[Middleware]) -> tuple[Middleware, ...]:
    """The middleware that override `on_send`."""
    return tuple(m for m in chain if type(m).on_send is not Middleware.on_send)


def result_observers(chain: Sequence[Middleware]) -> tuple[Middleware, ...]:
    """The middleware that override `on_result`."""
    return tuple(m for m in chain if type(m).on_result is not Middleware.on_result)
