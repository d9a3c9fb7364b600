"""The SSE encoder: the bytes of one event, or of a comment, as the decoder reads them back.

WHATWG HTML, "Interpreting an event stream", read backwards: every line of the data becomes its
own `data:` line (a CR, an LF or a CRLF all end a line, so all three split it), the fields that
cannot hold a line break refuse one, and a blank line dispatches. What `encode_sse` writes,
`SSEDecoder` reads back as the same event (a property test holds the two to that).
"""

from __future__ import annotations

from ._event import ServerSentEvent

__all__ = ["encode_sse", "encode_sse_comment"]


def _check_field(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"an SSE {name} cannot contain a line break (CR or LF): {value!r}")


def encode_sse(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """The UTF-8 bytes of one event, blank line included.

    `data` may hold line breaks (CR, LF or CRLF: each ends a `data:` line, and the browser joins
    the lines with LF); `None` writes no `data:` line, so the block dispatches nothing and only
    sets the `id` and `retry`. `event` and `id` cannot hold a line break and `id` no NUL (the
    standard ignores such an id); `retry` is a number of milliseconds >= 0. Anything else is a
    `ValueError` naming the field.
    """
    parts: list[str] = []
    if event is not None:
        _check_field("event", event)
        parts.append(f"event: {event}\n")
    if id is not None:
        _check_field("id", id)
        if "\0" in id:
            raise ValueError(f"an SSE id cannot contain NUL (browsers ignore such an id): {id!r}")
        parts.append(f"id: {id}\n")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(f"an SSE retry is a number of milliseconds >= 0, not {retry!r}")
        parts.append(f"retry: {retry}\n")
    if data is not None:
        if not isinstance(data, str):
            raise TypeError(f"SSE data is a str, not {type(data).__name__}")
        if "\n" in data or "\r" in data:
            lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            parts.extend(f"data: {line}\n" for line in lines)
        elif not parts:
            # The common case, a one-line data event: one concatenation.
            return f"data: {data}\n\n".encode()
        else:
            parts.append(f"data: {data}\n")
    parts.append("\n")
    return "".join(parts).encode()


def encode_event(event: ServerSentEvent) -> bytes:
    """The bytes of a decoded `ServerSentEvent`, to relay it as it came (its default type, and
    an empty id, are left out)."""
    return encode_sse(
        event.data,
        event=None if event.event == "message" else event.event,
        id=event.id or None,
        retry=event.retry,
    )


def encode_sse_comment(text: str = "") -> bytes:
    """The bytes of a comment: one `:` line per line of `text`. Browsers ignore comments, and
    a proxy sees bytes flow: the way to keep an idle stream open (a heartbeat)."""
    _lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "".join(f": {line}\n" if line else ":\n" for line in _lines).encode()
