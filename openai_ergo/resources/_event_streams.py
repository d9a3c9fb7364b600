"""The typed event stream of a typed method that streams something other than a Responses or
Chat Completions answer: legacy completions, speech audio, transcripts, partial images, the
Assistants runs (`client.images.generate(..., stream=True)`, ...).

It is the builders' handle (`_TypedStream`: an async context manager and iterator, `aclose()`
shielded, a `ResourceWarning` when dropped open, the `StreamError` family carrying every event
received) over events decoded into the operation's generated event union, whose unknown-tag
fallback keeps an event this version does not know with its raw payload. There is no object
to aggregate: `final()` is every event, once the stream ended whole.

A stream is whole when `data: [DONE]` arrives, or its terminal event (`speech.audio.done`,
`transcript.text.done`, `image_generation.completed` ...), or, for legacy completions, when
every choice has its `finish_reason`. An `error` event (or a payload carrying `error`, as the
official SDK reads it) ends the stream with `StreamEventError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

import msgspec

from openai_ergo.resources._aggregate import StreamFailure
from openai_ergo.resources._malformed import DecodeFailure
from openai_ergo.resources._typed_stream import Opener, _TypedStream

if TYPE_CHECKING:
    from streaming import ServerSentEvent

__all__ = ["TERMINAL_EVENTS", "TypedEventStream"]

E = TypeVar("E")

#: The tags of the events that end a stream whole (the spec's `done` / `completed` events).
TERMINAL_EVENTS = frozenset(
    {
        "speech.audio.done",
        "transcript.text.done",
        "image_generation.completed",
        "image_edit.completed",
        "response.completed",
        "response.failed",
        "response.incomplete",
    }
)


@final
class TypedEventStream(_TypedStream[E, list[E]], Generic[E]):
    """A typed method's stream of events of type `E` (the operation's event union).

    Use it as `async with await client.images.generate(..., stream=True) as stream:` then
    `async for event in stream:`; narrow with `event.type == "image_generation.partial_image"`
    (`event.event == "thread.message.delta"` for the Assistants runs). An event of a type this
    version does not know arrives as the union's `Unknown*Variant`, its payload in `.raw`.
    `text()` yields the text deltas (transcripts, completions, Assistants messages, the beta
    Responses output text), `final()`
    every event once the stream ended whole, `partial` every event so far.
    """

    __slots__ = ("_envelope", "_event_type", "_failed", "_finished", "_saw_done", "_unfinished")

    def __init__(self, opener: Opener, event_type: Any, *, envelope: bool = False) -> None:
        super().__init__(opener)
        self._event_type = event_type
        # The Assistants runs name each event in the SSE `event:` field and send the object
        # alone as its data; their generated events are `{"event": ..., "data": ...}`.
        self._envelope = envelope
        self._saw_done = False
        self._finished = False
        self._failed: StreamFailure | None = None
        #: Legacy completions' choices still without a `finish_reason`, by index.
        self._unfinished: set[int] = set()

    def _decode(self, batch: list[ServerSentEvent]) -> list[E]:
        from openai_ergo.types import decode

        kind = self._event_type
        decoded: list[E] = []
        try:
            for sse in batch:
                data = sse.data
                if data == "[DONE]":
                    self._saw_done = True
                    continue
                if self._envelope:
                    data = f'{{"event":{msgspec.json.encode(sse.event).decode()},"data":{data}}}'
                event = decode(data, type=kind)
                failure = _failure_of(sse.event, event, data)
                if failure is not None:
                    self._failed = failure
                    break  # events before the error are handed out; the error ends the stream
                self._fold(event)
                decoded.append(event)
        except DecodeFailure as exc:
            self._reject(sse.data, exc, len(decoded))
        return decoded

    def _fold(self, event: Any) -> None:
        if _tag_of(event) in TERMINAL_EVENTS:
            self._finished = True
        choices = getattr(event, "choices", None)
        if choices:
            for choice in choices:
                if choice.finish_reason:
                    self._unfinished.discard(choice.index)
                else:
                    self._unfinished.add(choice.index)

    async def _refill(self) -> bool:
        if self._failed is not None and not self._done and self._error is None:
            # The events before an error event were handed out; now the error ends the stream.
            return await self._finish()
        return await super()._refill()

    def _cut_short(self) -> str | None:
        if self._saw_done or self._finished:
            return None
        if self._events and getattr(self._events[0], "choices", None) is not None:
            if not self._unfinished:
                return None
            numbers = ", ".join(str(i) for i in sorted(self._unfinished))
            return (
                f"the stream ended before [DONE] with choice {numbers} unfinished (no "
                "finish_reason), so the answer may be cut short: `partial` holds what arrived"
            )
        return (
            "the stream ended before its terminal event and without [DONE], so it may be cut "
            "short: `partial` holds the events that arrived"
        )

    def _snapshot(self) -> list[E]:
        return list(self._events)

    def _final(self) -> list[E]:
        return list(self._events)

    def _failure(self) -> StreamFailure | None:
        return self._failed

    def _text_of(self, event: E) -> str | None:
        tag = _tag_of(event)
        if tag in ("transcript.text.delta", "response.output_text.delta"):
            return getattr(event, "delta", None)
        if tag == "thread.message.delta":
            delta = getattr(getattr(event, "data", None), "delta", None)
            parts = getattr(delta, "content", None) or ()
            texts = [getattr(getattr(p, "text", None), "value", None) for p in parts]
            return "".join(t for t in texts if t) or None
        choices = getattr(event, "choices", None)
        if choices:
            return next((c.text for c in choices if c.index == 0), None)
        return None

    def __repr__(self) -> str:
        return f"<TypedEventStream {self._state()} events={len(self._events)}>"


def _tag_of(event: Any) -> Any:
    return getattr(event, "type", None) or getattr(event, "event", None)


def _failure_of(sse_event: str, event: Any, data: str) -> StreamFailure | None:
    """How the server said the stream failed, if this event says so: an `error` event (its
    object in `data` for the Assistants runs), or a payload carrying `error`."""
    if sse_event != "error" and _tag_of(event) != "error" and '"error"' not in data:
        return None
    payload = msgspec.json.decode(data)
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if sse_event == "error" and isinstance(payload.get("data"), dict):
        error = payload["data"]  # the Assistants `error` event: `{"event": "error", "data": {...}}`
    if error is None and (sse_event == "error" or payload.get("type") == "error"):
        error = payload  # a Responses-style `{"type": "error", "message": ...}`
    if not isinstance(error, dict):
        return None
    message = error.get("message")
    return StreamFailure(
        "error",
        message if isinstance(message, str) and message else "the server sent an error event",
        type=_str_or_none(error.get("type")),
        code=_str_or_none(error.get("code")),
        param=_str_or_none(error.get("param")),
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
