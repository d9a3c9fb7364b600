"""`files` and `batch` against the session's mock, which keeps what one command stores for the
next: upload, list, download, delete; submit a JSONL file, follow it, read its results."""

from __future__ import annotations

import json
import re
from pathlib import Path

from openai_ergo.mock import MockServer
from tests.openai_ergo.cli.conftest import one_error_line, run_cli


def _rows(stdout: str) -> list[list[str]]:
    _header, *rows = (line.split("\t") for line in stdout.splitlines())
    return rows


def test_upload_list_download_delete(
    mock_openai: MockServer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(b"The Nile is long.\n" * 5000)
    uploaded = run_cli("files", "upload", str(source), "--purpose", "assistants", env=cli_env)
    assert uploaded.returncode == 0, uploaded.stderr
    file_id = uploaded.stdout.strip()
    assert file_id.startswith("file-")
    assert f"notes.txt: {source.stat().st_size} bytes, purpose assistants" in uploaded.stderr

    listed = run_cli("files", "list", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    # Not a terminal: tab-separated, ids whole.
    assert listed.stdout.splitlines()[0] == "id\tfilename\tbytes\tpurpose\tcreated (UTC)"
    assert [file_id, "notes.txt", str(source.stat().st_size), "assistants"] in [
        row[:4] for row in _rows(listed.stdout)
    ]

    target = tmp_path / "copy.txt"
    downloaded = run_cli("files", "download", file_id, "-o", str(target), env=cli_env)
    assert downloaded.returncode == 0, downloaded.stderr
    assert target.read_bytes() == source.read_bytes()
    # Into the current folder under its own name, which is then not overwritten unasked.
    here = tmp_path / "here"
    here.mkdir()
    run_cli("files", "download", file_id, env=cli_env, cwd=here)
    assert (here / "notes.txt").read_bytes() == source.read_bytes()
    again = run_cli("files", "download", file_id, env=cli_env, cwd=here)
    assert again.returncode == 2
    assert "--force" in one_error_line(again)

    deleted = run_cli("files", "delete", file_id, env=cli_env)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == f"deleted {file_id}"
    gone = run_cli("files", "delete", file_id, env=cli_env)
    assert gone.returncode == 1
    assert "404" in one_error_line(gone)


def test_bad_file_options_are_usage_errors(cli_env: dict[str, str], tmp_path: Path) -> None:
    missing = run_cli("files", "upload", str(tmp_path / "absent.txt"), env=cli_env)
    assert missing.returncode == 2
    assert "absent.txt" in one_error_line(missing)
    (tmp_path / "a.txt").write_text("a")
    purpose = run_cli("files", "upload", str(tmp_path / "a.txt"), "--purpose", "x", env=cli_env)
    assert purpose.returncode == 2
    assert "--purpose" in one_error_line(purpose)


def _requests_file(path: Path, count: int) -> Path:
    lines = [
        {
            "custom_id": f"q{n}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Hi {n}"}]},
        }
        for n in range(count)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_submit_wait_status_results(
    mock_openai: MockServer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    mock_openai.app.batch_seconds = 0.5
    requests = _requests_file(tmp_path / "requests.jsonl", 3)
    submitted = run_cli("batch", "submit", str(requests), "--wait", env=cli_env)
    assert submitted.returncode == 0, submitted.stderr
    batch_id, *table = submitted.stdout.splitlines()
    assert batch_id.startswith("batch_")
    assert table[1].split("\t")[:4] == [batch_id, "completed", "3/3", "0"]

    status = run_cli("batch", "status", batch_id, env=cli_env)
    assert status.returncode == 0, status.stderr
    assert _rows(status.stdout)[0][:2] == [batch_id, "completed"]

    output = tmp_path / "results.jsonl"
    results = run_cli("batch", "results", batch_id, "-o", str(output), env=cli_env)
    assert results.returncode == 0, results.stderr
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(line["custom_id"] for line in lines) == ["q0", "q1", "q2"]
    assert all(line["response"]["choices"][0]["message"]["content"] for line in lines)


def test_wait_then_cancel_a_running_batch(
    mock_openai: MockServer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    mock_openai.app.clock.speed = 0  # the batch never finishes on its own
    submitted = run_cli(
        "batch", "submit", str(_requests_file(tmp_path / "r.jsonl", 2)), env=cli_env
    )
    assert submitted.returncode == 0, submitted.stderr
    batch_id = submitted.stdout.strip()
    waited = run_cli("batch", "wait", batch_id, "--timeout", "0.5", env=cli_env)
    assert waited.returncode == 1
    assert batch_id in one_error_line(waited)
    cancelled = run_cli("batch", "cancel", batch_id, env=cli_env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert _rows(cancelled.stdout)[0][1] in ("cancelling", "cancelled")


def test_a_bad_jsonl_line_is_named(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"custom_id": "a", "url": "/v1/chat/completions", "body": {}}\nnot json\n')
    result = run_cli("batch", "submit", str(path), env=cli_env)
    assert result.returncode == 2
    assert f"{path}:2: not JSON" in one_error_line(result)


def _text(terminal_output: str) -> str:
    """What a terminal shows: the output without its escape sequences (colours, cursor)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal_output)


def test_progress_bars_show_on_a_terminal_and_end_full(
    mock_openai: MockServer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    # TTY_COMPATIBLE=1 makes Rich treat stderr as a terminal, as when a person runs it.
    terminal = cli_env | {"TTY_COMPATIBLE": "1", "COLUMNS": "120"}
    source = tmp_path / "notes.txt"
    source.write_bytes(b"The Nile is long.\n" * 5000)  # 90,000 bytes
    uploaded = run_cli("files", "upload", str(source), env=terminal)
    assert uploaded.returncode == 0, uploaded.stderr
    assert re.search(r"uploading notes\.txt ━+ 90\.0/90\.0 kB", _text(uploaded.stderr))
    file_id = uploaded.stdout.strip().splitlines()[-1]
    downloaded = run_cli("files", "download", file_id, "-o", str(tmp_path / "c.txt"), env=terminal)
    assert downloaded.returncode == 0, downloaded.stderr
    assert re.search(r"downloading c\.txt ━+ 90\.0/90\.0 kB", _text(downloaded.stderr))

    mock_openai.app.batch_seconds = 0.5
    requests = _requests_file(tmp_path / "requests.jsonl", 3)
    submitted = run_cli("batch", "submit", str(requests), "--wait", env=terminal)
    assert submitted.returncode == 0, submitted.stderr
    assert re.search(r"requests done ━+ ", _text(submitted.stderr))
    # Not a terminal (the other tests): no bar at all.
    plain = run_cli("files", "upload", str(source), env=cli_env)
    assert "uploading" not in plain.stderr
    assert "━" not in plain.stderr
