"""The targets we hold ourselves to, judged from one run's medians.

Every comparison uses a row that does the SDK's work: typed events, a check of each event's
type, and aggregation (`ergo_final`; or the raw request tier `ergo_raw` when the builders are
missing, which does exactly the SDK's `stream=True` work: typed chunks, joined text), never a
byte-only row. A target whose rows are missing or invalid is UNKNOWN with the reason, never a
pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchmarks._harness import Series

__all__ = ["Target", "evaluate"]


@dataclass(frozen=True)
class Target:
    """One target: what is compared, the measured value, the bound, and the verdict."""

    name: str
    description: str
    value: float | None
    bound: float
    #: ">=", "<=" or "<": how the value must compare with the bound.
    relation: str
    unit: str
    note: str = ""

    @property
    def verdict(self) -> str:
        """PASS, MISS, or UNKNOWN when the value could not be measured."""
        if self.value is None:
            return "UNKNOWN"
        checks = {
            ">=": self.value >= self.bound,
            "<=": self.value <= self.bound,
            "<": self.value < self.bound,
        }
        return "PASS" if checks[self.relation] else "MISS"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return {
            "name": self.name,
            "description": self.description,
            "value": self.value,
            "bound": self.bound,
            "relation": self.relation,
            "unit": self.unit,
            "verdict": self.verdict,
            "note": self.note,
        }


class _Lookup:
    def __init__(self, series: list[Series]) -> None:
        self._by_key = {(one.scenario, one.key): one for one in series}

    def ours(self, scenario: str, backend: str, *, on_httpx: bool = False) -> str:
        """The builder row (`.stream()` + `.final()`) when it ran, else the raw request tier,
        which does the same work as the SDK's `stream=True` (typed chunks, joined text)."""
        prefix = "ergo_httpx" if on_httpx else "ergo"
        builder = f"{prefix}_final/{backend}"
        one = self._by_key.get((scenario, builder))
        if one is not None and one.records and not (one.invalid or one.unavailable):
            return builder
        raw = f"{prefix}_raw/{backend}"
        return raw if (scenario, raw) in self._by_key else builder

    def median(self, scenario: str, key: str, metric: str) -> float | None:
        one = self._by_key.get((scenario, key))
        summary = one.metric(metric) if one is not None else None
        return None if summary is None else summary["median"]

    def why_missing(self, scenario: str, *keys: str) -> str:
        reasons = []
        for key in keys:
            one = self._by_key.get((scenario, key))
            if one is None:
                reasons.append(f"{key} not in the plan")
            elif one.unavailable:
                reasons.append(f"{key} unavailable ({one.unavailable})")
            elif one.invalid:
                reasons.append(f"{key} invalid ({one.invalid})")
        return "; ".join(reasons)


def _ratio(
    look: _Lookup, scenario: str, ours: str, theirs: str, metric: str
) -> tuple[float | None, str]:
    mine = look.median(scenario, ours, metric)
    other = look.median(scenario, theirs, metric)
    if mine is None or other is None or mine == 0 or other == 0:
        return None, look.why_missing(scenario, ours, theirs)
    return mine / other, f"{ours} vs {theirs}"


