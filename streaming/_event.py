"""The event value: one dispatched Server-Sent Event."""

from __future__ import annotations

from typing import Any, final

import msgspec

__all__ = ["ServerSentEvent"]

_json_decode = msgspec.json.decode


@final
class ServerSentEvent(msgspec.Struct, frozen=True, gc=False):
    """One event as dispatched by an event stream (WHATWG HTML "Interpreting an event stream").

    The fields and their order match `httpx_sse.ServerSentEvent`, so code written for httpx-sse
    reads the same. A frozen, gc-free msgspec Struct: it is built once per event on the hot path,
    and costs about a third of a `__slots__` class to construct.
    """

    #: The event type; an event without an `event:` field is a "message".
    event: str = "message"
    #: The data lines of the event, joined with "\n".
    data: str = ""
    #: The last event id at dispatch: it carries over from earlier events until an `id:` changes it.
    id: str = ""
    #: The reconnection time in milliseconds set by a valid `retry:` field of this event's block.
    retry: int | None = None

    def json(self) -> Any:
        """Decode `data` as JSON (with msgspec); raises `msgspec.DecodeError` if it is not JSON."""
        return _json_decode(self.data)
