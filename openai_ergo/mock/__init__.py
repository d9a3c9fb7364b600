"""An OpenAI-compatible mock server: real wire format, deterministic replies, injectable faults.

In-process, `MockOpenAI()` is a pure ASGI app (for `httpx.ASGITransport`). On a loopback socket,
`async with serve() as server:` works from asyncio and trio; `server.url` is the base URL for a
client. `python -m openai_ergo.mock --port 0` serves from the command line, and
`openai_ergo.mock.pytest_plugin` provides a `mock_openai` fixture. `client_or_mock()` gives a
client for OpenAI when `OPENAI_API_KEY` is set and for a mock served for it otherwise.
"""

from __future__ import annotations

from openai_ergo.mock._app import MockOpenAI
from openai_ergo.mock._faults import Fault, FaultKind
from openai_ergo.mock._replies import RecordedRequest, Reply, Responder, ToolCall
from openai_ergo.mock._server import MockServer, client_or_mock, serve
from openai_ergo.mock._store import MockClock

__all__ = [
    "Fault",
    "FaultKind",
    "MockClock",
    "MockOpenAI",
    "MockServer",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ToolCall",
    "client_or_mock",
    "serve",
]
