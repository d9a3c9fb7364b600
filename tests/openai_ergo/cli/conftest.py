"""Each command runs as a user runs it: `python -m openai_ergo ...` in a subprocess, against the
session's mock server (`mock_openai`) through OPENAI_BASE_URL, with no other OPENAI_* variable
of the machine leaking in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from openai_ergo.mock import MockServer

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 120
KEY = "sk-cli-test-secret-7890"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the machine's OpenAI settings or proxies, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env["PYTHONPATH"] = str(ROOT)
    env["COLUMNS"] = "200"
    return env | extra


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m openai_ergo ARGS` to its end: stdout, stderr and the exit status."""
    return subprocess.run(
        [sys.executable, "-m", "openai_ergo", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=dict(env if env is not None else clean_env()),
        cwd=cwd or ROOT,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture
def cli_env(mock_openai: MockServer) -> dict[str, str]:
    """The environment of a user whose OPENAI_BASE_URL is the mock server."""
    return clean_env(OPENAI_BASE_URL=mock_openai.url, OPENAI_API_KEY=KEY)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed on stderr (asserting it is one line)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]
