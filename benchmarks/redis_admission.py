"""What an admission through `RedisRateLimiter` costs this process, and how many round trips.

Redis runs on loopback in its own process (a `redis-server` this benchmark starts on a free
port, or `--redis URL`), so its work is not counted here. Rows, each the median of `--runs`
runs of `--count` admissions (acquire, then release), per backend (asyncio and trio):

- `local`: the in-process `RateLimiter` (the floor: no network at all);
- `evalsha`: a bare EVALSHA of a one-line script on the connection's script socket (the floor
  of one round trip);
- `coredis_evalsha`: the same command through coredis (why scripts do not go through it);
- `redis`: `RedisRateLimiter` with requests/min and tokens/min (the shared GCRA and the learned
  buckets' checks, one script call);
- `redis_slots`: the same with a concurrency cap, whose slot goes back in the background.

CPU is this process's CPU time (`time.process_time`), not wall time: the time waiting on the
socket is not CPU. But CPU time per round trip depends on what the core does while Redis
answers: idle, it sleeps, and waking it costs each round trip two to three times the CPU of
the same instructions on a core that stayed busy. So every row is measured twice:

- `busy cores`: on every core, a spinning process of the lowest scheduling class
  (`SCHED_IDLE`), which runs only when nothing else wants that core, so no core sleeps between
  round trips and none of the spinners' time is taken from this process or Redis. That is an
  admission under load, the case a shared limiter is for (a worker busy with other requests),
  and the verdict's measurement;
- `idle cores`: nothing added (on a quiet machine, the cores sleep through every round trip),
  printed beside it, with its own PASS/MISS and the round trip's floor when it misses.

`--instructions` also counts the instructions per admission with callgrind (each row in a
fresh interpreter, with `count` and `2 * count` admissions; the difference over `count`, with
the objects made before the admissions frozen out of the garbage collector's full passes):
independent of the machine's load and sleep states, the number to compare commits with.

Round trips are counted by Redis itself (`INFO commandstats`: EVALSHA and EVAL calls) per
admission. The target is at most 150 µs of CPU and one round trip per `redis` admission. Run
as `python -m benchmarks.redis_admission [--runs 5] [--count 500] [--quick] [--instructions]`;
it prints a table with PASS/MISS and one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import anyio

from benchmarks._callgrind import instructions
from openai_ergo import RateLimiter, RateLimitScope, RedisConnection, RedisRateLimiter

__all__ = [
    "TARGET_CPU_US",
    "TARGET_ROUND_TRIPS",
    "cores_kept_busy",
    "instructions_per_admission",
    "limiter_share",
    "main",
    "measure",
]

#: The most CPU an admission through Redis may cost this process, in microseconds.
TARGET_CPU_US = 150.0
#: Round trips per admission.
TARGET_ROUND_TRIPS = 1.0
_SCOPE = RateLimitScope(model="gpt-4o-mini")
_BACKENDS = ("asyncio", "trio")
_ROWS = ("local", "evalsha", "coredis_evalsha", "redis", "redis_slots")
#: The rows counted in instructions: the round trip's floor and the two admissions.
_COUNTED_ROWS = ("evalsha", "redis", "redis_slots")
_CORES = ("busy_cores", "idle_cores")


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway `redis-server` on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("the benchmark needs redis-server (apt-get install -y redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        options = {"port": str(port), "bind": "127.0.0.1", "save": "", "appendonly": "no"}
        arguments = [arg for name, value in options.items() for arg in (f"--{name}", value)]
        process = subprocess.Popen(
            [binary, *arguments, "--dir", directory], stdout=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


_SPINNER = """
import os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
sys.stdout.write("spinning\\n")
sys.stdout.flush()
while True:
    pass
"""


@contextmanager
def cores_kept_busy() -> Iterator[bool]:
    """Keep every core this process may run on from sleeping: on each, a process of the
    `SCHED_IDLE` class spins, which the kernel runs only when nothing else wants that core and
    sets aside at once when anything else wakes there. Yields False (and starts nothing) where
    Linux's scheduling calls are missing."""
    if not hasattr(os, "sched_getaffinity") or not hasattr(os, "SCHED_IDLE"):
        yield False
        return
    spinners: list[subprocess.Popen[str]] = []
    try:
        for core in sorted(os.sched_getaffinity(0)):
            spinner = subprocess.Popen(
                [sys.executable, "-c", _SPINNER, str(core)], stdout=subprocess.PIPE, text=True
            )
            spinners.append(spinner)
            assert spinner.stdout is not None
            if spinner.stdout.readline().strip() != "spinning":
                raise RuntimeError("a spinning process did not start")
        yield True
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
            if spinner.stdout is not None:
                spinner.stdout.close()


