"""CPU per streamed event: HTTP11Transport against httpx's default transport.

A server in another process sends one long chunked response of OpenAI-sized chat chunks
(`data: {...}\\n\\n`, one HTTP chunk per event); the client reads the raw body through
`httpx.AsyncClient.stream(...).aiter_raw()` and we take `time.process_time()` of the client
process only. Run: `python -m tests.openai_ergo.transport.measure_cpu [events] [backend] [paced]`.
"""

from __future__ import annotations

import json
import multiprocessing
import socket
import sys
import time
from collections.abc import Callable

import anyio
import httpx

from openai_ergo._transport import HTTP11Transport

EVENT = (
    b"data: "
    + json.dumps(
        {
            "id": "chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz012",
            "object": "chat.completion.chunk",
            "created": 1730000000,
            "model": "gpt-4o-mini-2024-07-18",
            "system_fingerprint": "fp_0123456789",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": " token"},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        },
        separators=(",", ":"),
    ).encode()
    + b"\n\n"
)


def _serve(listener: socket.socket, events: int, rounds: int, paced: bool) -> None:
    chunk = b"%x\r\n%b\r\n" % (len(EVENT), EVENT)
    body = chunk * events + b"0\r\n\r\n"
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    for _ in range(rounds):
        connection, _ = listener.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                data = connection.recv(65536)
                if not data:
                    break
                request += data
            if not paced:
                connection.sendall(head + body)
                continue
            # As the API streams: one write per event, so reads find one or a few events.
            connection.sendall(head)
            for _ in range(events):
                connection.sendall(chunk)
            connection.sendall(b"0\r\n\r\n")


async def _consume(url: str, make_transport: Callable[[], httpx.AsyncBaseTransport]) -> float:
    async with httpx.AsyncClient(transport=make_transport(), timeout=60) as client:
        start = time.process_time()
        received = 0
        async with client.stream("GET", url) as response:
            async for piece in response.aiter_raw():
                received += len(piece)
        return time.process_time() - start


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    backend = sys.argv[2] if len(sys.argv) > 2 else "asyncio"
    paced = len(sys.argv) > 3 and sys.argv[3] == "paced"
    transports: dict[str, Callable[[], httpx.AsyncBaseTransport]] = {
        "httpx.AsyncHTTPTransport": httpx.AsyncHTTPTransport,
        "HTTP11Transport": HTTP11Transport,
    }
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = multiprocessing.Process(target=_serve, args=(listener, events, len(transports), paced))
    server.start()
    results = {}
    try:
        for name, make in transports.items():
            seconds = anyio.run(_consume, f"http://127.0.0.1:{port}/", make, backend=backend)
            results[name] = seconds / events * 1e6
            mode = "one write per event" if paced else "one write"
            print(f"{name:28} {results[name]:7.2f} µs CPU per event ({backend}, {mode})")
    finally:
        server.join(timeout=60)
        listener.close()
    ratio = results["httpx.AsyncHTTPTransport"] / results["HTTP11Transport"]
    print(f"HTTP11Transport uses {ratio:.1f}x less CPU per event")


if __name__ == "__main__":
    main()
