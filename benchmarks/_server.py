"""The benchmark server: a minimal HTTP/1.1 server over loopback, in its own process.

It serves pre-rendered bodies (see `_bodies`) and does nothing else, so it is never what a
client row measures: per event it only hands one prepared chunk to the socket, and the
raw-bytes row shows its ceiling is far above every client's. It is not the mock server and not
uvicorn on purpose: both run an ASGI app per request and would cap the fast rows.

Routes: `POST /v1/chat/completions` and `POST /v1/responses`; the JSON body's `model` names the
size (`bench-<n>`) and `stream` chooses SSE or one JSON document. Connections are kept alive.

Run as `python -m benchmarks._server`: it binds 127.0.0.1 on a free port, prints
`PORT <n>` once ready, and exits when its standard input closes (the parent ended) or after
`--max-seconds`, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import threading
from functools import lru_cache

import msgspec

from benchmarks._bodies import (
    RenderedStream,
    chat_completion_body,
    chat_stream,
    responses_stream,
    size_from_model,
)

__all__ = ["main", "raise_fd_limit", "serve"]

#: Bytes queued in the transport before the writer waits for the client to read.
_HIGH_WATER = 256 * 1024
#: Requests served on one connection before the server closes it: bounds every loop.
_MAX_REQUESTS_PER_CONNECTION = 100_000
_MAX_BODY = 1024 * 1024


class _RequestBody(msgspec.Struct):
    model: str
    stream: bool = False


_decode_request = msgspec.json.Decoder(_RequestBody).decode

_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"transfer-encoding: chunked\r\n"
    b"cache-control: no-cache\r\n"
    b"x-request-id: req_bench0000000000000000000000\r\n"
    b"openai-processing-ms: 5\r\n"
    b"x-ratelimit-limit-requests: 10000\r\n"
    b"x-ratelimit-remaining-requests: 9999\r\n"
    b"\r\n"
)


def _json_head(length: int) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\n"
        b"content-type: application/json\r\n"
        b"content-length: %d\r\n"
        b"x-request-id: req_bench0000000000000000000000\r\n"
        b"openai-processing-ms: 5\r\n"
        b"x-ratelimit-limit-requests: 10000\r\n"
        b"x-ratelimit-remaining-requests: 9999\r\n"
        b"\r\n" % length
    )


def _error(status: int, message: str) -> bytes:
    body = msgspec.json.encode({"error": {"message": message, "type": "invalid_request_error"}})
    return (
        b"HTTP/1.1 %d Error\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
        % (status, len(body), body)
    )


@lru_cache(maxsize=64)
def _stream_for(path: str, size: int) -> RenderedStream:
    return chat_stream(size) if path == "/v1/chat/completions" else responses_stream(size)


@lru_cache(maxsize=64)
def _json_reply(size: int) -> bytes:
    body = chat_completion_body(size)
    return _json_head(len(body)) + body


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    try:
        for _ in range(_MAX_REQUESTS_PER_CONNECTION):
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            method, path, _ = head.split(b" ", 2)
            length = _content_length(head)
            if length > _MAX_BODY:
                writer.write(_error(413, "request body too large"))
                return
            raw_body = await reader.readexactly(length)
            route = path.split(b"?", 1)[0].decode()
            if method != b"POST" or route not in ("/v1/chat/completions", "/v1/responses"):
                writer.write(_error(404, f"no route for {method.decode()} {route}"))
                continue
            try:
                request = _decode_request(raw_body)
                size = size_from_model(request.model)
            except (msgspec.DecodeError, ValueError) as exc:
                writer.write(_error(400, str(exc)))
                continue
            if not request.stream:
                if route != "/v1/chat/completions":
                    writer.write(_error(404, "non-streamed replies exist for chat only"))
                    continue
                writer.write(_json_reply(size))
                continue
            writer.write(_STREAM_HEAD)
            # One write per event, as the API flushes one event per token; wait for the
            # client only when it falls behind, so the queue stays bounded.
            for chunk in _stream_for(route, size).chunks:
                writer.write(chunk)
                if transport.get_write_buffer_size() > _HIGH_WATER:
                    await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


#: Sockets the server may hold: the many-streams scenario opens 10,000 at once.
_MAX_CONNECTIONS = 20_000


def raise_fd_limit(needed: int) -> int:
    """Raise this process's soft limit on open files to `needed` (at most the hard limit);
    returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return needed if soft == resource.RLIM_INFINITY else soft


async def serve(max_seconds: float) -> None:
    """Serve on 127.0.0.1 until stdin closes or `max_seconds` pass; print the port first."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    raise_fd_limit(_MAX_CONNECTIONS + 64)
    # The kernel caps the backlog (net.core.somaxconn); thousands of streams opened at once
    # would otherwise see dropped SYNs and a retransmit a second later.
    server = await asyncio.start_server(_handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()

    def stdin_closed() -> None:
        if not done.done():
            done.set_result(None)

    def watch_stdin() -> None:
        # A blocking read in a daemon thread: returns when the parent goes away.
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stdin_closed)

    threading.Thread(target=watch_stdin, daemon=True).start()
    loop.call_later(max_seconds, stdin_closed)
    async with server:
        await done


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: `python -m benchmarks._server [--max-seconds S]`."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._server")
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.max_seconds))


if __name__ == "__main__":
    main()
