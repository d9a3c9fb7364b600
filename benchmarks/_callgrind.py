"""Instruction counts from callgrind: repeatable whatever else the machine is doing."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["instructions"]

_ROOT = Path(__file__).resolve().parent.parent


def instructions(arguments: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """The instructions `python ARGUMENTS` runs under callgrind, from the repository's root.

    The hash seed is fixed, so the same program counts the same each time.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        try:
            subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    f"--callgrind-out-file={out}",
                    sys.executable,
                    *arguments,
                ],
                check=True,
                cwd=_ROOT,
                capture_output=True,
                env={**(os.environ if env is None else env), "PYTHONHASHSEED": "0"},
            )
        except FileNotFoundError:
            raise RuntimeError(
                "counting instructions needs valgrind (Debian: apt-get install valgrind)"
            ) from None
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no instruction total")
