"""A request already encoded for the wire, and a response whose httpx objects wait to be read.

When nothing a user installed will look at the `httpx.Request` of an attempt (no auth flow but
the client's own key, no event hooks, no middleware, no cookies) the pipeline encodes the
request head itself (`HeadEncoder`: each header line is checked once, then reused) and hands
the bytes to `HTTP11Transport.send_prepared`. The response it gets back is a `PlainResponse`:
a genuine `httpx.Response` whose `headers` (an `httpx.Headers`, normalised and
encoding-checked) and `request` (the `httpx.Request` httpx would have built) are made the first
time anything reads them, and never for a request whose caller only wants the parsed body. The
pipeline reads the few headers it needs (request id, rate limits, retry advice) through
`HeaderView`, a lookup over the parser's raw list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from openai_ergo._transport._network import Origin

__all__ = ["HeadEncoder", "HeaderView", "PlainResponse", "PreparedRequest", "header_view"]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Header lines kept once checked: a client sends the same few over and over.
_MAX_LINES = 512
#: Headers whose value changes on every request: not worth keeping.
_PER_REQUEST = frozenset({b"idempotency-key", b"content-length"})
_UNSAFE = re.compile(rb"[\r\n\0]")


def invalid_name(name: bytes) -> httpx.LocalProtocolError:
    """The error for a header name that is not an HTTP token."""
    return httpx.LocalProtocolError(f"invalid header name {name!r}")


def injection() -> httpx.LocalProtocolError:
    """The error for a CR, LF or NUL inside a header value or the URL (header injection)."""
    return httpx.LocalProtocolError("a header value or the URL contains a CR, LF or NUL character")


class HeadEncoder:
    """Encodes request heads as `HTTP11Transport` writes them, keeping each checked line.

    The checks are the transport's own (`_encode_head`): the method and every name an HTTP
    token, no CR, LF or NUL in a value or the path, with the same errors.
    """

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines: dict[tuple[bytes, bytes], bytes] = {}

    def line(self, name: bytes, value: bytes) -> bytes:
        """`name: value` and its line end, checked."""
        key = (name, value)
        line = self._lines.get(key)
        if line is not None:
            return line
        if _TOKEN.fullmatch(name) is None:
            raise invalid_name(name)
        if _UNSAFE.search(value) is not None:
            raise injection()
        line = b"%b: %b\r\n" % (name, value)
        if name.lower() not in _PER_REQUEST:
            if len(self._lines) >= _MAX_LINES:
                self._lines.clear()
            self._lines[key] = line
        return line


class PreparedRequest:
    """One attempt's bytes (head and body, in one write when small) and what the transport
    needs besides: where to, the timeouts, whether it may be sent twice, and how to build the
    `httpx.Request` it stands for when an error or a reader asks for it."""

    __slots__ = ("body", "build", "head", "idempotent", "method", "origin", "timeouts", "url")

    def __init__(
        self,
        *,
        method: str,
        url: httpx.URL,
        head: bytes,
        body: bytes,
        idempotent: bool,
        timeouts: Mapping[str, Any],
        build: Callable[[], httpx.Request],
        origin: Origin | None = None,
    ) -> None:
        self.method = method
        #: The transport's `origin_of(url)`, when the caller kept it.
        self.origin = origin
        self.url = url
        self.head = head
        self.body = body
        self.idempotent = idempotent
        self.timeouts = timeouts
        self.build = build


class PlainResponse(httpx.Response):
    """An `httpx.Response` whose `headers` and `request` are built when first read.

    Everything else is httpx's own (`aread`, `aiter_bytes`, `raise_for_status`, ...): httpx
    reads `_request` and `headers` through the properties below, so it sees the same objects a
    user does.
    """

    def __init__(
        self,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        *,
        stream: httpx.AsyncByteStream,
        extensions: dict[str, Any],
        build_request: Callable[[], httpx.Request],
        timeouts: Mapping[str, Any],
        header_index: Mapping[bytes, bytes] | None = None,
    ) -> None:
        #: None once `compact_head` found the index says it all.
        self._raw_headers: list[tuple[bytes, bytes]] | None = raw_headers
        self._header_index = header_index
        self._timeouts = timeouts
        self._build_request: Callable[[], httpx.Request] | None = build_request
        self._built_request: httpx.Request | None = None
        self._view: HeaderView | None = None
        self._built_headers: httpx.Headers | None = None
        # What `httpx.Response.__init__(status_code, stream=..., extensions=...)` sets, set
        # here without the empty `Headers` it builds only for the setter to replace
        # (`tests/openai_ergo/transport/test_header_view.py` holds the two to the same
        # attributes, so an httpx release that adds one fails there, not in use). The
        # transport made `extensions` for this response alone: no copy.
        self.status_code = status_code
        self.next_request: httpx.Request | None = None
        self.extensions = extensions
        self.history: list[httpx.Response] = []
        self.is_closed = False
        self.is_stream_consumed = False
        self.default_encoding = "utf-8"
        self.stream = stream
        self._num_bytes_downloaded = 0

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (an `httpx.Headers`, built on first read)."""
        headers = self._built_headers
        if headers is None:
            headers = self._built_headers = httpx.Headers(self._raw())
        return headers

    @headers.setter
    def headers(self, value: httpx.Headers) -> None:
        self._built_headers = value
        self._view = None

    @property
    def _request(self) -> httpx.Request | None:
        request = self._built_request
        if request is None and self._build_request is not None:
            build, self._build_request = self._build_request, None
            request = self._built_request = build()
        return request

    @_request.setter
    def _request(self, value: httpx.Request | None) -> None:
        self._built_request = value
        if value is not None:
            self._build_request = None

    async def aclose(self) -> None:
        """Close the response as httpx does, without building the request only to attach it
        to errors that closing raises (it is built then, when one does)."""
        if self._built_request is not None or self.is_closed:
            await super().aclose()
            return
        stream = self.stream
        if not isinstance(stream, httpx.AsyncByteStream):
            raise RuntimeError("Attempted to call an async close on an sync stream.")
        self.is_closed = True
        try:
            await stream.aclose()
        except httpx.RequestError as exc:
            exc.request = self.request
            raise

    def request_timeouts(self) -> Mapping[str, Any]:
        """The request's "timeout" extension, without building the request when it was not
        yet (`streaming.EventSource` asks for it when it opens)."""
        request = self._built_request
        if request is None and self._build_request is not None:
            return self._timeouts
        timeouts: Mapping[str, Any] = self.request.extensions.get("timeout", {})
        return timeouts

    def header_view(self) -> httpx.Headers | HeaderView:
        """The headers for a lookup by name, without building `headers` when it was not yet."""
        if self._built_headers is not None:
            return self._built_headers
        view = self._view
        if view is None:
            raw = self._raw_headers
            view = self._view = HeaderView(raw, self._header_index)
        return view

    def compact_head(self) -> None:
        """Keep the head as its index alone when that loses nothing: every name sent in lower
        case and none repeated, so the index holds each name as sent, in order. An open
        stream keeps its response to its end; the list of pairs is built again when read."""
        raw, index = self._raw_headers, self._header_index
        if raw is None or index is None or self._built_headers is not None:
            return
        if len(raw) != len(index):
            return
        for key, (name, _) in zip(index, raw, strict=True):
            if key is not name:
                return
        self._raw_headers = None
        self._view = None

    def _raw(self) -> list[tuple[bytes, bytes]]:
        raw = self._raw_headers
        if raw is None:
            assert self._header_index is not None
            raw = list(self._header_index.items())
        return raw


