"""`make demo` works on a fresh clone: with no key it streams from the embedded mock server,
and with OPENAI_API_KEY set it goes to the API it names.

The demo runs as a subprocess with a short, unpaced reply; what it prints is checked against
what the mock answers in-process for the very same requests, so nothing here is hard-coded.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from openai_ergo.mock import MockOpenAI, MockServer

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


def _demo_constants(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("OPENAI_ERGO_DEMO_FAST", "1")
    return runpy.run_path(str(DEMO), run_name="demo_under_test")


def _expected_answers(app: MockOpenAI, demo: dict[str, Any], model: str) -> list[tuple[str, str]]:
    """The mock's non-streamed answers to the demo's two requests, computed in-process: for
    each, the text and the start of the usage line the demo prints for it."""
    prompt, instructions = demo["PROMPT"], demo["INSTRUCTIONS"]

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


def _run_demo(env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-W", "error", str(DEMO)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.splitlines()


def _check_sections(lines: list[str], model: str, expected: list[tuple[str, str]]) -> None:
    """Each section: its heading, the streamed text wrapped between words, its usage line."""
    headings = [f"== Responses API ({model}) ==", f"== Chat Completions ({model}) =="]
    for heading, (text, usage) in zip(headings, expected, strict=True):
        at = lines.index(heading)
        end = next(i for i in range(at + 1, len(lines)) if lines[i].startswith("usage: "))
        wrapped = lines[at + 1 : end]
        assert " ".join(wrapped) == text
        assert all(len(line) <= 88 for line in wrapped)
        assert lines[end].startswith(usage + " time to first token ")
        assert lines[end].endswith(("ms", "deltas/s"))
    assert len([line for line in lines if line.startswith("usage: ")]) == 2


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_demo_streams_from_the_embedded_mock_without_a_key(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = _demo_constants(monkeypatch)
    lines = _run_demo(_env(backend))
    assert lines[0].startswith("No OPENAI_API_KEY: talking to the embedded mock OpenAI server at")
    assert "http://127.0.0.1:" in lines[0]
    assert "made-up words" in lines[1]
    assert f"Q: {demo['PROMPT']}" in lines
    app = MockOpenAI(**{k: v for k, v in demo["MOCK_OPTIONS"].items() if k != "latency"})
    expected = _expected_answers(app, demo, demo["MOCK_MODEL"])
    _check_sections(lines, demo["MOCK_MODEL"], expected)
    assert all("+ 12 output tokens" in line for line in lines if line.startswith("usage: "))


def test_demo_with_a_key_talks_to_the_api_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    # The API is played by a mock server here; the demo must say where it goes, send the key
    # there, and never print the key.
    demo = _demo_constants(monkeypatch)
    key = "sk-demo-secret-0123456789"
    with MockServer(MockOpenAI(seed=5)) as server:
        env = _env("asyncio") | {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": server.url}
        lines = _run_demo(env)
        expected = _expected_answers(MockOpenAI(seed=5), demo, demo["REAL_MODEL"])
        assert [r.headers["authorization"] for r in server.requests] == [f"Bearer {key}"] * 2
    assert lines[0] == f"OPENAI_API_KEY is set: talking to the OpenAI API at {server.url}"
    assert not any(key in line for line in lines)
    _check_sections(lines, demo["REAL_MODEL"], expected)


def test_make_demo_on_a_fresh_clone(tmp_path: Path) -> None:
    # A fresh clone holds only what is committed: the demo must need nothing else. `make demo`
    # installs the project into the clone's own venv first; here it is read as a plan (`-n`),
    # and its last step runs with this venv, whose packages are the ones `install` pulls in.
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.skip("git and make are needed to clone the repository and read its Makefile")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(clone)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "demo"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert any("pip install" in step and ".[dev]" in step for step in plan)
    assert plan[-1] == ".venv/bin/python examples/demo.py"
    env = _env("asyncio") | {"PYTHONPATH": str(clone)}
    where = subprocess.run(
        [sys.executable, "-c", "import openai_ergo; print(openai_ergo.__file__)"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert where.stdout.startswith(str(clone))
    result = subprocess.run(
        [sys.executable, "-W", "error", "examples/demo.py"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("No OPENAI_API_KEY: talking to the embedded mock OpenAI server")
    assert len([line for line in lines if line.startswith("usage: ")]) == 2
