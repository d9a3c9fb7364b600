"""Docs and examples tell the truth: every example and every Python block in the docs runs.

Each ```python block in README.md and the Markdown files under docs/ (subfolders too) runs as its
own program against the embedded mock server (OPENAI_BASE_URL points at it, OPENAI_API_KEY is a
dummy), so the docs can use `Client()` exactly as a user would. Each runs in a fresh directory
holding `corporate-ca.pem`, a CA certificate made for the run, which stands for the company CA of
the docs' TLS example. A block that reads `REDIS_URL` gets a real `redis-server` there, emptied
for it (the `redis_url` fixture). Each program in examples/ runs with no OPENAI_API_KEY at all,
which makes it start the mock server itself, as it does on a fresh clone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
TIMEOUT = 120


def _doc_blocks() -> list[pytest.ParameterSet]:
    blocks = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            name = f"{path.relative_to(ROOT)}:{line}"
            blocks.append(pytest.param(match.group(1), id=name))
    return blocks


def _examples() -> list[pytest.ParameterSet]:
    return [
        pytest.param(path, id=path.name)
        for path in sorted((ROOT / "examples").glob("*.py"))
        # The demo has its own test, which also checks what it prints.
        if not path.name.startswith("_") and path.name != "demo.py"
    ]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    """The mock server on a free loopback port, in its own process, for the whole module."""
    process = subprocess.Popen(
        [sys.executable, "-m", "openai_ergo.mock", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+\S*", line)
            if found:
                url = found.group(0)
                break
        assert url, "the mock server did not print its URL"
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=cwd, timeout=TIMEOUT, check=False
    )


@pytest.fixture(scope="module")
def corporate_ca() -> bytes:
    """A CA certificate (PEM) that blocks find as ./corporate-ca.pem, like a company's own CA."""
    return trustme.CA().cert_pem.bytes()


@pytest.mark.parametrize("code", _doc_blocks())
def test_doc_block_runs(
    code: str, mock_url: str, corporate_ca: bytes, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    (tmp_path / "corporate-ca.pem").write_bytes(corporate_ca)
    env = _clean_env() | {"OPENAI_BASE_URL": mock_url, "OPENAI_API_KEY": "sk-mock-docs"}
    if "REDIS_URL" in code:
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    result = _run([sys.executable, "-c", code], env, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", _examples())
def test_example_runs_against_the_embedded_mock(path: Path, tmp_path: Path) -> None:
    env = _clean_env() | {"OPENAI_ERGO_DEMO_FAST": "1"}
    result = _run([sys.executable, str(path)], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), f"{path.name} printed nothing"


def test_every_example_is_in_the_index_and_linked_from_the_docs() -> None:
    index = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    docs = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    names = [p.name for p in sorted((ROOT / "examples").glob("*.py"))]
    assert [n for n in names if f"]({n})" not in index] == [], "missing from examples/README.md"
    unlinked = [n for n in names if f"](../examples/{n})" not in docs]
    assert unlinked == [], "each example is linked from the docs page of its topic"
