"""An incremental Server-Sent Events decoder that frames raw bytes (WHATWG HTML 9.2.6).

This is the hot path of every stream, so it works on whole chunks with bulk byte operations:
line ends are normalised with two `bytes.replace` calls only when a chunk holds a CR, lines are
cut with one `bytes.split`, and each field value is decoded from UTF-8 once (data lines are
joined as bytes and decoded once per event). There is no per-byte Python loop and no regex.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import final

from ._errors import SSELimitError
from ._event import ServerSentEvent

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "DEFAULT_MAX_LINE_SIZE", "SSEDecoder"]

#: Generous on purpose: a Responses `response.completed` event can carry megabytes of base64.
DEFAULT_MAX_LINE_SIZE = 64 * 1024 * 1024
DEFAULT_MAX_EVENT_SIZE = 64 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"


@final
class SSEDecoder:
    """Turn the bytes of an event stream into `ServerSentEvent`s, chunk by chunk.

    Any chunking of the same bytes gives the same events. `feed()` returns the events that the
    chunk completed; `end()` marks the end of one response: the unterminated block is dropped,
    and the decoder is ready for the bytes of a reconnection (a new BOM may start them), keeping
    `last_event_id` and `retry`.

    `max_line_size` bounds one line and `max_event_size` the data of one event (in bytes);
    exceeding either raises `SSELimitError`. `on_comment` is called with the text of every
    comment line (without its leading colon), for servers that put heartbeats or notes there.
    """

    __slots__ = (
        "_between_events",
        "_block_retry",
        "_data",
        "_data_size",
        "_event_type",
        "_fast_path_size",
        "_head",
        "_id_buffer",
        "_line",
        "_max_event_size",
        "_max_line_size",
        "_on_comment",
        "_skip_lf",
        "last_event_id",
        "retry",
    )

    def __init__(
        self,
        *,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        on_comment: Callable[[str], object] | None = None,
    ) -> None:
        for name, value in (("max_line_size", max_line_size), ("max_event_size", max_event_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive number of bytes, not {value!r}")
        self._max_line_size = max_line_size
        self._max_event_size = max_event_size
        self._on_comment = on_comment
        # A chunk this small cannot break either bound, so the fast path need not count.
        self._fast_path_size = min(max_line_size, max_event_size)
        #: The start of the stream while it could still be a split BOM; None once decided.
        self._head: bytes | None = b""
        #: The unterminated line carried over to the next chunk.
        self._line = bytearray()
        #: The previous chunk ended in CR: an LF opening the next one belongs to it.
        self._skip_lf = False
        #: No partial line, data, pending LF or BOM check: the state the fast path needs.
        self._between_events = False
        self._data: list[bytes] = []
        self._data_size = 0
        self._event_type = ""
        self._id_buffer = ""
        self._block_retry: int | None = None
        #: The last event id of the stream: what a reconnection sends as `Last-Event-ID`.
        self.last_event_id = ""
        #: The reconnection time in milliseconds the server asked for, or None.
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode the next bytes of the stream; return the events they completed, in order."""
        # Fast path: the chunk is exactly one `[event: <type>\n]data: <payload>\n\n` block
        # between events, which is how OpenAI and most servers write (one event per write).
        if (
            self._between_events
            and chunk[-2:] == b"\n\n"
            and len(chunk) <= self._fast_path_size
            and 13 not in chunk  # an int test is a plain memchr, 6x faster than b"\r" in chunk
        ):
            end = len(chunk) - 2
            newline = chunk.find(b"\n")
            if newline == end and chunk[:6] == b"data: ":
                event_type = self._event_type or "message"
                payload = chunk[6:end]
            elif (
                chunk[:7] == b"event: "
                and chunk[newline + 1 : newline + 7] == b"data: "
                and chunk.find(b"\n", newline + 1) == end
            ):
                event_type = chunk[7:newline].decode("utf-8", "replace") or "message"
                payload = chunk[newline + 7 : end]
            else:
                return self._feed_slowly(chunk)
            self._event_type = ""
            retry = self._block_retry
            self._block_retry = None
            self.last_event_id = event_id = self._id_buffer
            return [
                ServerSentEvent(event_type, payload.decode("utf-8", "replace"), event_id, retry)
            ]
        return self._feed_slowly(chunk)

    def _feed_slowly(self, chunk: bytes) -> list[ServerSentEvent]:
        events = self._feed(chunk)
        self._between_events = (
            self._head is None and not self._line and not self._data and not self._skip_lf
        )
        return events

    def _feed(self, chunk: bytes) -> list[ServerSentEvent]:
        if self._head is not None:
            chunk = self._strip_bom(chunk)
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 10:
                chunk = chunk[1:]
        if not chunk:
            return []
        if 13 in chunk:
            # The line a trailing CR ends is complete now; only an LF right after it is pending.
            self._skip_lf = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        pending = self._line
        if pending:
            end = chunk.find(b"\n")
            if end < 0:
                pending += chunk
                if len(pending) > self._max_line_size:
                    self._line_too_long(len(pending))
                return []
            pending += chunk[:end]
            lines = chunk[end + 1 :].split(b"\n")
            lines.insert(0, bytes(pending))
            pending.clear()
            size = len(lines[0]) + len(chunk) - end
        else:
            lines = chunk.split(b"\n")
            size = len(chunk)
        rest = lines.pop()
        if rest:
            pending += rest
        if size > self._max_line_size:
            self._check_line_sizes(lines)
        return self._interpret(lines)

    def end(self) -> list[ServerSentEvent]:
        """Mark the end of one response: drop the unterminated block (the standard says an
        incomplete event is never dispatched) and get ready for a reconnection's bytes."""
        self._head = b""
        self._between_events = False
        self._line.clear()
        self._skip_lf = False
        self._data = []
        self._data_size = 0
        self._event_type = ""
        self._block_retry = None
        self._id_buffer = self.last_event_id
        return []

    def _strip_bom(self, chunk: bytes) -> bytes:
        assert self._head is not None
        head = self._head + chunk
        if len(head) < 3 and _BOM.startswith(head):
            self._head = head
            return b""
        self._head = None
        return head[3:] if head.startswith(_BOM) else head

    def _line_too_long(self, size: int, events: list[ServerSentEvent] | None = None) -> None:
        raise SSELimitError(
            limit="max_line_size", value=self._max_line_size, size=size, events=events or ()
        )

    def _check_line_sizes(self, lines: list[bytes]) -> None:
        # Only chunks larger than the bound get here; the events before the long line are kept.
        for index, line in enumerate(lines):
            if len(line) > self._max_line_size:
                self._line_too_long(len(line), self._interpret(lines[:index]))
        if len(self._line) > self._max_line_size:
            self._line_too_long(len(self._line), self._interpret(lines))

    def _interpret(self, lines: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        data = self._data
        data_size = self._data_size
        max_event_size = self._max_event_size
        event_type = self._event_type
        for line in lines:
            if not line:
                # A blank line dispatches; a block without data dispatches nothing, but its
                # id still becomes the stream's last event id.
                self.last_event_id = self._id_buffer
                if data:
                    raw = data[0] if len(data) == 1 else b"\n".join(data)
                    events.append(
                        ServerSentEvent(
                            event_type or "message",
                            raw.decode("utf-8", "replace"),
                            self._id_buffer,
                            self._block_retry,
                        )
                    )
                    data = []
                    data_size = 0
                event_type = ""
                self._block_retry = None
                continue
            if line[:6] == b"data: ":
                value = line[6:]
            elif line[:7] == b"event: ":
                event_type = line[7:].decode("utf-8", "replace")
                continue
            else:
                colon = line.find(b":")
                if colon == 0:
                    if self._on_comment is not None:
                        self._on_comment(line[1:].decode("utf-8", "replace"))
                    continue
                if colon < 0:
                    name = line
                    value = b""
                else:
                    name = line[:colon]
                    value = (
                        line[colon + 2 :]
                        if line[colon + 1 : colon + 2] == b" "
                        else (line[colon + 1 :])
                    )
                if name != b"data":
                    if name == b"event":
                        event_type = value.decode("utf-8", "replace")
                    elif name == b"id":
                        if b"\0" not in value:
                            self._id_buffer = value.decode("utf-8", "replace")
                    elif name == b"retry" and value.isdigit():
                        # bytes.isdigit() accepts ASCII digits only, as the standard asks.
                        self.retry = self._block_retry = int(value)
                    continue
            data.append(value)
            data_size += len(value) + 1
            if data_size > max_event_size + 1:  # data_size counts one "\n" too many
                self._data = []
                self._data_size = 0
                raise SSELimitError(
                    limit="max_event_size", value=max_event_size, size=data_size - 1, events=events
                )
        self._data = data
        self._data_size = data_size
        self._event_type = event_type
        return events