def evaluate(
    series: list[Series], imports: dict[str, Any] | None, decoder: dict[str, Any] | None
) -> list[Target]:
    """Judge every target from the medians of one run."""
    look = _Lookup(series)
    targets: list[Target] = []

    def ratio_target(
        name: str,
        description: str,
        bound: float,
        relation: str,
        compute: Callable[[], tuple[float | None, str]],
        unit: str = "x",
    ) -> None:
        value, note = compute()
        targets.append(Target(name, description, value, bound, relation, unit, note))

    for scenario in ("chat_long", "responses_long"):
        for backend in ("asyncio", "trio"):
            ours = look.ours(scenario, backend)
            ratio_target(
                f"{scenario}.vs_sdk.{backend}",
                f"{scenario}: events per CPU-second, ergo ({backend}) / SDK stream=True",
                10.0,
                ">=",
                partial(_ratio, look, scenario, ours, "sdk/asyncio", "events_per_cpu_s"),
            )
            ratio_target(
                f"{scenario}.vs_httpx_ceiling.{backend}",
                f"{scenario}: events per CPU-second, ergo ({backend}) / httpx aiter_bytes",
                0.85,
                ">=",
                partial(_ratio, look, scenario, ours, "httpx_bytes/asyncio", "events_per_cpu_s"),
            )
    ratio_target(
        "requests.vs_sdk",
        "non-streamed request: CPU per request, ergo / SDK",
        0.60,
        "<=",
        lambda: _ratio(
            look, "requests", look.ours("requests", "asyncio"), "sdk/asyncio", "us_cpu_per_unit"
        ),
    )
    if imports is not None and "openai_ergo" in imports and "openai" in imports:
        # Medians of interleaved fresh interpreters, in CPU time (benchmarks/_imports.py); the
        # wall-clock medians of the same samples go in the note.
        ours, sdk = imports["openai_ergo"], imports["openai"]
        rounds = f"median of {imports['repeats']}" if "repeats" in imports else "median"
        wall = (
            f"; wall {ours['wall_ms']:.0f} vs {sdk['wall_ms']:.0f} ms"
            if "wall_ms" in ours and "wall_ms" in sdk
            else ""
        )
        targets.append(
            Target(
                "import.ms",
                "import openai_ergo",
                ours["ms"],
                150.0,
                "<=",
                "ms",
                f"CPU, {rounds}{wall}",
            )
        )
        targets.append(
            Target(
                "import.vs_sdk",
                "import openai_ergo / import openai",
                ours["ms"] / sdk["ms"],
                0.25,
                "<",
                "x",
                f"{ours['ms'] / sdk['ms']:.4f}x: {ours['ms']:.1f} / {sdk['ms']:.0f} ms CPU, "
                f"{rounds}",
            )
        )
    ratio_target(
        "concurrent.memory_vs_sdk",
        "500 concurrent streams: RSS per stream, ergo / SDK",
        1 / 3,
        "<=",
        lambda: _ratio(
            look,
            "concurrent_streams",
            look.ours("concurrent_streams", "asyncio"),
            "sdk/asyncio",
            "kb_per_stream",
        ),
    )
    for backend in ("asyncio", "trio"):
        key = look.ours("sustained", backend)
        growth = look.median("sustained", key, "rss_growth_kb")
        targets.append(
            Target(
                f"sustained.rss_growth.{backend}",
                f"sustained streams ({backend}): RSS growth after warm-up",
                None if growth is None else growth / 1024,
                5.0,
                "<",
                "MB",
                look.why_missing("sustained", key) if growth is None else "",
            )
        )
    for backend in ("asyncio", "trio"):
        fast = look.ours("chat_long", backend)
        on_httpx = look.ours("chat_long", backend, on_httpx=True)
        ratio_target(
            f"fast.chat_long.vs_sdk.{backend}",
            f"chat_long, default fast transport ({backend}): events per CPU-second / SDK",
            25.0,
            ">=",
            partial(_ratio, look, "chat_long", fast, "sdk/asyncio", "events_per_cpu_s"),
        )
        ratio_target(
            f"fast.chat_long.vs_httpx_transport.{backend}",
            f"chat_long ({backend}): events per CPU-second, fast transport / httpx's transport",
            3.0,
            ">=",
            partial(_ratio, look, "chat_long", fast, on_httpx, "events_per_cpu_s"),
        )
    ratio_target(
        "fast.requests.vs_sdk",
        "non-streamed request, fast transport: CPU per request / SDK",
        0.40,
        "<=",
        lambda: _ratio(
            look,
            "requests",
            look.ours("requests", "asyncio"),
            "sdk/asyncio",
            "us_cpu_per_unit",
        ),
    )
    _per_request_targets(look, targets, ratio_target)
    if decoder is not None:
        feeds = decoder["feeds"]
        form = "compiled" if decoder["compiled"] else "interpreted"
        targets.append(
            Target(
                "decoder.vs_httpx_sse",
                "SSE decoder events/s / httpx-sse, the slower of its two feeds",
                min(feeds["per_event"]["ratio"], feeds["reads_64k"]["ratio"]),
                5.0,
                ">=",
                "x",
                f"{form}: one event per feed {feeds['per_event']['ratio']:.2f}x, 64 KiB feeds "
                f"{feeds['reads_64k']['ratio']:.2f}x; interpreted: "
                f"{feeds['per_event']['ratio_interpreted']:.2f}x and "
                f"{feeds['reads_64k']['ratio_interpreted']:.2f}x",
            )
        )
    return targets


