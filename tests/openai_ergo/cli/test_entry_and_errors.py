"""The entry points, the missing extra, and the exit-status contract: 0 success, 1 an API error,
2 a usage error, each failure one line on stderr (the traceback too with --debug)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from openai_ergo.mock import MockServer
from tests.openai_ergo.cli.conftest import KEY, clean_env, one_error_line, run_cli


def test_the_console_script_and_python_m_are_the_same_command() -> None:
    script = shutil.which("openai-ergo", path=str(Path(sys.executable).parent))
    assert script is not None, "the openai-ergo console script is not installed"
    by_script = subprocess.run(
        [script, "--help"], capture_output=True, text=True, env=clean_env(), check=False
    )
    by_module = run_cli("--help")
    assert by_script.returncode == by_module.returncode == 0
    assert by_script.stdout == by_module.stdout
    for command in (
        "chat",
        "ask",
        "mock",
        "bench",
        "codegen",
        "files",
        "batch",
        "models",
        "tokens",
    ):
        assert f"\n  {command} " in by_module.stdout


def test_without_the_extra_one_line_names_it_and_exits_2() -> None:
    # typer and rich hidden from the import system, as in an install without [cli].
    code = (
        "import sys; sys.modules['typer'] = None; sys.modules['rich'] = None; "
        "from openai_ergo.cli import main; sys.exit(main(['ask', 'hi']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "openai-ergo: the command line needs its extra: pip install 'openai-ergo[cli]'"
    )


def test_importing_the_library_does_not_import_the_command_line() -> None:
    # Typer and the command's modules only: rich and click are imported by httpx itself when
    # they are installed (its own command line, httpx._main), which this package cannot stop.
    code = (
        "import sys, openai_ergo; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'typer' "
        "or m.startswith('openai_ergo.cli')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=clean_env()
    )
    assert out.stdout.strip() == "[]"


def test_an_unknown_option_is_named_with_exit_2() -> None:
    result = run_cli("ask", "--temperature", "3", "hi")
    assert result.returncode == 2
    assert "No such option: --temperature" in one_error_line(result)


def test_a_bad_choice_names_the_option_and_the_value() -> None:
    result = run_cli("ask", "--api", "completions", "hi")
    assert result.returncode == 2
    line = one_error_line(result)
    assert "--api" in line
    assert "'completions'" in line


def test_an_unknown_command_is_a_usage_error() -> None:
    result = run_cli("tokenz", "count")
    assert result.returncode == 2
    assert "No such command 'tokenz'" in one_error_line(result)


def test_a_missing_key_names_the_variable(mock_openai: MockServer) -> None:
    # A base URL of its own but no key: no fallback to the embedded mock.
    result = run_cli("ask", "hi", env=clean_env(OPENAI_BASE_URL=mock_openai.url))
    assert result.returncode == 2
    assert "OPENAI_API_KEY" in one_error_line(result)
    assert mock_openai.requests == []


def test_an_api_error_is_one_line_with_exit_1_and_no_secret(mock_openai: MockServer) -> None:
    mock_openai.app.api_keys = frozenset({"sk-another-key-entirely"})
    env = clean_env(OPENAI_BASE_URL=mock_openai.url, OPENAI_API_KEY=KEY)
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "401" in line
    assert "--debug" in line
    assert KEY not in result.stderr + result.stdout


def test_debug_adds_the_traceback_before_the_line(mock_openai: MockServer) -> None:
    mock_openai.app.api_keys = frozenset({"sk-another-key-entirely"})
    env = clean_env(OPENAI_BASE_URL=mock_openai.url, OPENAI_API_KEY=KEY)
    result = run_cli("--debug", "ask", "hi", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "AuthenticationError" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: ")
    assert KEY not in result.stderr


def test_an_unreachable_server_names_the_url() -> None:
    env = clean_env(OPENAI_BASE_URL="http://127.0.0.1:9/v1", OPENAI_API_KEY=KEY)
    result = run_cli("models", env=env)
    assert result.returncode == 1
    line = one_error_line(result)
    # Where (the request and the host and port dialled), what failed, and what was tried.
    assert "GET /v1/models" in line
    assert "could not connect to 127.0.0.1:9: connection refused" in line
    assert "after 3 attempts" in line


def test_a_host_that_does_not_resolve_is_named() -> None:
    env = clean_env(OPENAI_BASE_URL="http://api.cli-test.invalid/v1", OPENAI_API_KEY=KEY)
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "POST /v1/responses" in line
    assert "api.cli-test.invalid:80: could not resolve the host name" in line


def test_a_bare_group_prints_its_help_with_exit_2() -> None:
    result = run_cli("files")
    assert result.returncode == 2
    assert "upload" in result.stderr
    assert "download" in result.stderr
