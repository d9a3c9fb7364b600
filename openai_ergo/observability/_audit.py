"""Audit records: one per logical request, handed to a sink the application supplies.

A record says who asked what of which model and how it went: method, path, route, model,
request id, status or error, attempts, tokens, duration and the caller's tag. It never holds a
secret (nothing is read from headers, and the path carries no query string), and holds content
only when asked (`include_content=True`), scrubbed like the span events are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

import msgspec

from openai_ergo._pipeline._observe import Observer, Operation
from openai_ergo.observability._content import (
    ContentRedactor,
    input_messages,
    output_messages,
    system_instructions,
)

__all__ = ["AuditLog", "AuditRecord"]

_encode = msgspec.json.encode


@final
class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One logical request, as an audit trail keeps it.

    `timestamp` is when it started (seconds since the epoch); `duration_ms` runs to the end of
    the stream for streams. `status` is the last HTTP status (None when no response came),
    `error_type` the HTTP status or error class it failed with. `tokens` are the server's
    counts. `content` (only with `include_content=True`) holds `input`, `output` and
    `instructions` in the OpenTelemetry GenAI message shape, redacted.
    """

    timestamp: float
    method: str
    path: str
    endpoint: str
    model: str | None
    request_id: str | None
    status: int | None
    error_type: str | None
    attempts: int
    input_tokens: int | None
    output_tokens: int | None
    duration_ms: float
    stream: bool
    tag: str | None
    content: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data

    def to_json(self) -> bytes:
        """The record as one line of JSON (no newline)."""
        return _encode(self)


@final
class AuditLog(Observer):
    """Hands one `AuditRecord` per request to `sink`: `Client(observers=[AuditLog(sink)])`.

    `sink` is called in line with the request when it is over (for a stream, when the stream
    ends): keep it quick, e.g. append to a file, or `send_nowait` into an anyio memory channel
    that a task drains. An exception from the sink reaches the caller: an audit that cannot be
    written is not silently skipped. `tag` is the record's tag when a request has none of its
    own (`RequestOptions(tag=...)`). `include_content=True` adds the prompts and answers,
    scrubbed of keys and tokens, passed through `redact` and cut to `max_content_chars` each.
    """

    def __init__(
        self,
        sink: Callable[[AuditRecord], object],
        *,
        tag: str | None = None,
        include_content: bool = False,
        redact: Callable[[str], str] | None = None,
        max_content_chars: int = 4096,
    ) -> None:
        if not callable(sink):
            raise TypeError(f"AuditLog(sink): a callable taking an AuditRecord, not {sink!r}")
        self._sink = sink
        self._tag = tag
        self._content = ContentRedactor(redact, max_content_chars) if include_content else None

    def record(self, operation: Operation) -> AuditRecord:
        """The record for a request that is over."""
        content: dict[str, Any] | None = None
        clean = self._content
        if clean is not None and operation.name is not None:
            content = {
                "instructions": system_instructions(operation.body, clean),
                "input": input_messages(operation.body, clean),
                "output": output_messages(operation, clean),
            }
        return AuditRecord(
            timestamp=operation.started_at,
            method=operation.method,
            path=operation.path,
            endpoint=operation.endpoint,
            model=operation.model,
            request_id=operation.request_id,
            status=operation.status,
            error_type=operation.error_type,
            attempts=operation.attempts,
            input_tokens=operation.input_tokens,
            output_tokens=operation.output_tokens,
            duration_ms=round((operation.duration or 0.0) * 1000.0, 3),
            stream=bool(operation.stream),
            tag=operation.tag or self._tag,
            content=content,
        )

    def ended(self, operation: Operation) -> None:
        """Write the request's record to the sink."""
        self._sink(self.record(operation))

    def __repr__(self) -> str:
        return f"AuditLog({self._sink!r}, include_content={self._content is not None})"
