"""Decoding Responses stream events: one tagged union, one reusable decoder, and the fallback
that turns an event of an unknown `type` into `UnknownEvent` instead of an exception."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, final

import msgspec

from openai_ergo.types import _tolerant
from openai_ergo.types._base import UNKNOWN_TAG, UnknownTypeVariant
from openai_ergo.types._response_events import CoreEvent
from openai_ergo.types._response_tool_events import ToolEvent
from openai_ergo.types._responses import Response

__all__ = [
    "ResponseStreamEvent",
    "UnknownEvent",
    "decode_response",
    "decode_response_event",
]


@final
class UnknownEvent(UnknownTypeVariant, tag=UNKNOWN_TAG, kw_only=True):
    """A stream event whose `type` this version does not know: `raw` is its whole payload, the
    type sent is `raw["type"]`; `event.type` reads `"<unknown>"`."""


_KNOWN_EVENTS = CoreEvent | ToolEvent

if TYPE_CHECKING:
    ResponseStreamEvent = _KNOWN_EVENTS | UnknownEvent
else:
    ResponseStreamEvent = _KNOWN_EVENTS

_EVENT_CLASSES = _tolerant.tags_of(_KNOWN_EVENTS)
_EVENT_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_KNOWN_EVENTS)
_RESPONSE_DECODER = msgspec.json.Decoder(Response)


def decode_response_event(data: str | bytes, /) -> ResponseStreamEvent:
    """Decode the `data` of one Responses stream event into its typed event.

    An event of an unknown `type` (or one carrying an output item, content part or annotation of
    an unknown type) never fails: it decodes to `UnknownEvent` (or the matching `Unknown*` object)
    with its raw payload. Invalid JSON raises `msgspec.DecodeError`; a known event with a field of
    the wrong shape, or a payload without a string `type`, raises `msgspec.ValidationError` naming
    the field.
    """
    try:
        event: ResponseStreamEvent = _EVENT_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        # Rare: only reached for unknown tags, so it costs the fast path nothing.
        if not _tolerant.is_unknown_tag(exc):
            raise
        raw = msgspec.json.decode(data)
        cls = _EVENT_CLASSES.get(raw["type"])
        if cls is None:
            return UnknownEvent(raw=raw)
        return _tolerant.event(raw, cls)  # type: ignore[return-value]
    return event


def decode_response(data: str | bytes, /) -> Response:
    """Decode a Response object (the body of `POST /responses` or `GET /responses/{id}`).

    Output items, content parts and annotations of unknown types become `Unknown*` objects.
    Invalid JSON raises `msgspec.DecodeError`, a wrong-shaped field `msgspec.ValidationError`.
    """
    try:
        return _RESPONSE_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        if not _tolerant.is_unknown_tag(exc):
            raise
        return _tolerant.response(msgspec.json.decode(data))
