"""`make demo` works on a fresh clone: with no key it streams from the embedded mock server.

The demo runs as a subprocess with a short, unpaced reply; what it prints is checked against
what the mock answers in-process for the very same requests, so nothing here is hard-coded.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from openai_ergo.mock import MockOpenAI

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo.py"


def _env(backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "OPENAI_ERGO_DEMO_FAST": "1",
        "OPENAI_ERGO_DEMO_BACKEND": backend,
    }
    return env


def _expected_answers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The mock's non-streamed answers to the demo's two requests, computed in-process: for
    each, the text and the start of the usage line the demo prints for it."""
    monkeypatch.setenv("OPENAI_ERGO_DEMO_FAST", "1")
    demo: dict[str, Any] = runpy.run_path(str(DEMO), run_name="demo_under_test")
    app = MockOpenAI(**{k: v for k, v in demo["MOCK_OPTIONS"].items() if k != "latency"})
    model, prompt, instructions = demo["MOCK_MODEL"], demo["PROMPT"], demo["INSTRUCTIONS"]

    async def ask() -> list[tuple[str, str]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as http:
            response = await http.post(
                "/responses", json={"model": model, "instructions": instructions, "input": prompt}
            )
            messages = [
                {"role": "system", "content": instructions},
                {"role": "user", "content": prompt},
            ]
            chat = await http.post("/chat/completions", json={"model": model, "messages": messages})
        answer, completion = response.json(), chat.json()
        usage, chat_usage = answer["usage"], completion["usage"]
        return [
            (
                answer["output"][0]["content"][0]["text"],
                f"usage: {usage['input_tokens']} input + {usage['output_tokens']} output tokens;",
            ),
            (
                completion["choices"][0]["message"]["content"],
                f"usage: {chat_usage['prompt_tokens']} input + "
                f"{chat_usage['completion_tokens']} output tokens;",
            ),
        ]

    return anyio.run(ask)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_demo_streams_from_the_embedded_mock_without_a_key(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", str(DEMO)],
        capture_output=True,
        text=True,
        env=_env(backend),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("No OPENAI_API_KEY: talking to the embedded mock OpenAI server at")
    assert "http://127.0.0.1:" in lines[0]
    headings = ["== Responses API (gpt-5-mini) ==", "== Chat Completions (gpt-5-mini) =="]
    for heading, (text, usage) in zip(headings, _expected_answers(monkeypatch), strict=True):
        # Each section: its heading, the streamed text on one line, then its usage line.
        at = lines.index(heading)
        assert lines[at + 1] == text
        assert lines[at + 2].startswith(usage + " time to first token ")
    summaries = [line for line in lines if line.startswith("usage: ")]
    assert len(summaries) == 2
    assert all("+ 12 output tokens" in line for line in summaries)
