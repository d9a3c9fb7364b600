"""The `mock_openai` fixture as a user meets it: a project of their own that loads the plugin.

The project runs in a pytest of its own (a subprocess), so its tests run in a known order: one
test changes the server and the next must find it as new.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CONFTEST = 'pytest_plugins = ["openai_ergo.mock.pytest_plugin"]\n'

USER_TESTS = """
import httpx
import pytest

from openai_ergo import Client, RateLimitError, RetryPolicy
from openai_ergo.mock import Reply

URLS = []
STORED = []


def test_a_sync_test_gets_a_running_server(mock_openai):
    URLS.append(mock_openai.url)
    assert httpx.get(mock_openai.url + "/models").status_code == 200


async def test_an_async_test_changes_everything(mock_openai, anyio_backend):
    URLS.append(mock_openai.url)
    app = mock_openai.app
    app.seed, app.models, app.reply_tokens = 99, ["only-this"], 3
    app.tokens_per_second, app.latency, app.require_api_key = 5.0, 1.0, True
    app.responder = lambda request: "scripted"
    app.strict_models, app.api_keys, app.clock.speed = True, frozenset({"sk-user"}), 0.0
    app.background_seconds, app.batch_seconds, app.max_file_bytes = 1.0, 1.0, 10
    app.fine_tuning_seconds = 1.0
    app.add_model("ft:gpt-4o:acme::gone")
    body = {"model": "only-this", "messages": [{"role": "user", "content": "Hi"}], "store": True}
    key = {"authorization": "Bearer sk-user"}
    stored = httpx.post(mock_openai.url + "/chat/completions", json=body, headers=key)
    STORED.append(stored.json()["id"])
    mock_openai.reply_with("queued")
    mock_openai.fail_next("rate_limit; retry_after=0")
    async with Client(
        api_key="sk-user", base_url=mock_openai.url, retry=RetryPolicy.never()
    ) as client:
        with pytest.raises(RateLimitError):
            await client.chat("only-this").user("Hi")


def test_the_next_test_finds_the_server_as_new(mock_openai):
    URLS.append(mock_openai.url)
    app = mock_openai.app
    assert mock_openai.requests == []
    settings = (app.seed, app.reply_tokens, app.tokens_per_second, app.latency)
    assert settings == (0, (16, 48), None, 0.0)
    assert app.responder is None and app.require_api_key is False
    assert "gpt-4o" in app.models
    assert "ft:gpt-4o:acme::gone" not in app.models
    assert (app.strict_models, app.api_keys, app.clock.speed) == (False, None, 1.0)
    assert (app.background_seconds, app.batch_seconds) == (2.0, 10.0)
    assert app.fine_tuning_seconds == 10.0
    assert app.max_file_bytes == 512 * 1024 * 1024
    assert httpx.get(f"{mock_openai.url}/chat/completions/{STORED[0]}").status_code == 404
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    answer = httpx.post(mock_openai.url + "/chat/completions", json=body)
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] not in ("queued", "scripted")


def test_one_server_serves_the_session():
    assert len(URLS) >= 3 and len(set(URLS)) == 1
"""


def test_a_project_that_loads_the_plugin_gets_a_clean_server_per_test(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_user_app.py").write_text(USER_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nanyio_mode = auto\nfilterwarnings = error\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
