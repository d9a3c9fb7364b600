"""The pipeline's side of observing: what it tells its observers about one logical request.

`Pipeline` holds one `ObservedRequests` when the client has observers (None otherwise, so a
client without them runs no line of this module). The attempt loop calls it at the points it
already passes; a stream or a binary body ends its operation when it closes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, final

import anyio

from openai_ergo._pipeline._circuit import CircuitBreaker, endpoint_key
from openai_ergo._pipeline._observe import Observer, Operation, OperationEvent, circuit_event
from openai_ergo._response import APIResponse

if TYPE_CHECKING:
    from openai_ergo._errors import CircuitOpenError
    from openai_ergo._pipeline._call import Call
    from openai_ergo._response import BinaryResponse, EventStream

__all__ = ["ObservedRequests"]


@final
class ObservedRequests:
    """Fans each step of a request out to the client's observers."""

    __slots__ = ("breaker", "observers")

    def __init__(self, observers: tuple[Observer, ...], breaker: CircuitBreaker | None) -> None:
        self.observers = observers
        self.breaker = breaker

    def begin(self, call: Call, model: str | None) -> Operation:
        """The operation for `call`, told to the observers (and their headers added)."""
        url = call.target
        operation = Operation(
            method=call.method,
            path=call.path,
            url=call.url,
            endpoint=call.options.endpoint or endpoint_key(call.method, call.path),
            server_address=url.host,
            server_port=url.port or (443 if url.scheme == "https" else 80),
            model=model,
            body=call.body,
            stream=call.stream,
            tag=call.options.tag,
        )
        for observer in self.observers:
            observer.started(operation)
        for observer in self.observers:
            observer.inject(operation, call.headers.httpx())
        return operation

    def returned(
        self, operation: Operation, result: APIResponse | EventStream | BinaryResponse
    ) -> None:
        """The request returned: a plain response ends it now; a stream or a body ends it
        when it closes."""
        if isinstance(result, APIResponse):
            # The header view, not `result.headers`: that would build httpx's Headers.
            operation.read_content(result.content, result._headers.get("content-type"))
            self.end(operation)
        else:
            self._read_circuit(operation)

    def failed(self, operation: Operation, error: BaseException) -> None:
        """The request raised `error`."""
        operation.fail(error, anyio.get_cancelled_exc_class())
        self.end(operation)

    def end(self, operation: Operation) -> None:
        """Tell every observer the request is over (its duration set now)."""
        operation.duration = time.perf_counter() - operation.started
        self._read_circuit(operation)
        for observer in self.observers:
            observer.ended(operation)

    def _read_circuit(self, operation: Operation) -> None:
        if self.breaker is not None:
            operation.circuit = self.breaker.state(operation.endpoint)

    def tell(self, operation: Operation, event: OperationEvent) -> None:
        """An event inside the request."""
        for observer in self.observers:
            observer.event(operation, event)

    def refused(self, operation: Operation, error: CircuitOpenError, attempt: int) -> None:
        """The circuit breaker refused attempt `attempt`."""
        self.tell(operation, circuit_event(error, attempt))

    def attempt_ended(
        self,
        operation: Operation,
        record: dict[str, Any],
        exception: BaseException | None,
        *,
        report: bool,
    ) -> None:
        """Note an attempt's outcome; `report` tells it as an event (only requests that took
        more than one attempt report each)."""
        attempt = record["attempt"]
        operation.attempts = attempt
        status = record.get("status")
        operation.status = status
        operation.request_id = record.get("request_id")
        if report:
            failed = exception is not None and status is None
            self.tell(
                operation,
                OperationEvent(
                    "attempt",
                    attempt,
                    seconds=record.get("ms", 0.0) / 1000.0,
                    status=status,
                    error_type=type(exception).__name__ if failed else None,
                    request_id=operation.request_id,
                ),
            )

    def retrying(
        self,
        operation: Operation,
        record: dict[str, Any],
        exception: BaseException | None,
        delay: float,
    ) -> None:
        """The retry policy waits `delay` before the next attempt (the first attempt, until
        now untold, is told first)."""
        attempt = record["attempt"]
        if attempt == 1:
            self.attempt_ended(operation, record, exception, report=True)
        reason = record.get("status") or record.get("error")
        self.tell(
            operation,
            OperationEvent("retry_wait", attempt, seconds=delay, reason=str(reason or "") or None),
        )

    def rate_limited(self, operation: Operation, attempt: int, waited: float) -> None:
        """The client-side limiter held attempt `attempt` for `waited` seconds."""
        self.tell(operation, OperationEvent("rate_limit_wait", attempt, seconds=waited))

    def first_chunk(self, operation: Operation) -> None:
        """A stream's first events arrived."""
        operation.time_to_first_chunk = time.perf_counter() - operation.started
        for observer in self.observers:
            observer.first_chunk(operation)

    def closer(
        self, release: Callable[[], None] | None, operation: Operation
    ) -> Callable[[], None]:
        """What a binary body calls when it closes: `release` (the concurrency slot), then
        the end of the operation."""

        def close() -> None:
            if release is not None:
                release()
            self.end(operation)

        return close
