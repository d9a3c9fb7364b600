"""A client-side rate limiter: requests/min, tokens/min and concurrency, taught by the server.

Pacing uses the generic cell rate algorithm in its virtual-scheduling form: each admitted request
pushes a "theoretical arrival time" forward by its cost, and a request waits until that time has
come. Reservations are synchronous (no lock), so concurrent callers get distinct, ordered start
times and the wait is a single sleep. OpenAI enforces per-minute limits over shorter windows, so
smooth pacing (no minute-sized bursts) is what keeps a batch job clear of 429s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, final

import anyio

from openai_ergo._pipeline._clock import SYSTEM_CLOCK, Clock

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_reset_duration(value: str | None) -> float | None:
    """Seconds in an `x-ratelimit-reset-*` value: `6m0s`, `1s`, `120ms`, `1h2m3.5s` or `20`."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    total = 0.0
    end = 0
    for match in _DURATION_PART.finditer(value):
        if match.start() != end:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        end = match.end()
    return total if end == len(value) and end else None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


@final
@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The `x-ratelimit-*` headers of one response, parsed (seconds for the resets)."""

    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests: float | None = None
    reset_tokens: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """The parsed headers, or `None` when the response carried none of them."""
        if "x-ratelimit-limit-requests" not in headers and (
            "x-ratelimit-remaining-requests" not in headers
            and "x-ratelimit-remaining-tokens" not in headers
        ):
            return None
        return cls(
            limit_requests=_int_header(headers, "x-ratelimit-limit-requests"),
            limit_tokens=_int_header(headers, "x-ratelimit-limit-tokens"),
            remaining_requests=_int_header(headers, "x-ratelimit-remaining-requests"),
            remaining_tokens=_int_header(headers, "x-ratelimit-remaining-tokens"),
            reset_requests=parse_reset_duration(headers.get("x-ratelimit-reset-requests")),
            reset_tokens=parse_reset_duration(headers.get("x-ratelimit-reset-tokens")),
        )


_OUTPUT_BUDGET_FIELDS = ("max_output_tokens", "max_completion_tokens", "max_tokens")


def estimate_tokens(body: object, encoded: bytes | None) -> int:
    """A cheap upper-ish estimate of the tokens a request consumes: prompt bytes / 4 plus the
    output budget the request asks for (what OpenAI itself counts against tokens/min)."""
    prompt = len(encoded) // 4 if encoded else 0
    budget = 0
    for field in _OUTPUT_BUDGET_FIELDS:
        value = body.get(field) if isinstance(body, dict) else getattr(body, field, None)
        if isinstance(value, int):
            budget = value
            break
    return max(1, prompt + budget)


@final
class RateLimitPermit:
    """What `RateLimiter.acquire` hands back: how long it waited, and the concurrency slot to
    give back with `release()` (idempotent) when the request or its stream is done."""

    __slots__ = ("_semaphore", "waited")

    def __init__(self, semaphore: anyio.Semaphore | None, waited: float) -> None:
        self._semaphore = semaphore
        #: Seconds spent waiting for the limits (simulated seconds with a fake clock).
        self.waited = waited

    def release(self) -> None:
        """Give the concurrency slot back. Safe to call more than once."""
        semaphore, self._semaphore = self._semaphore, None
        if semaphore is not None:
            semaphore.release()


@final
class RateLimiter:
    """Paces requests to stay under requests/min, tokens/min and a concurrency cap.

    It also learns from each response's `x-ratelimit-remaining-*` / `x-ratelimit-reset-*`
    headers: when the server says a budget is spent, new requests wait for its reset instead of
    collecting 429s. Waiting is automatic; the attempt's log event reports it (`waited_ms`).
    Share one limiter between clients that spend the same organization's budget.
    """

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_concurrency: int | None = None,
        learn_from_headers: bool = True,
        clock: Clock | None = None,
    ) -> None:
        for name, value in (
            ("requests_per_minute", requests_per_minute),
            ("tokens_per_minute", tokens_per_minute),
            ("max_concurrency", max_concurrency),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"RateLimiter({name}={value!r}): must be positive or None")
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.max_concurrency = max_concurrency
        self.learn_from_headers = learn_from_headers
        self.clock: Clock = clock or SYSTEM_CLOCK
        self._semaphore = anyio.Semaphore(max_concurrency) if max_concurrency else None
        self._request_tat = float("-inf")
        self._token_tat = float("-inf")
        # What the server last told us, as absolute clock times.
        self._server_requests_left: int | None = None
        self._server_requests_reset_at = float("-inf")
        self._server_tokens_left: int | None = None
        self._server_tokens_reset_at = float("-inf")
        self._total_waited = 0.0
        self._admitted = 0

    @property
    def counts_tokens(self) -> bool:
        """Whether requests must be costed in tokens (only then is the body inspected)."""
        return self.tokens_per_minute is not None or self._server_tokens_left is not None

    def _reserve(self, tokens: int) -> float:
        """The clock time at which a request costing `tokens` may start; books it."""
        now = self.clock.now()
        start = now
        if self.requests_per_minute is not None:
            tat = max(self._request_tat, now)
            start = max(start, tat)
            self._request_tat = tat + 60.0 / self.requests_per_minute
        if self.tokens_per_minute is not None:
            tat = max(self._token_tat, now)
            start = max(start, tat)
            self._token_tat = tat + tokens * 60.0 / self.tokens_per_minute
        if self._server_requests_left is not None and now < self._server_requests_reset_at:
            if self._server_requests_left <= 0:
                start = max(start, self._server_requests_reset_at)
            else:
                self._server_requests_left -= 1
        if self._server_tokens_left is not None and now < self._server_tokens_reset_at:
            if self._server_tokens_left < tokens:
                start = max(start, self._server_tokens_reset_at)
            else:
                self._server_tokens_left -= tokens
        return start

    async def acquire(self, tokens: int = 1) -> RateLimitPermit:
        """Wait until a request costing `tokens` may start; returns its permit."""
        semaphore = self._semaphore
        if semaphore is not None:
            await semaphore.acquire()
        try:
            start = self._reserve(tokens)
            waited = max(0.0, start - self.clock.now())
            if waited > 0:
                await self.clock.sleep(waited)
        except BaseException:
            if semaphore is not None:
                semaphore.release()
            raise
        self._total_waited += waited
        self._admitted += 1
        return RateLimitPermit(semaphore, waited)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the server's view of the remaining budget from a response's headers."""
        if not self.learn_from_headers:
            return
        # Only the four headers it learns from: this runs on every response.
        requests_left = _int_header(headers, "x-ratelimit-remaining-requests")
        tokens_left = _int_header(headers, "x-ratelimit-remaining-tokens")
        if requests_left is None and tokens_left is None:
            return
        now = self.clock.now()
        if requests_left is not None:
            reset = parse_reset_duration(headers.get("x-ratelimit-reset-requests"))
            if reset is not None:
                self._server_requests_left = requests_left
                self._server_requests_reset_at = now + reset
        if tokens_left is not None:
            reset = parse_reset_duration(headers.get("x-ratelimit-reset-tokens"))
            if reset is not None:
                self._server_tokens_left = tokens_left
                self._server_tokens_reset_at = now + reset

    def statistics(self) -> dict[str, Any]:
        """Counters for dashboards: admitted requests, total seconds waited, slots in use."""
        in_use = 0
        if self._semaphore is not None and self.max_concurrency is not None:
            in_use = self.max_concurrency - self._semaphore.value
        return {
            "admitted": self._admitted,
            "waited_seconds": self._total_waited,
            "in_flight": in_use,
            "server_requests_left": self._server_requests_left,
            "server_tokens_left": self._server_tokens_left,
        }

    def __repr__(self) -> str:
        return (
            f"RateLimiter(requests_per_minute={self.requests_per_minute!r}, "
            f"tokens_per_minute={self.tokens_per_minute!r}, "
            f"max_concurrency={self.max_concurrency!r})"
        )
