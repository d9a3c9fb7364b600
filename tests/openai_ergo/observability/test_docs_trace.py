"""The trace and the metrics docs/observability.md shows are what its example prints: the same
spans, in the same tree, with the same attributes, and the same metric points, numbers aside
(durations and token counts differ from run to run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "opentelemetry_tracing.py"
DOC = ROOT / "docs" / "observability.md"
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def shape(text: str) -> list[str]:
    """The lines from `spans:` on, every number masked, trailing blanks dropped."""
    lines = text[text.index("spans:\n") :].rstrip().splitlines()
    return [NUMBER.sub("#", line.rstrip()) for line in lines]


def test_the_documented_trace_and_metrics_are_the_examples_output(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    run = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )
    doc = DOC.read_text(encoding="utf-8")
    block = re.search(r"```text\n(spans:\n.*?)```", doc, re.DOTALL)
    assert block is not None, "docs/observability.md lost its trace"
    printed = shape(run.stdout)
    assert "chat gpt-#o-mini [CLIENT] # ms" in printed[1]  # the masking kept the names
    assert shape(block.group(1)) == printed
