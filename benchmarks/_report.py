"""Write one run down: JSON with every record, a Markdown table, and a PNG chart."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks._harness import Plan, Series
from benchmarks._rows import ROWS
from benchmarks._targets import Target

__all__ = ["machine", "markdown", "write_chart", "write_json"]

_ROOT = Path(__file__).resolve().parent.parent

# Per scenario: (metric, header, format, higher is better); the first is the headline.
_COLUMNS: dict[str, list[tuple[str, str, str, bool]]] = {
    "chat_long": [
        ("events_per_cpu_s", "events / CPU-s", "{:,.0f}", True),
        ("us_cpu_per_event", "µs CPU / event", "{:.2f}", False),
        ("events_per_s", "events / s (wall)", "{:,.0f}", True),
    ],
    "short_streams": [
        ("us_cpu_per_unit", "µs CPU / stream", "{:,.0f}", False),
        ("events_per_cpu_s", "events / CPU-s", "{:,.0f}", True),
    ],
    "concurrent_streams": [
        ("events_per_s", "events / s (wall)", "{:,.0f}", True),
        ("events_per_cpu_s", "events / CPU-s", "{:,.0f}", True),
        ("kb_per_stream", "KiB / open stream", "{:.1f}", False),
    ],
    "many_streams": [
        ("kb_per_stream", "KiB / open stream", "{:.1f}", False),
        ("us_cpu_per_event", "µs CPU / event", "{:.2f}", False),
        ("first_event_ms_max", "slowest first event ms", "{:,.0f}", False),
        ("events_per_s", "events / s (wall)", "{:,.0f}", True),
    ],
    "requests": [
        ("us_cpu_per_unit", "µs CPU / request", "{:,.0f}", False),
        ("request_calls", "calls / request", "{:,.0f}", False),
    ],
    "first_event": [
        ("ttfe_us", "time to first event µs", "{:,.0f}", False),
        ("ttfe_cpu_us", "… of it CPU µs", "{:,.0f}", False),
        ("ttfe_wait_us", "… of it waiting µs", "{:,.0f}", False),
        ("ttfe_calls", "calls on the way", "{:,.0f}", False),
    ],
    "sustained": [
        ("rss_growth_kb", "RSS growth KiB", "{:,.0f}", False),
        ("us_cpu_per_unit", "µs CPU / stream", "{:,.0f}", False),
    ],
}
_COLUMNS["responses_long"] = _COLUMNS["chat_long"]

_TITLES = {
    "chat_long": "One long Chat Completions stream",
    "responses_long": "One long Responses stream",
    "short_streams": "Many short chat streams, one after another",
    "concurrent_streams": "Concurrent chat streams on one event loop",
    "many_streams": "Many thousands of open streams on one event loop",
    "requests": "Small non-streamed chat completions",
    "first_event": "Time to first event over an idle keep-alive connection",
    "sustained": "Sustained streaming (leak check)",
}


def machine() -> dict[str, Any]:
    """Where and with what the run happened."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for name in (
        "openai-ergo",
        "openai",
        "httpx",
        "httpx2",
        "httpx-sse",
        "msgspec",
        "anyio",
        "trio",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "versions": versions,
        "commit": commit,
    }


def _cell(summary: dict[str, float] | None, fmt: str) -> str:
    if summary is None:
        return "—"
    low, high = fmt.format(summary["min"]), fmt.format(summary["max"])
    return f"{fmt.format(summary['median'])} ({low}–{high})"


def _ratio(mine: float | None, other: float | None, higher_better: bool) -> str:
    if mine is None or other is None or mine == 0 or other == 0:
        return "—"
    return f"{(mine / other if higher_better else other / mine):.2f}x"


