"""`python -m benchmarks [--quick] [--out DIR] [--only SCENARIO ...]`: run, report, judge.

The full run takes about 15 minutes on two cores; `--quick` runs every row and scenario at small
sizes with fewer repeats in under two minutes (the CI smoke run). Results go to
`benchmarks/results/` (full) or `benchmarks/results/quick/` unless `--out` says otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._harness import Plan, ScenarioPlan, row_pairs, run_plan, running_server
from benchmarks._imports import PROBES, import_times, slowest_imports
from benchmarks._report import machine, markdown, write_chart, write_json
from benchmarks._targets import evaluate

__all__ = ["full_plan", "main", "profile", "quick_plan", "tiny_plan"]

_RESULTS = Path(__file__).resolve().parent / "results"

_STREAMING_ROWS = [
    "sdk",
    "sdk_helper",
    "httpx_sse",
    "httpx_bytes",
    "raw_msgspec",
    "raw_bytes",
    "ergo_events",
    "ergo_text",
    "ergo_final",
    "ergo_raw",
    "ergo_httpx_final",
]
_PEER_ROWS = [
    "sdk",
    "httpx_sse",
    "raw_msgspec",
    "ergo_final",
    "ergo_raw",
    "ergo_httpx_final",
]
_OURS = ["ergo_final"]
#: Thousands of open streams: ours against the raw socket (the SDK would need ~0.6 GB).
_MANY_ROWS = ["raw_msgspec", "ergo_final"]
#: The list pages decoded against the SDK's models (benchmarks/_list_decode_bench.py), per plan.
_LIST_PAGES = {
    "full": {"files": 10_000, "batches": 2_000},
    "quick": {"files": 1_000, "batches": 200},
    "tiny": {"files": 50, "batches": 10},
}

#: Lines of the batch output file read by `BatchJob.results()` (benchmarks/_batch_results_bench.py).
_BATCH_LINES = {"full": 100_000, "quick": 20_000, "tiny": 1_000}
#: Embeddings decoded against the SDK (benchmarks/_embeddings_bench.py), per plan.
_EMBEDDINGS = {
    "full": {"vectors": 1000, "dimensions": 1536},
    "quick": {"vectors": 200, "dimensions": 1536},
    "tiny": {"vectors": 10, "dimensions": 64},
}


def _plan(name: str, sizes: dict[str, dict[str, int]], repeats: dict[str, int]) -> Plan:
    rows = {
        "chat_long": _STREAMING_ROWS,
        "responses_long": _STREAMING_ROWS,
        "short_streams": _PEER_ROWS,
        "concurrent_streams": _PEER_ROWS,
        "many_streams": _MANY_ROWS,
        "requests": _PEER_ROWS,
        "first_event": _PEER_ROWS,
        "sustained": _OURS,
    }
    scenarios = tuple(
        ScenarioPlan(
            scenario, params, repeats.get(scenario, repeats["default"]), row_pairs(rows[scenario])
        )
        for scenario, params in sizes.items()
    )
    return Plan(
        name,
        scenarios,
        decoder_events=sizes["chat_long"]["size"],
        decoder_repeats=repeats["decoder"],
        import_repeats=repeats["imports"],
    )


def full_plan() -> Plan:
    """The published run: sizes large enough that fixed costs vanish into the per-event cost."""
    return _plan(
        "full",
        {
            "chat_long": {"size": 50_000},
            "responses_long": {"size": 50_000},
            "short_streams": {"count": 1_000, "size": 20},
            "concurrent_streams": {"count": 500, "size": 50},
            "many_streams": {"count": 10_000, "size": 20},
            "requests": {"count": 2_000, "size": 30},
            "first_event": {"count": 20, "size": 20},
            "sustained": {"count": 20_000, "size": 20},
        },
        {
            "default": 5,
            "concurrent_streams": 3,
            "many_streams": 1,
            "sustained": 1,
            "decoder": 7,
            "imports": 9,
        },
    )


def quick_plan() -> Plan:
    """Every row and scenario at small sizes, one process each: proves the suite works."""
    return _plan(
        "quick",
        {
            "chat_long": {"size": 5_000},
            "responses_long": {"size": 5_000},
            "short_streams": {"count": 100, "size": 20},
            "concurrent_streams": {"count": 100, "size": 20},
            "many_streams": {"count": 1_000, "size": 5},
            "requests": {"count": 200, "size": 30},
            "first_event": {"count": 5, "size": 20},
            "sustained": {"count": 1_000, "size": 20},
        },
        # Imports take a median of 7 interleaved rounds even here: a pair of samples let one
        # noisy start-up flip the import targets.
        {"default": 1, "decoder": 2, "imports": 7},
    )


def tiny_plan() -> Plan:
    """The smallest run that still exercises every scenario: for the test suite."""
    return _plan(
        "tiny",
        {
            "chat_long": {"size": 200},
            "responses_long": {"size": 200},
            "short_streams": {"count": 5, "size": 5},
            "concurrent_streams": {"count": 5, "size": 5},
            "many_streams": {"count": 20, "size": 5},
            "requests": {"count": 5, "size": 5},
            "first_event": {"count": 2, "size": 5},
            "sustained": {"count": 40, "size": 5},
        },
        {"default": 1, "decoder": 1, "imports": 1},
    )


def _run_module(module: str, job: dict[str, Any]) -> dict[str, Any]:
    # A fresh interpreter, so nothing this process imported or warmed counts; the module
    # prints its result as JSON on its last line.
    completed = subprocess.run(
        [sys.executable, "-m", module, json.dumps(job)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def run(plan: Plan, out: Path, *, log: Any = print) -> int:
    """Run `plan`, write its results under `out`, print the verdicts; the count of misses."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    log(f"openai-ergo benchmarks, {plan.name} run on {info['cpu']} ({info['cores']} cores)")
    with running_server(max_seconds=3600) as port:
        series = run_plan(plan, port, log=log)
    log("  decoder micro-benchmark")
    decoder = _run_module(
        "benchmarks._decoder_bench",
        {"events": plan.decoder_events, "repeats": plan.decoder_repeats},
    )
    log("  list-page decoding against the SDK's models")
    sizes = _LIST_PAGES.get(plan.name, _LIST_PAGES["full"])
    pages = _run_module("benchmarks._list_decode_bench", {**sizes, "repeats": plan.decoder_repeats})
    (out / "list_decode.json").write_text(json.dumps(pages, indent=2) + "\n")
    log("  reading batch results")
    lines = _BATCH_LINES.get(plan.name, _BATCH_LINES["full"])
    batch = _run_module(
        "benchmarks._batch_results_bench", {"lines": lines, "repeats": plan.decoder_repeats}
    )
    (out / "batch_results.json").write_text(json.dumps(batch, indent=2) + "\n")
    log("  embeddings decoding against the SDK")
    shape = _EMBEDDINGS.get(plan.name, _EMBEDDINGS["full"])
    vectors = _run_module(
        "benchmarks._embeddings_bench", {**shape, "repeats": plan.decoder_repeats}
    )
    (out / "embeddings_decode.json").write_text(json.dumps(vectors, indent=2) + "\n")
    log("  import times")
    imports = import_times(PROBES, plan.import_repeats)
    # What the first Client loads: `import openai_ergo` alone loads too little to profile.
    imports["slowest"] = slowest_imports(PROBES["openai_ergo.Client()"])
    targets = evaluate(series, imports, decoder)
    report = markdown(plan, series, targets, imports, decoder, info)
    (out / "latest.md").write_text(report + "\n")
    write_json(out / "latest.json", plan, series, targets, imports, decoder, info)
    write_chart(out / "latest.png", series)
    log("")
    for target in targets:
        value = "—" if target.value is None else f"{target.value:.2f} {target.unit}"
        note = f"  ({target.note})" if target.note else ""
        log(
            f"  {target.verdict:<7} {target.description}: {value} "
            f"(target {target.relation} {target.bound:.2f}){note}"
        )
    for kind, page in pages.items():
        verdict = "PASS" if page["ratio"] >= 10 else "MISS"
        log(
            f"  {verdict:<7} decoding a page of {page['items']} {kind}: {page['ratio']:.1f}x less"
            f" CPU than the SDK's models ({page['ergo_cpu_s'] * 1e3:.1f} ms vs"
            f" {page['sdk_cpu_s'] * 1e3:.1f} ms; target >= 10x)"
        )
    batch_verdict = "PASS" if batch["mb_per_s"] >= 100 else "MISS"
    log(
        f"  {batch_verdict:<7} reading batch results: {batch['mb_per_s']:.0f} MB/s"
        f" ({batch['lines']} lines, {batch['bytes'] / 1e6:.1f} MB, typed ChatCompletions;"
        " target >= 100 MB/s)"
    )
    log(
        f"  (info)  decoding {vectors['vectors']} embeddings of {vectors['dimensions']} floats: "
        f"{vectors['cpu_ratio']:.1f}x less CPU, {vectors['retained_ratio']:.1f}x less memory "
        f"kept and {vectors['peak_ratio']:.1f}x lower peak than the SDK"
    )
    spent = time.perf_counter() - started
    log(
        f"\nwrote {out}/latest.{{md,json,png}}, list_decode.json, batch_results.json"
        " and embeddings_decode.json"
        f" in {spent:.0f} s"
    )
    misses = sum(int(page["ratio"] < 10) for page in pages.values()) + (batch_verdict == "MISS")
    return misses + sum(target.verdict == "MISS" for target in targets)


