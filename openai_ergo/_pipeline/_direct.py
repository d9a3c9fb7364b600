"""Sending one request through the client's transport without `httpx.AsyncClient.send`'s layers.

`AsyncClient.send` wraps every request in three async layers (auth, redirects, one request), a
context manager, an async generator around the response body, and a cookie-jar pass that builds
two `urllib`-style adapter objects per response even when it sets no cookie. For a small request
on the fast transport those layers cost more than the transport itself (docs/performance.md).
`DirectSender` does the same work in one frame, for a client whose every URL goes to one
transport (no mounts) and which does not follow redirects:

- the auth flow runs exactly as httpx runs it (`async_auth_flow`, every request it yields, the
  response sent back, the response read first when the auth asks for its body);
- the event hooks installed on the client run, request hooks before each send and response hooks
  after, read from the client on every request (hooks added later count);
- transport errors get the request attached, as httpx's `request_context` does;
- cookies go into the client's jar when the response sets any;
- `response.request`, `response.elapsed` (on close) and httpx's "HTTP Request" log line are set
  as httpx sets them.

Anything else (mounts, proxies of httpx's own, `follow_redirects=True`) goes through
`AsyncClient.send` unchanged.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from openai_ergo._pipeline._auth import APIKeyAuth
from openai_ergo._transport import HTTP11Transport
from openai_ergo._transport._prepared import PreparedRequest, header_view

__all__ = ["DirectSender", "TimedStream"]

_HTTPX_LOG = logging.getLogger("httpx")


class TimedStream(httpx.AsyncByteStream):
    """The transport's body, with `response.elapsed` set on close as httpx's `BoundAsyncStream`
    does, but stepped without an async generator: a generator frame would hold the last block
    read until the next step, in every open stream."""

    __slots__ = ("_iterator", "_response", "_start", "_stream")

    def __init__(self, stream: httpx.AsyncByteStream, response: httpx.Response, start: float):
        self._stream = stream
        #: The response whose stream this is (a cycle, broken when it closes: freed at once
        #: then, not left for the garbage collector).
        self._response: httpx.Response | None = response
        self._start = start
        self._iterator = stream.__aiter__()

    def __aiter__(self) -> AsyncIterator[bytes]:
        # The transport's own iterator: reading it costs no step of ours.
        return self._iterator

    @property
    def finished(self) -> bool:
        """Whether the transport's stream is done with its connection (`ResponseBody`), so
        that closing awaits nothing."""
        iterator: object = self._iterator
        return iterator is self._stream and getattr(iterator, "finished", False) is True

    async def read_to_end(self) -> bytes:
        """The rest of the body, straight from the transport's stream: a block after which
        the transport says it is `finished` has given its connection back, so no step is
        taken only to hear the stream end."""
        iterator: Any = self._iterator
        chunks: list[bytes] = []
        while True:
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                break
            if getattr(iterator, "finished", False) is True:
                if not chunks:
                    return chunk  # type: ignore[no-any-return]
                chunks.append(chunk)
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def close_finished(self, response: httpx.Response) -> bool:
        """Close `response` (whose stream this is) as `aclose()` would, without awaiting, when
        the transport's stream is done with its connection already; False otherwise."""
        iterator: object = self._iterator
        if iterator is not self._stream or getattr(iterator, "finished", False) is not True:
            return False
        if not response.is_closed:
            response.is_closed = True
            self._timed()
        return True

    def _timed(self) -> None:
        """Set the response's `elapsed` (once) and let go of the response."""
        response, self._response = self._response, None
        if response is not None:
            elapsed = time.perf_counter() - self._start
            response.elapsed = datetime.timedelta(seconds=elapsed)

    async def aclose(self) -> None:
        """Record the elapsed time, then close the transport's stream."""
        self._timed()
        iterator: Any = self._iterator
        close: Any = getattr(iterator, "aclose", None)
        if iterator is not self._stream and close is not None:
            # An async generator left unfinished warns under trio: close it here.
            await close()
        await self._stream.aclose()


class DirectSender:
    """`AsyncClient.send(request, auth=auth, stream=True)` for a client with a single transport."""

    __slots__ = ("_http", "_transport")

    def __init__(self, http: httpx.AsyncClient, transport: httpx.AsyncBaseTransport) -> None:
        self._http = http
        self._transport = transport

    @classmethod
    def for_client(cls, http: httpx.AsyncClient) -> DirectSender | None:
        """A sender for `http`, or None when its requests may go elsewhere than one transport
        (mounts, httpx's own proxies) or it follows redirects: those stay with httpx."""
        # Private to httpx (0.28): should a release move them, every request takes httpx's
        # own path, which is slower but the same in behaviour.
        mounts = getattr(http, "_mounts", None)
        transport = getattr(http, "_transport", None)
        if mounts or mounts is None or http.follow_redirects:
            return None
        if not isinstance(transport, httpx.AsyncBaseTransport):
            return None
        return cls(http, transport)

    async def send(self, request: httpx.Request, auth: httpx.Auth) -> httpx.Response:
        """Send `request` with `auth`, the body left to read."""
        http = self._http
        if http.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        if type(auth) is APIKeyAuth:
            # Our own one-pass auth: its whole flow is one header.
            auth.apply(request)
            return await self._send_one(request)
        flow = auth.async_auth_flow(request)
        try:
            request = await flow.__anext__()
            while True:
                response = await self._send_one(request)
                try:
                    try:
                        request = await flow.asend(response)
                    except StopAsyncIteration:
                        return response
                    await response.aread()
                except BaseException:
                    await response.aclose()
                    raise
        finally:
            await flow.aclose()

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """The client's one transport."""
        return self._transport

    async def send_prepared(self, prepared: PreparedRequest) -> httpx.Response:
        """Send a request `PlainRequests` encoded (no hooks, no auth flow to run) through
        `HTTP11Transport.send_prepared`: the response as `send` returns it, its `request`
        built when first read."""
        if self._http.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        transport = self._transport
        assert isinstance(transport, HTTP11Transport)
        start = time.perf_counter()
        response = await transport.send_prepared(prepared)
        return self._received(response, prepared.method, prepared.url, start)

    async def _send_one(self, request: httpx.Request) -> httpx.Response:
        hooks = self._http.event_hooks
        for hook in hooks["request"]:
            await hook(request)
        start = time.perf_counter()
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        response.request = request
        self._received(response, request.method, request.url, start)
        try:
            for hook in hooks["response"]:
                await hook(response)
        except BaseException:
            await response.aclose()
            raise
        return response

    def _received(
        self, response: httpx.Response, method: str, url: httpx.URL, start: float
    ) -> httpx.Response:
        """What httpx's client does with every response: time the body, keep the cookies it
        sets, log it."""
        stream = response.stream
        if not isinstance(stream, httpx.AsyncByteStream):
            raise RuntimeError(f"{type(self._transport).__name__} returned a synchronous stream")
        response.stream = TimedStream(stream, response, start)
        if "set-cookie" in header_view(response):
            self._http.cookies.extract_cookies(response)
        if _HTTPX_LOG.isEnabledFor(logging.INFO):
            _HTTPX_LOG.info(
                'HTTP Request: %s %s "%s %d %s"',
                method,
                url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        return response