def _per_request_targets(
    look: _Lookup, targets: list[Target], ratio_target: Callable[..., None]
) -> None:
    """Fixed costs per request and per open stream, against the raw socket row of
    the same run (which does the least any Python client can do over the same bytes)."""
    raw = "raw_msgspec/asyncio"
    for scenario, description, bound in (
        ("requests", "small non-streamed request: CPU, ergo / raw socket", 3.0),
        ("short_streams", "short stream (20 events): CPU, ergo / raw socket", 2.0),
    ):
        ours = look.ours(scenario, "asyncio")
        compute = partial(_ratio, look, scenario, ours, raw, "us_cpu_per_unit")
        if scenario == "requests":
            compute = partial(_request_floor, look, ours, raw, bound, compute)
        ratio_target(f"{scenario}.vs_raw", description, bound, "<=", compute)
    for scenario, label in (
        ("concurrent_streams", "concurrent streams"),
        ("many_streams", "many open streams"),
    ):
        for backend in ("asyncio", "trio"):
            key = look.ours(scenario, backend)
            kib = look.median(scenario, key, "kb_per_stream")
            targets.append(
                Target(
                    f"{scenario}.kib_per_stream.{backend}",
                    f"{label} ({backend}): RSS per open stream",
                    kib,
                    20.0,
                    "<=",
                    "KiB",
                    look.why_missing(scenario, key)
                    if kib is None
                    else f"raw socket: {look.median(scenario, raw, 'kb_per_stream') or 0:.1f} KiB",
                )
            )
    ours = look.ours("first_event", "asyncio")
    mine = look.median("first_event", ours, "ttfe_us")
    floor = look.median("first_event", raw, "ttfe_us")
    if mine is None or floor is None:
        note = look.why_missing("first_event", ours, raw)
    else:
        note = _first_event_floor(look, ours, raw, mine - floor)
    targets.append(
        Target(
            "first_event.vs_raw",
            "time to first event after idle, ergo minus raw socket",
            None if mine is None or floor is None else mine - floor,
            50.0,
            "<=",
            "µs",
            note,
        )
    )


def _request_floor(
    look: _Lookup,
    ours: str,
    raw: str,
    bound: float,
    compute: Callable[[], tuple[float | None, str]],
) -> tuple[float | None, str]:
    """The request ratio, with both rows' CPU and calls per request; when it misses, the
    floor: the steps our row takes that the raw socket's does not, counted
    (docs/performance.md lists them layer by layer)."""
    ratio, note = compute()
    if ratio is None:
        return ratio, note
    cpu_ours = look.median("requests", ours, "us_cpu_per_unit")
    cpu_raw = look.median("requests", raw, "us_cpu_per_unit")
    note = f"{cpu_ours:,.0f} µs of CPU per request against the raw socket's {cpu_raw:,.0f}"
    calls_ours = look.median("requests", ours, "request_calls")
    calls_raw = look.median("requests", raw, "request_calls")
    if calls_ours is not None and calls_raw:
        note += f"; {calls_ours:,.0f} Python and C calls against {calls_raw:,.0f}"
    if ratio <= bound:
        return ratio, note
    note += ". Floor: the steps the raw socket does not take"
    if calls_ours is not None and calls_raw:
        note += f", {calls_ours - calls_raw:,.0f} more calls per request"
    note += (
        ": the builder and the typed decode, the call's headers, the retry policy, circuit"
        " breaker and rate limiter, the pool's idle check, the response objects, and anyio's"
        " readiness wait, which adds and removes the socket's reader on every wait"
        " (docs/performance.md)"
    )
    return ratio, note


def _first_event_floor(look: _Lookup, ours: str, raw: str, gap: float) -> str:
    """What the time-to-first-event gap is made of: the CPU each row spent on the way, the
    rest of its wall time (waiting: the server, the kernel, the scheduler), and the calls each
    made. After an idle pause every step runs with cold caches, so the CPU gap follows the
    count of steps and is the floor of the wall gap: only fewer steps on our path lower it
    (docs/performance.md)."""
    cpu_ours = look.median("first_event", ours, "ttfe_cpu_us")
    cpu_raw = look.median("first_event", raw, "ttfe_cpu_us")
    if cpu_ours is None or cpu_raw is None:
        return ""
    note = f"CPU on the way: {cpu_ours:,.0f} µs against the raw socket's {cpu_raw:,.0f}"
    wait_ours = look.median("first_event", ours, "ttfe_wait_us")
    wait_raw = look.median("first_event", raw, "ttfe_wait_us")
    if wait_ours is not None and wait_raw is not None:
        note += f"; waiting {wait_ours:,.0f} µs against {wait_raw:,.0f}"
    calls_ours = look.median("first_event", ours, "ttfe_calls")
    calls_raw = look.median("first_event", raw, "ttfe_calls")
    if calls_ours is not None and calls_raw:
        note += f"; {calls_ours:,.0f} Python and C calls against {calls_raw:,.0f}"
    if gap <= 50.0:
        return note
    note += (
        f". Floor: the CPU gap, {cpu_ours - cpu_raw:,.0f} µs, our extra steps run with cold"
        " caches after the pause (docs/performance.md)"
    )
    if wait_ours is not None and wait_raw is not None and wait_ours - wait_raw > 50.0:
        note += (
            f"; the other {wait_ours - wait_raw:,.0f} µs are waiting, time this process did"
            " not run (the server, the kernel, the scheduler), which a loaded machine moves"
            " from run to run"
        )
    return note
