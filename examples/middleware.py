"""Middleware patterns: structured logs, request ids, custom headers, and httpx event hooks.

Every request, retries included, passes through the client's pipeline. A `Middleware` subclass
hooks into it (`on_request`, `on_response`, and for streams `on_event`, `on_stream_end`); httpx's
own event hooks work too, on an `httpx.AsyncClient` you hand the client.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that, and then also prints the headers the mock received.
"""

from __future__ import annotations

import os
import uuid
from contextlib import AsyncExitStack
from typing import Any

import anyio
import httpx
import structlog

from openai_ergo import Client, HTTP11Transport, Middleware, redact_secrets


class RequestIds(Middleware):
    """Tags each request with an id of ours (`X-Client-Request-Id`, which OpenAI accepts and
    logs) and pairs it with the server's `x-request-id`: quote both to support."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str | None]] = []

    async def on_request(self, request: httpx.Request, state: dict[str, Any]) -> None:
        # `state` lives for the logical request, so every retry carries the same id.
        ours = state.setdefault("client_request_id", f"req-{uuid.uuid4().hex[:12]}")
        request.headers["X-Client-Request-Id"] = ours

    async def on_response(self, response: httpx.Response, state: dict[str, Any]) -> None:
        self.pairs.append((state["client_request_id"], response.headers.get("x-request-id")))


class Tenant(Middleware):
    """Adds a header to every request of this client (a cost centre, a gateway route)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def on_request(self, request: httpx.Request, state: dict[str, Any]) -> None:
        request.headers["X-Tenant"] = self.name


class StreamStats(Middleware):
    """Counts the events of each stream; `on_stream_end` runs once however the stream ends."""

    def on_event(self, event: Any, state: dict[str, Any]) -> None:
        state["events"] = state.get("events", 0) + 1

    async def on_stream_end(self, state: dict[str, Any], error: BaseException | None) -> None:
        print(f"  stream on {state['path']}: {state.get('events', 0)} events, error={error!r}")


# httpx.AsyncClient awaits its hooks, so they are async functions.
async def log_request(request: httpx.Request) -> None:
    print(f"  httpx hook: {request.method} {request.url.path}")


async def log_response(response: httpx.Response) -> None:
    print(f"  httpx hook: {response.status_code} {response.headers.get('content-type')}")


async def main() -> None:
    # The client logs one structlog event per attempt, but only once the application has
    # configured structlog. `redact_secrets` scrubs keys and tokens from your own events too.
    structlog.configure(
        processors=[redact_secrets, structlog.processors.KeyValueRenderer(sort_keys=True)],
        logger_factory=structlog.PrintLoggerFactory(),
    )
    async with AsyncExitStack() as stack:
        server = None
        settings: dict[str, Any] = {}
        if not os.environ.get("OPENAI_API_KEY"):
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7))
            settings = {"base_url": server.url, "api_key": "sk-mock"}

        ids = RequestIds()
        client = await stack.enter_async_context(
            Client(
                headers={"X-App": "middleware-example"},  # on every request of this client
                middleware=[ids, Tenant("search"), StreamStats()],
                **settings,
            )
        )

        print("1. one awaited request (the line below it is the client's log event):")
        chat = client.chat("gpt-4o-mini").user("Say hi")
        await chat.extra_headers({"X-Feature": "greeting"})  # on this request only
        if server is not None:
            sent = server.requests[-1].headers
            print("  the server saw:", {h: sent[h] for h in ("x-app", "x-tenant", "x-feature")})

        print("2. a stream, seen event by event:")
        async with chat.stream() as stream:
            await stream.until_done()
        print("  its request id:", stream.request_id)

        print("3. our ids and the server's, per request:")
        for ours, theirs in ids.pairs:
            print(f"  {ours} -> {theirs}")

        print("4. httpx event hooks, on an httpx.AsyncClient given to the client:")
        http = httpx.AsyncClient(
            transport=HTTP11Transport(),
            event_hooks={"request": [log_request], "response": [log_response]},
        )
        async with Client(http_client=http, **settings) as hooked:
            await hooked.responses("gpt-5-mini").input("Say hi")

        # `with_options` derives a client sharing the pool, here with other middleware.
        quiet = client.with_options(middleware=[])
        await quiet.chat("gpt-4o-mini").user("Say hi")
        print("5. with_options(middleware=[]): pairs still", len(ids.pairs))


if __name__ == "__main__":
    anyio.run(main)
