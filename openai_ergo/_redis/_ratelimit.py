"""`RateLimiter`'s limits shared by every process through Redis.

Each admission is one round trip: an atomic Lua script (`_lua.ADMIT`) reads the time from Redis,
paces the configured requests/min and tokens/min with the same generic cell rate algorithm as
`RateLimiter` (the theoretical arrival times live in Redis), checks the learned per-scope buckets,
books the request and, with `max_concurrency`, takes a concurrency slot. It answers how long the
request must wait, and the process sleeps that long: nothing polls Redis while it waits.

Concurrency slots are leases: members of a sorted set scored by their expiry. A process renews
the leases it holds every third of the lease, so the slots of a process that died come back
when their lease runs out. Giving a slot back, and what a response's `x-ratelimit-*` headers
taught, travel with the next admission, or with the background renewal soon after.

When Redis is down or slow, admissions go to a local `RateLimiter` (the fallback), or fail with
`RedisUnavailableError` when the limiter fails closed. The connection logs the outage once.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, final

import anyio

from openai_ergo._errors import RateLimitError, RedisUnavailableError
from openai_ergo._pipeline._buckets import NO_SCOPE, Bucket, RateLimitScope
from openai_ergo._pipeline._logging import log_event
from openai_ergo._pipeline._ratelimit import (
    _BUDGET_HEADERS,
    WAIT_EVENT,
    RateLimiter,
    RateLimitPermit,
    ScopeState,
    ScopeStates,
    _budget_headers,
    _int_header,
    parse_reset_duration,
)
from openai_ergo._redis._connection import RedisConnection
from openai_ergo._redis._lua import ADMIT, RENEW
from openai_ergo._redis._resp import bulk

FALLBACK_EVENT = "openai_ergo.rate_limit.fallback"
SHARED_AGAIN_EVENT = "openai_ergo.rate_limit.shared"
#: The longest a request waiting for a concurrency slot sleeps before it asks again; a slot
#: given back in this process wakes it at once.
_SLOT_POLL_MAX = 0.5
#: How long a slot given back, or a budget learned, waits for an admission to carry it to
#: Redis before the background sends it alone. Slots matter to waiting processes at once;
#: learned budgets can ride along with the next admission.
_RELEASE_DELAY = 0.005
_LEARN_DELAY = 0.25


#: The admission's arguments after the fixed ones, encoded: exempt or not, and the common
#: tail (no lease released, no budget learned since the last call).
_ZERO = bulk(b"0")
_EXEMPT = (_ZERO, bulk(b"1"))
_NOTHING_CARRIED = _ZERO * 2
_NO_LEASE = bulk(b"")
#: Bulk strings in an admission that carries nothing: the key count, five keys, four fixed
#: arguments, then cost, lease id, exempt, max wait, and the two zero counts.
_ADMISSION_PARTS = 16


def _scope_id(scope: RateLimitScope) -> str:
    return f"{scope.model or ''}|{scope.key or ''}"


@final
class RedisRateLimiter(ScopeStates):
    """A `RateLimiter` whose limits every process shares through Redis.

    The same limits and semantics as `RateLimiter`: configured `requests_per_minute` and
    `tokens_per_minute` paced evenly across all processes that use the same `name` on the same
    Redis; a concurrency cap held as leases (`lease` seconds, renewed while held, so a process
    that dies gives its slots back when they run out); and the budgets learned per scope (model,
    key) from `x-ratelimit-*` headers, refilled continuously. Redis keeps the time (its `TIME`),
    so machines with skewed clocks agree.

    When Redis is down or slow (each call is bounded by the connection's `timeout`), requests go
    on under `fallback`, a local `RateLimiter` (by default one with the same limits: give it
    this process's share of them when several run), or with `fail_open=False` fail at once with
    `RedisUnavailableError`. Use it as an async context manager: it renews leases in the
    background while open.
    """

    def __init__(
        self,
        redis: RedisConnection,
        *,
        name: str = "default",
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_concurrency: int | None = None,
        learn_from_headers: bool = True,
        max_wait: float | None = None,
        lease: float = 30.0,
        fallback: RateLimiter | None = None,
        fail_open: bool = True,
    ) -> None:
        if not isinstance(redis, RedisConnection):
            raise TypeError(
                f"RedisRateLimiter(redis=...) takes a RedisConnection, not {type(redis).__name__}"
            )
        for option, value in (
            ("requests_per_minute", requests_per_minute),
            ("tokens_per_minute", tokens_per_minute),
            ("max_concurrency", max_concurrency),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"RedisRateLimiter({option}={value!r}): must be positive or None")
        if max_wait is not None and max_wait < 0:
            raise ValueError(f"RedisRateLimiter(max_wait={max_wait!r}): must be >= 0 s or None")
        if lease <= redis.timeout * 3:
            raise ValueError(
                f"RedisRateLimiter(lease={lease!r}): must be longer than three times the "
                f"connection's timeout ({redis.timeout:g} s), or renewals could not keep up"
            )
        if not name or ":" in name:
            raise ValueError(f"RedisRateLimiter(name={name!r}): a non-empty name without ':'")
        self.redis = redis
        self.name = name
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.max_concurrency = max_concurrency
        self.learn_from_headers = learn_from_headers
        self.max_wait = max_wait
        self.lease = lease
        self.fail_open = fail_open
        #: Admits requests while Redis is unavailable (when failing open).
        self.fallback = fallback or RateLimiter(
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            max_concurrency=max_concurrency,
            learn_from_headers=learn_from_headers,
            max_wait=max_wait,
        )
        # The admission's arguments that never change, as Redis reads them, encoded once.
        fixed = (requests_per_minute or 0, tokens_per_minute or 0, max_concurrency or 0, lease)
        self._limits = b"".join(bulk(f"{value:.17g}".encode()) for value in fixed)
        self._keys: dict[RateLimitScope, tuple[str, ...]] = {}
        # Per scope: the key count, the keys and the fixed arguments, encoded once; its counts.
        self._heads: dict[RateLimitScope, tuple[bytes, ScopeState]] = {}
        # Per max wait: that argument, encoded.
        self._max_waits: dict[float | None, bytes] = {}
        self._admit = redis.script(ADMIT)
        self._renew = redis.script(RENEW)
        self._slots = redis.key("rl", name, "slots")
        self._tats = (
            redis.key("rl", name, "tat", "requests"),
            redis.key("rl", name, "tat", "tokens"),
        )
        self._process = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._leases = itertools.count()
        self._tickets = itertools.count()
        self._held: set[str] = set()
        self._released: list[str] = []
        # The latest update per learned bucket, not yet in Redis.
        self._learned: dict[str, list[str | int | float]] = {}
        self._released_since = 0.0
        self._learned_since = 0.0
        self._in_fallback = False
        # The background's sleep, while it sleeps: work given to it pulls its deadline in.
        self._sleeping: anyio.CancelScope | None = None
        # anyio's clock minus time.monotonic(): a constant, read by the background.
        self._clock_offset = 0.0
        # Set when a slot is given back in this process, made by the first request to wait.
        self._slot_freed: anyio.Event | None = None
        self._scopes: dict[RateLimitScope, ScopeState] = {}
        self._learned_tokens = False
        self._task_group: anyio.abc.TaskGroup | None = None
        self._opened = False
        self._closed = False
        self._admitted = 0
        self._fallback_admitted = 0
        self._total_waited = 0.0
        self._round_trips = 0

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> RedisRateLimiter:
        if self._opened:
            raise RuntimeError("a RedisRateLimiter is entered once")
        self._opened = True
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._housekeeping)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop renewing leases and give back the ones still held (best effort: they expire
        anyway). Call it from the task that opened the limiter."""
        group, self._task_group = self._task_group, None
        self._closed = True
        if group is None:
            return
        group.cancel_scope.cancel()
        await group.__aexit__(None, None, None)
        released = [*self._released, *self._held]
        self._released.clear()
        self._held.clear()
        if released:
            # Shielded: closing finishes even when cancelled. Unreachable, they run out alone.
            with anyio.CancelScope(shield=True), contextlib.suppress(RedisUnavailableError):
                await self._renew([self._slots], [self.lease, len(released), *released])

    def __del__(self) -> None:
        if getattr(self, "_opened", False) and not self._closed:
            import warnings

            warnings.warn(
                f"{self!r} was never closed: use `async with RedisRateLimiter(...)`",
                ResourceWarning,
                stacklevel=2,
            )

    # -- admission ------------------------------------------------------------------------------

    def _bucket_key(self, scope: RateLimitScope, kind: str) -> str:
        return self.redis.key("rl", self.name, "learned", _scope_id(scope), kind)

    def _scope_keys(self, scope: RateLimitScope) -> tuple[str, ...]:
        """The admission's fixed keys for `scope`: slots, both TATs, both learned buckets."""
        keys = self._keys.get(scope)
        if keys is None:
            keys = self._keys[scope] = (
                self._slots,
                *self._tats,
                self._bucket_key(scope, "requests"),
                self._bucket_key(scope, "tokens"),
            )
        return keys

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

        As `RateLimiter.acquire`, with the budget shared through Redis; while Redis is
        unavailable the fallback admits the request (or `RedisUnavailableError` is raised
        when the limiter fails closed).
        """
        if self._task_group is None:
            state = "closed" if self._closed else "not open yet (use `async with`)"
            raise RuntimeError(f"RedisRateLimiter {self.name!r} is {state}")
        limit = self.max_wait if self.max_wait is not None else max_wait
        lease_id = f"{self._process}-{next(self._leases)}" if self.max_concurrency else ""
        head, counts = self._scoped(scope)
        queued_since = 0.0
        delay = 0.01
        slot_waits = 0
        while True:
            try:
                reply = await self._run_admit(tokens, scope, head, limit, exempt, lease_id)
            except RedisUnavailableError:
                if not self.fail_open:
                    raise
                return await self._fall_back(tokens, scope, max_wait, exempt, request)
            if self._in_fallback:
                self._in_fallback = False
                log_event(SHARED_AGAIN_EVENT, (), failed=False, limiter=self.name)
            if reply == 1:  # admitted now: the common reply
                status = 1
                break
            status = int(reply[0])
            if status != 2:
                break
            if not slot_waits:
                queued_since = time.monotonic()
            slot_waits += 1
            # Every slot is taken: sleep until the first lease would run out, at most a
            # moment (a slot given back elsewhere is seen on the next try); a slot given
            # back in this process wakes the wait at once.
            pause = max(0.001, min(float(reply[1]), delay, _SLOT_POLL_MAX))
            delay = min(delay * 2, _SLOT_POLL_MAX)
            freed = self._slot_freed
            if freed is None:
                freed = self._slot_freed = anyio.Event()
            with anyio.move_on_after(pause):
                await freed.wait()
        queued = time.monotonic() - queued_since if slot_waits else 0.0
        if queued > 0:
            self._log_wait("max_concurrency", scope, queued)
        if status == 3:
            raise self._too_long(scope, tokens, reply, limit, request)
        if lease_id:
            self._held.add(lease_id)
        ticket = next(self._tickets)
        requests = counts.bucket("requests")
        requests.outstanding[ticket] = 1.0
        booked: tuple[tuple[Bucket, float], ...]
        if self.counts_tokens:
            cost = float(tokens)
            (tokens_bucket := counts.bucket("tokens")).outstanding[ticket] = cost
            booked = ((requests, 1.0), (tokens_bucket, cost))
        else:
            booked = ((requests, 1.0),)
        wait = 0.0
        if reply != 1:
            wait = float(reply[1])
            reason = reply[2].decode() if isinstance(reply[2], bytes) else str(reply[2])
            try:
                if wait > 0:
                    self._log_wait(reason or "shared budget", scope, wait)
                    await anyio.sleep(wait)
            except BaseException:
                for bucket, _ in booked:
                    bucket.outstanding.pop(ticket, None)
                self._give_back(lease_id)
                raise
            if wait > 0:
                counts.waits += 1
                counts.waited += wait
        counts.admitted += 1
        self._total_waited += wait + queued
        self._admitted += 1
        on_release = (lambda _: self._give_back(lease_id)) if lease_id else None
        return RateLimitPermit(None, wait, ticket, booked, on_release=on_release)

    def _scoped(self, scope: RateLimitScope) -> tuple[bytes, ScopeState]:
        """The admission's key count, keys and fixed arguments for `scope`, encoded, and the
        scope's counts: one look-up per admission (a scope's hash is computed in Python)."""
        found = self._heads.get(scope)
        if found is None:
            keys = self._scope_keys(scope)
            parts: list[str | int] = [len(keys), *keys]
            head = b"".join(map(bulk, parts)) + self._limits
            found = self._heads[scope] = (head, self._state(scope))
        return found

    async def _run_admit(
        self,
        tokens: int,
        scope: RateLimitScope,
        head: bytes,
        limit: float | None,
        exempt: bool,
        lease_id: str,
    ) -> Any:
        # Encoded here, from parts encoded once (the keys, the limits): every request does this.
        max_wait = self._max_waits.get(limit)
        if max_wait is None:
            max_wait = self._max_waits[limit] = bulk(-1 if limit is None else float(limit))
        varying = b"%s%s%s%s" % (
            bulk(tokens),
            bulk(lease_id.encode()) if lease_id else _NO_LEASE,
            _EXEMPT[exempt],
            max_wait,
        )
        released = self._released
        learned = self._learned
        self._round_trips += 1
        if not released and not learned:
            return await self._admit.call_encoded(
                _ADMISSION_PARTS, head + varying + _NOTHING_CARRIED
            )
        self._released, self._learned = [], {}
        # Lease ids are encoded as bytes: `bulk` keeps the strings it is given, for keys.
        leases = b"".join([bulk(lease.encode()) for lease in released])
        if not learned:  # slots given back: the same keys, and the ids after the arguments
            count = _ADMISSION_PARTS + len(released)
            body = b"%s%s%s%s%s" % (
                head,
                varying,
                bulk(len(released)),
                _ZERO,  # no budget learned
                leases,
            )
        else:
            keys: Sequence[str] = [*self._scope_keys(scope), *learned]
            parts: list[str | int] = [len(keys), *keys]
            updates = [value for values in learned.values() for value in values]
            count = 1 + len(keys) + 10 + len(released) + len(updates)
            body = b"".join(map(bulk, parts)) + self._limits + varying
            body += bulk(len(released)) + bulk(len(learned)) + leases
            body += b"".join(map(bulk, updates))
        try:
            return await self._admit.call_encoded(count, body)
        except BaseException:
            self._requeue(released, learned)
            raise

    def _requeue(self, released: list[str], learned: dict[str, list[str | int | float]]) -> None:
        """Work a failed call did not apply goes with the next one (releasing is idempotent;
        a newer update of a bucket replaces an older one)."""
        self._released[:0] = released
        self._learned = learned | self._learned

    async def _fall_back(
        self,
        tokens: int,
        scope: RateLimitScope,
        max_wait: float | None,
        exempt: bool,
        request: str | None,
    ) -> RateLimitPermit:
        self._fallback_admitted += 1
        if not self._in_fallback:
            # The connection warned about the outage itself; this says what the limiter does.
            self._in_fallback = True
            log_event(FALLBACK_EVENT, (), failed=False, limiter=self.name)
        permit = await self.fallback.acquire(
            tokens, scope=scope, max_wait=max_wait, exempt=exempt, request=request
        )
        self._admitted += 1
        self._total_waited += permit.waited
        return permit

    def _give_back(self, lease_id: str) -> None:
        if not lease_id or lease_id not in self._held:
            return
        self._held.discard(lease_id)
        if not self._released:
            self._released_since = time.monotonic()
            self._hurry(_RELEASE_DELAY)
        self._released.append(lease_id)
        freed, self._slot_freed = self._slot_freed, None
        if freed is not None:
            freed.set()

    def _hurry(self, delay: float) -> None:
        """Have the background wake within `delay` seconds, to send what no admission carried
        by then. Moving its sleep's deadline costs no task switch; waking it for each slot
        given back did, on every request with a concurrency cap."""
        sleeping = self._sleeping
        if sleeping is not None:
            deadline = time.monotonic() + self._clock_offset + delay
            if deadline < sleeping.deadline:
                sleeping.deadline = deadline

    def _too_long(
        self,
        scope: RateLimitScope,
        tokens: int,
        reply: Any,
        limit: float | None,
        request: str | None,
    ) -> RateLimitError:
        wait = float(reply[1])
        kind = reply[2].decode() if isinstance(reply[2], bytes) else str(reply[2])
        full_in = float(reply[3])
        full_at = datetime.fromtimestamp(time.time() + full_in, tz=timezone.utc)
        size = "one request" if kind == "requests" else f"about {tokens} tokens"
        message = (
            f"{request or 'The request'} was not sent: the server's {kind} budget for "
            f"{scope}, shared through Redis, needs {wait:.1f} s to refill enough for {size}, "
            f"longer than the {limit:g} s the rate limiter may wait (the server said it is "
            f"full again in {full_in:.0f} s, at {full_at:%H:%M:%S} UTC). Send it again after "
            "that, spread requests out, or allow longer waits with "
            "RedisRateLimiter(max_wait=...) or RetryPolicy(max_retry_after=...)."
        )
        return RateLimitError(
            message, scope=str(scope), retry_after=wait, reset_at=full_at.timestamp()
        )

    def _log_wait(self, reason: str, scope: RateLimitScope, seconds: float) -> None:
        log_event(
            WAIT_EVENT,
            (),
            failed=False,
            reason=reason,
            scope=str(scope),
            seconds=round(seconds, 3),
            shared=True,
        )

    # -- learning -------------------------------------------------------------------------------

    def observe(
        self,
        headers: Mapping[str, str],
        *,
        scope: RateLimitScope = NO_SCOPE,
        permit: RateLimitPermit | None = None,
    ) -> None:
        """Learn the server's view of `scope`'s budgets from a response's headers, for every
        process: the update travels to Redis with the next admission (or the next renewal)."""
        after = -1
        if permit is not None:
            after = permit.ticket
            permit.settle()
        if not self.learn_from_headers:
            return
        self.fallback.observe(headers, scope=scope)  # ready for an outage
        found = _budget_headers(headers)
        if not found:
            return
        state = self._state(scope)
        for kind, remaining_name, reset_name, limit_name in _BUDGET_HEADERS:
            remaining = _int_header(found, remaining_name)
            reset = parse_reset_duration(found.get(reset_name))
            if remaining is None or reset is None:
                continue
            self._learned_tokens = self._learned_tokens or kind == "tokens"
            limit = _int_header(found, limit_name)
            pending = state.bucket(kind).outstanding
            booked_after = sum(cost for ticket, cost in pending.items() if ticket > after)
            if not self._learned:
                self._learned_since = time.monotonic()
                self._hurry(_LEARN_DELAY)
            self._learned[self._bucket_key(scope, kind)] = [
                -1 if limit is None else limit,
                remaining,
                reset,
                booked_after,
            ]

    # -- background -----------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        """Renew the leases held every third of a lease; send the slots given back and the
        budgets learned that no admission carried in time."""
        renew_every = self.lease / 3
        self._clock_offset = anyio.current_time() - time.monotonic()
        next_renewal = time.monotonic() + renew_every
        while True:
            now = time.monotonic()
            due = next_renewal
            if self._released:
                due = min(due, self._released_since + _RELEASE_DELAY)
            if self._learned:
                due = min(due, self._learned_since + _LEARN_DELAY)
            if due > now:
                with anyio.CancelScope(deadline=anyio.current_time() + due - now) as sleeping:
                    self._sleeping = sleeping
                    try:
                        await anyio.sleep_forever()
                    finally:
                        self._sleeping = None
                continue
            try:
                if self._released or self._learned:
                    await self._flush()
                if now >= next_renewal:
                    next_renewal = now + renew_every
                    if self._held:
                        self._round_trips += 1
                        await self._renew([self._slots], [self.lease, 0, *self._held])
            except RedisUnavailableError:
                # Try again after the connection's pause; leases held are renewed then.
                next_renewal = min(next_renewal, now + max(0.05, self.redis.retry_interval))
                await anyio.sleep(max(0.05, self.redis.retry_interval))

    async def _flush(self) -> None:
        released, self._released = self._released, []
        learned, self._learned = self._learned, {}
        first = next(iter(learned), self._slots)
        keys = [self._slots, *self._tats, first, first, *learned]
        args: list[str | int | float] = [0, 0, 0, self.lease, -1, "", 0, -1]
        args += [len(released), len(learned), *released]
        args += [value for values in learned.values() for value in values]
        self._round_trips += 1
        try:
            await self._admit(keys, args)
        except BaseException:
            self._requeue(released, learned)
            raise

    # -- introspection --------------------------------------------------------------------------

    def statistics(self) -> dict[str, Any]:
        """Counters of this process: admitted requests (`fallback_admitted` of them by the
        fallback), seconds waited, slots held, round trips to Redis, and per scope the
        admitted requests and waits. The shared budgets themselves live in Redis."""
        return {
            "admitted": self._admitted,
            "fallback_admitted": self._fallback_admitted,
            "waited_seconds": self._total_waited,
            "in_flight": len(self._held),
            "round_trips": self._round_trips,
            "redis_available": self.redis.available,
            "scopes": {
                str(scope): {
                    "admitted": state.admitted,
                    "waits": state.waits,
                    "waited_seconds": state.waited,
                }
                for scope, state in self._scopes.items()
            },
        }

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter({self.redis.url!r}, name={self.name!r}, "
            f"requests_per_minute={self.requests_per_minute!r}, "
            f"tokens_per_minute={self.tokens_per_minute!r}, "
            f"max_concurrency={self.max_concurrency!r}, lease={self.lease!r})"
        )