def profile(plan: Plan, what: str) -> None:
    """Run one row once under cProfile and print where its CPU goes."""
    key, _, scenario_name = what.partition(":")
    row, _, backend = key.partition("/")
    scenario = next(s for s in plan.scenarios if s.name == scenario_name)
    with running_server(max_seconds=600) as port:
        job = {
            "row": row,
            "backend": backend or "asyncio",
            "port": port,
            "scenario": scenario.name,
            "params": scenario.params,
            "profile": True,
        }
        record = _run_module("benchmarks._child", job)
    print(f"{key} {scenario.name} {scenario.params}: {record['cpu_s']:.3f} s CPU (profiled)")
    print(f"{'own s':>8} {'total s':>8} {'calls':>9}  function")
    for entry in record["profile"]:
        own, total, calls = entry["own_s"], entry["total_s"], entry["calls"]
        print(f"{own:8.3f} {total:8.3f} {calls:9d}  {entry['function']}")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="where to write latest.{md,json,png}")
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    parser.add_argument(
        "--profile",
        metavar="ROW/LOOP:SCENARIO",
        help="profile one row in one scenario (e.g. ergo_final/trio:chat_long) and print "
        "the functions with the most own time",
    )
    args = parser.parse_args(argv)
    plan = tiny_plan() if args.tiny else quick_plan() if args.quick else full_plan()
    if args.profile:
        profile(plan, args.profile)
        return
    if args.only:
        unknown = set(args.only) - {s.name for s in plan.scenarios}
        if unknown:
            parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        plan = dataclasses.replace(
            plan, scenarios=tuple(s for s in plan.scenarios if s.name in args.only)
        )
    out = args.out or (_RESULTS if plan.name == "full" else _RESULTS / plan.name)
    run(plan, out)


if __name__ == "__main__":
    main()
