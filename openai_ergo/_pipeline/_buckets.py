"""The server's budgets as the client learns them: one continuous-refill bucket per limit.

OpenAI keeps a requests bucket and a tokens bucket per model (and per key). Each refills
continuously, and `x-ratelimit-reset-*` is the time until it is full again, not the start of a
new window. So from one response's limit L, remaining R and reset T the refill rate is
`(L - R) / T`, and a request of cost c waits `(c - level) / rate`: with L = 150,000 tokens drained
to 0 and T = 6 minutes, a 100-token request waits 0.24 s, not six minutes.

Each response redraws the bucket as the line from (now, R) to (now + T, L). That line never lies
above the server's own: a `remaining` rounded down starts it lower and ends it at the same
point, and the reset is taken one millisecond longer than sent, since servers send it rounded
to the millisecond. So the client may be a hair slow, but never admits what the server refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, final

_NEVER = float("-inf")
#: Resets come in whole milliseconds at best: taken this much longer, the reset is never early.
RESET_RESOLUTION = 0.001


@final
@dataclass(frozen=True, slots=True)
class RateLimitScope:
    """Whose budget a request spends: its `model` (`None` for operations without one, which
    share one scope) and, with a `KeyPool`, its `key` (the masked label, never the key)."""

    model: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        text = f"model {self.model!r}" if self.model else "requests without a model"
        return f"{text}, key {self.key}" if self.key else text


#: The scope of operations without a model, on a single key.
NO_SCOPE = RateLimitScope()


@dataclass(slots=True)
class Bucket:
    """One learned budget (the requests or the tokens of one scope).

    `level` is what the bucket held at `stamp`; it goes below zero when requests were booked
    ahead of the refill (concurrent callers queue on it). `rate` is units per second, `None` until
    a response showed a partly spent bucket.
    """

    kind: str
    capacity: float = 0.0
    limit_known: bool = False
    rate: float | None = None
    level: float = 0.0
    stamp: float = 0.0
    #: When the server said the bucket would be full again (clock time).
    reset_at: float = _NEVER
    #: Costs booked by requests not answered yet, by reservation number (in booking order).
    outstanding: dict[int, float] = field(default_factory=dict)

    def level_at(self, now: float) -> float | None:
        """What the bucket holds at `now`, or `None` when nothing constrains it (the rate is
        unknown and the reported reset has passed)."""
        if self.rate is None:
            return self.level if now < self.reset_at else None
        return min(self.capacity, self.level + self.rate * (now - self.stamp))

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until the bucket covers `cost`: as long as the cost needs, and for a request
        larger than the whole bucket, until it is full (the server then decides)."""
        level = self.level_at(now)
        if level is None or level >= cost:
            return 0.0
        if self.rate is None:
            # Without a rate the only bound known is the reset itself.
            return max(0.0, self.reset_at - now)
        return max(0.0, (min(cost, self.capacity) - level) / self.rate)

    def book(self, cost: float, now: float) -> None:
        """Take `cost` out of the bucket (below zero when booked ahead of the refill)."""
        level = self.level_at(now)
        if level is not None:
            self.level, self.stamp = level - cost, now

    def learn(
        self, limit: int | None, remaining: int, reset: float, now: float, after: int = -1
    ) -> None:
        """Take the server's word for the bucket: `limit`, `remaining` and `reset` seconds, in
        the answer to reservation `after`. The server had not counted what was booked after
        that one (still waiting, or on its way), so `remaining` is short of it."""
        if limit is not None:
            self.capacity, self.limit_known = float(limit), True
        elif not self.limit_known:
            # No limit sent: the largest remaining seen is a lower bound of it. The line to it
            # lies below the server's, and the bucket counts as full at the reset: a request
            # never waits longer than the reset for it.
            self.capacity = max(self.capacity, float(remaining))
        deficit = self.capacity - remaining
        if reset <= 0:
            remaining = max(remaining, int(self.capacity))  # full now, whatever it rounded
        elif deficit > 0:
            self.rate = deficit / (reset + RESET_RESOLUTION)
        self.level = remaining - sum(c for n, c in self.outstanding.items() if n > after)
        self.stamp = now
        self.reset_at = now + reset + RESET_RESOLUTION if reset > 0 else now

    def snapshot(self, now: float) -> dict[str, Any]:
        """The bucket for `statistics()`: `available` is what it holds now (past its reset with
        no rate known, it counts as full), `full_in` the seconds until it is full."""
        level = self.level_at(now)
        if level is None:
            level, full_in = self.capacity, 0.0
        elif self.rate:
            full_in = max(0.0, (self.capacity - level) / self.rate)
        else:
            full_in = max(0.0, self.reset_at - now)
        return {
            "limit": self.capacity,
            "limit_estimated": not self.limit_known,
            "available": level,
            "refill_per_second": self.rate,
            "full_in": full_in,
        }
