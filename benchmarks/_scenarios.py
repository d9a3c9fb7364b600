"""The workloads, written once against `ClientRow`, so every row does exactly the same work.

Each scenario returns what the row counted, what the server sent (so the harness can reject a
row that skipped work), and scenario-specific measurements (memory per stream, time to first
event, RSS samples). CPU and wall time are taken around the scenario by the caller.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from benchmarks._bodies import (
    CHAT_EXTRA_EVENTS,
    RESPONSES_EXTRA_EVENTS,
    model_for,
    token_text,
)
from benchmarks._rows import ClientRow
from benchmarks._server import raise_fd_limit

__all__ = [
    "SCENARIOS",
    "Counted",
    "current_rss_kb",
    "peak_rss_kb",
    "warm_up",
]

#: Streams of the many-streams scenario between request and first event at any time.
_OPENING = 256
#: No scenario may take longer than this in one process: a stuck row fails instead of hanging.
_SCENARIO_LIMIT_SECONDS = 600.0


@dataclass
class Counted:
    """What a scenario counted, what was expected, and its own measurements."""

    events: int | None
    text_chars: int | None
    expected_events: int
    expected_chars: int
    #: Events that crossed the wire (the basis of events per second for every row).
    wire_events: int
    #: Units of work for per-unit costs: streams or requests.
    units: int
    extra: dict[str, Any] = field(default_factory=dict)


def current_rss_kb() -> int:
    """Resident set size now, in KiB (Linux `/proc`; the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() // 1024
    except OSError:
        return peak_rss_kb()


def peak_rss_kb() -> int:
    """Peak resident set size of this process so far, in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _streamed(
    events: int | None,
    chars: int | None,
    size: int,
    count: int,
    extra: dict[str, Any] | None = None,
    *,
    extra_events: int = CHAT_EXTRA_EVENTS,
) -> Counted:
    # Every stream of `size` tokens carries the same wire events and text; scale by `count`.
    wire = size + extra_events
    return Counted(
        events,
        chars,
        wire * count,
        len(token_text(size)) * count,
        wire * count,
        count,
        extra or {},
    )


async def _chat_many(row: ClientRow, count: int, size: int) -> tuple[int | None, int | None]:
    model = model_for(size)
    events: int | None = 0
    chars: int | None = 0
    for _ in range(count):
        outcome = await row.chat_stream(model)
        events = None if events is None or outcome.events is None else events + outcome.events
        chars = None if chars is None or outcome.text_chars is None else chars + outcome.text_chars
    return events, chars


async def chat_long(row: ClientRow, size: int) -> Counted:
    """One long chat stream."""
    outcome = await row.chat_stream(model_for(size))
    return _streamed(outcome.events, outcome.text_chars, size, 1)


async def responses_long(row: ClientRow, size: int) -> Counted:
    """One long Responses stream."""
    outcome = await row.responses_stream(model_for(size))
    return _streamed(
        outcome.events, outcome.text_chars, size, 1, extra_events=RESPONSES_EXTRA_EVENTS
    )


async def short_streams(row: ClientRow, count: int, size: int) -> Counted:
    """Many short chat streams, one after another on the pool's keep-alive connection."""
    events, chars = await _chat_many(row, count, size)
    return _streamed(events, chars, size, count)


async def concurrent_streams(
    row: ClientRow, count: int, size: int, opening: int | None = None
) -> Counted:
    """`count` chat streams open at once on one event loop.

    Every stream reads its first event and then waits until all are open, so the memory
    sampled at that moment holds `count` live streams; then all finish. With `opening`, at most
    that many streams are between sending their request and holding their first event at any
    time (a stream's delay counts from its own start).
    """
    model = model_for(size)
    gate = anyio.Semaphore(opening or count)
    opened = 0
    all_open = anyio.Event()
    baseline = current_rss_kb()
    at_peak: list[int] = []
    totals = [0, 0]
    counts_known = [True, True]
    #: Per stream, from starting its request to holding its first event, in ms.
    delays: list[float] = []

    async def one() -> None:
        await gate.acquire()
        started = time.perf_counter()
        waiting = True

        async def barrier() -> None:
            nonlocal opened, waiting
            delays.append((time.perf_counter() - started) * 1000)
            waiting = False
            gate.release()
            opened += 1
            if opened == count:
                at_peak.append(current_rss_kb())
                all_open.set()
            await all_open.wait()

        try:
            outcome = await row.chat_stream(model, on_first=barrier)
        finally:
            if waiting:
                gate.release()
        for index, value in enumerate((outcome.events, outcome.text_chars)):
            if value is None:
                counts_known[index] = False
            else:
                totals[index] += value

    with anyio.fail_after(_SCENARIO_LIMIT_SECONDS):
        async with anyio.create_task_group() as group:
            for _ in range(count):
                group.start_soon(one)
    rss_open = at_peak[0] if at_peak else current_rss_kb()
    return _streamed(
        totals[0] if counts_known[0] else None,
        totals[1] if counts_known[1] else None,
        size,
        count,
        {
            "rss_before_kb": baseline,
            "rss_all_open_kb": rss_open,
            "kb_per_stream": (rss_open - baseline) / count,
            "first_event_ms_median": statistics.median(delays) if delays else None,
            "first_event_ms_max": max(delays) if delays else None,
        },
    )


async def many_streams(row: ClientRow, count: int, size: int) -> Counted:
    """`count` (10,000 in the full run) chat streams open at once on one event loop, as a
    server relaying model streams to browsers holds them: memory per open stream, CPU per
    event, and the slowest stream's wait for its first event.

    Each stream needs a socket at both ends: the file-descriptor limit is raised to what this
    needs (up to the hard limit) first, and a limit too low to hold them is reported as such.
    Streams open `_OPENING` at a time, as such a server's users arrive: ten thousand connects
    in one instant overflow the listen backlog (SYNs dropped, retried a second or more later)
    and time out against any client's connect timeout, which measures the kernel, not the
    client.
    """
    needed = count + 256
    available = raise_fd_limit(needed)
    if available < needed:
        raise RuntimeError(
            f"{count} open streams need {needed} file descriptors; the hard limit is {available}"
        )
    return await concurrent_streams(row, count, size, opening=_OPENING)


async def requests(row: ClientRow, count: int, size: int) -> Counted:
    """Small non-streamed chat completions, one after another.

    It also reports the Python and C calls one request makes, from the call to the typed
    object (`request_calls`, counted with `sys.setprofile` on three more untimed requests,
    the median): what a row's CPU per request is made of, step by step.
    """
    model = model_for(size)
    chars = 0
    for _ in range(count):
        outcome = await row.chat_request(model)
        chars += outcome.text_chars or 0
    calls = [await _calls_of_request(row, model) for _ in range(3)]
    counted = Counted(count, chars, count, len(token_text(size)) * count, 0, count)
    counted.extra["request_calls"] = statistics.median(calls)
    return counted


async def _calls_of_request(row: ClientRow, model: str) -> int:
    """The Python and C calls `row` makes for one small request."""
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        await row.chat_request(model)
    finally:
        sys.setprofile(None)
    # The call of `setprofile` that stops counting is the harness's, not the row's.
    return max(0, calls - 1)


async def first_event(row: ClientRow, count: int, size: int, idle_ms: int = 50) -> Counted:
    """Time from sending a request to holding its first parsed event, on a pooled connection
    that sat idle for `idle_ms` first (as between a chat app's turns).

    It also reports, per sample, the CPU this thread spent on the way (`ttfe_cpu_us`) and the
    rest of the wall time (`ttfe_wait_us`: the server, the kernel, the scheduler, which a
    client cannot shorten), and, from three more untimed streams after the same pause, the
    Python and C calls the row made on the way (`ttfe_calls`, counted with `sys.setprofile`).
    After an idle pause every step runs with cold caches, so the CPU gap between two rows
    follows their count of steps (docs/performance.md).
    """
    model = model_for(size)
    samples: list[float] = []
    cpu_samples: list[float] = []
    started = 0.0
    cpu_started = 0.0

    async def mark() -> None:
        samples.append(time.perf_counter() - started)
        cpu_samples.append(time.thread_time() - cpu_started)

    events = 0
    chars = 0
    for _ in range(count):
        await anyio.sleep(idle_ms / 1000)
        cpu_started = time.thread_time()
        started = time.perf_counter()
        outcome = await row.chat_stream(model, on_first=mark)
        events += outcome.events or 0
        chars += outcome.text_chars or 0
    # Counted on streams of their own (the profiler slows every step), after the same pause;
    # the median of three, since whether the answer is there at the first read changes them.
    calls: list[int] = []
    for _ in range(3):
        await anyio.sleep(idle_ms / 1000)
        calls.append(await _calls_to_first_event(row, model))
    micros = [sample * 1e6 for sample in samples]
    waits = [(wall - cpu) * 1e6 for wall, cpu in zip(samples, cpu_samples, strict=True)]
    return _streamed(
        events,
        chars,
        size,
        count,
        {
            "ttfe_us": statistics.median(micros),
            "ttfe_us_min": min(micros),
            "ttfe_cpu_us": statistics.median(sample * 1e6 for sample in cpu_samples),
            "ttfe_wait_us": statistics.median(waits),
            "ttfe_calls": statistics.median(calls),
        },
    )


async def _calls_to_first_event(row: ClientRow, model: str) -> int:
    """The Python and C calls `row` makes from the start of a stream to its first event
    (its events are not counted: the timed streams are the scenario's)."""
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    async def stop() -> None:
        sys.setprofile(None)

    sys.setprofile(count)
    try:
        await row.chat_stream(model, on_first=stop)
    finally:
        sys.setprofile(None)
    # The call of `stop` itself (and of `setprofile` in it) is the harness's, not the row's.
    return max(0, calls - 2)


async def sustained(row: ClientRow, count: int, size: int, samples: int = 20) -> Counted:
    """Many streams in a row, sampling RSS: after warm-up it must stay flat (no leak)."""
    step = max(1, count // samples)
    rss: list[int] = []
    events = 0
    chars = 0
    for done in range(0, count, step):
        batch_events, batch_chars = await _chat_many(row, min(step, count - done), size)
        events += batch_events or 0
        chars += batch_chars or 0
        rss.append(current_rss_kb())
    # The first tenth warms caches and pools; growth is measured over the rest.
    settled = rss[max(1, len(rss) // 10) :] or rss
    return _streamed(
        events,
        chars,
        size,
        count,
        {"rss_samples_kb": rss, "rss_growth_kb": max(settled) - settled[0]},
    )


#: Scenario name -> coroutine taking the row and the scenario's integer parameters.
SCENARIOS: dict[str, Callable[..., Awaitable[Counted]]] = {
    "chat_long": chat_long,
    "responses_long": responses_long,
    "short_streams": short_streams,
    "concurrent_streams": concurrent_streams,
    "many_streams": many_streams,
    "requests": requests,
    "first_event": first_event,
    "sustained": sustained,
}


async def warm_up(row: ClientRow, scenario: str) -> None:
    """One small request of the scenario's kind: lazy imports and the first connection are
    paid before the clock starts, for every row alike."""
    if scenario == "requests":
        await row.chat_request(model_for(5))
    elif scenario == "responses_long":
        await row.responses_stream(model_for(5))
    else:
        await row.chat_stream(model_for(5))
