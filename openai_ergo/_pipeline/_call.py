"""One logical request as the client resolved it (`Call`), and its headers (`CallHeaders`).

A call's headers are the client's own (merged once, shared by every call, never changed)
plus the few the call sets itself: Content-Type, Accept, the Idempotency-Key, per-request
headers. Copying the client's `httpx.Headers` and setting each of those on the copy cost
more than the rest of building a request (every set scans and re-encodes the list), and on
the plain send (`_plain.py`) nothing ever reads that copy: the client's lines are encoded
once and the call's few appended. So `CallHeaders` keeps the call's own headers apart and
builds the `httpx.Headers` httpx's `copy()`, `[name] = value` and `update()` would have built,
entry for entry, only when something asks for it (`httpx()`): httpx's request path, an
observer that injects a header, an error that shows the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import httpx

if TYPE_CHECKING:
    from openai_ergo._config import RequestOptions
    from openai_ergo._multipart import MultipartBody

__all__ = ["Call", "CallHeaders", "HeaderBase"]


class HeaderBase:
    """A client's own headers, merged once and shared by all its calls (never changed)."""

    __slots__ = ("headers", "lower_names", "plain", "simple")

    def __init__(self, headers: httpx.Headers) -> None:
        self.headers = headers
        raw = headers.raw
        #: Lower-case names (bytes) of the headers present.
        self.lower_names = frozenset(name.lower() for name, _ in raw)
        #: Whether a call's own headers can be kept apart: each name present once, and httpx
        #: would encode headers set on a copy as ASCII (so the call's own, when ASCII, are the
        #: same bytes whether or not the copy is built).
        self.simple = len(self.lower_names) == len(raw) and headers.encoding == "ascii"
        #: What the plain send made of these lines (it keeps it here, with its own identity).
        self.plain: tuple[object, dict[Any, Any]] | None = None


class CallHeaders:
    """The headers of one call: the client's `HeaderBase` and the call's own, as httpx would
    have merged them (`set` is `httpx.Headers.__setitem__`, `update` is `update`).

    The merged list is the client's, where `replaced` puts the call's value in place of a
    header the call set (or drops one it updated), followed by the call's `own` in order.
    An operation that httpx would encode otherwise (not ASCII, not `str`) builds the
    `httpx.Headers` and applies itself there, with httpx's own semantics and errors.
    """

    __slots__ = ("base", "built", "generated", "own", "replaced")

    def __init__(self, base: HeaderBase) -> None:
        self.base = base
        #: Headers added by the call, by lower-case name (bytes): name and value as set.
        self.own: dict[bytes, tuple[str, str]] = {}
        #: The client's headers the call changed in place (None: removed, by `update`).
        self.replaced: dict[bytes, tuple[str, str] | None] = {}
        #: The `httpx.Headers`, once something asked for it (then the rest is not used).
        self.built: httpx.Headers | None = None
        #: The Idempotency-Key value the client generated (ASCII, nothing to check), if any.
        self.generated: str | None = None

    def _key(self, name: object, value: object) -> bytes | None:
        """The lower-case name under which the header is kept apart, or None when setting it
        needs httpx's list."""
        if (
            type(name) is str
            and type(value) is str
            and name.isascii()
            and value.isascii()
            and self.base.simple
        ):
            return name.lower().encode("ascii")
        return None

    def set(self, name: str, value: str) -> None:
        """Set header `name` to `value` as `httpx.Headers.__setitem__` does (a header already
        there keeps its place)."""
        if self.built is None:
            lower = self._key(name, value)
            if lower is not None:
                if lower in self.own or lower not in self.base.lower_names:
                    self.own[lower] = (name, value)
                else:
                    self.replaced[lower] = (name, value)
                return
        self.httpx()[name] = value

    def set_ascii(self, lower: bytes, name: str, value: str) -> None:
        """`set` for a name and value the caller knows are ASCII `str` (the client's own
        Content-Type, Accept and generated Idempotency-Key), `lower` the name's lower-case
        bytes."""
        if self.built is None and self.base.simple:
            if lower in self.own or lower not in self.base.lower_names:
                self.own[lower] = (name, value)
            else:
                self.replaced[lower] = (name, value)
            return
        self.httpx()[name] = value

    def set_generated_key(self, value: str) -> None:
        """Set the Idempotency-Key the client generated (`new_idempotency_key`: ASCII letters,
        digits and dashes), which the plain send then writes without checking it."""
        self.set_ascii(b"idempotency-key", "Idempotency-Key", value)
        self.generated = value

    def has(self, lower: bytes) -> bool:
        """`name in headers` for a name given as its lower-case ASCII bytes."""
        if self.built is None:
            if lower in self.own:
                return True
            return lower in self.base.lower_names and self.replaced.get(lower, ()) is not None
        return lower.decode("ascii") in self.built

    def update(self, headers: Mapping[str, str]) -> None:
        """Merge `headers` as `httpx.Headers.update` does (each one already there moves
        last). Names that differ only in case stay apart there: such a mapping takes
        httpx's list."""
        if self.built is None:
            keys = [self._key(name, value) for name, value in headers.items()]
            if None not in keys and len(set(keys)) == len(keys):
                own, replaced, present = self.own, self.replaced, self.base.lower_names
                for lower, pair in zip(keys, headers.items(), strict=True):
                    assert lower is not None
                    own.pop(lower, None)
                    if lower in present:
                        replaced[lower] = None
                    own[lower] = pair
                return
        self.httpx().update(headers)

    def __contains__(self, name: object) -> bool:
        if self.built is None and isinstance(name, str) and name.isascii():
            lower = name.lower().encode("ascii")
            if lower in self.own:
                return True
            return lower in self.base.lower_names and self.replaced.get(lower, ()) is not None
        return name in self.httpx()

    def httpx(self) -> httpx.Headers:
        """The headers as httpx's `copy()`, `[name] = value` and `update()` would have made
        them (built once; later changes go to it)."""
        built = self.built
        if built is None:
            built = self.base.headers.copy()
            for lower, pair in self.replaced.items():
                if pair is None:
                    del built[lower.decode("ascii")]
                else:
                    built[pair[0]] = pair[1]
            for name, value in self.own.values():
                built[name] = value
            self.built = built
        return built


class Call:
    """Everything one logical request needs, resolved by the client."""

    __slots__ = (
        "body",
        "content",
        "headers",
        "method",
        "options",
        "path",
        "query",
        "stream",
        "target",
        "url",
    )

    def __init__(
        self,
        *,
        method: str,
        path: str,
        url: str,
        target: httpx.URL,
        content: bytes | MultipartBody | None,
        headers: CallHeaders,
        query: dict[str, Any] | None,
        stream: bool | Literal["bytes"],
        body: Any,
        options: RequestOptions,
    ) -> None:
        self.method = method
        self.path = path
        self.url = url
        #: `url` parsed (parsing costs more than the rest of building a request).
        self.target = target
        self.content = content
        self.headers = headers
        self.query = query
        #: True for an event stream, "bytes" for a streamed binary body.
        self.stream = stream
        self.body = body
        self.options = options
