"""A circuit breaker per endpoint: closed → open → half-open → closed.

After `failure_threshold` consecutive failures (5xx, connection errors, timeouts — never a 4xx,
which proves the server is up) the endpoint fails fast with `CircuitOpenError` for `cooldown`
seconds; then one trial request goes through: success closes the circuit, failure reopens it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, final

from openai_ergo._errors import CircuitOpenError
from openai_ergo._pipeline._clock import SYSTEM_CLOCK, Clock

CircuitState = Literal["closed", "open", "half-open"]

# A path segment that names one object (file-abc123, resp_68a..., 42) rather than a collection;
# API versions (v1, v2) stay literal because they are part of the route.
_ID_SEGMENT = re.compile(r"^(?=.*\d)(?!v\d+$)[A-Za-z0-9_.:\-]+$")


@lru_cache(maxsize=1024)
def endpoint_key(method: str, path: str) -> str:
    """`GET /files/{id}/content` for `GET /files/file-abc123/content`: one breaker per route,
    not per object, so a failing route trips after N failures whatever objects they named."""
    segments = path.split("?", 1)[0].split("/")
    route = "/".join("{id}" if _ID_SEGMENT.match(segment) else segment for segment in segments)
    return f"{method.upper()} {route}"


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False


@final
class CircuitBreaker:
    """Fails fast on an endpoint that keeps failing, and probes it again after a cool-down."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(
                f"CircuitBreaker(failure_threshold={failure_threshold!r}): must be >= 1"
            )
        if cooldown < 0:
            raise ValueError(f"CircuitBreaker(cooldown={cooldown!r}): must be >= 0")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock: Clock = clock or SYSTEM_CLOCK
        self._circuits: dict[str, _Circuit] = {}

    def state(self, endpoint: str) -> CircuitState:
        """The endpoint's state now (`endpoint` spelt as `endpoint_key` does: `"POST /files"`)."""
        circuit = self._circuits.get(endpoint)
        if circuit is None or circuit.opened_at is None:
            return "closed"
        if self.clock.now() - circuit.opened_at >= self.cooldown:
            return "half-open"
        return "open"

    def admit(self, endpoint: str, *, method: str | None = None, url: str | None = None) -> bool:
        """Let a request through or raise `CircuitOpenError`. Returns whether it is the trial.

        The caller must report the outcome with `record(endpoint, ...)`, also on cancellation
        (`ok=None`), or a half-open circuit would wait for its trial forever.
        """
        circuit = self._circuits.get(endpoint)
        if circuit is None or circuit.opened_at is None:
            return False
        retry_at = circuit.opened_at + self.cooldown
        if self.clock.now() >= retry_at and not circuit.trial_in_flight:
            circuit.trial_in_flight = True
            return True
        wait = max(0.0, retry_at - self.clock.now())
        when = f"in {wait:.1f} s" if wait > 0 else "after the trial request in flight"
        raise CircuitOpenError(
            f"{endpoint} failed fast: its circuit is open after {circuit.failures} consecutive "
            f"failures; the next trial request goes through {when}.",
            endpoint=endpoint,
            retry_at=retry_at,
            method=method,
            url=url,
        )

    def record(self, endpoint: str, ok: bool | None, *, trial: bool = False) -> None:
        """Report an outcome: `True` success (or a 4xx), `False` failure, `None` no verdict."""
        circuit = self._circuits.get(endpoint)
        if ok is None:
            if trial and circuit is not None:
                circuit.trial_in_flight = False
            return
        if ok:
            if circuit is not None:
                del self._circuits[endpoint]
            return
        if circuit is None:
            circuit = self._circuits[endpoint] = _Circuit()
        circuit.failures += 1
        if trial or circuit.failures >= self.failure_threshold:
            circuit.opened_at = self.clock.now()
        circuit.trial_in_flight = False

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(failure_threshold={self.failure_threshold}, "
            f"cooldown={self.cooldown}, open={sorted(self._circuits)!r})"
        )
