"""`tokens count` and `tokens cost`: offline (no key, no server), the library's own numbers
(`count_tokens`, `TokenCounter`, `cost_of`), and one line with status 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from openai_ergo import TokenCounter, cost_of, count_tokens, counting_method, default_prices
from tests.openai_ergo.cli.conftest import clean_env, one_error_line, run_cli

TEXT = "The quick brown fox jumps over the lazy dog. Ünïcödé, emoji 🦊, and code: x += 1"
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "name": "ada", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
]
RESPONSES_INPUT = [
    {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
    {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
]


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def _lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return {
        line.split(None, 1)[0]: line.split(None, 1)[1]
        for line in result.stdout.splitlines()
        if line.strip()
    }


# -- count ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
def test_count_of_an_argument_equals_the_library_count(model: str) -> None:
    shown = _lines(run_cli("tokens", "count", TEXT, "--model", model))
    counter = TokenCounter(model)
    assert int(shown["tokens"]) == count_tokens(TEXT, model) > 0
    assert shown["model"] == model
    assert shown["encoding"] == counter.encoding_name
    assert shown["method"].startswith(counting_method())


def test_count_of_piped_stdin_and_of_a_file_equal_the_argument(tmp_path: Path) -> None:
    path = tmp_path / "prompt.txt"
    path.write_text(TEXT, encoding="utf-8")
    expected = count_tokens(TEXT, "gpt-4o")
    by_stdin = _json(run_cli("tokens", "count", "--json", stdin=TEXT))
    by_file = _json(run_cli("tokens", "count", "--file", str(path), "--json"))
    assert by_stdin["tokens"] == by_file["tokens"] == expected
    assert by_file == {
        "tokens": expected,
        "model": "gpt-4o",
        "encoding": "o200k_base",
        "method": counting_method(),
        "input": "text",
    }


def test_count_of_chat_messages_adds_the_per_message_overheads(tmp_path: Path) -> None:
    path = tmp_path / "messages.json"
    path.write_text(json.dumps(MESSAGES), encoding="utf-8")
    counter = TokenCounter("gpt-4o-mini")
    data = _json(run_cli("tokens", "count", "--messages", str(path), "-m", "gpt-4o-mini", "--json"))
    assert data["tokens"] == counter.count_messages(MESSAGES)
    assert data["input"] == "chat"
    text_only = sum(counter.count(str(v)) for m in MESSAGES for v in m.values())
    assert isinstance(data["tokens"], int)
    assert data["tokens"] > text_only
    plain = _lines(run_cli("tokens", "count", "--messages", str(path), "-m", "gpt-4o-mini"))
    assert plain["input"].startswith("chat (with the per-message overheads)")


def test_count_of_a_request_body_counts_its_messages_and_tools(tmp_path: Path) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    path = tmp_path / "body.json"
    path.write_text(json.dumps({"model": "gpt-4o", "messages": MESSAGES, "tools": tools}))
    data = _json(run_cli("tokens", "count", "--messages", str(path), "--json"))
    assert data["tokens"] == TokenCounter("gpt-4o").count_messages(MESSAGES, tools=tools)


def test_count_of_responses_input_items_and_instructions(tmp_path: Path) -> None:
    counter = TokenCounter("gpt-5")
    items = tmp_path / "input.json"
    items.write_text(json.dumps(RESPONSES_INPUT))
    data = _json(run_cli("tokens", "count", "--messages", str(items), "-m", "gpt-5", "--json"))
    assert data["tokens"] == counter.count_responses_input(RESPONSES_INPUT)
    assert data["input"] == "responses"
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"instructions": "Be brief.", "input": "Hi"}))
    data = _json(run_cli("tokens", "count", "--messages", str(body), "-m", "gpt-5", "--json"))
    assert data["tokens"] == counter.count_responses_input("Hi", instructions="Be brief.")


def test_without_tiktoken_the_count_says_it_is_the_estimate() -> None:
    code = (
        "import sys; sys.modules['tiktoken'] = None; "
        "from openai_ergo.cli import main; sys.exit(main(['tokens', 'count', 'abcdefghij']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean_env(),
        input="",
        check=False,
    )
    shown = _lines(result)
    assert shown["tokens"] == "3"  # ten characters at four a token, rounded up
    assert shown["method"] == "estimate (4 characters a token)"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["x", "--file", "f.txt"], "not TEXT and --file"),
        (["--file", "/nonexistent/prompt.txt"], "--file: no file at /nonexistent/prompt.txt"),
        (["--messages", "/nonexistent/m.json"], "--messages: no file at"),
        (["x", "--model", " "], "--model: give a model name"),
    ],
)
def test_count_refuses_bad_input_with_one_line_and_status_2(args: list[str], named: str) -> None:
    result = run_cli("tokens", "count", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert named in one_error_line(result)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("[{'role': 'user'}]", "is not JSON (Expecting property name enclosed in double quotes"),
        ('{"model": "gpt-4o"}', "holds neither a list of messages or input items nor a request"),
        ('[{"role": "user", "content": "hi"}, 3]', "an input item must be a dict"),
        ('{"input": 3}', "input must be a string or a list"),
    ],
)
def test_a_bad_messages_file_is_named_with_status_2(
    tmp_path: Path, content: str, named: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run_cli("tokens", "count", "--messages", str(path))
    assert result.returncode == 2, result.stderr
    assert named in one_error_line(result)


def test_a_binary_file_is_named_with_status_2(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\xff\xfe\x00\x81")
    line = one_error_line(run_cli("tokens", "count", "--file", str(path)))
    assert f"--file: {path} is not UTF-8 text" in line


# -- cost -------------------------------------------------------------------------------------


def _dollars(text: str) -> Decimal:
    assert text.startswith("$"), text
    return Decimal(text[1:])


def test_cost_by_part_and_total_equal_cost_of() -> None:
    result = run_cli(
        "tokens", "cost", "--model", "gpt-4o-mini", "--input", "1000", "--output", "200",
        "--cached", "500",
    )  # fmt: skip
    shown = {
        line[:14].strip(): line[14:].strip() for line in result.stdout.splitlines() if line.strip()
    }
    assert result.returncode == 0, result.stderr
    usage = {"prompt_tokens": 1000, "completion_tokens": 200,
             "prompt_tokens_details": {"cached_tokens": 500}}  # fmt: skip
    assert _dollars(shown["total"]) == cost_of(usage, "gpt-4o-mini") == Decimal("0.0002325")
    assert _dollars(shown["input"]) == Decimal("0.000075")  # 500 uncached at $0.15/M
    assert _dollars(shown["cached input"]) == Decimal("0.0000375")
    assert _dollars(shown["output"]) == Decimal("0.00012")
    assert f"prices as of {default_prices().as_of}" in shown["model"]


def test_cost_json_has_the_parts_the_total_and_the_tables_date() -> None:
    data = _json(
        run_cli(
            "tokens",
            "cost",
            "-m",
            "gpt-4o-2024-08-06",
            "--input",
            "1000000",
            "--output",
            "1000000",
            "--json",
        )
    )
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert Decimal(str(data["total"])) == cost_of(usage, "gpt-4o-2024-08-06") == Decimal("12.5")
    assert data["parts"] == {"input": "2.5", "output": "10"}
    assert data["priced_as"] == "gpt-4o"
    assert data["as_of"] == default_prices().as_of.isoformat()


@pytest.mark.parametrize(
    "usage",
    [
        {  # Chat Completions
            "prompt_tokens": 2000,
            "completion_tokens": 300,
            "total_tokens": 2300,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 128},
        },
        {  # Responses
            "input_tokens": 2000,
            "input_tokens_details": {"cached_tokens": 1024},
            "output_tokens": 300,
            "output_tokens_details": {"reasoning_tokens": 128},
            "total_tokens": 2300,
        },
    ],
    ids=["chat", "responses"],
)
def test_cost_of_a_usage_file_equals_cost_of(tmp_path: Path, usage: dict[str, object]) -> None:
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(usage))
    data = _json(run_cli("tokens", "cost", "-m", "o3", "--usage", str(path), "--json"))
    assert Decimal(str(data["total"])) == cost_of(usage, "o3") > 0
    assert data["usage"] == {
        "input": 2000, "output": 300, "cached_input": 1024, "reasoning": 128,
        "audio_input": 0, "audio_output": 0, "image_input": 0, "image_output": 0,
    }  # fmt: skip
    # A whole saved response holds its usage: the same cost.
    whole = tmp_path / "response.json"
    whole.write_text(json.dumps({"id": "resp_1", "usage": usage}))
    again = _json(run_cli("tokens", "cost", "-m", "o3", "--usage", str(whole), "--json"))
    assert again["total"] == data["total"]


def test_an_unknown_model_is_a_usage_error_naming_the_closest_ones() -> None:
    result = run_cli("tokens", "cost", "--model", "gpt4o", "--input", "1", "--output", "1")
    assert result.returncode == 2
    assert result.stdout == ""
    line = one_error_line(result)
    assert "no price for 'gpt4o' in the table of" in line
    assert "closest: gpt-4o" in line


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["-m", "gpt-4o"], "give the tokens: --input N and --output N, or --usage FILE.json"),
        (["-m", "gpt-4o", "--input", "-5", "--output", "1"], "Invalid value for '--input'"),
        (["-m", "gpt-4o", "--input", "ten", "--output", "1"], "Invalid value for '--input'"),
        (["--input", "1", "--output", "1"], "Missing option '--model'"),
        (["-m", "gpt-4o", "--input", "5", "--output", "1", "--cached", "6"],
         "cached tokens (6) are part of the input, so cannot exceed it (5)"),
        (["-m", "gpt-4o", "--input", "5", "--usage", "u.json"],
         "give --usage or --input/--output/--cached, not both"),
        (["-m", "gpt-4o", "--usage", "/nonexistent/u.json"], "--usage: no file at"),
    ],
)  # fmt: skip
def test_cost_refuses_bad_input_with_one_line_and_status_2(args: list[str], named: str) -> None:
    result = run_cli("tokens", "cost", *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert named in one_error_line(result)


def test_a_file_that_is_not_a_usage_object_is_named(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    path.write_text(json.dumps({"id": "resp_1", "status": "completed"}))
    line = one_error_line(run_cli("tokens", "cost", "-m", "gpt-4o", "--usage", str(path)))
    assert f"--usage: {path} is not a usage object" in line


def test_a_negative_count_in_a_usage_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    path.write_text(json.dumps({"prompt_tokens": -3, "completion_tokens": 1}))
    line = one_error_line(run_cli("tokens", "cost", "-m", "gpt-4o", "--usage", str(path)))
    assert line.startswith(f"error: --usage: {path}: TokenUsage.input must be a whole number")


def test_debug_adds_the_traceback_and_keeps_status_2() -> None:
    result = run_cli("--debug", "tokens", "cost", "-m", "nope-model", "--input", "1")
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: --model: no price for")


def test_neither_command_needs_a_key_or_a_server() -> None:
    # No OPENAI_* variable at all, and a base URL that nothing listens on.
    env = clean_env(OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    assert run_cli("tokens", "count", "hi", env=env).returncode == 0
    assert run_cli("tokens", "cost", "-m", "gpt-4o", "--input", "1", env=env).returncode == 0
