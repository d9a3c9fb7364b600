"""The mock server over loopback, from the same plugin users load with `pytest_plugins`: one
server for the session, reset (and its settings put back) around each test that asks for it."""

from __future__ import annotations

from openai_ergo.mock.pytest_plugin import mock_openai, mock_openai_session

__all__ = ["mock_openai", "mock_openai_session"]
