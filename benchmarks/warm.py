"""Per-request cost, warm: `python -m benchmarks.warm [--instructions] [--rounds N] ...`.

The full run measures each row in a fresh process, which is right for imports and memory but
puts a cold interpreter and a busy machine into every per-request number. This tool measures
the per-request scenarios (`requests`, `short_streams`) the other way round:

- default: every row in this one process, opened and warmed once, then `--rounds` rounds of
  the scenario, rows interleaved and the order flipped each round; it prints each row's best
  round (CPU per unit) and its ratio to the raw socket's, both from this run;
- `--instructions`: each row in a fresh interpreter under `valgrind --tool=callgrind`, the
  scenario run with `count` and with `2 * count` units; the difference of the two instruction
  totals over `count` is the instructions per unit, with start-up, imports and the warm-up
  subtracted out. Instruction counts do not depend on the machine's load, so this is the
  number to compare commits with on a shared machine (`PYTHONHASHSEED=0` keeps dict layouts
  alike between runs).

The server runs outside valgrind, in its own process, as in the full run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks._callgrind import instructions
from benchmarks._harness import running_server
from benchmarks._rows import ClientRow, load_row
from benchmarks._scenarios import SCENARIOS, warm_up

__all__ = ["instructions_per_unit", "main", "warm_rounds"]

_ROOT = Path(__file__).resolve().parent.parent
#: Scenario -> its parameters for one round.
_PARAMS: dict[str, dict[str, int]] = {
    "requests": {"count": 2_000, "size": 30},
    "short_streams": {"count": 1_000, "size": 20},
}
_BASELINE = "raw_msgspec"


async def warm_rounds(
    port: int, rows: list[str], scenario: str, rounds: int, count: int
) -> dict[str, list[float]]:
    """CPU seconds per unit for each row, per round, all rows in this process."""
    params = {**_PARAMS[scenario], "count": count}
    opened: dict[str, ClientRow] = {}
    try:
        for name in rows:
            row = opened[name] = load_row(name, port, max_connections=100)
            await row.open()
            await warm_up(row, scenario)
            # One small round first, so caches and pools are warm for every row alike.
            await SCENARIOS[scenario](row, **{**params, "count": max(1, count // 10)})
        results: dict[str, list[float]] = {name: [] for name in rows}
        for round_ in range(rounds):
            for name in rows if round_ % 2 == 0 else rows[::-1]:
                started = time.process_time()
                counted = await SCENARIOS[scenario](opened[name], **params)
                results[name].append((time.process_time() - started) / counted.units)
        return results
    finally:
        for row in opened.values():
            await row.close()


def _child(job: dict[str, Any]) -> None:
    async def run() -> None:
        row = load_row(job["row"], job["port"], max_connections=100)
        await row.open()
        try:
            await warm_up(row, job["scenario"])
            await SCENARIOS[job["scenario"]](row, **job["params"])
        finally:
            await row.close()

    anyio.run(run, backend=job["backend"])


def _callgrind_total(job: dict[str, Any]) -> int:
    return instructions(["-m", "benchmarks.warm", "--child", json.dumps(job)])


def instructions_per_unit(
    port: int, row: str, scenario: str, count: int, backend: str = "asyncio"
) -> float:
    """Instructions per request (or stream) of `row`, from two callgrind runs."""
    totals = []
    for units in (count, 2 * count):
        params = {**_PARAMS[scenario], "count": units}
        job = {"row": row, "port": port, "scenario": scenario, "params": params}
        totals.append(_callgrind_total({**job, "backend": backend}))
    return (totals[1] - totals[0]) / count


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.warm", description=__doc__)
    parser.add_argument("--scenario", nargs="*", default=list(_PARAMS), choices=list(_PARAMS))
    parser.add_argument("--rows", nargs="*", default=["ergo_final", "ergo_raw", _BASELINE])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, help="units per round (default: the full run's)")
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    parser.add_argument("--instructions", action="store_true", help="callgrind, see above")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return
    with running_server(max_seconds=3600) as port:
        for scenario in args.scenario:
            if args.instructions:
                count = args.count or 100
                per_unit = {
                    row: instructions_per_unit(port, row, scenario, count, args.backend)
                    for row in args.rows
                }
                unit, scale = "instructions", 1.0
            else:
                count = args.count or _PARAMS[scenario]["count"]
                rounds = anyio.run(
                    warm_rounds, port, args.rows, scenario, args.rounds, count, backend=args.backend
                )
                per_unit = {row: min(values) for row, values in rounds.items()}
                unit, scale = "µs CPU (best round)", 1e6
            base = per_unit.get(_BASELINE)
            print(f"{scenario} ({count} per round), {unit} per unit:")
            for row, value in per_unit.items():
                ratio = f"  {value / base:5.2f}x {_BASELINE}" if base else ""
                print(f"  {row:<16} {value * scale:12,.0f}{ratio}")


if __name__ == "__main__":
    main()
