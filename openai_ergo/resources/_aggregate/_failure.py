"""How a stream ended badly, and the typed error that says so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, final

from openai_ergo._errors import (
    ResponseFailedError,
    ResponseIncompleteError,
    StreamEventError,
)

__all__ = ["StreamFailure"]


@final
@dataclass(frozen=True)
class StreamFailure:
    """How a stream ended badly, as the server said it: an `error` event or chunk, or a terminal
    `response.failed` / `response.incomplete` event (`reason` says why it is incomplete)."""

    kind: Literal["error", "failed", "incomplete"]
    message: str
    type: str | None = None
    code: str | None = None
    param: str | None = None
    reason: str | None = None

    def to_error(
        self, *, partial: Any = None, events: Sequence[Any] = (), request_id: str | None = None
    ) -> StreamEventError:
        """The exception to raise for this failure, carrying what was received so far."""
        common: dict[str, Any] = {
            "type": self.type,
            "code": self.code,
            "param": self.param,
            "partial": partial,
            "events": events,
            "request_id": request_id,
        }
        if self.kind == "incomplete":
            return ResponseIncompleteError(self.message, reason=self.reason, **common)
        if self.kind == "failed":
            return ResponseFailedError(self.message, **common)
        return StreamEventError(self.message, **common)


# ---------------------------------------------------------------------------------------------
# Chat Completions
