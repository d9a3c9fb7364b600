"""What every client row can do, and the registry that loads one row by name.

A row is one way a user would talk to the API: the official SDK, httpx with httpx-sse, bytes
only, a raw socket, or openai-ergo. Every row does the same user-visible work on the same bytes:
for a stream it produces one object per event and aggregates the text; for a request it parses
the reply and reads the message text. A row reports what it counted, so the harness can check
it against what the server sent.

Rows are imported only inside their own measurement process (by module path), so a process
that measures httpx never imports the SDK: import cost and memory stay with their own row.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ROWS", "ClientRow", "Outcome", "RowSpec", "chat_deltas", "count_events", "load_row"]

#: Called once, right after a stream's first event arrived (time to first event, barriers).
OnFirst = Callable[[], Awaitable[None]] | None


@dataclass(frozen=True)
class Outcome:
    """What a row saw: events it produced (None when it does not count them) and text length."""

    events: int | None
    text_chars: int | None


async def count_events(events: AsyncIterable[object], on_first: OnFirst = None) -> int:
    """Iterate `events` to their end, calling `on_first` after the first; how many there were."""
    count = 0
    async for _event in events:
        count += 1
        if on_first is not None:
            await on_first()
            on_first = None
    return count


async def chat_deltas(chunks: AsyncIterable[Any], on_first: OnFirst = None) -> Outcome:
    """Count chat chunks and join their first choice's content deltas, as a user's loop would.

    The chunks are the SDK's pydantic models or our msgspec Structs: both read the same way.
    """
    events = 0
    parts: list[str] = []
    async for chunk in chunks:
        events += 1
        if on_first is not None:
            await on_first()
            on_first = None
        if chunk.choices:
            content = chunk.choices[0].delta.content
            if content:
                parts.append(content)
    return Outcome(events, len("".join(parts)))


class ClientRow(Protocol):
    """The operations every scenario is built from; a row is opened and closed once."""

    async def open(self) -> None:
        """Create the client and its connection pool."""

    async def close(self) -> None:
        """Close the client and every connection."""

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        """Stream one chat completion to its end, aggregating the text."""

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        """Stream one Responses reply to its end, aggregating the text."""

    async def chat_request(self, model: str) -> Outcome:
        """One non-streamed chat completion, parsed; the message text is read."""


@dataclass(frozen=True)
class RowSpec:
    """A row in the registry: where its class lives and on which event loops it runs."""

    name: str
    label: str
    target: str
    backends: tuple[str, ...]
    #: "sdk", "httpx", "ceiling" or "ergo": how the report groups and compares rows.
    family: str
    #: Whether the row produces typed objects and aggregates (False for the byte ceilings).
    parses: bool = True


_BASE = "benchmarks._rows_baseline"
_ERGO = "benchmarks._rows_ergo"

ROWS: dict[str, RowSpec] = {
    spec.name: spec
    for spec in (
        RowSpec("sdk", "openai SDK, stream=True", f"{_BASE}:SDKRow", ("asyncio",), "sdk"),
        RowSpec(
            "sdk_helper",
            "openai SDK, .stream() helper",
            f"{_BASE}:SDKHelperRow",
            ("asyncio",),
            "sdk",
        ),
        RowSpec(
            "httpx_sse", "httpx + httpx-sse + json", f"{_BASE}:HttpxSSERow", ("asyncio",), "httpx"
        ),
        RowSpec(
            "httpx_bytes",
            "httpx aiter_bytes (no parsing)",
            f"{_BASE}:HttpxBytesRow",
            ("asyncio",),
            "ceiling",
            parses=False,
        ),
        RowSpec(
            "raw_msgspec",
            "raw socket + msgspec",
            f"{_BASE}:RawMsgspecRow",
            ("asyncio",),
            "ceiling",
        ),
        RowSpec(
            "raw_bytes",
            "raw socket, bytes only (server ceiling)",
            f"{_BASE}:RawBytesRow",
            ("asyncio",),
            "ceiling",
            parses=False,
        ),
        RowSpec(
            "ergo_events",
            "openai-ergo typed events",
            f"{_ERGO}:ErgoEventsRow",
            ("asyncio", "trio"),
            "ergo",
        ),
        RowSpec(
            "ergo_text", "openai-ergo .text()", f"{_ERGO}:ErgoTextRow", ("asyncio", "trio"), "ergo"
        ),
        RowSpec(
            "ergo_final",
            "openai-ergo events + .final()",
            f"{_ERGO}:ErgoFinalRow",
            ("asyncio", "trio"),
            "ergo",
        ),
        RowSpec(
            "ergo_raw",
            "openai-ergo request(stream=True) + typed decode",
            f"{_ERGO}:ErgoRawRow",
            ("asyncio", "trio"),
            "ergo",
        ),
        RowSpec(
            "ergo_httpx_final",
            "openai-ergo events + .final(), on httpx's transport",
            f"{_ERGO}:ErgoHttpxFinalRow",
            ("asyncio", "trio"),
            "ergo",
        ),
        RowSpec(
            "ergo_httpx_raw",
            "openai-ergo request(stream=True), on httpx's transport",
            f"{_ERGO}:ErgoHttpxRawRow",
            ("asyncio", "trio"),
            "ergo",
        ),
    )
}


def load_row(name: str, port: int, *, max_connections: int) -> ClientRow:
    """Import a row's module and build the row for a server on `port`.

    Raises `ImportError` (with the reason) when the row's library pieces do not exist yet.
    """
    module_name, _, class_name = ROWS[name].target.partition(":")
    module = importlib.import_module(module_name)
    factory: Callable[..., ClientRow] = getattr(module, class_name)
    return factory(port, max_connections=max_connections)
