"""The embeddings, moderations and conversations examples print facts a person can check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _run(name: str) -> list[str]:
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
    return result.stdout.splitlines()


def test_embeddings_search_ranks_a_documents_own_text_first() -> None:
    lines = _run("embeddings_search.py")
    assert lines[0].startswith("embedded 8 documents: 256 dimensions each, ")
    assert lines[0].endswith(", 1 request(s)")
    assert lines[1] == "memory for the vectors: 8192 bytes (float32)"
    own = lines.index("query: Kittens sleep up to twenty hours a day.")
    assert lines[own + 1] == "  +1.000  Kittens sleep up to twenty hours a day."
    scores = [float(line.split()[0]) for line in lines[own + 1 : own + 4]]
    assert scores == sorted(scores, reverse=True)


def test_moderations_flags_the_threat_and_reads_text_with_an_image_as_one() -> None:
    lines = _run("moderations.py")
    assert lines[0] == "any flagged: True; categories: ['harassment', 'violence']"
    assert lines[1] == "  ok       What a lovely photo!"
    assert lines[2] == "  FLAGGED  Delete this or I will kill you, idiot."
    assert lines[-1] == "text + image: 1 result, flagged=False"


def test_conversations_keeps_every_turn_on_the_server() -> None:
    lines = _run("conversations.py")
    assert lines[0].startswith("conversation: conv_")
    roles = [line.split()[0] for line in lines if line.startswith("  ")]
    assert roles == ["user", "user", "assistant", "user", "assistant"]
    assert lines[-2:] == ["resumed: True", "deleted: True"]
