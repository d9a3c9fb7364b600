"""The builder examples run as a user runs them: no OPENAI_API_KEY, so each starts the mock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _run(name: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_answers_streams_and_reuses_a_template() -> None:
    lines = _run("quickstart.py").splitlines()
    assert lines[0].startswith("answer: ")
    assert len(lines[0]) > len("answer: ")
    tokens = next(line for line in lines if line.startswith("tokens: "))
    assert int(tokens.removeprefix("tokens: ")) > 0
    assert any(line.startswith("Capital of France? -> ") for line in lines)
    assert any(line.startswith("Colour of the sea? -> ") for line in lines)


def test_tools_runs_both_tools_and_answers() -> None:
    out = _run("tools.py")
    assert (
        'get_weather({"city":"Paris","unit":null}) -> 18 degrees celsius and sunny in Paris' in out
    )
    assert 'local_time({"city":"Paris"}) -> 14:05' in out
    assert "answer: It is 14:05 in Paris" in out


def test_structured_output_prints_the_decoded_recipe() -> None:
    out = _run("structured_output.py").splitlines()
    assert out[0] == "Pancakes (serves 4)"
    assert "- 200 g flour" in out
    assert out[-1] == "3. Fry in a hot pan."


def test_chat_history_grows_and_branches() -> None:
    out = _run("chat_history.py")
    assert out.count("assistant: ") == 3
    assert "(7 messages so far)" in out
    assert "branch: " in out
    assert "responses: " in out
