"""Long-lived feeds served by a third-party SSE library: sse-starlette on uvicorn.

The reconnection tests and the comparison benchmark run `streaming` against a server nobody here
wrote. `python -m tests.streaming.starlette_feeds [PORT]` serves the app below on a loopback
port (a free one by default) and prints `PORT <n>` once it listens. `feed_server()` starts it
in a subprocess for a test module, whichever event loop the test runs on.

Routes (each numbers its events 1, 2, 3, ... and resumes after `Last-Event-ID`):
- `/feed?count=N`: N events, then the end.
- `/drop?count=N&every=K`: drops the connection (no clean end) after every K events.
- `/quiet?count=N&every=K`: goes silent (holds the connection open, sends nothing) after every K
  events of a connection; with `&stuck=1`, a resumed connection is silent from the start.
- `/auth?count=N&every=K`: needs `Authorization: Bearer token-<n>`; each token is good for K
  events, after which the connection drops and `token-<n>` is refused (401) from then on.
- `/heartbeat?count=N&gap=S`: N events S seconds apart, with sse-starlette's `: ping` comment
  every S/4 seconds between them.
- `/bulk?count=N&write=B`: N small events packed into writes of about B bytes (B=0: one event per
  write), for the CPU comparison.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]


class _Dropped(Exception):
    """Raised inside a feed to make uvicorn cut the connection mid-body."""


def _numbers(request: Request) -> tuple[int, int, int]:
    """(first event number, count, every) from the query and `Last-Event-ID`."""
    last = request.headers.get("last-event-id", "")
    first = int(last) + 1 if last.isdigit() else 1
    count = int(request.query_params.get("count", "10"))
    every = int(request.query_params.get("every", "0")) or count + 1
    return first, count, every


def _event(number: int) -> ServerSentEvent:
    return ServerSentEvent(data=f"event {number}", id=str(number), retry=20)


async def feed(request: Request) -> Response:
    first, count, _ = _numbers(request)

    async def events() -> AsyncIterator[ServerSentEvent]:
        for number in range(first, count + 1):
            yield _event(number)

    return EventSourceResponse(events())


async def drop(request: Request) -> Response:
    first, count, every = _numbers(request)

    async def events() -> AsyncIterator[ServerSentEvent]:
        for sent, number in enumerate(range(first, count + 1), start=1):
            yield _event(number)
            if sent == every and number < count:
                raise _Dropped

    return EventSourceResponse(events())


async def quiet(request: Request) -> Response:
    first, count, every = _numbers(request)

    stuck = request.query_params.get("stuck") == "1" and first > 1

    async def events() -> AsyncIterator[ServerSentEvent]:
        if stuck:
            await anyio.sleep_forever()
        for sent, number in enumerate(range(first, count + 1), start=1):
            yield _event(number)
            if sent == every and number < count:
                await anyio.sleep_forever()

    return EventSourceResponse(events())


#: Tokens refused from now on: each one expires after its K events.
_expired: set[str] = set()


async def auth(request: Request) -> Response:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    if not token.startswith("token-") or token in _expired:
        return PlainTextResponse("token expired or missing", status_code=401)
    first, count, every = _numbers(request)

    async def events() -> AsyncIterator[ServerSentEvent]:
        for sent, number in enumerate(range(first, count + 1), start=1):
            yield _event(number)
            if sent == every and number < count:
                _expired.add(token)
                raise _Dropped

    return EventSourceResponse(events())


async def heartbeat(request: Request) -> Response:
    first, count, _ = _numbers(request)
    gap = float(request.query_params.get("gap", "0.2"))

    async def events() -> AsyncIterator[ServerSentEvent]:
        for number in range(first, count + 1):
            await anyio.sleep(gap)
            yield _event(number)

    return EventSourceResponse(events(), ping=gap / 4)


async def bulk(request: Request) -> Response:
    count = int(request.query_params.get("count", "1000"))
    write = int(request.query_params.get("write", "0"))
    one = b'data: {"delta": "token", "index": %d}\n\n'
    packed = max(1, write // len(one % 0)) if write else 1

    async def events() -> AsyncIterator[bytes]:
        for start in range(0, count, packed):
            yield b"".join(one % n for n in range(start, min(start + packed, count)))

    return EventSourceResponse(events())


app = Starlette(
    routes=[
        Route("/feed", feed),
        Route("/drop", drop),
        Route("/quiet", quiet),
        Route("/auth", auth),
        Route("/heartbeat", heartbeat),
        Route("/bulk", bulk),
    ]
)


@contextmanager
def feed_server(port: int = 0) -> Iterator[str]:
    """The app above on a loopback port (a free one by default) in a subprocess; yields its base
    URL."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.streaming.starlette_feeds", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the sse-starlette server did not start (it printed {line!r})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def main() -> None:
    """Serve the app on the port given (a free one by default) and print it."""
    import uvicorn

    listener = socket.socket()
    listener.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    listener.listen(128)
    print(f"PORT {listener.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="critical", lifespan="off", http="h11")
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()