def _scenario_table(name: str, params: dict[str, int], series: Sequence[Series]) -> list[str]:
    columns = _COLUMNS[name]
    headline, _, _, higher = columns[0]
    by_key = {one.key: one for one in series}

    def median(key: str) -> float | None:
        one = by_key.get(key)
        summary = one.metric(headline) if one is not None else None
        return None if summary is None else summary["median"]

    sdk = median("sdk/asyncio")
    ceiling = median("httpx_bytes/asyncio")
    shown = ", ".join(f"{key}={value:,}" for key, value in params.items())
    lines = [f"### {_TITLES[name]} ({shown})", ""]
    headers = ["client", "loop", *[c[1] for c in columns], "CPU s", "peak RSS MB", "vs SDK"]
    if ceiling is not None:
        headers.append("vs httpx ceiling")
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "---|" * len(headers))
    for one in series:
        label = ROWS[one.row].label
        if one.unavailable or one.invalid:
            why = "not available yet" if one.unavailable else f"invalid: {one.invalid}"
            lines.append(f"| {label} | {one.backend} | {why} |" + " |" * (len(headers) - 3))
            continue
        cells = [label, one.backend]
        cells += [_cell(one.metric(metric), fmt) for metric, _, fmt, _ in columns]
        cells.append(_cell(one.metric("cpu_s"), "{:.3f}"))
        cells.append(_cell(one.metric("peak_rss_mb"), "{:.0f}"))
        mine = median(one.key)
        cells.append(_ratio(mine, sdk, higher))
        if ceiling is not None:
            cells.append(_ratio(mine, ceiling, higher))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def markdown(
    plan: Plan,
    series: list[Series],
    targets: list[Target],
    imports: dict[str, Any] | None,
    decoder: dict[str, Any] | None,
    info: dict[str, Any],
) -> str:
    """The whole run as Markdown: targets first, then one table per scenario."""
    versions = ", ".join(f"{name} {version}" for name, version in info["versions"].items())
    lines = [
        f"# Benchmark results ({plan.name} run)",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['os']}, "
        f"{info['implementation']} {info['python']}. Commit {info['commit']}.",
        f"Versions: {versions}.",
        "",
        "Medians with min–max over fresh processes; CPU is user + system time of the client "
        "process. Ratios compare medians; higher is better.",
        "",
        "## Targets",
        "",
        "| target | measured | bound | verdict | note |",
        "|---|---|---|---|---|",
    ]
    for target in targets:
        value = "—" if target.value is None else f"{target.value:.2f} {target.unit}"
        bound = f"{target.relation} {target.bound:.2f} {target.unit}"
        lines.append(
            f"| {target.description} | {value} | {bound} | {target.verdict} | {target.note} |"
        )
    lines += ["", "## Scenarios", ""]
    for scenario in plan.scenarios:
        rows = [one for one in series if one.scenario == scenario.name]
        lines += _scenario_table(scenario.name, scenario.params, rows)
    if decoder is not None:
        lines += [
            f"### SSE decoder alone ({decoder['events']:,} chat events, "
            f"{decoder['body_bytes'] / 1e6:.1f} MB; `streaming` as installed is "
            f"{'compiled by mypyc' if decoder['compiled'] else 'interpreted'})",
            "",
            "| feed | decoder | events / s | MB / s | CPU s (min–max) | ratio |",
            "|---|---|---|---|---|---|",
        ]
        for feed, result in decoder["feeds"].items():
            ratios = {
                "streaming": f"{result['ratio']:.2f}x",
                "streaming_interpreted": f"{result['ratio_interpreted']:.2f}x",
            }
            for name in ("streaming", "streaming_interpreted", "httpx_sse"):
                one = result[name]
                ratio = ratios.get(name, "")
                lines.append(
                    f"| {feed} | {name} | {one['events_per_s']:,.0f} | {one['mb_per_s']:,.0f} | "
                    f"{one['cpu_s']:.4f} ({one['cpu_s_min']:.4f}–{one['cpu_s_max']:.4f}) | "
                    f"{ratio} |"
                )
        lines.append("")
    if imports is not None:
        lines += [
            f"### Import time (added to a bare interpreter start of {imports['bare_ms']:.0f} ms)",
            "",
            "Medians of fresh interpreters run in interleaved rounds, bytecode cached; CPU time "
            "is what the targets judge, wall time also counts waiting for a core.",
            "",
            "| probe (its program: `PROBES` in benchmarks/_imports.py) | CPU ms (min–max) "
            "| wall ms (min–max) |",
            "|---|---|---|",
        ]
        for label, result in imports.items():
            if not isinstance(result, dict):
                continue
            spread = f"{result['ms']:.1f} ({result['ms_min']:.1f}–{result['ms_max']:.1f})"
            wall = (
                f"{result['wall_ms']:.1f} ({result['wall_ms_min']:.1f}–{result['wall_ms_max']:.1f})"
                if "wall_ms" in result
                else "—"
            )
            lines.append(f"| `{label}` | {spread} | {wall} |")
        lines.append("")
    return "\n".join(lines)