async def _cpu_per_call(step: Callable[[], Awaitable[Any]], count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        await step()
    return (time.process_time() - started) / count * 1e6


async def _script_calls(redis: RedisConnection) -> int:
    info = await redis.run(lambda r: r.info("commandstats"))
    assert isinstance(info, dict)
    calls = 0
    for name in ("cmdstat_evalsha", "cmdstat_eval"):
        entry = info.get(name)
        if isinstance(entry, dict):
            calls += int(entry["calls"])
    return calls


async def _open_rows(
    stack: AsyncExitStack,
    url: str,
    names: Sequence[str] = _ROWS,
    *,
    redis_timeout: float = 2.0,
) -> tuple[RedisConnection, dict[str, Callable[[], Awaitable[Any]]]]:
    """The connection, and the step (one admission and its release) of each row named,
    warmed up. Only what those rows use is opened: a limiter left open runs its background."""
    redis = await stack.enter_async_context(RedisConnection(url, timeout=redis_timeout))
    rows: dict[str, Callable[[], Awaitable[Any]]] = {}
    if "local" in names:
        local = RateLimiter(requests_per_minute=1e9, tokens_per_minute=1e12)

        async def local_step() -> None:
            (await local.acquire(100, scope=_SCOPE)).release()

        rows["local"] = local_step
    noop = redis.script("return 1")
    if "evalsha" in names:

        async def evalsha_step() -> None:
            await noop()

        rows["evalsha"] = evalsha_step
    if "coredis_evalsha" in names:

        async def coredis_step() -> None:
            await redis.run(lambda r: r.evalsha(noop.sha))

        rows["coredis_evalsha"] = coredis_step
    if "redis" in names:
        shared = await stack.enter_async_context(
            RedisRateLimiter(redis, name="bench", requests_per_minute=1e9, tokens_per_minute=1e12)
        )

        async def shared_step() -> None:
            (await shared.acquire(100, scope=_SCOPE)).release()

        rows["redis"] = shared_step
    if "redis_slots" in names:
        slots = await stack.enter_async_context(
            RedisRateLimiter(
                redis, name="bench-slots", requests_per_minute=1e9, max_concurrency=1000
            )
        )

        async def slots_step() -> None:
            (await slots.acquire(100, scope=_SCOPE)).release()

        rows["redis_slots"] = slots_step
    for step in rows.values():  # warm: connection open, scripts cached
        for _ in range(20):
            await step()
    await anyio.sleep(0.05)  # the warm-up's slots go back
    return redis, rows


async def _measure(url: str, runs: int, count: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {}
    trips: dict[str, float] = {}
    async with AsyncExitStack() as stack:
        redis, rows = await _open_rows(stack, url)
        for _ in range(runs):
            for name, step in rows.items():  # interleaved, so drift hits every row alike
                before = await _script_calls(redis)
                samples.setdefault(name, []).append(await _cpu_per_call(step, count))
                if name == "redis_slots":
                    await anyio.sleep(0.05)  # count the background's releases too
                # The count itself is one EVALSHA-free INFO call: nothing to subtract.
                trips[name] = (await _script_calls(redis) - before) / count
    return {
        **{
            f"{name}_cpu_us": round(statistics.median(values), 1)
            for name, values in samples.items()
        },
        **{f"{name}_round_trips": round(value, 3) for name, value in trips.items()},
    }


def _child(job: dict[str, Any]) -> None:
    """One row's admissions, for callgrind to count (`instructions_per_admission`)."""

    async def run() -> None:
        async with AsyncExitStack() as stack:
            # Under valgrind everything runs some 50 times slower: a timeout must not fire.
            _, rows = await _open_rows(stack, job["url"], [job["row"]], redis_timeout=5.0)
            step = rows[job["row"]]
            # The objects made so far (the modules imported, mostly) are set aside from the
            # collector: whether a full collection falls inside the counted admissions would
            # otherwise move the count by more than an admission costs.
            gc.collect()
            gc.freeze()
            for _ in range(job["count"]):
                await step()

    anyio.run(run, backend=job["backend"])


def instructions_per_admission(url: str, row: str, backend: str, count: int = 200) -> float:
    """Instructions per admission of `row` on `backend`, from two callgrind runs (`count` and
    `2 * count` admissions): start-up, imports and the warm-up cancel out."""
    totals = []
    for admissions in (count, 2 * count):
        job = {"url": url, "row": row, "backend": backend, "count": admissions}
        arguments = ["-m", "benchmarks.redis_admission", "--child", json.dumps(job)]
        totals.append(instructions(arguments))
    return (totals[1] - totals[0]) / count


def _passes(rows: dict[str, Any]) -> bool:
    return bool(
        rows["redis_cpu_us"] <= TARGET_CPU_US and rows["redis_round_trips"] <= TARGET_ROUND_TRIPS
    )


def measure(
    *,
    runs: int = 5,
    count: int = 500,
    url: str | None = None,
    busy_cores: bool = True,
    count_instructions: bool = False,
) -> dict[str, Any]:
    """Per backend and per state of the cores (`busy_cores`, `idle_cores`): CPU microseconds
    per admission of each row (medians of `runs`) and round trips per admission; with
    `count_instructions`, instructions per admission; and the verdicts against the targets
    (`pass` judges the busy cores when they could be kept busy, `pass_idle_cores` the idle)."""
    result: dict[str, Any] = {
        "target_cpu_us": TARGET_CPU_US,
        "target_round_trips": TARGET_ROUND_TRIPS,
    }
    with redis_server() if url is None else _given(url) as server:
        for backend in _BACKENDS:
            measured = anyio.run(_measure, server, runs, count, backend=backend)
            result[backend] = {"idle_cores": measured}
        if busy_cores:
            with cores_kept_busy() as kept:
                if kept:
                    for backend in _BACKENDS:
                        measured = anyio.run(_measure, server, runs, count, backend=backend)
                        result[backend]["busy_cores"] = measured
        if count_instructions:
            for backend in _BACKENDS:
                result[backend]["instructions"] = {
                    row: round(instructions_per_admission(server, row, backend))
                    for row in _COUNTED_ROWS
                }
    judged = "busy_cores" if all("busy_cores" in result[b] for b in _BACKENDS) else "idle_cores"
    result["judged"] = judged
    result["pass"] = all(_passes(result[backend][judged]) for backend in _BACKENDS)
    result["pass_idle_cores"] = all(_passes(result[b]["idle_cores"]) for b in _BACKENDS)
    return result


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


def _table(result: dict[str, Any]) -> str:
    cores = [core for core in _CORES if core in result[_BACKENDS[0]]]
    counted = "instructions" in result[_BACKENDS[0]]
    head = f"{'backend':8} {'row':16}" + "".join(
        f" {'CPU µs, ' + core.replace('_', ' '):>20}" for core in cores
    )
    head += f" {'round trips':>12}" + (f" {'instructions':>13}" if counted else "")
    lines = [
        "Admission through RedisRateLimiter (CPU of this process per admission; Redis on loopback)",
        head,
    ]
    for backend in _BACKENDS:
        measured = result[backend]
        for row in _ROWS:
            line = f"{backend:8} {row:16}" + "".join(
                f" {measured[core][f'{row}_cpu_us']:20.1f}" for core in cores
            )
            line += f" {measured[cores[0]][f'{row}_round_trips']:12.3f}"
            if counted:
                count = measured["instructions"].get(row)
                line += f" {count:13,d}" if count is not None else f" {'-':>13}"
            lines.append(line)
        for core in cores:
            lines.append(_verdict(backend, core, measured, judged=core == result["judged"]))
    return "\n".join(lines)


def _verdict(backend: str, core: str, measured: dict[str, Any], *, judged: bool) -> str:
    rows = measured[core]
    passed = _passes(rows)
    what = (
        "cores kept busy (an admission under load)"
        if core == "busy_cores"
        else "cores idle between round trips"
    )
    line = (
        f"  {'PASS' if passed else 'MISS'} {backend}, {what}"
        f"{' [the verdict]' if judged else ''}: {rows['redis_cpu_us']:.1f} µs CPU (target <= "
        f"{TARGET_CPU_US:g}), {rows['redis_round_trips']:.3f} round trips (target <= 1); "
        f"the limiter's own share over a bare EVALSHA: {limiter_share(rows):.1f} µs"
    )
    if "instructions" in measured:
        counts = measured["instructions"]
        line += f" ({counts['redis'] - counts['evalsha']:,d} instructions)"
    if not passed and core == "idle_cores":
        line += (
            f"\n       the floor, a bare EVALSHA round trip, costs {rows['evalsha_cpu_us']:.1f} µs"
            " here: the cores sleep while Redis answers, and each wake-up costs the same"
            " instructions two to three times the CPU of a busy core"
        )
    return line


def limiter_share(rows: dict[str, Any]) -> float:
    """What the limiter itself adds to an admission, over the bare round trip of one EVALSHA.

    The round trip's CPU moves with the machine's state (on an idle machine the core sleeps
    while Redis answers, and each wake-up costs two to three times what it costs on a busy
    one), so the whole admission's CPU does too; this share is the part the limiter's code
    decides (docs/scaling.md).
    """
    return float(rows["redis_cpu_us"]) - float(rows["evalsha_cpu_us"])


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: the table with PASS/MISS, then the result as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redis_admission")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="3 runs of 200: the CI smoke run")
    parser.add_argument("--redis", help="a Redis URL to use instead of starting redis-server")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions with callgrind"
    )
    parser.add_argument(
        "--idle-cores-only", action="store_true", help="skip the busy-cores measurement"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return 0
    runs, count = (3, 200) if args.quick else (args.runs, args.count)
    result = measure(
        runs=runs,
        count=count,
        url=args.redis,
        busy_cores=not args.idle_cores_only,
        count_instructions=args.instructions,
    )
    print(_table(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
