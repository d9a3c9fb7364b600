"""The HTTP edge of an event source: is this response an event stream, and closing it well."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from types import AsyncGeneratorType
from typing import Any

import anyio
import httpx

from ._errors import SSEError

__all__ = [
    "check_event_stream",
    "close_response",
    "closes_at_once",
    "describe_url",
    "header_value",
    "request_timeouts",
]

#: How much of a body that is not an event stream is read to explain the error.
BODY_EXCERPT_SIZE = 4096
#: Bound on driving httpx's iterator to its end after the response was closed.
_FINISH_ITERATOR_TIMEOUT = 5.0


def describe_url(url: httpx.URL) -> str:
    """The URL without credentials, query or fragment: safe for messages and logs."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


def header_value(response: httpx.Response, name: str) -> str:
    """Header `name` (lower case) of `response`, or "".

    A response class that builds `headers` only when read may offer `header_view()`, a
    mapping of lower-case names to values as `httpx.Headers` answers them: it is asked
    instead, so opening a stream does not build the headers (openai-ergo's transport does
    this). Any other response is read through `headers`.
    """
    view = getattr(response, "header_view", None)
    headers: Mapping[str, str] = response.headers if view is None else view()
    return headers.get(name, "")


def request_timeouts(response: httpx.Response) -> Mapping[str, Any] | None:
    """The timeouts of the request `response` answers (its "timeout" extension), or None for a
    response built by hand. A response class that builds `request` only when read may offer
    `request_timeouts()`, which is asked instead."""
    lazy = getattr(response, "request_timeouts", None)
    if lazy is not None:
        timeouts: Mapping[str, Any] = lazy()
        return timeouts
    try:
        request = response.request
    except RuntimeError:  # a response built by hand has no request
        return None
    return dict(request.extensions.get("timeout", {}))


async def check_event_stream(response: httpx.Response) -> bool:
    """Raise `SSEError` unless `response` is a 2xx `text/event-stream`; False for a 204.

    A 204 is the standard's way for a server to say "no events, and do not reconnect", so it
    reads as an empty stream rather than an error.
    """
    if response.status_code == 204:
        await close_response(response, None)
        return False
    content_type = header_value(response, "content-type")
    media_type = content_type.partition(";")[0].strip().lower()
    if 200 <= response.status_code < 300 and media_type == "text/event-stream":
        return True
    excerpt = bytearray()
    chunks = response.aiter_bytes()
    try:
        async for chunk in chunks:
            excerpt += chunk
            if len(excerpt) >= BODY_EXCERPT_SIZE:
                break
    except httpx.HTTPError:
        pass  # the status is the news; a body cut short only shortens the excerpt
    finally:
        await close_response(response, chunks)
    raise SSEError(
        status_code=response.status_code,
        content_type=content_type,
        body=bytes(excerpt[:BODY_EXCERPT_SIZE]).decode("utf-8", "replace"),
        method=response.request.method,
        url=describe_url(response.request.url),
    )


def closes_at_once(response: httpx.Response, chunks: AsyncIterator[bytes] | None) -> bool:
    """Whether closing `response` awaits nothing, so it needs no shield and no time bound.

    A response stream may say it is `finished`: done with its connection already (given back
    at the body's end or closed), as openai-ergo's transport streams do. Then closing it only
    marks it closed, and byte iterators that are not async generators have nothing to finish.
    Any other response is closed the careful way (`close_response`).
    """
    return getattr(response.stream, "finished", False) is True and not isinstance(
        chunks, AsyncGeneratorType
    )


async def close_response(response: httpx.Response, chunks: AsyncIterator[bytes] | None) -> None:
    """Close `response` (shielded), then run httpx's byte iterator to its end.

    httpx's byte iterators are async generators; left suspended after an early close, trio
    reports each one as garbage collected unexhausted (httpx issue #3686). Once the response is
    closed, the next step of the iterator ends it at once (with a read error we discard).
    A response that `closes_at_once` is closed without either (two cancel scopes and a timer
    per stream).
    """
    if closes_at_once(response, chunks):
        await response.aclose()
        return
    with anyio.CancelScope(shield=True):
        try:
            await response.aclose()
        finally:
            if chunks is not None:
                with anyio.move_on_after(_FINISH_ITERATOR_TIMEOUT):
                    try:
                        async for _ in chunks:
                            pass
                    except Exception:
                        pass  # the response is closed; only the generator's end matters
