"""Requests sent as bytes, with no `httpx.Request` built unless something asks for one.

An `httpx.Request` costs more to build than the rest of an attempt on our side of the socket:
its `Headers` copy the call's, `_prepare` rebuilds them with Host and Content-Length
(normalising and encoding-checking every header again), the auth sets one more, and the
transport then re-checks every line before it writes the head. When no one installed anything
that receives the request — the client's own API key as the auth, no event hooks, no
middleware that sees requests or responses, no cookies, a body of bytes, a URL the
`HTTP11Transport` sends itself — `PlainRequests` writes the head httpx would have written,
byte for byte (the same headers in the same order, tested against httpx's path), from lines
checked once and kept. The attempt's `httpx.Request` is still what errors, `response.request`
and the cookie jar see: built when one of them first asks for it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any

import httpx

from openai_ergo._pipeline._auth import APIKeyAuth
from openai_ergo._pipeline._middleware import Middleware
from openai_ergo._transport import HTTP11Transport
from openai_ergo._transport._network import Origin
from openai_ergo._transport._prepared import HeadEncoder, PreparedRequest

if TYPE_CHECKING:
    from openai_ergo._pipeline._call import Call, CallHeaders, HeaderBase

__all__ = ["PlainRequests"]

#: Headers that change what httpx adds or how the transport routes: such a request takes
#: httpx's path, so the head stays exactly httpx's.
_HTTPX_DECIDES = frozenset({b"host", b"content-length", b"transfer-encoding", b"upgrade"})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Request lines and Host lines kept per client (a handful of endpoints, over and over).
_MAX_TARGETS = 256
#: A request line, its Host line and the origin the transport connects it to.
_Target = tuple[bytes, bytes, Origin]


class PlainRequests:
    """Encodes a call's head as httpx and `HTTP11Transport` would, when nothing needs the
    `httpx.Request` (see the module's docstring); `prepare()` says None otherwise."""

    __slots__ = (
        "_auth_line",
        "_auth_lower",
        "_auth_pair",
        "_encoder",
        "_http",
        "_lines",
        "_own_lines",
        "_targets",
        "_transport",
    )

    def __init__(self, http: httpx.AsyncClient, transport: HTTP11Transport, auth: APIKeyAuth):
        self._http = http
        self._transport = transport
        self._encoder = HeadEncoder()
        self._auth_lower = auth.header_name.lower().encode("ascii")
        line = auth.head_line()
        assert line is not None
        #: The last header line and the blank line that ends the head.
        self._auth_line = line + b"\r\n"
        name, _, value = line[:-2].partition(b": ")
        self._auth_pair = (name, value)
        self._lines: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}
        #: A call's own headers (name and value as set) -> their checked line.
        self._own_lines: dict[tuple[str, str], bytes] = {}
        #: (method, url) -> request line, Host line and origin, or None when httpx's transport
        #: sends it.
        self._targets: dict[tuple[str, str], _Target | None] = {}

    @classmethod
    def for_client(
        cls,
        http: httpx.AsyncClient,
        transport: httpx.AsyncBaseTransport | None,
        auth: httpx.Auth,
        middleware: Sequence[Middleware],
    ) -> PlainRequests | None:
        """The encoder for a client whose requests nothing installed may see, else None."""
        if type(transport) is not HTTP11Transport or type(auth) is not APIKeyAuth:
            return None
        if auth.head_line() is None:
            return None
        for hooked in middleware:
            kind = type(hooked)
            if (
                kind.on_request is not Middleware.on_request
                or kind.on_response is not Middleware.on_response
            ):
                return None
        return cls(http, transport, auth)

    def prepare(self, call: Call, timeouts: Mapping[str, Any]) -> PreparedRequest | None:
        """The call's bytes, or None when it must go through an `httpx.Request`: event hooks
        or cookies on the client, a streamed body, a header httpx would act on, or a URL
        that httpx's transport serves (a proxy, HTTP/2)."""
        http = self._http
        content = call.content
        if content is not None and not isinstance(content, bytes):
            return None
        hooks = http.event_hooks
        if hooks["request"] or hooks["response"] or _holds_cookies(http.cookies.jar):
            return None
        method = call.method
        if call.query is None:
            url = call.target
            target = self._target(method, call.url, url)
        else:
            url = httpx.URL(call.target, params=call.query)
            target = self._target_lines(method, url)
        if target is None:
            return None
        request_line, host_line, origin = target
        auth_lower = self._auth_lower
        idempotent = method in _IDEMPOTENT_METHODS
        parts = [request_line, host_line]
        if not content and method in _BODY_METHODS:
            parts.append(b"Content-Length: 0\r\n")
        headers = call.headers
        if headers.built is None:
            # The client's lines, encoded once, then the call's own few.
            client_lines = self._client_lines(headers.base, headers.replaced)
            if client_lines is None:
                return None
            lines, idempotent_key = client_lines
            parts.append(lines)
            idempotent = idempotent or idempotent_key
            own_lines = self._own_lines
            generated = headers.generated
            for lower, pair in headers.own.items():
                # Kept lines passed the checks below when they were kept.
                line = own_lines.get(pair)
                if line is None:
                    if lower == b"idempotency-key":
                        idempotent = True
                        if pair[1] is generated:
                            # The client's own key: ASCII letters, digits and dashes.
                            parts.append(b"Idempotency-Key: %b\r\n" % pair[1].encode())
                            continue
                    if lower in _HTTPX_DECIDES or lower == auth_lower:
                        return None
                    try:
                        line = self._encoder.line(pair[0].encode("ascii"), pair[1].encode("ascii"))
                    except httpx.LocalProtocolError:
                        return None
                    if lower != b"idempotency-key":
                        if len(own_lines) >= _MAX_TARGETS:
                            own_lines.clear()
                        own_lines[pair] = line
                parts.append(line)
        elif not self._add_lines(headers.built.raw, parts):
            return None
        else:
            idempotent = idempotent or "idempotency-key" in headers.built
        if content:
            parts.append(b"Content-Length: %d\r\n" % len(content))
        parts.append(self._auth_line)
        return PreparedRequest(
            method=method,
            url=url,
            head=b"".join(parts),
            body=content or b"",
            idempotent=idempotent,
            timeouts=timeouts,
            # Not the whole `Call`: an open stream keeps this until its end, and the call's
            # body (the messages as Python objects), options and URL text are not needed
            # to build the request again (docs/performance.md).
            build=functools.partial(self._request, method, content, call.headers, url, timeouts),
            origin=origin,
        )

    def _client_lines(
        self, base: HeaderBase, replaced: Mapping[bytes, tuple[str, str] | None]
    ) -> tuple[bytes, bool] | None:
        """A client's own header lines with the call's replacements, encoded and checked once
        per set of replacements (kept on `base`: a client's calls replace the same few, the
        Accept header mostly), and whether they carry an Idempotency-Key; None when one of
        them makes the request take httpx's path."""
        kept = base.plain
        if kept is None or kept[0] is not self:
            kept = base.plain = (self, {})
        known = kept[1]
        key = tuple(replaced.items()) if replaced else ()
        try:
            result: tuple[bytes, bool] | None = known[key]
            return result
        except KeyError:
            pass
        pairs: list[tuple[bytes, bytes]] = []
        for name, value in base.headers.raw:
            lower = name.lower()
            if lower in replaced:
                pair = replaced[lower]
                if pair is None:
                    continue
                name, value = pair[0].encode("ascii"), pair[1].encode("ascii")
            pairs.append((name, value))
        parts: list[bytes] = []
        result = None
        if self._add_lines(pairs, parts):
            idempotent = any(name.lower() == b"idempotency-key" for name, _ in pairs)
            result = (b"".join(parts), idempotent)
        if len(known) >= _MAX_TARGETS:
            known.clear()
        known[key] = result
        return result

    def _add_lines(self, raw: list[tuple[bytes, bytes]], parts: list[bytes]) -> bool:
        """Append the checked line of each header to `parts`; False when one of them makes
        the request take httpx's path (a header httpx acts on, the auth's own, a bad line)."""
        lines = self._lines
        encoder = self._encoder
        auth_lower = self._auth_lower
        for name, value in raw:
            key = (name, value)
            entry = lines.get(key)
            if entry is None:
                lower = name.lower()
                try:
                    entry = (encoder.line(name, value), lower)
                except httpx.LocalProtocolError:
                    # httpx's path raises the transport's own error, with the request.
                    return False
                if lower != b"idempotency-key":
                    if len(lines) >= _MAX_TARGETS * 2:
                        lines.clear()
                    lines[key] = entry
            line, lower = entry
            if lower in _HTTPX_DECIDES or lower == auth_lower:
                return False
            parts.append(line)
        return True

    def _request(
        self,
        method: str,
        content: bytes | None,
        headers: CallHeaders,
        url: httpx.URL,
        timeouts: Mapping[str, Any],
    ) -> httpx.Request:
        """The `httpx.Request` httpx's path would have sent (the same headers, in the same
        order, the body read), from the call's method, body bytes and headers and the lines
        `prepare` wrote: no `_prepare` pass, so a stream's `EventSource`, which reads it,
        pays little for it."""
        pairs = [(b"Host", url.netloc)]
        if not content and method in _BODY_METHODS:
            pairs.append((b"Content-Length", b"0"))
        pairs += headers.httpx().raw
        if content:
            pairs.append((b"Content-Length", b"%d" % len(content)))
        pairs.append(self._auth_pair)
        request = httpx.Request(
            method,
            url,
            headers=pairs,
            stream=httpx.ByteStream(content or b""),
            extensions={"timeout": dict(timeouts)},
        )
        request.read()
        return request

    def _target(self, method: str, key: str, url: httpx.URL) -> _Target | None:
        targets = self._targets
        try:
            return targets[method, key]
        except KeyError:
            pass
        lines = self._target_lines(method, url)
        if len(targets) >= _MAX_TARGETS:
            targets.clear()
        targets[method, key] = lines
        return lines

    def _target_lines(self, method: str, url: httpx.URL) -> _Target | None:
        if not self._transport.sends_itself(url, method) or not url.host:
            return None
        # The method and path as the transport checks them: a bad one takes httpx's path,
        # which raises the transport's own error.
        encoded = method.encode("ascii", "replace")
        path = url.raw_path
        if not encoded.isalpha() or b"\r" in path or b"\n" in path or b"\0" in path:
            return None
        try:
            host_line = self._encoder.line(b"Host", url.netloc)
        except httpx.LocalProtocolError:
            return None
        request_line = b"%b %b HTTP/1.1\r\n" % (encoded, path)
        return request_line, host_line, self._transport.origin_of(url)


def _holds_cookies(jar: CookieJar) -> bool:
    """Whether the client's jar holds a cookie. `len(jar)` walks every cookie through two
    generators; the jar's own table (a stdlib attribute since Python 2) answers at once, and
    a jar without it is asked the public way. A jar whose cookies were all cleared may keep
    empty entries there: its requests then take httpx's path, which is only slower."""
    table = getattr(jar, "_cookies", None)
    return bool(jar) if table is None else bool(table)
