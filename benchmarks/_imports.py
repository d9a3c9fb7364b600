"""Import cost: what `import x` adds to a fresh interpreter's start-up, and who pays for it.

Each sample is a fresh `python -c CODE`, minus the median of bare `python -c "pass"` runs
interleaved with them (the interpreter's own start-up, `site` included). Every round runs a bare
interpreter and then each probe once, the order reversed every other round, so a noisy stretch
of a shared machine lands on every probe alike; a probe's figure is the median of its rounds, so
one noisy sample cannot move it. Two clocks are read per sample: the child's CPU time (user +
system, from `getrusage`), which is what an import costs and what the targets judge, and wall
time, which on a quiet machine is the same number and on a loaded one also counts the waits for
a core (kept beside it, so the difference shows how loaded the run was).
`-X importtime` then names the modules that cost the most, for the profile in the docs.

Every module is measured as an installed package imports: from bytecode, which pip compiles at
install time. The runs write and read their bytecode under one temporary `PYTHONPYCACHEPREFIX`
after a first, uncounted run of each probe, whatever `PYTHONDONTWRITEBYTECODE` the caller
runs with (CI sets it): otherwise a package run from its source tree, as ours is here, would pay
for compiling every module on every run while the packages pip installed would not.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmarks._callgrind import instructions

__all__ = ["PROBES", "Sample", "import_instructions", "import_times", "slowest_imports"]

_ROOT = Path(__file__).resolve().parent.parent
_CACHE = tempfile.mkdtemp(prefix="openai-ergo-bench-pycache-")
_ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": _CACHE,
    # Never a real request: the probes that make a client name a key and a local URL.
    "OPENAI_API_KEY": "sk-import-bench",
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
}

_EVERY_NAMESPACE = (
    "from openai_ergo._namespaces._generated import NAMESPACES\n"
    "client = openai_ergo.Client()\n"
    "for name in NAMESPACES:\n"
    "    getattr(client, name)"
)

#: What the import row measures: a label and the program a fresh interpreter runs for it.
#: `openai_ergo` and `openai` are the targets' pair; the `openai_ergo` steps after it say what
#: each first use adds (reading `Client`, making one, reading every typed namespace), and the
#: SDK's first client is the like-for-like of `openai_ergo.Client()`.
PROBES: dict[str, str] = {
    "openai_ergo": "import openai_ergo",
    "openai_ergo.Client": "import openai_ergo\nopenai_ergo.Client",
    "openai_ergo.Client()": "import openai_ergo\nopenai_ergo.Client()",
    "openai_ergo every namespace": f"import openai_ergo\n{_EVERY_NAMESPACE}",
    "streaming": "import streaming",
    "openai": "import openai",
    "openai.AsyncOpenAI()": "import openai\nopenai.AsyncOpenAI()",
    "httpx": "import httpx",
}

#: One sample: (CPU seconds of the child, wall seconds).
Sample = tuple[float, float]


def _run(code: str) -> Sample:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=_ROOT, capture_output=True, env=_ENV
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def _summary(samples: list[float], baseline: float, key: str) -> dict[str, float]:
    added = [(sample - baseline) * 1000 for sample in samples]
    return {
        key: statistics.median(added),
        f"{key}_min": min(added),
        f"{key}_max": max(added),
    }


def import_times(
    probes: Mapping[str, str], repeats: int, *, run: Callable[[str], Sample] = _run
) -> dict[str, Any]:
    """Per probe: the median, min and max milliseconds it adds over a bare interpreter, in CPU
    time (`ms`, what the targets judge) and wall time (`wall_ms`), over `repeats` interleaved
    rounds; `run` runs one program in a fresh interpreter (replaced in tests)."""
    labels = list(probes)
    bare: list[Sample] = []
    samples: dict[str, list[Sample]] = {label: [] for label in labels}
    run("pass")  # the first start-up pays for cold disk caches
    for label in labels:
        run(probes[label])  # compiles its bytecode, as installing it would
    for repeat in range(repeats):
        bare.append(run("pass"))
        for label in labels if repeat % 2 == 0 else reversed(labels):
            samples[label].append(run(probes[label]))
    bare_cpu = statistics.median(cpu for cpu, _ in bare)
    bare_wall = statistics.median(wall for _, wall in bare)
    result: dict[str, Any] = {
        "bare_ms": bare_cpu * 1000,
        "bare_wall_ms": bare_wall * 1000,
        "repeats": repeats,
    }
    for label, taken in samples.items():
        result[label] = {
            "code": probes[label],
            **_summary([cpu for cpu, _ in taken], bare_cpu, "ms"),
            **_summary([wall for _, wall in taken], bare_wall, "wall_ms"),
        }
    return result


def _callgrind(code: str) -> int:
    return instructions(["-c", code], env=_ENV)


def import_instructions(
    probes: Mapping[str, str], *, count: Callable[[str], int] = _callgrind
) -> dict[str, int]:
    """Per probe: the instructions it adds over a bare interpreter, counted by callgrind in one
    fresh interpreter each (bytecode cached first). The count does not depend on the machine's
    load, so it compares commits, or our import with the SDK's, on a shared machine; `count`
    runs one program and returns its total (replaced in tests)."""
    _run("pass")
    for code in probes.values():
        _run(code)  # compiles its bytecode, as installing it would
    bare = count("pass")
    result = {"bare": bare}
    for label, code in probes.items():
        result[label] = count(code) - bare
    return result


def main(argv: list[str] | None = None) -> None:
    """`python -m benchmarks._imports [--rounds N] [--instructions]`: the import row alone."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--instructions", action="store_true", help="callgrind counts instead")
    args = parser.parse_args(argv)
    if args.instructions:
        counts = import_instructions(PROBES)
        sdk = counts["openai"]
        for label, instructions in counts.items():
            share = (
                f"{instructions / sdk:.4f}x import openai" if label != "bare" else "the bare start"
            )
            print(f"{label:<30} {instructions / 1e6:>9.1f} M instructions  {share}")
        return
    times = import_times(PROBES, args.rounds)
    print(json.dumps(times, indent=1))


def slowest_imports(code: str, top: int = 10) -> list[dict[str, Any]]:
    """The modules with the largest self time under `-X importtime` while running `code`."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
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


if __name__ == "__main__":
    main()
