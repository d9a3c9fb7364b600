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


@pytest.fixture(scope="session")
def mock_openai_session() -> Iterator[MockServer]:
    """The session's mock server on a free 127.0.0.1 port."""
    with MockServer() as server:
        yield server


@pytest.fixture
def mock_openai(mock_openai_session: MockServer) -> Iterator[MockServer]:
    """The mock server with no recorded requests, queued replies or armed faults."""
    app = mock_openai_session.app
    app.reset()
    saved = (app.tokens_per_second, app.latency, app.responder, app.require_api_key)
    try:
        yield mock_openai_session
    finally:
        app.tokens_per_second, app.latency, app.responder, app.require_api_key = saved
        app.reset()
