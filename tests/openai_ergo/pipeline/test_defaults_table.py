"""The defaults table of docs/client.md is what a `Client()` really runs with.

Each row's value is read from a client made with no arguments (its pipeline, its pool) or,
for what only applies when you build it (a `KeyPool`, an `EventSource`), from the signature
that supplies it. A setting with no row, or a row that names nothing, fails as surely as a
wrong value.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from openai_ergo import (
    CircuitBreaker,
    Client,
    HTTP11Transport,
    KeyPool,
    RateLimiter,
    RetryPolicy,
    Timeouts,
    TokenProvider,
)
from streaming import EventSource

DOC = Path(__file__).resolve().parents[3] / "docs" / "client.md"
_ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| [^|]+ \|$")


def _table() -> dict[str, object]:
    text = DOC.read_text()
    section = text.split("\n## Defaults\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, object] = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match is None:
            assert not line.startswith("| `"), f"a row the test cannot read: {line}"
            continue
        name, value = match.groups()
        assert name not in rows, f"{name} has two rows"
        rows[name] = ast.literal_eval(value)
    return rows


def _default(callable_: Any, parameter: str) -> object:
    return inspect.signature(callable_).parameters[parameter].default


def _fields(kind: type) -> list[str]:
    if dataclasses.is_dataclass(kind):
        return [f.name for f in dataclasses.fields(kind)]
    return [p for p in inspect.signature(kind).parameters if p != "clock"]


def _actual(client: Client, azure: Client) -> dict[str, object]:
    pipeline = client._pipeline
    transport = client.http_client._transport
    assert isinstance(transport, HTTP11Transport)  # http2=False: the fast transport
    pool = transport._pool
    limiter = client.rate_limiter
    breaker = client.circuit_breaker
    assert limiter is not None
    assert breaker is not None
    assert azure._azure is not None
    actual: dict[str, object] = {
        "base_url": client.base_url,
        "Client.azure.api_version": azure._azure.api_version,
        "http2": _default(Client, "http2"),
        "trust_env": _default(Client, "trust_env"),
        "verify": _default(Client, "verify"),
        "limits.max_connections": pool._max_connections,
        "limits.max_keepalive_connections": pool._max_keepalive,
        "limits.keepalive_expiry": pool._expiry,
        "KeyPool.cooldown": _default(KeyPool, "cooldown"),
        "TokenProvider.refresh_margin": _default(TokenProvider, "refresh_margin"),
    }
    for name in _fields(Timeouts):
        actual[f"Timeouts.{name}"] = getattr(pipeline.timeouts, name)
    for name in _fields(RetryPolicy):
        actual[f"RetryPolicy.{name}"] = getattr(pipeline.retry, name)
    for name in _fields(RateLimiter):
        actual[f"RateLimiter.{name}"] = getattr(limiter, name)
    for name in _fields(CircuitBreaker):
        actual[f"CircuitBreaker.{name}"] = getattr(breaker, name)
    for name in ("max_line_size", "max_event_size", "prefetch"):
        # The pipeline opens its event sources with these left to EventSource's defaults.
        actual[f"EventSource.{name}"] = _default(EventSource, name)
    return actual


async def test_the_defaults_table_is_what_a_client_runs_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-defaults")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-defaults")
    async with (
        Client() as client,
        Client.azure("https://resource.openai.azure.com") as azure,
    ):
        actual = _actual(client, azure)
    table = _table()
    assert sorted(set(actual) - set(table)) == [], "settings with no row in docs/client.md"
    assert sorted(set(table) - set(actual)) == [], "rows the test does not know"
    wrong = {name: (table[name], actual[name]) for name in table if table[name] != actual[name]}
    assert wrong == {}, "(table, real) for each row that is wrong"
