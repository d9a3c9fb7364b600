"""Import cost: what `import x` adds to a fresh interpreter's start-up, and who pays for it.

Each sample is a fresh `python -c "import x"` timed from outside, minus the median of bare
`python -c "pass"` runs interleaved with them (the interpreter's own start-up, `site` included).
`-X importtime` then names the modules that cost the most, for the profile in the docs.

Every module is measured as an installed package imports: from bytecode, which pip compiles at
install time. The runs write and read their bytecode under one temporary `PYTHONPYCACHEPREFIX`
after a first, uncounted import of each module, whatever `PYTHONDONTWRITEBYTECODE` the caller
runs with (CI sets it): otherwise a package run from its source tree, as ours is here, would pay
for compiling every module on every run while the packages pip installed would not.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["import_times", "slowest_imports"]

_ROOT = Path(__file__).resolve().parent.parent
_CACHE = tempfile.mkdtemp(prefix="openai-ergo-bench-pycache-")
_ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": _CACHE,
}


def _run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=_ROOT, capture_output=True, env=_ENV
    )
    return time.perf_counter() - start


def import_times(modules: list[str], repeats: int) -> dict[str, Any]:
    """Median, min and max milliseconds each module adds over a bare interpreter."""
    bare: list[float] = []
    samples: dict[str, list[float]] = {module: [] for module in modules}
    _run("pass")  # the first start-up pays for cold disk caches
    for module in modules:
        _run(f"import {module}")  # compiles its bytecode, as installing it would
    for repeat in range(repeats):
        order = modules if repeat % 2 == 0 else list(reversed(modules))
        bare.append(_run("pass"))
        for module in order:
            samples[module].append(_run(f"import {module}"))
    baseline = statistics.median(bare)
    result: dict[str, Any] = {"bare_ms": baseline * 1000}
    for module, times in samples.items():
        added = [(sample - baseline) * 1000 for sample in times]
        result[module] = {
            "ms": statistics.median(added),
            "ms_min": min(added),
            "ms_max": max(added),
        }
    return result


def slowest_imports(module: str, top: int = 10) -> list[dict[str, Any]]:
    """The modules with the largest self time under `-X importtime` when importing `module`."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        cwd=_ROOT,
        env=_ENV,
        capture_output=True,
        text=True,
    )
    rows: list[dict[str, Any]] = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[12:].split("|"))
        rows.append({"module": name.strip(), "self_us": int(self_us), "cum_us": int(cumulative_us)})
    rows.sort(key=lambda row: row["self_us"], reverse=True)
    return rows[:top]
