"""A scripted OpenAI-like server on a real loopback socket, in the test's own event loop.

Each request pops the next `Reply` from the script (the last one repeats), so a test reads as
the story it tells: "429 with Retry-After: 1, then 200". A reply is a whole body or a list of SSE
chunks, optionally followed by a hang-up (`abort=True`) or silence (`hang=True`). The HTTP side
(sockets, h11, connection counting, the record of every request) is `sse_server`'s; this module
only turns a `Reply` into what an `Exchange` writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import msgspec

from tests.streaming.loopback import Exchange, LoopbackServer, RecordedRequest, sse_server

#: One request as the server saw it (method, target, lower-cased headers, body).
Recorded = RecordedRequest


@dataclass(frozen=True)
class Reply:
    """One canned response."""

    status: int = 200
    json: object = None
    body: bytes | None = None
    headers: Sequence[tuple[str, str]] = ()
    content_type: str = "application/json"
    #: SSE chunks, each written and flushed on its own (a streamed, chunked body).
    events: Sequence[bytes] | None = None
    #: Hang up the connection after the body/events written so far.
    abort: bool = False
    #: Stay silent (keeping the connection open) after what was written.
    hang: bool = False
    #: Seconds to wait before each SSE chunk (a server that trickles tokens).
    interval: float = 0.0

    def payload(self) -> bytes:
        if self.body is not None:
            return self.body
        return msgspec.json.encode(self.json if self.json is not None else {})


def error_body(
    message: str, *, type: str = "invalid_request_error", code: str | None = None
) -> object:
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def sse(*events: object) -> list[bytes]:
    """SSE chunks for JSON payloads, one event per chunk."""
    return [b"data: " + msgspec.json.encode(e) + b"\n\n" for e in events]


Handler = Callable[[Recorded], Awaitable[Reply]]


@dataclass
class ScriptedServer:
    """The running server: its base URL, its scripts and what it received."""

    url: str
    loopback: LoopbackServer
    script: list[Reply] = field(default_factory=list)
    handler: Handler | None = None
    _served: int = 0

    @property
    def requests(self) -> list[Recorded]:
        """Every request received, in order."""
        return self.loopback.requests

    @property
    def connections(self) -> int:
        """Number of TCP connections accepted so far."""
        return self.loopback.connections

    def then(self, *replies: Reply) -> ScriptedServer:
        """Append replies to the script; the last one repeats when the script runs out."""
        self.script.extend(replies)
        return self

    async def _next(self, request: Recorded) -> Reply:
        if self.handler is not None:
            return await self.handler(request)
        if not self.script:
            return Reply(json={"ok": True})
        index = min(self._served, len(self.script) - 1)
        self._served += 1
        return self.script[index]

    async def _answer(self, exchange: Exchange) -> None:
        reply = await self._next(exchange.request)
        # The reply's own headers first, then the framing ones, each once (content_type=None
        # keeps `start` from adding a second Content-Type).
        headers = list(reply.headers)
        if reply.events is not None:
            headers += [("Content-Type", "text/event-stream")]  # `start` adds chunked framing
            await exchange.start(reply.status, headers, content_type=None)
            for chunk in reply.events:
                if reply.interval:
                    await anyio.sleep(reply.interval)
                await exchange.send(chunk)
        else:
            payload = reply.payload()
            headers += [("Content-Type", reply.content_type)]
            headers += [("Content-Length", str(len(payload)))]
            await exchange.start(reply.status, headers, content_type=None)
            await exchange.send(payload)
        if reply.abort:
            await exchange.abort()
        elif reply.hang:
            await anyio.sleep_forever()


@asynccontextmanager
async def scripted_server(*replies: Reply) -> AsyncIterator[ScriptedServer]:
    """Serve the script on 127.0.0.1 (a free port) for the duration of the block."""
    scripted: ScriptedServer | None = None

    async def answer(exchange: Exchange) -> None:
        assert scripted is not None
        await scripted._answer(exchange)

    async with sse_server(answer) as loopback:
        scripted = ScriptedServer(url=f"{loopback.url}/v1", loopback=loopback, script=list(replies))
        yield scripted
