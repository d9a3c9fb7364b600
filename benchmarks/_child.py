"""One measurement in a fresh process: `python -m benchmarks._child '<json job>'`.

A fresh interpreter per measurement keeps rows from sharing caches, imports, allocator state or
garbage: what one row leaves behind never shows up in another's numbers. The process imports
its row, opens the client, warms up with one small request, then measures CPU time
(`time.process_time`, user + system of this process), wall time and memory around the scenario,
and prints one JSON line. With `"profile": true` in the job it also runs cProfile around the
scenario and reports the functions with the most own time (CPU numbers are then inflated).
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks._bodies import token_text
from benchmarks._rows import load_row
from benchmarks._scenarios import SCENARIOS, current_rss_kb, peak_rss_kb, warm_up

__all__ = ["main", "measure"]


async def measure(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job (`row`, `backend`, `port`, `scenario`, `params`) and return its record."""
    params: dict[str, int] = job["params"]
    row = load_row(job["row"], job["port"], max_connections=max(100, params.get("count", 0) + 10))
    await row.open()
    try:
        await warm_up(row, job["scenario"])
        # The expected text is the harness's work, not the row's: build it before the clock.
        token_text(params["size"])
        rss_start = current_rss_kb()
        cpu_start = time.process_time()
        wall_start = time.perf_counter()
        profiler = cProfile.Profile() if job.get("profile") else None
        if profiler is not None:
            profiler.enable()
        counted = await SCENARIOS[job["scenario"]](row, **params)
        if profiler is not None:
            profiler.disable()
        wall = time.perf_counter() - wall_start
        cpu = time.process_time() - cpu_start
    finally:
        await row.close()
    record: dict[str, Any] = {
        "cpu_s": cpu,
        "wall_s": wall,
        "rss_start_kb": rss_start,
        "peak_rss_kb": peak_rss_kb(),
        "events": counted.events,
        "text_chars": counted.text_chars,
        "expected_events": counted.expected_events,
        "expected_chars": counted.expected_chars,
        "wire_events": counted.wire_events,
        "units": counted.units,
        "extra": counted.extra,
    }
    if profiler is not None:
        record["profile"] = _top_functions(profiler, 20)
    return record


def _top_functions(profiler: cProfile.Profile, count: int) -> list[dict[str, Any]]:
    """The functions with the most own time: where a slow row spends its CPU."""
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, name), (_, calls, own, total, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{Path(path).name}:{line}({name})" if line else name
        rows.append({"function": where, "calls": calls, "own_s": own, "total_s": total})
    rows.sort(key=lambda row: row["own_s"], reverse=True)
    return rows[:count]


def main(argv: list[str] | None = None) -> None:
    """Entry point: the job is one JSON argument; the record is printed as one JSON line."""
    args = sys.argv[1:] if argv is None else argv
    job = json.loads(args[0])
    record = anyio.run(measure, job, backend=job["backend"])
    sys.stdout.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
