"""HTTP/1.1 response framing on top of httptools (llhttp, a C parser).

One `ResponseParser` reads one response. It is fed whatever one socket read returned and
collects the de-chunked body of that read in a list, so a read that carries a hundred small
chunks costs one C pass and one `bytes.join`, not a hundred Python round trips.

llhttp knows neither the request method nor where the stream ends, so this class adds both:
a response to HEAD ends with its head, and a close-delimited body ends at end of stream.
Where llhttp is laxer than httpx's default parser (h11) this class applies h11's rule, so the
two transports agree on what is malformed (see docs/transport.md for the few deliberate
differences).
"""

from __future__ import annotations

import httptools
import httpx

__all__ = ["MAX_HEAD_SIZE", "ResponseParser"]

#: The largest response head (status line and headers) accepted, as httpx's default transport.
MAX_HEAD_SIZE = 100 * 1024

_HTTP_VERSIONS = {"1.1": b"HTTP/1.1", "1.0": b"HTTP/1.0"}
#: What a parser holds as its head once it handed the head over (`release_head`). Never
#: written to: a parser adds headers only before its head is complete.
_RELEASED_HEADERS: list[tuple[bytes, bytes]] = []
_RELEASED_INDEX: dict[bytes, bytes] = {}


class ResponseParser:
    """Incremental parser of one HTTP/1.1 response; `feed()` bytes, then `eof()` at the end.

    After `feed()` returns, `head_complete` says whether `status`, `reason`, `headers` and
    `http_version` are set, `body` holds the body bytes de-chunked so far (the caller takes
    and clears them), and `complete` says whether the message ended. `reusable` says whether
    the connection may carry another request once the message is complete.
    """

    __slots__ = (
        "_framed",
        "_head_size",
        "_interim",
        "_is_head_request",
        "_parser",
        "body",
        "complete",
        "head_complete",
        "headers",
        "http_version",
        "index",
        "keep_alive",
        "on_body",
        "reason",
        "received_any",
        "reusable",
        "status",
    )

    def __init__(self, *, is_head_request: bool = False) -> None:
        self.body: list[bytes] = []
        # httptools looks callbacks up once, at construction: binding `on_body` to the list's
        # own `append` makes each HTTP chunk a C-level call with no Python frame.
        self.on_body = self.body.append
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        #: The head's headers by lower-case name (repeated ones joined with ", "), built once
        #: with the framing checks: the pipeline's few lookups then decode only what they read.
        self.index: dict[bytes, bytes] = {}
        self.http_version = b"HTTP/1.1"
        self.head_complete = False
        self.complete = False
        self.keep_alive = False
        self.reusable = False
        self.received_any = False
        self._is_head_request = is_head_request
        self._interim = False
        self._framed = True
        self._head_size = 0
        # llhttp holds this object's callbacks and this object holds llhttp: a cycle, broken
        # when the message is complete (`feed`), so both are freed at once, not left for the
        # garbage collector (whose passes, triggered by such leftovers, cost every request).
        parser = httptools.HttpResponseParser(self)
        # RFC 9112 lets a recipient accept a bare LF as a line end and whitespace after a
        # chunk size; h11 (httpx's default parser) accepts both, so we do too.
        parser.set_dangerous_leniencies(
            lenient_optional_cr_before_lf=True, lenient_spaces_after_chunk_size=True
        )
        self._parser: httptools.HttpResponseParser | None = parser

    # -- httptools callbacks -------------------------------------------------------------

    def on_status(self, reason: bytes) -> None:
        """Collect the reason phrase (llhttp may deliver it in pieces)."""
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        """Collect a header of the head; trailers (after the head) are dropped, as httpx does."""
        if not self.head_complete:
            # llhttp strips leading whitespace only; h11 strips both ends.
            if value and value[-1] in b" \t":
                value = value.rstrip(b" \t")
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        """Skip 1xx interim responses; check the framing headers like h11."""
        parser = self._parser
        if parser is None:
            # A second message after the complete one: it belongs to no response.
            self.reusable = False
            return
        status = parser.get_status_code()
        if status < 100:
            raise httpx.RemoteProtocolError(f"invalid status code {status} in the status line")
        if status == 101:
            raise httpx.RemoteProtocolError(
                "the server switched protocols (101) although none was requested"
            )
        if status < 200:
            self._interim = True
            self.headers = []
            self.reason = b""
            return
        self.status = status
        version = parser.get_http_version()
        self.http_version = _HTTP_VERSIONS.get(version) or b"HTTP/" + version.encode()
        headers = self.headers
        # One comprehension for the common head, where every name appears once; the framing
        # headers are then two lookups. A name sent in lower case (most servers' heads) is
        # its own key: an open response keeps this index, and a copy per name was ~50 bytes.
        index = self.index = {
            (name if name.islower() else name.lower()): value for name, value in headers
        }
        if len(index) == len(headers):
            transfer_encoding = index.get(b"transfer-encoding")
            chunked = transfer_encoding is not None
            if transfer_encoding is not None and transfer_encoding.strip().lower() != b"chunked":
                raise _unsupported_coding(transfer_encoding)
            has_length = b"content-length" in index
        else:
            chunked, has_length = self._repeated_names()
        self._framed = chunked or has_length or status in (204, 304) or self._is_head_request
        self.keep_alive = parser.should_keep_alive()
        self.head_complete = True
        if self._is_head_request:
            # A response to HEAD has no body whatever its Content-Length says.
            self.complete = True
            self.reusable = self.keep_alive

    def _repeated_names(self) -> tuple[bool, bool]:
        """The index and framing of a head that repeats a name: repeated values joined with
        ", " (as httpx reads them), and one Transfer-Encoding at most."""
        index: dict[bytes, bytes] = {}
        chunked = False
        has_length = False
        for name, value in self.headers:
            lower = name.lower()
            if lower in index:
                index[lower] += b", " + value
            else:
                index[lower] = value
            if lower == b"transfer-encoding":
                if value.strip().lower() != b"chunked" or chunked:
                    raise _unsupported_coding(value)
                chunked = True
            elif lower == b"content-length":
                has_length = True
        self.index = index
        return chunked, has_length

    def on_message_complete(self) -> None:
        """End of an interim response (keep going) or of the response (done)."""
        if self._interim:
            self._interim = False
            return
        parser = self._parser
        if not self.complete and parser is not None:
            self.keep_alive = self.keep_alive and parser.should_keep_alive()
            self.complete = True
            self.reusable = self.keep_alive

    def on_message_begin(self) -> None:
        """Bytes after the end of the response mean the connection cannot be trusted again."""
        if self.complete:
            self.reusable = False

    def release_head(self) -> None:
        """Forget `headers` and `index` once the response holds them: the body keeps its
        parser as long as the response is open, and a stream's may be open for minutes."""
        self.headers = _RELEASED_HEADERS
        self.index = _RELEASED_INDEX

    # -- feeding -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Parse one socket read; raise `httpx.RemoteProtocolError` on malformed input."""
        self.received_any = True
        parser = self._parser
        if parser is None:
            # The message ended before this read: what follows belongs to no response.
            self.reusable = False
            return
        was_complete = self.complete
        if not self.head_complete:
            self._head_size += len(data)
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Only a 101 upgrades a response, and that was refused above; be safe anyway.
            raise httpx.RemoteProtocolError("the server tried to switch protocols") from None
        except httptools.HttpParserError as exc:
            if self.complete:
                # The response itself was whole; what follows it is garbage.
                self.reusable = False
            else:
                cause = exc.__context__
                if isinstance(cause, httpx.RemoteProtocolError):
                    raise cause from None
                raise httpx.RemoteProtocolError(
                    f"malformed HTTP response: {exc.args[0] if exc.args else exc}"
                ) from None
        if was_complete or (self._is_head_request and self.body):
            # Body bytes after a complete message belong to no response.
            self.reusable = False
            self.body.clear()
        if self.complete:
            self._parser = None
        if not self.head_complete and self._head_size > MAX_HEAD_SIZE:
            raise httpx.RemoteProtocolError(
                f"the response head is longer than {MAX_HEAD_SIZE} bytes"
            )

    def eof(self) -> None:
        """The peer closed the connection: end a close-delimited body, or raise."""
        if self.complete:
            self.reusable = False
            return
        if not self.received_any:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if not self.head_complete:
            raise httpx.RemoteProtocolError(
                "the server closed the connection before the response head was complete"
            )
        if not self._framed:
            self.complete = True
            self.reusable = False
            return
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            "(the response was cut short)"
        )


def _unsupported_coding(value: bytes) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(
        f"only Transfer-Encoding: chunked is supported, the server sent {value.decode('latin-1')!r}"
    )
