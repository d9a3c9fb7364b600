"""When and how long to wait before trying a request again."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, final

_RETRY_STATUSES = frozenset({408, 409, 429})


def parse_retry_after(headers: Mapping[str, str], *, now_epoch: float) -> float | None:
    """The server's requested wait in seconds: `retry-after-ms`, then `Retry-After` as seconds or
    an HTTP date (relative to `now_epoch`, seconds since the epoch). `None` when absent or
    unreadable."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare, and the email package is not small

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now_epoch)


def _seconds(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@final
@dataclass(frozen=True, slots=True)
class RetryStop:
    """Why a retry policy gave up on a request: its `attempts` were used up, the server asked
    for a longer wait (`asked`, in seconds) than the policy's `max_retry_after`, or the request's
    body could not be sent again (`body_not_replayable`: a one-shot upload)."""

    cause: Literal["attempts_used_up", "retry_after_too_long", "body_not_replayable"]
    attempts: int
    asked: float | None = None
    max_retry_after: float | None = None

    @property
    def reason(self) -> str:
        """The reason as a clause a person can act on; the final error's message ends with it."""
        if self.asked is not None and self.max_retry_after is not None:
            return (
                f"the server asked for {_seconds(self.asked)} s, more than max_retry_after "
                f"({_seconds(self.max_retry_after)} s)"
            )
        if self.cause == "body_not_replayable":
            return (
                "its upload reads a one-shot source (an async iterable or an "
                "unseekable file) that cannot be sent again; pass a path, bytes or a seekable "
                "file to let retries replay it"
            )
        return f"after {self.attempts} attempt{'' if self.attempts == 1 else 's'}"


@final
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Jittered exponential backoff with a cap, honouring the server's own advice.

    Retried: connection errors, timeouts, 408, 409, 429 and every 5xx — unless the server says
    `x-should-retry: false`; `x-should-retry: true` forces a retry of any status. The server's
    `retry-after-ms` / `Retry-After` replaces the computed backoff when it is at most
    `max_retry_after` seconds; a longer one (a spent quota) stops retrying at once. A stream is
    retried only before its first event. `max_attempts` counts the first try (1 = no retries).
    `next_attempt()` says how long to wait, or why there is no next attempt (a `RetryStop`).
    """

    max_attempts: int = 3
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    multiplier: float = 2.0
    #: The fraction of each backoff removed at random, so clients that failed together spread out.
    jitter: float = 0.25
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = field(default=_RETRY_STATUSES)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy(max_attempts={self.max_attempts!r}): must be >= 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"RetryPolicy(jitter={self.jitter!r}): must be within [0, 1]")
        if self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("RetryPolicy backoffs must be >= 0 seconds")

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that tries once."""
        return cls(max_attempts=1)

    def with_changes(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def backoff(self, attempt: int) -> float:
        """The computed wait after failed attempt number `attempt` (1-based), jitter applied."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return base * (1.0 - self.jitter * random.random())

    def should_retry_status(self, status: int, headers: Mapping[str, str]) -> bool:
        """Whether a response with this status and headers is worth another attempt."""
        advice = headers.get("x-should-retry")
        if advice == "true":
            return True
        if advice == "false":
            return False
        return status in self.retry_statuses or status >= 500

    def next_attempt(
        self, attempt: int, headers: Mapping[str, str] | None, *, now_epoch: float
    ) -> float | RetryStop:
        """Seconds to wait before the attempt after failed attempt number `attempt`, or a
        `RetryStop` saying why there is none."""
        if attempt >= self.max_attempts:
            return RetryStop("attempts_used_up", attempt)
        if headers is not None:
            asked = parse_retry_after(headers, now_epoch=now_epoch)
            if asked is not None and asked > self.max_retry_after:
                return RetryStop(
                    "retry_after_too_long",
                    attempt,
                    asked=asked,
                    max_retry_after=self.max_retry_after,
                )
            if asked is not None:
                return asked
        return self.backoff(attempt)

    def delay(
        self, attempt: int, headers: Mapping[str, str] | None, *, now_epoch: float
    ) -> float | None:
        """Seconds to wait before the next attempt, or `None` to stop; `next_attempt` says why."""
        wait = self.next_attempt(attempt, headers, now_epoch=now_epoch)
        return None if isinstance(wait, RetryStop) else wait
