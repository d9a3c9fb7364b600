"""How many calls a row makes into the observing code: zero is "no measurable change".

A client without observers should run no function of the observers' code at all: the pipeline
tests one empty tuple per request and per stream and goes on. Timing cannot show an absence
(two runs of the same code differ by more than a None test), but a profiler hook can: every
Python function entered while the row runs is checked against the observing modules' files.
The count is exact and the load of the machine does not move it.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["OBSERVING_FILES", "count_observing_calls"]

_PACKAGE = Path(__file__).resolve().parent.parent / "openai_ergo"
#: The observers' code: the pipeline's side of observing and the observers themselves.
OBSERVING_FILES = (
    str(_PACKAGE / "_pipeline" / "_observe.py"),
    str(_PACKAGE / "_pipeline" / "_observed.py"),
    str(_PACKAGE / "observability"),
)
#: The extras' packages, wherever they are installed.
_EXTRAS = ("opentelemetry", "prometheus_client")


def _observing(filename: str) -> bool:
    if filename.startswith(OBSERVING_FILES):
        return True
    parts = Path(filename).parts
    return any(extra in parts for extra in _EXTRAS)


async def count_observing_calls(run: Callable[[], Awaitable[Any]]) -> tuple[int, list[str]]:
    """Run `run()` with a profiler hook; the calls it made into the observing code, and the
    first few functions called (to say which)."""
    seen: dict[Any, bool] = {}
    calls = 0
    names: list[str] = []

    def hook(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event != "call":
            return
        code = frame.f_code
        found = seen.get(code)
        if found is None:
            found = seen[code] = _observing(code.co_filename)
        if found:
            calls += 1
            if len(names) < 5:
                names.append(f"{Path(code.co_filename).name}:{code.co_name}")

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        await run()
    finally:
        sys.setprofile(previous)
    return calls, names
