"""An incremental Server-Sent Events decoder that frames raw bytes (WHATWG HTML 9.2.6).

This is the hot path of every stream, so the common shapes never reach a per-line loop. A chunk
that is exactly one `[event: <type>\n]data: <payload>\n\n` block (one event per write, as
OpenAI sends) becomes its event with a few byte tests, one slice and one decode. A larger read
(a transport handing over whole socket reads) has its complete blocks decoded from UTF-8 at once
and cut with one `str.split`; when every block is a single `data:` line (chat) or an `event:`
line and a `data:` line (Responses), the events are built straight from the pieces. Everything
else (comments, ids, retries, multi-line data, CR line ends, a BOM) takes the general path: line
ends normalised with two `bytes.replace` calls only when a chunk holds a CR, lines cut with one
`bytes.split`, each field value decoded once. Decoding a whole run of blocks at once equals
decoding field by field: UTF-8 is self-synchronising, and an invalid sequence never swallows the
ASCII `\n`, `:` or space that frame the fields.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import repeat
from typing import Any, ClassVar, Final, final

from ._errors import SSELimitError

__all__ = [
    "COMPILED",
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_LINE_SIZE",
    "SSEDecoder",
    "ServerSentEvent",
]

#: Generous on purpose: a Responses `response.completed` event can carry megabytes of base64.
DEFAULT_MAX_LINE_SIZE = 64 * 1024 * 1024
DEFAULT_MAX_EVENT_SIZE = 64 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"

#: Whether this module runs compiled by mypyc (`make` builds it; docs/performance.md): the
#: compiled form decodes whole reads by scanning, the interpreted one by `str.split`.
COMPILED: Final = not __file__.endswith((".py", ".pyc"))
#: Chunks up to this size are tried as exactly one block. Larger ones are nearly always many
#: blocks (a socket read), and the one-block tests would first copy them whole; the bulk path
#: decodes a single large block as fast.
_ONE_BLOCK_SIZE = 16 * 1024


@final
class ServerSentEvent:
    """One event as dispatched by an event stream (WHATWG HTML "Interpreting an event stream").

    The fields and their order match `httpx_sse.ServerSentEvent`, so code written for httpx-sse
    reads the same: `ServerSentEvent(event, data, id, retry)`, positionally or by keyword. An
    immutable value: assigning a field raises `AttributeError`; events compare and hash by their
    fields, and `match` takes them positionally. Defined beside the decoder so that mypyc compiles
    it with it: the decoder then builds each event with a direct C call, without a dependency.
    """

    __match_args__: ClassVar[tuple[str, ...]] = ("event", "data", "id", "retry")
    # The interpreter keeps these in slots; mypyc lays them out natively (it ignores __slots__).
    __slots__ = ("_data", "_event", "_id", "_retry")

    def __init__(
        self, event: str = "message", data: str = "", id: str = "", retry: int | None = None
    ) -> None:
        self._event = event
        self._data = data
        self._id = id
        self._retry = retry

    @property
    def event(self) -> str:
        """The event type; an event without an `event:` field is a "message"."""
        return self._event

    @property
    def data(self) -> str:
        """The data lines of the event, joined with "\\n"."""
        return self._data

    @property
    def id(self) -> str:
        """The last event id at dispatch: it carries over until an `id:` field changes it."""
        return self._id

    @property
    def retry(self) -> int | None:
        """The reconnection time in milliseconds set by a valid `retry:` field of this block."""
        return self._retry

    def json(self) -> Any:
        """Decode `data` as JSON with the standard library's `json.loads`.

        Raises `json.JSONDecodeError` (a `ValueError`) when `data` is not JSON.
        """
        return json.loads(self._data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (
            self._data == other._data
            and self._event == other._event
            and self._id == other._id
            and self._retry == other._retry
        )

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return not self == other

    def __hash__(self) -> int:
        return hash((self._event, self._data, self._id, self._retry))

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(event={self._event!r}, data={self._data!r}, id={self._id!r}, "
            f"retry={self._retry!r})"
        )


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
        "_block_retry",
        "_data",
        "_data_size",
        "_event_type",
        "_fast_limit",
        "_fast_path_size",
        "_framed",
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
        #: The BOM check is done and no LF is owed to a CR: LFs alone can frame the next lines.
        self._framed = False
        #: -1 until the decoder is ready: framed, and every block so far dispatched (no partial
        #: line, data, type, id or retry pending), so the next chunk may be read as whole
        #: blocks. Then the largest chunk tried as exactly one block (see `feed`).
        self._fast_limit = -1
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
        """Decode the next bytes of the stream; return the events they completed, in order.

        `chunk` is `bytes`: the compiled build raises `TypeError` for anything else (a
        `bytearray` included), so convert a buffer with `bytes(...)` first.
        """
        # `_fast_limit` is the size bound while every block so far is dispatched, else -1: one
        # comparison both admits the chunk to the one-block shapes and keeps it within bounds.
        if len(chunk) <= self._fast_limit:
            # Exactly one block, the way OpenAI writes (one event per write) and so the way a
            # chunk iterator hands events over: `data: <payload>\n\n` (chat) or
            # `event: <type>\ndata: <payload>\n\n` (Responses). The tests are memchr scans,
            # slices and indexes rather than method calls, which cost ~40 ns each on this path.
            # The last two bytes are tested before `[..:-2]` is sliced: compiled by mypyc, a
            # bytes slice whose start passes its end raises SystemError instead of giving b"",
            # and the prefix and the two LFs rule that out.
            if chunk[:6] == b"data: " and chunk[-1] == 10 and chunk[-2] == 10:
                payload = chunk[6:-2]
                if 10 not in payload and 13 not in payload:
                    try:
                        # Strict decoding skips parsing two arguments; it fails only on
                        # invalid UTF-8, which then takes the standard's replacement path.
                        data = payload.decode()
                    except UnicodeDecodeError:
                        data = payload.decode("utf-8", "replace")
                    return [ServerSentEvent("message", data, self.last_event_id)]
            elif (
                chunk[:7] == b"event: "
                and chunk[-1] == 10
                and chunk[-2] == 10
                and chunk[(newline := chunk.find(b"\n")) + 1 : newline + 7] == b"data: "
            ):
                payload = chunk[newline + 7 : -2]
                if 10 not in payload and 13 not in chunk:
                    try:
                        event_type = chunk[7:newline].decode() or "message"
                        data = payload.decode()
                    except UnicodeDecodeError:
                        event_type = chunk[7:newline].decode("utf-8", "replace") or "message"
                        data = payload.decode("utf-8", "replace")
                    return [ServerSentEvent(event_type, data, self.last_event_id)]
        if self._framed and 13 not in chunk:
            return self._feed_in_bulk(chunk)
        return self._feed_slowly(chunk)

    def _feed_in_bulk(self, chunk: bytes) -> list[ServerSentEvent]:
        # No CR in the chunk and none pending, no BOM check: LFs alone frame the lines. A block
        # in progress is finished the general way; from its blank line on, the decoder is clean
        # and the complete blocks up to the chunk's last blank line are decoded at once. Only
        # the chunk's own bytes are searched, so a long line arriving in many reads stays linear.
        events: list[ServerSentEvent] = []
        start = 0
        try:
            if self._fast_limit < 0:  # not ready: finish the block in progress first
                if not self._line and chunk[:1] == b"\n":
                    start = 1  # the previous chunk ended a line; this LF ends the block
                else:
                    start = chunk.find(b"\n\n") + 2
                    if start < 2:
                        return self._feed_slowly(chunk)
                events = self._feed_slowly(chunk[:start])
            cut = chunk.rfind(b"\n\n", start) + 2
            if cut < 2 or cut - start > self._fast_path_size:
                events += self._feed_slowly(chunk[start:])
                return events
            # A memoryview slice decodes without copying the bytes first.
            blocks = str(memoryview(chunk)[start:cut], "utf-8", "replace")
            bulk = self._scan_blocks(blocks) if COMPILED else self._split_blocks(blocks)
            if bulk is None:
                events += self._feed_slowly(chunk[start:])
                return events
            events += bulk
            if cut < len(chunk):
                events += self._feed_slowly(chunk[cut:])
            return events
        except SSELimitError as exc:
            # Nothing is lost: the events of the blocks before the one over the bound ride on it.
            exc.events = (*events, *exc.events)
            raise

    def _scan_blocks(self, blocks: str) -> list[ServerSentEvent] | None:
        """The events of whole blocks that all share one of the two common shapes, else None.

        `blocks` ends with a blank line and holds no CR. Compiled, a loop that finds each LF
        with one memchr costs ~12 ns per event, where `str.split` scans byte by byte (~0.5 ns
        per byte, ~130 ns per chat event); interpreted, the loop's bytecode costs more than the
        scan, so `_split_blocks` is used instead. Both give the same events.
        """
        events: list[ServerSentEvent] = []
        event_id = self.last_event_id
        end = len(blocks)
        position = 0
        while position < end:
            if blocks[position : position + 6] == "data: ":
                event_type = "message"
                start = position + 6
            elif blocks[position : position + 7] == "event: ":
                newline = blocks.find("\n", position + 7)
                if blocks[newline + 1 : newline + 7] != "data: ":
                    return None
                event_type = blocks[position + 7 : newline] or "message"
                start = newline + 7
            else:
                return None
            # Every block ends with a blank line, so this LF is never the last character.
            newline = blocks.find("\n", start)
            if blocks[newline + 1] != "\n":
                return None
            events.append(ServerSentEvent(event_type, blocks[start:newline], event_id))
            position = newline + 2
        return events

    def _split_blocks(self, blocks: str) -> list[ServerSentEvent] | None:
        """The events of whole blocks that all share one of the two common shapes, else None.

        `blocks` ends with a blank line and holds no CR. The shape is proven by the absence of
        any other LF: every LF left after cutting at the separators would open another line.
        """
        if blocks[:6] == "data: ":
            payloads = blocks.split("\n\ndata: ")
            payloads[0] = payloads[0][6:]
            payloads[-1] = payloads[-1][:-2]
            if "\n" in "".join(payloads):
                return None
            count = len(payloads)
            return list(
                map(
                    ServerSentEvent,
                    repeat("message", count),
                    payloads,
                    repeat(self.last_event_id, count),
                )
            )
        if blocks[:7] == "event: ":
            parts = blocks.split("\n\nevent: ")
            parts[0] = parts[0][7:]
            parts[-1] = parts[-1][:-2]
            event_id = self.last_event_id
            events: list[ServerSentEvent] = []
            append = events.append
            for part in parts:
                event_type, separator, payload = part.partition("\ndata: ")
                if not separator or "\n" in payload or "\n" in event_type:
                    return None
                append(ServerSentEvent(event_type or "message", payload, event_id))
            return events
        return None

    def _feed_slowly(self, chunk: bytes) -> list[ServerSentEvent]:
        events = self._feed(chunk)
        self._framed = self._head is None and not self._skip_lf
        ready = (
            self._framed
            and not self._line
            and not self._data
            and not self._event_type
            and self._block_retry is None
            and self._id_buffer == self.last_event_id
        )
        self._fast_limit = min(self._fast_path_size, _ONE_BLOCK_SIZE) if ready else -1
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
        self._framed = False
        self._fast_limit = -1
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


if COMPILED:
    # mypyc keeps no docstrings (mypyc/mypyc#437); the class gets its own back, word for word
    # (a test compares it with the interpreted class's). IDEs read them from this source anyway.
    setattr(  # noqa: B010 - a plain assignment to a compiled class's attribute does not compile
        SSEDecoder,
        "__doc__",
        """Turn the bytes of an event stream into `ServerSentEvent`s, chunk by chunk.

    Any chunking of the same bytes gives the same events. `feed()` returns the events that the
    chunk completed; `end()` marks the end of one response: the unterminated block is dropped,
    and the decoder is ready for the bytes of a reconnection (a new BOM may start them), keeping
    `last_event_id` and `retry`.

    `max_line_size` bounds one line and `max_event_size` the data of one event (in bytes);
    exceeding either raises `SSELimitError`. `on_comment` is called with the text of every
    comment line (without its leading colon), for servers that put heartbeats or notes there.
    """,
    )
    setattr(  # noqa: B010 - as above
        ServerSentEvent,
        "__doc__",
        """One event as dispatched by an event stream (WHATWG HTML "Interpreting an event stream").

    The fields and their order match `httpx_sse.ServerSentEvent`, so code written for httpx-sse
    reads the same: `ServerSentEvent(event, data, id, retry)`, positionally or by keyword. An
    immutable value: assigning a field raises `AttributeError`; events compare and hash by their
    fields, and `match` takes them positionally. Defined beside the decoder so that mypyc compiles
    it with it: the decoder then builds each event with a direct C call, without a dependency.
    """,
    )