def write_json(
    path: Path,
    plan: Plan,
    series: list[Series],
    targets: list[Target],
    imports: dict[str, Any] | None,
    decoder: dict[str, Any] | None,
    info: dict[str, Any],
) -> None:
    """Every record and summary of the run, for later comparison."""
    metrics = sorted({m for one in series for r in one.records for m in r["metrics"]})
    document = {
        "plan": {
            "name": plan.name,
            "scenarios": [
                {"name": s.name, "params": s.params, "repeats": s.repeats} for s in plan.scenarios
            ],
        },
        "machine": info,
        "targets": [target.as_dict() for target in targets],
        "series": [
            {
                "scenario": one.scenario,
                "row": one.row,
                "backend": one.backend,
                "label": ROWS[one.row].label,
                "unavailable": one.unavailable,
                "invalid": one.invalid,
                "summary": {m: one.metric(m) for m in metrics if one.metric(m) is not None},
                "records": one.records,
            }
            for one in series
        ],
        "decoder": decoder,
        "imports": imports,
    }
    path.write_text(json.dumps(document, indent=1) + "\n")


def write_chart(path: Path, series: list[Series]) -> None:
    """Three panels: CPU per streamed event, CPU per request, memory per open stream."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("chat_long", "us_cpu_per_event", "µs CPU per streamed event (long chat stream)"),
        ("requests", "us_cpu_per_unit", "µs CPU per non-streamed request"),
        ("concurrent_streams", "kb_per_stream", "KiB RSS per open stream"),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(18, 6))
    for axis, (scenario, metric, title) in zip(axes, panels, strict=True):
        labels: list[str] = []
        values: list[float] = []
        errors: list[list[float]] = [[], []]
        colours: list[str] = []
        for one in series:
            summary = one.metric(metric) if one.scenario == scenario else None
            if summary is None:
                continue
            labels.append(f"{ROWS[one.row].label} [{one.backend}]")
            values.append(summary["median"])
            errors[0].append(summary["median"] - summary["min"])
            errors[1].append(summary["max"] - summary["median"])
            family = ROWS[one.row].family
            colours.append(
                {"sdk": "#c44e52", "httpx": "#dd8452", "ceiling": "#8c8c8c"}.get(family, "#4c72b0")
            )
        axis.set_title(title, fontsize=10)
        if not values:
            # A run limited with --only may not have measured this panel's scenario.
            axis.text(0.5, 0.5, "not measured in this run", ha="center", transform=axis.transAxes)
            axis.set_axis_off()
            continue
        positions = list(range(len(values)))
        axis.barh(positions, values, xerr=errors, color=colours)
        axis.set_yticks(positions, labels, fontsize=8)
        axis.invert_yaxis()
        axis.set_xscale("log")
        axis.grid(axis="x", alpha=0.3)
    figure.suptitle("openai-ergo benchmarks: lower is better (log scale)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
