"""The mock's own fixtures: the same plugin users load with `pytest_plugins`."""

from __future__ import annotations

from openai_ergo.mock.pytest_plugin import mock_openai, mock_openai_session

__all__ = ["mock_openai", "mock_openai_session"]
