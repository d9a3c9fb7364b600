"""A FastAPI app on a real uvicorn server (in a thread of the test process) that relays streams
with `SSEResponse`, for the relay's tests.

Routes:
- `/upstream?every=S`: an endless SSE feed (`tick 1`, `tick 2`, ... every S seconds), a FastAPI
  endpoint returning `StarletteSSEResponse`; records when its source was closed.
- `/relay?every=S`: a Starlette route that opens `/upstream` with `connect_sse` and relays it
  with `SSEResponse`; records when that `EventSource` was closed.
- `/typed`: objects relayed through a serializer; `/quiet`: a source that waits, so only
  heartbeats flow; `/failing?on_error=1`: a source that fails after two events.

uvicorn runs asyncio only; the client side of each test runs on both backends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request

from streaming import (
    ServerSentEvent,
    SSEResponse,
    StarletteSSEResponse,
    connect_sse,
)


@dataclass
class Closed:
    """When (time.monotonic()) a source was closed, and whether its read was cancelled."""

    at: float | None = None
    event: threading.Event = field(default_factory=threading.Event)

    def mark(self) -> None:
        self.at = time.monotonic()
        self.event.set()


@dataclass
class Record:
    """What the app saw, shared with the test thread."""

    upstream_closed: list[Closed] = field(default_factory=list)
    relay_closed: list[Closed] = field(default_factory=list)


class Ticks:
    """An endless source: `tick n` every `every` seconds; records its close."""

    def __init__(self, every: float, closed: Closed) -> None:
        self._every = every
        self._number = 0
        self._closed = closed

    def __aiter__(self) -> Ticks:
        return self

    async def __anext__(self) -> str:
        await anyio.sleep(self._every)
        self._number += 1
        return f"tick {self._number}"

    async def aclose(self) -> None:
        self._closed.mark()


class Relayed:
    """The upstream `EventSource` seen through the relay: hands its events on, records its
    close after the source's own `aclose()` (which gives its HTTP connection back)."""

    def __init__(self, source: Any, closed: Closed) -> None:
        self._source = source
        self._closed = closed

    def __aiter__(self) -> Relayed:
        return self

    async def __anext__(self) -> ServerSentEvent:
        event: ServerSentEvent = await self._source.__anext__()
        return event

    async def aclose(self) -> None:
        await self._source.aclose()
        self._closed.mark()


@dataclass(frozen=True)
class Token:
    """A typed event, as a client library would hand it over."""

    index: int
    text: str


def make_app(record: Record, base_url: list[str]) -> FastAPI:
    upstream_client = httpx.AsyncClient(timeout=10)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with upstream_client:
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/upstream")
    async def upstream(every: float = 0.01) -> StarletteSSEResponse:
        closed = Closed()
        record.upstream_closed.append(closed)
        return StarletteSSEResponse(Ticks(every, closed), heartbeat=None)

    async def relay(request: Request) -> SSEResponse[ServerSentEvent]:
        every = request.query_params.get("every", "0.01")
        connection = connect_sse(upstream_client, "GET", f"{base_url[0]}/upstream?every={every}")
        source = await connection.__aenter__()
        closed = Closed()
        record.relay_closed.append(closed)
        return SSEResponse(Relayed(source, closed), heartbeat=None)

    # Starlette's hint asks for a Response; at run time it calls whatever ASGI app the endpoint
    # returns, which is the point here.
    app.add_route("/relay", relay)  # type: ignore[arg-type]

    @app.get("/typed")
    async def typed() -> StarletteSSEResponse:
        async def tokens() -> AsyncIterator[Token]:
            for index, text in enumerate(["Hel", "lo", "\nworld"]):
                yield Token(index, text)

        return StarletteSSEResponse(
            tokens(),
            serializer=lambda token: ServerSentEvent(
                event="token", data=token.text, id=str(token.index)
            ),
            headers={"X-Relay": "typed", "Cache-Control": "no-cache"},
        )

    @app.get("/quiet")
    async def quiet() -> StarletteSSEResponse:
        async def late() -> AsyncIterator[str]:
            await anyio.sleep(0.35)
            yield "finally"

        return StarletteSSEResponse(late(), heartbeat=0.1)

    @app.get("/failing")
    async def failing(on_error: int = 0) -> StarletteSSEResponse:
        async def two_then_fail() -> AsyncIterator[str]:
            yield "one"
            yield "two"
            raise RuntimeError("upstream broke")

        return StarletteSSEResponse(
            two_then_fail(),
            on_error=(
                (lambda error: ServerSentEvent(event="error", data=str(error)))
                if on_error
                else None
            ),
        )

    return app


@contextmanager
def relay_server() -> Iterator[tuple[str, Record]]:
    """Serve the app on a free loopback port in a thread; yields (base URL, record)."""
    record = Record()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        config = uvicorn.Config(
            make_app(record, [url]), log_level="critical", lifespan="on", http="h11"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        yield from _running(server, thread, url, record)


def _running(
    server: uvicorn.Server, thread: threading.Thread, url: str, record: Record
) -> Iterator[tuple[str, Record]]:
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the relay app's uvicorn server did not start")
            time.sleep(0.01)
        yield url, record
    finally:
        server.should_exit = True
        thread.join(30)
