"""The interactive `chat` in a real terminal: tmux runs it in a pane, the test types keys and reads
the screen. Answers stream and render as Markdown, the history is kept, and Ctrl-C stops the
answer in flight (paced by the mock, or hanging before its first token) without leaving."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from openai_ergo.mock import MockServer
from tests.openai_ergo.cli.conftest import ROOT, clean_env

WAIT = 30.0
EXIT_STATUS = re.compile(r"\[exit status (\d+)\]")


class Pane:
    """One tmux server (its own socket) with one pane running a command."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        """Run a tmux command against this server; its stdout."""
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        """Type keys (`Enter`, `C-c` and `C-d` are keys; other strings are typed literally)."""
        for key in keys:
            if key in ("Enter", "C-c", "C-d"):
                self.tmux("send-keys", "-t", "chat", key)
            else:
                self.tmux("send-keys", "-t", "chat", "-l", key)

    def screen(self) -> str:
        """What the pane shows, wrapped lines joined."""
        return self.tmux("capture-pane", "-p", "-J", "-t", "chat")

    def wait_for(self, condition: Callable[[str], bool], what: str) -> str:
        """The screen once `condition(screen)` holds; fails after WAIT seconds saying `what`."""
        deadline = time.monotonic() + WAIT
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"the pane never showed {what}; it shows:\n{screen}")
            time.sleep(0.1)

    def exit_status(self) -> int:
        """The command's exit status, once it has ended: the script around it prints it (tmux's
        own record of it is not reliable: it sometimes never reaps the process)."""
        screen = self.wait_for(lambda s: EXIT_STATUS.search(s) is not None, "the session ending")
        found = EXIT_STATUS.search(screen)
        assert found is not None
        return int(found.group(1))


def _require_tmux() -> None:
    # A skip here is a failure under CI=true (tests/conftest.py); .ci/run installs tmux.
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: the interactive chat is tested in a real terminal")


@pytest.fixture(params=["asyncio", "trio"])
def chat_pane(
    mock_openai: MockServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Pane]:
    """`openai-ergo chat --usage` in a 100x40 tmux pane, talking to the session's mock, on
    each backend."""
    _require_tmux()
    env = clean_env(
        OPENAI_BASE_URL=mock_openai.url, OPENAI_API_KEY="sk-terminal-test-0000", TERM="xterm"
    )
    # The pane's own width, as in a user's terminal (Rich prefers COLUMNS to the terminal's).
    env.pop("COLUMNS", None)
    script = tmp_path / "chat.sh"
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    command = shlex.join(
        [sys.executable, "-m", "openai_ergo", "--backend", request.param, "chat", "--usage"]
    )
    # The shell outlives the command to print its status; it ignores the Ctrl-C the terminal
    # sends to its whole process group (a trap with a command: the child gets the default).
    script.write_text(
        f"{exports}cd {shlex.quote(str(ROOT))}\ntrap : INT\n{command}\n"
        'echo "[exit status $?]"\nsleep 600\n'
    )
    config = tmp_path / "tmux.conf"
    config.write_text("set -g history-limit 2000\n")
    pane = Pane(f"openai-ergo-test-{uuid.uuid4().hex[:12]}")
    pane.tmux(
        "-f", str(config), "new-session", "-d", "-s", "chat", "-x", "100", "-y", "40",
        f"bash {shlex.quote(str(script))}",
    )  # fmt: skip
    try:
        pane.wait_for(lambda s: "you> " in s, "the prompt")
        yield pane
    finally:
        subprocess.run(["tmux", "-L", pane.socket, "kill-server"], capture_output=True, check=False)


def _last_line(screen: str) -> str:
    lines = [line.strip() for line in screen.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def test_answers_stream_as_markdown_and_the_history_is_kept(
    chat_pane: Pane, mock_openai: MockServer
) -> None:
    mock_openai.reply_with("The capital is **Paris**.", "About *two million* people.")
    chat_pane.keys("What is the capital of France?", "Enter")
    screen = chat_pane.wait_for(lambda s: "The capital is Paris." in s, "the first answer")
    # Rendered as Markdown on a terminal: the emphasis markers are gone.
    assert "**Paris**" not in screen
    chat_pane.wait_for(lambda s: "output tokens; first token" in s, "the usage line")
    chat_pane.wait_for(lambda s: _last_line(s) == "you>", "the prompt again")

    chat_pane.keys("How many people live there?", "Enter")
    chat_pane.wait_for(lambda s: "About two million people." in s, "the second answer")
    second = mock_openai.requests[1].json["input"]
    assert second == [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "The capital is **Paris**."},
        {"role": "user", "content": "How many people live there?"},
    ]
    chat_pane.wait_for(lambda s: _last_line(s) == "you>", "the prompt again")
    chat_pane.keys("/exit", "Enter")
    assert chat_pane.exit_status() == 0


def test_ctrl_c_stops_the_answer_in_flight_and_the_session_goes_on(
    chat_pane: Pane, mock_openai: MockServer
) -> None:
    # A long answer at 8 tokens a second: a minute of streaming unless stopped.
    mock_openai.app.tokens_per_second = 8
    mock_openai.app.reply_tokens = 480
    chat_pane.keys("Tell me a long story.", "Enter")
    # The question echoed, then words of the answer under it (the banner's words must not
    # count: a Ctrl-C before the line is read flushes it from the terminal's input).
    before = chat_pane.wait_for(
        lambda s: (
            "Tell me a long story." in s
            and len(s.split("Tell me a long story.", 1)[1].split()) >= 3
        ),
        "the answer streaming",
    )
    started = time.monotonic()
    chat_pane.keys("C-c")
    screen = chat_pane.wait_for(lambda s: "(stopped)" in s, "the answer stopped")
    assert time.monotonic() - started < 10  # stopped, not streamed to its end (a minute)
    chat_pane.wait_for(lambda s: _last_line(s) == "you>", "the prompt after Ctrl-C")
    assert len(screen) >= len(before)
    partial = screen.split("Tell me a long story.", 1)[-1]
    assert "output tokens" not in partial  # a stopped answer has no usage line

    # The session is alive and remembers the question and the part of the answer shown.
    mock_openai.app.tokens_per_second = None
    mock_openai.reply_with("Still here.")
    chat_pane.keys("Are you there?", "Enter")
    chat_pane.wait_for(lambda s: "Still here." in s, "the next answer")
    # The last request is the new question's (on a loaded machine the first one may have been
    # retried before its answer began: the count of requests is not what this test is about).
    history = mock_openai.requests[-1].json["input"]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert history[2]["content"] == "Are you there?"
    assert history[0]["content"] == "Tell me a long story."
    assert history[1]["content"]  # the part streamed before Ctrl-C
    chat_pane.wait_for(lambda s: _last_line(s) == "you>", "the prompt again")

    # Ctrl-C at the prompt only says how to leave; Ctrl-D leaves, with status 0.
    chat_pane.keys("C-c")
    chat_pane.wait_for(lambda s: "(Ctrl-D or /exit leaves the session)" in s, "the hint")
    chat_pane.keys("C-d")
    assert chat_pane.exit_status() == 0


def test_ctrl_c_stops_a_request_that_hangs_before_its_first_token(
    chat_pane: Pane, mock_openai: MockServer
) -> None:
    mock_openai.fail_next("hang; seconds=60")
    chat_pane.keys("Hello?", "Enter")
    chat_pane.wait_for(lambda _: len(mock_openai.requests) == 1, "the request sent")
    chat_pane.keys("C-c")
    chat_pane.wait_for(lambda s: "(stopped)" in s, "the request stopped")
    mock_openai.reply_with("Back.")
    chat_pane.keys("Hello again?", "Enter")
    chat_pane.wait_for(lambda s: "Back." in s, "the next answer")
    # Nothing was shown of the stopped answer, so it is not in the history.
    assert mock_openai.requests[1].json["input"] == [{"role": "user", "content": "Hello again?"}]
    chat_pane.keys("/exit", "Enter")
    assert chat_pane.exit_status() == 0
