"""The run: start the server, run every job in a fresh process, interleaved, and collect.

Rows of a scenario run round-robin, and the order flips every round (A B C, C B A, ...), so slow
drift on a shared machine (other processes, thermal, caches) falls on every row alike. A row
whose library pieces are missing is reported as unavailable, not as a failure of the run; a row
that counts fewer events or characters than the server sent is marked invalid and left out of
every comparison.
"""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._bodies import model_for
from benchmarks._rows import ROWS

__all__ = ["Plan", "ScenarioPlan", "Series", "row_pairs", "run_plan", "running_server"]

_ROOT = Path(__file__).resolve().parent.parent
#: A single measurement process may not run longer than this.
_JOB_TIMEOUT_SECONDS = 300.0
_RETRY_PAUSE_SECONDS = 10.0


@dataclass(frozen=True)
class ScenarioPlan:
    """One scenario: its parameters, how often each row runs, and which rows on which loops."""

    name: str
    params: dict[str, int]
    repeats: int
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Plan:
    """Everything one run measures."""

    name: str
    scenarios: tuple[ScenarioPlan, ...]
    decoder_events: int
    decoder_repeats: int
    import_repeats: int


@dataclass
class Series:
    """Every record of one row in one scenario, and why it has none when it has none."""

    scenario: str
    row: str
    backend: str
    records: list[dict[str, Any]] = field(default_factory=list)
    unavailable: str | None = None
    invalid: str | None = None

    @property
    def key(self) -> str:
        """`row/backend`, the name the report uses."""
        return f"{self.row}/{self.backend}"

    def metric(self, name: str) -> dict[str, float] | None:
        """Median, min and max of a derived metric over the records, or None without records."""
        values = [record["metrics"][name] for record in self.records if name in record["metrics"]]
        if not values or self.invalid or self.unavailable:
            return None
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _metrics(record: dict[str, Any]) -> dict[str, float]:
    cpu = max(record["cpu_s"], 1e-9)
    wall = max(record["wall_s"], 1e-9)
    metrics = {
        "cpu_s": record["cpu_s"],
        "wall_s": record["wall_s"],
        "peak_rss_mb": max(record["peak_rss_kb"], record["rss_start_kb"]) / 1024,
    }
    if record["wire_events"]:
        metrics["events_per_cpu_s"] = record["wire_events"] / cpu
        metrics["us_cpu_per_event"] = cpu / record["wire_events"] * 1e6
        metrics["events_per_s"] = record["wire_events"] / wall
    metrics["us_cpu_per_unit"] = cpu / record["units"] * 1e6
    extra = record["extra"]
    for name in (
        "kb_per_stream",
        "ttfe_us",
        "ttfe_cpu_us",
        "ttfe_wait_us",
        "ttfe_calls",
        "request_calls",
        "rss_growth_kb",
        "first_event_ms_max",
    ):
        if extra.get(name) is not None:
            metrics[name] = float(extra[name])
    return metrics


@contextmanager
def running_server(max_seconds: float) -> Iterator[int]:
    """Start the benchmark server in its own process; yield its port; stop it on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._server", "--max-seconds", str(max_seconds)],
        cwd=_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the benchmark server did not start: {line!r}")
        yield int(line.split()[1])
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the server exits when its stdin closes
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _prime(port: int, plan: Plan) -> None:
    # Render every body once before any client is timed, so no row pays for rendering.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for scenario in plan.scenarios:
            size = scenario.params["size"]
            path = "/v1/responses" if scenario.name == "responses_long" else "/v1/chat/completions"
            stream = scenario.name != "requests"
            body = json.dumps({"model": model_for(size), "stream": stream})
            connection.request("POST", path, body, {"content-type": "application/json"})
            connection.getresponse().read()
    finally:
        connection.close()


def _run_job(job: dict[str, Any]) -> dict[str, Any]:
    module = "benchmarks._child"
    completed = subprocess.run(
        [sys.executable, "-m", module, json.dumps(job)],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        timeout=_JOB_TIMEOUT_SECONDS,
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        missing = ("ModuleNotFoundError", "ImportError", "AttributeError: module")
        kind = "unavailable" if last.startswith(missing) else "error"
        return {kind: last}
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _check(record: dict[str, Any]) -> str | None:
    for counted, expected in (("events", "expected_events"), ("text_chars", "expected_chars")):
        if record[counted] is not None and record[counted] != record[expected]:
            return f"counted {record[counted]} {counted}, the server sent {record[expected]}"
    return None


def run_plan(plan: Plan, port: int, *, log: Any = print) -> list[Series]:
    """Run every scenario of `plan` against the server on `port`; return one series per row."""
    _prime(port, plan)
    all_series: list[Series] = []
    for scenario in plan.scenarios:
        series = [Series(scenario.name, row, backend) for row, backend in scenario.rows]
        started = time.perf_counter()
        for repeat in range(scenario.repeats):
            order = series if repeat % 2 == 0 else list(reversed(series))
            for one in order:
                if one.unavailable or one.invalid:
                    continue
                job = {
                    "row": one.row,
                    "backend": one.backend,
                    "port": port,
                    "scenario": scenario.name,
                    "params": scenario.params,
                }
                result = _run_job(job)
                if "unavailable" in result and not one.records:
                    # A checkout being edited can fail an import for a moment: look once more.
                    time.sleep(_RETRY_PAUSE_SECONDS)
                    result = _run_job(job)
                if "unavailable" in result:
                    one.unavailable = result["unavailable"]
                elif "error" in result:
                    one.invalid = result["error"]
                elif problem := _check(result):
                    one.invalid = problem
                else:
                    result["metrics"] = _metrics(result)
                    one.records.append(result)
        log(f"  {scenario.name:<20} {time.perf_counter() - started:6.1f} s")
        for one in series:
            if one.invalid:
                log(f"    {one.key}: INVALID: {one.invalid}")
        all_series.extend(series)
    return all_series


def row_pairs(names: list[str]) -> tuple[tuple[str, str], ...]:
    """Every (row, backend) the named rows support, in registry order."""
    return tuple((name, backend) for name in names for backend in ROWS[name].backends)
