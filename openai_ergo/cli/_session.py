"""What every command shares: the global options, the client it talks through, and how an
exception becomes one line on stderr and an exit status."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from openai_ergo import Client, ConfigurationError, InvalidRequestError, OpenAIErgoError

#: Exit statuses: success, an API error, a usage error (as click uses 2), interrupted.
OK, API_ERROR, USAGE_ERROR, INTERRUPTED = 0, 1, 2, 130

Backend = Literal["asyncio", "trio"]


class UsageProblem(Exception):
    """A command was given something it cannot use (exit status 2); the message says what."""


@dataclass(slots=True)
class Settings:
    """The global options, set by the top-level callback before any command runs."""

    debug: bool = False
    mock: bool = False
    backend: Backend = "asyncio"


SETTINGS = Settings()

#: The notice printed when a command falls back to the embedded mock.
MOCK_NOTICE = (
    "openai-ergo: no OPENAI_API_KEY, so the embedded mock server answers (made-up words); "
    "set OPENAI_API_KEY for real answers."
)
NO_KEY = (
    "no OpenAI API key: set the OPENAI_API_KEY environment variable, or pass --mock to try "
    "this against the embedded mock server"
)


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run `main` on the backend the global `--backend` option chose."""
    anyio.run(main, backend=SETTINGS.backend)


def _uses_mock(*, fallback: bool) -> bool:
    if SETTINGS.mock:
        return True
    # With a base URL of its own (a compatible server, a mock started by hand) the user meant
    # that server, key or not: the fallback would hide the mistake.
    configured = os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")
    return fallback and not (configured and configured.strip())


@asynccontextmanager
async def open_client(*, fallback: bool = False, **mock_options: Any) -> AsyncIterator[Client]:
    """The client a command talks through: the embedded mock with `--mock` (or, when
    `fallback`, with no OPENAI_API_KEY and no OPENAI_BASE_URL, after a notice on stderr), else a
    `Client` configured from the environment, whose missing key names OPENAI_API_KEY."""
    if _uses_mock(fallback=fallback):
        from openai_ergo.mock import serve

        if not SETTINGS.mock:
            print(MOCK_NOTICE, file=sys.stderr, flush=True)
        async with (
            serve(**mock_options) as server,
            Client(base_url=server.url, api_key="sk-mock") as client,
        ):
            yield client
        return
    if not (os.environ.get("OPENAI_API_KEY") or "").strip():
        raise ConfigurationError(NO_KEY)
    async with Client() as client:
        yield client


def _leaf(exc: BaseException) -> BaseException:
    """The one exception inside (nested) exception groups, which task groups raise."""
    while True:
        inner = getattr(exc, "exceptions", None)
        if not inner or len(inner) != 1:
            return exc
        exc = inner[0]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def report(exc: BaseException) -> int:
    """Print `exc` as one line on stderr (after its traceback with `--debug`) and return the
    exit status it means."""
    leaf = _leaf(exc)
    if isinstance(leaf, KeyboardInterrupt):
        return INTERRUPTED
    if SETTINGS.debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if isinstance(leaf, UsageProblem | ConfigurationError | InvalidRequestError):
        status = USAGE_ERROR
        message = str(leaf)
    elif isinstance(leaf, OpenAIErgoError):
        status = API_ERROR
        message = str(leaf)
    elif isinstance(leaf, OSError):
        status = API_ERROR
        name = f" {leaf.filename}" if leaf.filename else ""
        message = f"{leaf.strerror or leaf}{':' if name else ''}{name}"
    else:
        status = API_ERROR
        message = f"unexpected {type(leaf).__name__}: {leaf}"
    hint = "" if SETTINGS.debug else " (--debug shows the traceback)"
    if status == USAGE_ERROR:
        hint = ""
    print(f"error: {_one_line(message)}{hint}", file=sys.stderr, flush=True)
    return status


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """Rows as a Rich table on a terminal (first column never cut), else as tab-separated
    lines with a header, whole, for scripts."""
    if not sys.stdout.isatty():
        for row in [headers, *rows]:
            print("\t".join(row))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for index, header in enumerate(headers):
        table.add_column(header, no_wrap=index == 0, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
