"""`ask` and `chat` with stdin and stdout not terminals: the plain streamed text, stdin read as
the question (ask) or a question per line (chat), history kept, both APIs, both backends."""

from __future__ import annotations

import pytest

from openai_ergo.mock import MockServer
from tests.openai_ergo.cli.conftest import clean_env, run_cli


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ask_streams_the_answer_as_plain_text(
    mock_openai: MockServer, cli_env: dict[str, str], backend: str
) -> None:
    mock_openai.reply_with("The sky is blue because of **Rayleigh** scattering.")
    result = run_cli(
        "--backend", backend, "ask", "Why is the sky blue?", "--system", "Be brief.", env=cli_env
    )
    assert result.returncode == 0, result.stderr
    # Not a terminal: the text as streamed, Markdown left as written.
    assert result.stdout == "The sky is blue because of **Rayleigh** scattering.\n"
    assert result.stderr == ""
    [request] = mock_openai.requests
    assert request.path == "/v1/responses"
    assert request.json["instructions"] == "Be brief."
    assert request.json["stream"] is True
    assert request.json["input"] == [{"role": "user", "content": "Why is the sky blue?"}]


def test_ask_adds_piped_stdin_to_the_question_and_shows_usage_on_request(
    mock_openai: MockServer, cli_env: dict[str, str]
) -> None:
    mock_openai.reply_with("Three lines.")
    result = run_cli(
        "ask", "Count the lines:", "--api", "chat", "--usage", "-m", "gpt-4o-mini",
        env=cli_env, stdin="one\ntwo\nthree\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Three lines.\n"
    [request] = mock_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["model"] == "gpt-4o-mini"
    assert request.json["messages"] == [
        {"role": "user", "content": "Count the lines:\n\none\ntwo\nthree"}
    ]
    # Usage and time to first token, on stderr so stdout stays the answer.
    assert "output tokens; first token " in result.stderr


def test_ask_without_a_key_falls_back_to_the_embedded_mock_with_a_notice() -> None:
    result = run_cli("ask", "Hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr.startswith("openai-ergo: no OPENAI_API_KEY, so the embedded mock")
    assert len(result.stderr.splitlines()) == 1


def test_mock_flag_uses_the_embedded_mock_even_with_a_key(mock_openai: MockServer) -> None:
    env = clean_env(OPENAI_API_KEY="sk-real-looking-key-0000", OPENAI_BASE_URL=mock_openai.url)
    result = run_cli("--mock", "ask", "Hi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr == ""  # asked for: no notice
    assert mock_openai.requests == []  # the embedded one answered, not the configured one


def test_piped_chat_reads_a_question_per_line_and_keeps_the_history(
    mock_openai: MockServer, cli_env: dict[str, str]
) -> None:
    mock_openai.reply_with("Paris.", "About two million.")
    result = run_cli(
        "chat", "--system", "Be terse.", env=cli_env,
        stdin="What is the capital of France?\n\nHow many people live there?\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Paris.\nAbout two million.\n"
    assert result.stderr == ""  # no prompt, no banner when stdin is not a terminal
    first, second = mock_openai.requests
    assert first.json["input"] == [{"role": "user", "content": "What is the capital of France?"}]
    # The second question sees the first and its answer.
    assert second.json["input"] == [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "How many people live there?"},
    ]
    assert second.json["instructions"] == "Be terse."


def test_piped_chat_over_chat_completions_sends_the_system_message_first(
    mock_openai: MockServer, cli_env: dict[str, str]
) -> None:
    mock_openai.reply_with("4.", "8.")
    result = run_cli(
        "--backend", "trio", "chat", "--api", "chat", "-s", "Maths.", env=cli_env,
        stdin="2+2?\nDouble it?\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "4.\n8.\n"
    second = mock_openai.requests[1]
    assert [m["role"] for m in second.json["messages"]] == ["system", "user", "assistant", "user"]
    assert second.json["messages"][2]["content"] == "4."


def test_piped_chat_stops_at_an_api_error_with_exit_1(
    mock_openai: MockServer, cli_env: dict[str, str]
) -> None:
    mock_openai.fail_next("server_error; status=400", times=1)
    result = run_cli("chat", env=cli_env, stdin="Hi\nAgain\n")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert len(mock_openai.requests) == 1


def test_ask_needs_a_question() -> None:
    result = run_cli("--mock", "ask")
    assert result.returncode == 2
    assert 'ask needs a question: openai-ergo ask "..."' in result.stderr
