"""The upload memory measure works and shows what it is for: a streamed upload to the mock keeps
the peak RSS flat. Run in a fresh process, so that the peak is the upload's and not the test
session's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_streamed_upload_keeps_peak_rss_far_below_the_file_size(backend: str) -> None:
    mib = 128
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.upload_rss", "--mib", str(mib), "--backend", backend],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    result = json.loads(run.stdout)
    assert result["file_mib"] == mib
    # The mock received the whole file, and kept it: it reads back whole.
    assert result["file_bytes_stored"] == result["file_bytes_read_back"] == mib * 1024 * 1024
    # Held whole, the file alone would add 128 MiB; streamed, a few chunks of 256 KiB.
    assert result["peak_rss_growth_mib"] < mib / 4
    assert result["peak_rss_growth_after_download_mib"] < mib / 4
