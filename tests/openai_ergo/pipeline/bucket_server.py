"""A simulated OpenAI rate limit: per-model request and token buckets that refill continuously.

It is a `ScriptedServer` handler, so requests travel over a real loopback socket; time is the
test's fake clock. Each request costs one request and its body's `max_output_tokens` in tokens.
A request the buckets cannot cover gets a 429 (nothing is taken); every answer carries the
`x-ratelimit-*` headers as OpenAI sends them: limit, remaining (rounded down) and the time until
the bucket is full again (rounded to the millisecond, written like Go durations: `6m0s`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field

import anyio
import msgspec

from tests.openai_ergo.pipeline.conftest import FakeClock
from tests.openai_ergo.pipeline.scripted import Recorded, Reply, error_body


class VirtualClock:
    """Simulated time for many concurrent requests: it stands still while any request task is
    busy (building, sending, being answered), and when all of them wait on the clock it jumps
    to the earliest wake-up. So every request reaches the server at the simulated time it was
    scheduled for, however long the loopback round trips take in real time.

    Count each request task with `started()` before spawning it and `finished()` at its end.
    """

    def __init__(self) -> None:
        self.time = 1000.0
        self.busy = 0
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.time

    def started(self) -> None:
        self.busy += 1

    def finished(self) -> None:
        self.busy -= 1
        self._advance()

    async def sleep(self, seconds: float) -> None:
        woken = anyio.Event()
        heapq.heappush(self._sleepers, (self.time + seconds, next(self._order), woken))
        self.busy -= 1
        self._advance()
        await woken.wait()

    def _advance(self) -> None:
        if self.busy or not self._sleepers:
            return
        self.time = max(self.time, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self.time:
            _, _, woken = heapq.heappop(self._sleepers)
            self.busy += 1
            woken.set()


def go_duration(seconds: float) -> str:
    """`seconds` rounded to the millisecond, as OpenAI writes resets: `120ms`, `1.5s`, `6m0s`."""
    ms = round(seconds * 1000)
    if ms < 1000:
        return f"{ms}ms"
    minutes, ms = divmod(ms, 60_000)
    secs = f"{ms / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


@dataclass
class SimulatedBucket:
    """`limit` units, refilled continuously over `window` seconds."""

    limit: float
    window: float
    level: float
    stamp: float

    @property
    def rate(self) -> float:
        return self.limit / self.window

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + self.rate * (now - self.stamp))
        self.stamp = now

    def headers(self, name: str) -> list[tuple[str, str]]:
        return [
            (f"x-ratelimit-limit-{name}", str(int(self.limit))),
            (f"x-ratelimit-remaining-{name}", str(math.floor(self.level + 1e-9))),
            (f"x-ratelimit-reset-{name}", go_duration((self.limit - self.level) / self.rate)),
        ]


@dataclass
class Admitted:
    """One request the server accepted: when, for which model, what it cost in tokens."""

    at: float
    model: str
    tokens: int


@dataclass
class BucketServer:
    """The handler: per model, a requests bucket and a tokens bucket, both full at the start."""

    clock: FakeClock | VirtualClock
    requests_per_window: float
    tokens_per_window: float
    requests_window: float = 60.0
    tokens_window: float = 60.0
    admitted: list[Admitted] = field(default_factory=list)
    rejected: int = 0
    _buckets: dict[str, tuple[SimulatedBucket, SimulatedBucket]] = field(default_factory=dict)

    def buckets(self, model: str) -> tuple[SimulatedBucket, SimulatedBucket]:
        if model not in self._buckets:
            now = self.clock.now()
            self._buckets[model] = (
                SimulatedBucket(self.requests_per_window, self.requests_window, 0.0, now),
                SimulatedBucket(self.tokens_per_window, self.tokens_window, 0.0, now),
            )
            for bucket in self._buckets[model]:
                bucket.level = bucket.limit
        return self._buckets[model]

    async def __call__(self, request: Recorded) -> Reply:
        body = msgspec.json.decode(request.body)
        model, tokens = body["model"], int(body["max_output_tokens"])
        now = self.clock.now()
        requests, token_bucket = self.buckets(model)
        requests.refill(now)
        token_bucket.refill(now)
        # A hair of tolerance for float arithmetic: the client computes the same line.
        fits = requests.level >= 1 - 1e-6 and token_bucket.level >= tokens - 1e-6
        if fits:
            requests.level -= 1
            token_bucket.level -= tokens
            self.admitted.append(Admitted(now, model, tokens))
        else:
            self.rejected += 1
        headers = requests.headers("requests") + token_bucket.headers("tokens")
        if not fits:
            headers.append(("retry-after", "1"))
            return Reply(
                status=429, json=error_body("Rate limit reached", type="requests"), headers=headers
            )
        return Reply(json={"id": "resp_1", "object": "response"}, headers=headers)
