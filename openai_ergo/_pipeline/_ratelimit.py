"""A client-side rate limiter: requests/min, tokens/min and concurrency, taught by the server.

Two kinds of limit meet here. The ones the user configures (`requests_per_minute`,
`tokens_per_minute`) are paced evenly with the generic cell rate algorithm in its
virtual-scheduling form: each admitted request pushes a "theoretical arrival time" forward by its
cost. The ones the server reports in `x-ratelimit-*` headers are learned per scope (model, key)
as continuous-refill buckets (`_buckets.py`), which allow what the bucket holds at once and then
the refill rate. Reservations are synchronous (no lock), so concurrent callers get distinct,
ordered start times and the wait is a single sleep.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, final

import anyio

from openai_ergo._errors import RateLimitError
from openai_ergo._pipeline._buckets import NO_SCOPE, Bucket, RateLimitScope
from openai_ergo._pipeline._clock import SYSTEM_CLOCK, Clock
from openai_ergo._pipeline._logging import log_event

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


_PREFIX = b"x-ratelimit-"
#: Per budget kind: its remaining, reset and limit headers.
_BUDGET_HEADERS = tuple(
    (
        kind,
        f"x-ratelimit-remaining-{kind}",
        f"x-ratelimit-reset-{kind}",
        f"x-ratelimit-limit-{kind}",
    )
    for kind in ("requests", "tokens")
)


_BUDGET_NAMES = frozenset(name.encode("ascii") for names in _BUDGET_HEADERS for name in names[1:])


def _budget_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The `x-ratelimit-*` headers, names lower-cased. One pass over httpx's raw list: this
    runs on every response, and six lookups by name cost more than twice as much there; a
    head the transport indexed by name answers the six lookups at once (`present`)."""
    present = getattr(headers, "present", None)
    if present is not None:
        found: dict[str, str] = present(_BUDGET_NAMES)
        return found
    raw = getattr(headers, "raw", None)
    if raw is None:
        return {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")}
    return {
        key.lower().decode("latin-1"): value.decode("latin-1")
        for key, value in raw
        if key[:12].lower() == _PREFIX
    }


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


def _exact_tokens(body: object) -> int | None:
    """`TokenCounter`'s count of a request body (None without tiktoken, or for a body that
    is not a model request); the counting module loads on the first request that needs it."""
    global _request_tokens
    if _request_tokens is None:
        from openai_ergo._accounting._counting import request_tokens

        _request_tokens = request_tokens
    model = body.get("model") if isinstance(body, dict) else getattr(body, "model", None)
    counted: int | None = _request_tokens(body, model if isinstance(model, str) else None)
    return counted


_request_tokens: Any = None


def estimate_tokens(body: object, encoded: bytes | None) -> int:
    """The tokens a request consumes, as OpenAI counts them against tokens/min: its prompt
    plus the output budget it asks for. The prompt is counted exactly (`TokenCounter`) when
    tiktoken is installed and the body is a chat, Responses, embeddings or completions
    request; else estimated as body bytes / 4."""
    exact = _exact_tokens(body) if body is not None else None
    prompt = exact if exact is not None else len(encoded) // 4 if encoded else 0
    budget = 0
    for field in _OUTPUT_BUDGET_FIELDS:
        value = body.get(field) if isinstance(body, dict) else getattr(body, field, None)
        if isinstance(value, int):
            budget = value
            break
    return max(1, prompt + budget)


WAIT_EVENT = "openai_ergo.rate_limit.wait"


class RateLimiting(Protocol):
    """What the pipeline asks of a rate limiter: `RateLimiter` in one process,
    `RedisRateLimiter` across processes."""

    @property
    def counts_tokens(self) -> bool:
        """Whether requests must be costed in tokens."""
        ...

    async def acquire(
        self,
        tokens: int = 1,
        *,
        scope: RateLimitScope = ...,
        max_wait: float | None = None,
        exempt: bool = False,
        request: str | None = None,
    ) -> RateLimitPermit:
        """Wait until a request costing `tokens` may start in `scope`."""
        ...

    def observe(
        self,
        headers: Mapping[str, str],
        *,
        scope: RateLimitScope = ...,
        permit: RateLimitPermit | None = None,
    ) -> None:
        """Learn the server's budgets from a response's headers."""
        ...

    def statistics(self) -> dict[str, Any]:
        """Counters for dashboards."""
        ...


@dataclass(slots=True)
class ScopeState:
    """What a limiter knows and counted for one scope: its learned buckets (the Redis
    limiter's hold only what this process booked and the server has not answered yet) and
    its counts."""

    requests: Bucket | None = None
    tokens: Bucket | None = None
    admitted: int = 0
    waits: int = 0
    waited: float = 0.0

    def bucket(self, kind: str) -> Bucket:
        """The learned bucket of this kind ("requests" or "tokens"), made on first use."""
        if kind == "requests":
            if self.requests is None:
                self.requests = Bucket(kind)
            return self.requests
        if self.tokens is None:
            self.tokens = Bucket(kind)
        return self.tokens

    def buckets(self, tokens: int) -> tuple[tuple[Bucket, float], ...]:
        pairs = ((self.requests, 1.0), (self.tokens, float(tokens)))
        return tuple((bucket, cost) for bucket, cost in pairs if bucket is not None)


class ScopeStates:
    """What a limiter keeps per scope (`ScopeState`), made on first use, and whether it
    costs requests in tokens: shared by `RateLimiter` and the Redis one, which count alike."""

    tokens_per_minute: float | None
    _learned_tokens: bool
    _scopes: dict[RateLimitScope, ScopeState]

    @property
    def counts_tokens(self) -> bool:
        """Whether requests must be costed in tokens (only then is the body inspected)."""
        return self.tokens_per_minute is not None or self._learned_tokens

    def _state(self, scope: RateLimitScope) -> ScopeState:
        state = self._scopes.get(scope)
        if state is None:
            state = self._scopes[scope] = ScopeState()
        return state


@final
class RateLimitPermit:
    """What `RateLimiter.acquire` hands back: how long it waited, and the concurrency slot to
    give back with `release()` (idempotent) when the request or its stream is done."""

    __slots__ = ("_booked", "_on_release", "_semaphore", "ticket", "waited")

    def __init__(
        self,
        semaphore: anyio.Semaphore | None,
        waited: float,
        ticket: int = -1,
        booked: tuple[tuple[Bucket, float], ...] = (),
        *,
        on_release: Callable[[RateLimitPermit], None] | None = None,
    ) -> None:
        self._semaphore = semaphore
        self._booked = booked
        # Another limiter's hook (the Redis one gives its lease back through it).
        self._on_release = on_release
        #: Seconds spent waiting for the limits (simulated seconds with a fake clock).
        self.waited = waited
        #: The reservation's number, in booking order.
        self.ticket = ticket

    def settle(self) -> None:
        """The server has counted the request (or never will): stop accounting for it."""
        for bucket, _ in self._booked:
            bucket.outstanding.pop(self.ticket, None)
        self._booked = ()

    def release(self) -> None:
        """Give the concurrency slot back. Safe to call more than once."""
        self.settle()
        semaphore, self._semaphore = self._semaphore, None
        if semaphore is not None:
            semaphore.release()
        on_release, self._on_release = self._on_release, None
        if on_release is not None:
            on_release(self)


@dataclass(slots=True)
class _Reservation:
    start: float
    reason: str | None
    booked: tuple[tuple[Bucket, float], ...]
    ticket: int


@final
class RateLimiter(ScopeStates):
    """Paces requests to stay under requests/min, tokens/min and a concurrency cap, and under
    the budgets the server reports.

    Configured limits (`requests_per_minute`, `tokens_per_minute`) apply to all requests of this
    limiter together and are paced evenly. Learned limits come from each response's
    `x-ratelimit-limit-*`, `-remaining-*` and `-reset-*` headers and are kept per scope: the
    request's model and, with a `KeyPool`, its key. Each is a bucket that refills continuously
    (the reset is the time until it is full again), so a request waits only as long as its own
    cost needs. A learned wait longer than `max_wait` (default: the request's
    `RetryPolicy.max_retry_after`) is not slept: the request fails at once with a client-side
    `RateLimitError` and nothing is sent. The retry of a 429 that carried `Retry-After` waits
    for that alone. Each wait is logged (`openai_ergo.rate_limit.wait`: reason, scope, seconds)
    and counted per scope in `statistics()`. Share one limiter between clients that spend the
    same organization's budget.
    """

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_concurrency: int | None = None,
        learn_from_headers: bool = True,
        max_wait: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        for name, value in (
            ("requests_per_minute", requests_per_minute),
            ("tokens_per_minute", tokens_per_minute),
            ("max_concurrency", max_concurrency),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"RateLimiter({name}={value!r}): must be positive or None")
        if max_wait is not None and max_wait < 0:
            raise ValueError(f"RateLimiter(max_wait={max_wait!r}): must be >= 0 seconds or None")
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.max_concurrency = max_concurrency
        self.learn_from_headers = learn_from_headers
        #: The longest learned wait slept; `None` defers to the request's retry policy.
        self.max_wait = max_wait
        self.clock: Clock = clock or SYSTEM_CLOCK
        self._semaphore = anyio.Semaphore(max_concurrency) if max_concurrency else None
        self._request_tat = float("-inf")
        self._token_tat = float("-inf")
        self._scopes: dict[RateLimitScope, ScopeState] = {}
        self._learned_tokens = False
        self._tickets = itertools.count()
        self._total_waited = 0.0
        self._admitted = 0

    def _reserve(
        self,
        tokens: int,
        scope: RateLimitScope,
        max_wait: float | None,
        exempt: bool,
        request: str | None,
    ) -> _Reservation:
        """When a request costing `tokens` may start; books it, or raises without booking."""
        now = self.clock.now()
        state = self._state(scope)
        booked = state.buckets(tokens)
        start, reason = now, None
        if not exempt:
            for bucket, cost in booked:
                wait = bucket.wait_for(cost, now)
                if now + wait > start:
                    start, reason = now + wait, f"learned {bucket.kind} budget"
            limit = self.max_wait if self.max_wait is not None else max_wait
            if limit is not None and start - now > limit:
                raise self._too_long(scope, state, tokens, start - now, limit, request)
        if self.requests_per_minute is not None:
            tat = max(self._request_tat, now)
            if tat > start and not exempt:
                start, reason = tat, "requests_per_minute"
            self._request_tat = tat + 60.0 / self.requests_per_minute
        if self.tokens_per_minute is not None:
            tat = max(self._token_tat, now)
            if tat > start and not exempt:
                start, reason = tat, "tokens_per_minute"
            self._token_tat = tat + tokens * 60.0 / self.tokens_per_minute
        ticket = next(self._tickets)
        for bucket, cost in booked:
            bucket.book(cost, now)
            bucket.outstanding[ticket] = cost
        return _Reservation(start, reason, booked, ticket)

    def _too_long(
        self,
        scope: RateLimitScope,
        state: ScopeState,
        tokens: int,
        wait: float,
        limit: float,
        request: str | None,
    ) -> RateLimitError:
        now = self.clock.now()
        spent = max(state.buckets(tokens), key=lambda pair: pair[0].wait_for(pair[1], now))[0]
        full_in = max(0.0, spent.reset_at - now)
        full_at = datetime.fromtimestamp(time.time() + full_in, tz=timezone.utc)
        size = "one request" if spent.kind == "requests" else f"about {tokens} tokens"
        message = (
            f"{request or 'The request'} was not sent: the server's {spent.kind} budget for "
            f"{scope} needs {wait:.1f} s to refill enough for {size}, longer than the "
            f"{limit:g} s the rate limiter may wait (the server said it is full again in "
            f"{full_in:.0f} s, at {full_at:%H:%M:%S} UTC). Send it again after that, "
            "spread requests out, or allow longer waits with RateLimiter(max_wait=...) or "
            "RetryPolicy(max_retry_after=...)."
        )
        return RateLimitError(
            message, scope=str(scope), retry_after=wait, reset_at=full_at.timestamp()
        )

    async def acquire(
        self,
        tokens: int = 1,
        *,
        scope: RateLimitScope = NO_SCOPE,
        max_wait: float | None = None,
        exempt: bool = False,
        request: str | None = None,
    ) -> RateLimitPermit:
        """Wait until a request costing `tokens` may start in `scope`; returns its permit.

        `max_wait` bounds the learned wait when the limiter has no `max_wait` of its own (the
        pipeline passes the retry policy's `max_retry_after`); `exempt` books the request
        without waiting (the retry of a 429 whose `Retry-After` was already waited out);
        `request` names it in errors. Raises `RateLimitError` when the wait would be too long.
        """
        admitted = self.admit_now(scope)
        if admitted is not None:
            return admitted
        semaphore = self._semaphore
        if semaphore is not None:
            before = self.clock.now()
            await semaphore.acquire()
            queued = self.clock.now() - before
            if queued > 0:
                self._log_wait("max_concurrency", scope, queued)
        reservation: _Reservation | None = None
        try:
            reservation = self._reserve(tokens, scope, max_wait, exempt, request)
            waited = max(0.0, reservation.start - self.clock.now())
            if waited > 0:
                assert reservation.reason is not None
                self._log_wait(reservation.reason, scope, waited)
                await self.clock.sleep(waited)
        except BaseException:
            if reservation is not None:
                # Never sent: what it booked goes back to the buckets.
                now = self.clock.now()
                for bucket, cost in reservation.booked:
                    if bucket.outstanding.pop(reservation.ticket, None) is not None:
                        bucket.book(-cost, now)
            if semaphore is not None:
                semaphore.release()
            raise
        state = self._state(scope)
        state.admitted += 1
        if waited > 0:
            state.waits += 1
            state.waited += waited
        self._total_waited += waited
        self._admitted += 1
        return RateLimitPermit(semaphore, waited, reservation.ticket, reservation.booked)

    def admit_now(self, scope: RateLimitScope = NO_SCOPE) -> RateLimitPermit | None:
        """The permit of a request that nothing paces (no configured limit, no budget learned
        for its `scope`), admitted now with nothing booked as `acquire` would admit it; None
        when `acquire` must decide (and maybe wait)."""
        if (
            self._semaphore is None
            and self.requests_per_minute is None
            and self.tokens_per_minute is None
        ):
            state = self._state(scope)
            if state.requests is None and state.tokens is None:
                state.admitted += 1
                self._admitted += 1
                return RateLimitPermit(None, 0.0, next(self._tickets))
        return None

    def _log_wait(self, reason: str, scope: RateLimitScope, seconds: float) -> None:
        log_event(
            WAIT_EVENT, (), failed=False, reason=reason, scope=str(scope), seconds=round(seconds, 3)
        )

    def observe(
        self,
        headers: Mapping[str, str],
        *,
        scope: RateLimitScope = NO_SCOPE,
        permit: RateLimitPermit | None = None,
    ) -> None:
        """Learn the server's view of `scope`'s budgets from a response's headers; `permit`
        is the answered request's (without it, every request not yet answered is taken as not
        yet counted by the server)."""
        after = -1
        if permit is not None:
            after = permit.ticket
            permit.settle()
        if not self.learn_from_headers:
            return
        found = _budget_headers(headers)
        if not found:
            return
        now = self.clock.now()
        state: ScopeState | None = None
        for kind, remaining_name, reset_name, limit_name in _BUDGET_HEADERS:
            # Without its reset a budget teaches nothing: its remaining count is not parsed.
            reset = parse_reset_duration(found.get(reset_name))
            if reset is None:
                continue
            remaining = _int_header(found, remaining_name)
            if remaining is None:
                continue
            state = state or self._state(scope)
            bucket = state.bucket(kind)
            self._learned_tokens = self._learned_tokens or kind == "tokens"
            bucket.learn(_int_header(found, limit_name), remaining, reset, now, after)

    def statistics(self) -> dict[str, Any]:
        """Counters for dashboards: admitted requests, seconds waited and slots in use overall,
        and per scope (keyed by its description) the same counts and each learned bucket's
        limit, what it holds now, its refill rate and when it is full again."""
        in_use = 0
        if self._semaphore is not None and self.max_concurrency is not None:
            in_use = self.max_concurrency - self._semaphore.value
        now = self.clock.now()
        return {
            "admitted": self._admitted,
            "waited_seconds": self._total_waited,
            "in_flight": in_use,
            "scopes": {
                str(scope): {
                    "admitted": state.admitted,
                    "waits": state.waits,
                    "waited_seconds": state.waited,
                    "requests": state.requests.snapshot(now) if state.requests else None,
                    "tokens": state.tokens.snapshot(now) if state.tokens else None,
                }
                for scope, state in self._scopes.items()
            },
        }

    def __repr__(self) -> str:
        return (
            f"RateLimiter(requests_per_minute={self.requests_per_minute!r}, "
            f"tokens_per_minute={self.tokens_per_minute!r}, "
            f"max_concurrency={self.max_concurrency!r}, max_wait={self.max_wait!r})"
        )
