"""Reading usage off responses and streams, and estimating it for a stream that broke off.

A plain response carries `usage` in its body. A Responses stream carries it in its terminal
event (`response.completed`, `.incomplete` or `.failed`), a chat stream in its last chunk
(the chat builder asks for it with `stream_options.include_usage`). When a stream ends
without it (a disconnect, a timeout, an `error` event), the usage is estimated: the request's
input tokens counted from its body, plus one output token per delta event received (OpenAI
sends about one token per delta).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from openai_ergo._accounting._counting import TokenCounter
from openai_ergo._accounting._prices import TokenUsage
from openai_ergo._pipeline._middleware import RequestState

if TYPE_CHECKING:
    from streaming import ServerSentEvent

__all__ = ["StreamMeter", "input_estimate", "usage_of_body"]

_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_decode = msgspec.json.decode


def _usage_in(payload: Any) -> TokenUsage | None:
    if not isinstance(payload, dict):
        return None
    usage = payload.get("usage")
    if usage is None and isinstance(payload.get("response"), dict):
        usage = payload["response"].get("usage")
    if not isinstance(usage, dict):
        return None
    try:
        return TokenUsage.of(usage)
    except ValueError:
        return None


def usage_of_body(content: bytes) -> tuple[TokenUsage | None, str | None]:
    """The usage and model a JSON response body reports (None for either it lacks)."""
    try:
        payload = _decode(content)
    except msgspec.DecodeError:
        return None, None
    model = payload.get("model") if isinstance(payload, dict) else None
    return _usage_in(payload), model if isinstance(model, str) else None


def input_estimate(state: RequestState) -> int:
    """The input tokens of the state's request body, counted (exact with tiktoken)."""
    model = state.get("model")
    if not isinstance(model, str) or not model:
        return 0
    try:
        return TokenCounter(model).count_request(state.get("body")) or 0
    except ValueError:
        return 0


class StreamMeter:
    """Watches one stream's events for its usage, counting deltas meanwhile."""

    __slots__ = ("deltas", "model", "owner", "usage")

    def __init__(self) -> None:
        self.owner: object = None
        self.usage: TokenUsage | None = None
        self.model: str | None = None
        #: Delta events seen: the output estimate when no usage arrives.
        self.deltas = 0

    def see(self, event: ServerSentEvent) -> None:
        """One event of the stream (cheap unless it carries usage)."""
        name = event.event
        data = event.data
        if name in _TERMINAL or ('"usage":{' in data or '"usage": {' in data):
            try:
                payload = _decode(data)
            except msgspec.DecodeError:
                return
            usage = _usage_in(payload)
            if usage is not None:
                self.usage = usage
                holder = payload.get("response", payload) if isinstance(payload, dict) else {}
                model = holder.get("model") if isinstance(holder, dict) else None
                self.model = model if isinstance(model, str) else self.model
        elif name.endswith(".delta") or (name == "message" and '"delta"' in data):
            self.deltas += 1

    def result(self, state: RequestState) -> tuple[TokenUsage, bool]:
        """The stream's usage, and whether it was estimated (no usage arrived)."""
        if self.usage is not None:
            return self.usage, False
        return TokenUsage(input=input_estimate(state), output=self.deltas), True


_METER = "accounting.meter"


def feed(state: RequestState, event: ServerSentEvent, owner: object) -> None:
    """Feed the request's one meter: the first middleware to see an event owns it, so two
    accounting middleware on one client do not count each delta twice."""
    meter = state.get(_METER)
    if meter is None:
        meter = state[_METER] = StreamMeter()
        meter.owner = owner
    if meter.owner is owner:
        meter.see(event)


def stream_usage(state: RequestState) -> tuple[TokenUsage, str | None, bool]:
    """What the request's stream used, the model it reported, and whether it is estimated."""
    meter = state.get(_METER)
    if meter is None:
        return TokenUsage(input=input_estimate(state)), None, True
    usage, estimated = meter.result(state)
    return usage, meter.model, estimated
