"""A scripted OpenAI-like server on a real loopback socket, in the test's own event loop.

Each request pops the next `Reply` from the script (the last one repeats), so a test reads as
the story it tells: "429 with Retry-After: 1, then 200". A reply is a whole body or a list of SSE
chunks, optionally followed by a hang-up (`abort=True`) or silence (`hang=True`). Every request
is recorded (method, target, lower-cased headers, body).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc
import h11
import msgspec

_MAX_REQUESTS_PER_CONNECTION = 500


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def json(self) -> object:
        return msgspec.json.decode(self.body)


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
    script: list[Reply] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    connections: int = 0
    handler: Handler | None = None
    _served: int = 0

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


async def _read_event(stream: anyio.abc.ByteStream, conn: h11.Connection) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        try:
            data = await stream.receive(65536)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            data = b""
        conn.receive_data(data)


async def _write(stream: anyio.abc.ByteStream, conn: h11.Connection, event: h11.Event) -> None:
    data = conn.send(event)
    if data:
        await stream.send(data)


async def _serve(stream: anyio.abc.ByteStream, server: ScriptedServer) -> None:
    server.connections += 1
    conn = h11.Connection(our_role=h11.SERVER)
    async with stream:
        for _ in range(_MAX_REQUESTS_PER_CONNECTION):
            try:
                head = await _read_event(stream, conn)
            except h11.RemoteProtocolError:
                return
            if not isinstance(head, h11.Request):
                return
            body = b""
            while True:
                part = await _read_event(stream, conn)
                if isinstance(part, h11.Data):
                    body += part.data
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return
            recorded = Recorded(
                method=head.method.decode(),
                target=head.target.decode(),
                headers={k.decode().lower(): v.decode() for k, v in head.headers},
                body=body,
            )
            server.requests.append(recorded)
            reply = await server._next(recorded)
            headers = [(k, v) for k, v in reply.headers]
            try:
                if reply.events is not None:
                    headers += [
                        ("Content-Type", "text/event-stream"),
                        ("Transfer-Encoding", "chunked"),
                    ]
                    await _write(
                        stream, conn, h11.Response(status_code=reply.status, headers=headers)
                    )
                    for chunk in reply.events:
                        if reply.interval:
                            await anyio.sleep(reply.interval)
                        await _write(stream, conn, h11.Data(data=chunk))
                else:
                    payload = reply.payload()
                    headers += [("Content-Type", reply.content_type)]
                    headers += [("Content-Length", str(len(payload)))]
                    await _write(
                        stream, conn, h11.Response(status_code=reply.status, headers=headers)
                    )
                    await _write(stream, conn, h11.Data(data=payload))
                if reply.abort:
                    return
                if reply.hang:
                    await anyio.sleep_forever()
                await _write(stream, conn, h11.EndOfMessage())
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()


@asynccontextmanager
async def scripted_server(*replies: Reply) -> AsyncIterator[ScriptedServer]:
    """Serve the script on 127.0.0.1 (a free port) for the duration of the block."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    server = ScriptedServer(url=f"http://127.0.0.1:{port}/v1", script=list(replies))

    async def serve(stream: anyio.abc.SocketStream) -> None:
        await _serve(stream, server)

    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, serve)
        try:
            yield server
        finally:
            group.cancel_scope.cancel()
