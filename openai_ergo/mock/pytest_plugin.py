"""A pytest fixture for the mock OpenAI API: `pytest_plugins = ["openai_ergo.mock.pytest_plugin"]`.

`mock_openai` is a running `MockServer`, reset before each test; one server serves the whole
session (starting uvicorn per test would cost more than most tests). It is a sync fixture, so
it serves sync tests and async tests on asyncio and trio alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openai_ergo.mock._server import MockServer

__all__ = ["mock_openai", "mock_openai_session"]

#: The app's settings a test may change, restored after each test.
_SETTINGS = (
    "seed",
    "models",
    "strict_models",
    "reply_tokens",
    "tokens_per_second",
    "latency",
    "responder",
    "require_api_key",
    "api_keys",
    "background_seconds",
    "batch_seconds",
    "indexing_seconds",
    "fine_tuning_seconds",
    "max_file_bytes",
)


@pytest.fixture(scope="session")
def mock_openai_session() -> Iterator[MockServer]:
    """The session's mock server on a free 127.0.0.1 port."""
    with MockServer() as server:
        yield server


@pytest.fixture
def mock_openai(mock_openai_session: MockServer) -> Iterator[MockServer]:
    """The mock server with no recorded requests, queued replies, armed faults or stored
    objects; settings a test changes (seed, models, strict_models, reply_tokens, pace, latency,
    responder, require_api_key, api_keys, background_seconds, batch_seconds, indexing_seconds,
    fine_tuning_seconds, max_file_bytes, the clock's speed) are put back after it."""
    app = mock_openai_session.app
    app.reset()
    saved = {name: getattr(app, name) for name in _SETTINGS}
    saved["models"] = list(app.models)
    speed = app.clock.speed
    try:
        yield mock_openai_session
    finally:
        for name, value in saved.items():
            setattr(app, name, value)
        app.clock.speed = speed
        app.reset()