def header_view(response: httpx.Response) -> httpx.Headers | HeaderView:
    """A response's headers for the pipeline's own lookups: `PlainResponse.header_view()`, or
    the `headers` of any other response."""
    if isinstance(response, PlainResponse):
        return response.header_view()
    return response.headers


class HeaderView(Mapping[str, str]):
    """Case-insensitive lookups over a raw header list, as `httpx.Headers` answers them
    (repeated headers joined with ", ") for heads that are all ASCII; `raw` is the list.

    With `index` (the parser's lower-case names to their joined values) a lookup by name
    decodes only the value it reads; a value that is not ASCII is read as httpx decodes it.
    """

    __slots__ = ("_by_name", "_index", "_raw")

    def __init__(
        self, raw: list[tuple[bytes, bytes]] | None, index: Mapping[bytes, bytes] | None = None
    ) -> None:
        # None: the index holds every name as sent, in order (`PlainResponse.compact_head`).
        self._raw = raw
        self._by_name = index
        self._index: Mapping[str, str] | None = None

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The head's (name, value) pairs as sent, in order."""
        raw = self._raw
        if raw is None:
            assert self._by_name is not None
            raw = list(self._by_name.items())
        return raw

    def _lookup(self) -> Mapping[str, str]:
        index = self._index
        if index is None:
            built: dict[str, str] = {}
            for name, value in self.raw:
                if not (name.isascii() and value.isascii()):
                    # httpx decodes a non-ASCII head as UTF-8 or Latin-1: let it.
                    index = self._index = httpx.Headers(self.raw)
                    return index
                key = name.decode("ascii").lower()
                text = value.decode("ascii")
                previous = built.get(key)
                built[key] = text if previous is None else f"{previous}, {text}"
            index = self._index = built
        return index

    def __getitem__(self, key: str) -> str:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    def get(self, key: str, default: Any = None) -> Any:
        """The value of header `key` (any case), or `default`."""
        by_name = self._by_name
        if by_name is not None and key.isascii():
            value = by_name.get(key.lower().encode("ascii"))
            if value is None:
                return default
            if value.isascii():
                return value.decode("ascii")
        return self._lookup().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        by_name = self._by_name
        if by_name is not None and key.isascii():
            return key.lower().encode("ascii") in by_name
        return key.lower() in self._lookup()

    def present(self, names: AbstractSet[bytes]) -> dict[str, str]:
        """Those of `names` (lower-case bytes) the head has, by name (`str`), with their
        values: one set intersection with the parser's index, however many are asked for."""
        by_name = self._by_name
        if by_name is None:
            lookup = self._lookup()
            texts = (name.decode("ascii") for name in names)
            return {text: lookup[text] for text in texts if text in lookup}
        found: dict[str, str] = {}
        for name in by_name.keys() & names:
            value = by_name[name]
            text = name.decode("ascii")
            found[text] = value.decode("ascii") if value.isascii() else self._lookup()[text]
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._lookup())


_MISSING: Any = object()
