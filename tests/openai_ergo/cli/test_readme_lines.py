"""The README's command-line section is three lines, and each runs as written: `ask` and `chat`
answer with no key set (the embedded mock), `doctor` ends with a verdict."""

from __future__ import annotations

import re
import shlex

from openai_ergo.mock import MockServer
from tests.openai_ergo.cli.conftest import ROOT, run_cli


def _readme_commands() -> list[list[str]]:
    """The argument lists of the ```sh block under the README's "Command line" heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the Command line section has no ```sh block"
    return [shlex.split(line, comments=True) for line in block[1].splitlines() if line.strip()]


def test_the_readme_shows_the_command_line_in_three_lines() -> None:
    commands = _readme_commands()
    assert len(commands) == 3
    assert [command[:2] for command in commands] == [
        ["openai-ergo", "ask"],
        ["openai-ergo", "chat"],
        ["openai-ergo", "doctor"],
    ]


def test_ask_and_chat_run_as_written_with_no_key() -> None:
    ask, chat, _doctor = _readme_commands()
    asked = run_cli(*ask[1:])
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip()
    assert "embedded mock" in asked.stderr
    # A session fed from a pipe: a question per line, each answered.
    chatted = run_cli(*chat[1:], stdin="Hi\nAnd again?\n")
    assert chatted.returncode == 0, chatted.stderr
    assert chatted.stdout.strip()


def test_doctor_runs_as_written_and_ends_with_a_verdict(mock_openai: MockServer) -> None:
    *_, doctor = _readme_commands()
    from tests.openai_ergo.cli.conftest import KEY, clean_env

    result = run_cli(
        *doctor[1:], env=clean_env(OPENAI_BASE_URL=mock_openai.url, OPENAI_API_KEY=KEY)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("verdict: ready")
