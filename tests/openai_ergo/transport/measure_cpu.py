"""CPU per streamed event of the transport alone: HTTP11Transport against httpx's default.

Not a test module (pytest collects `test_*.py` only): a measurement tool, typed and linted
with the tests. The full-stack comparison (typed events, the SDK, both transports) is in
`benchmarks/`; this one isolates the transport.

A server in another process streams one chunked response of OpenAI-sized chat chunks
(`data: {...}\\n\\n`, one HTTP chunk per event). By default it writes each event with its own
call, as the API flushes one event per token (`burst` writes the whole stream at once, the
best case for batching). Both transports get the same bytes from the same server; the client
reads the raw body with `AsyncClient.stream(...).aiter_raw()`, checks it received every byte,
and we take `time.process_time()` of the client process only. Rounds alternate the order of
the transports; the median is reported.

Run: `python -m tests.openai_ergo.transport.measure_cpu [events] [asyncio|trio] [paced|burst]`.
"""

from __future__ import annotations

import json
import multiprocessing
import socket
import statistics
import sys
import time
from collections.abc import Callable

import anyio
import httpx

from openai_ergo._transport import HTTP11Transport

ROUNDS = 3
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
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNK = b"%x\r\n%b\r\n" % (len(EVENT), EVENT)


def _serve(listener: socket.socket, events: int, requests: int, paced: bool) -> None:
    body = CHUNK * events + b"0\r\n\r\n"
    for _ in range(requests):
        connection, _ = listener.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                data = connection.recv(65536)
                if not data:
                    break
                request += data
            if not paced:
                connection.sendall(HEAD + body)
                continue
            connection.sendall(HEAD)
            for _ in range(events):
                connection.sendall(CHUNK)
            connection.sendall(b"0\r\n\r\n")


async def _consume(
    url: str, make_transport: Callable[[], httpx.AsyncBaseTransport], expected: int
) -> float:
    async with httpx.AsyncClient(transport=make_transport(), timeout=60) as client:
        start = time.process_time()
        received = 0
        async with client.stream("GET", url) as response:
            async for piece in response.aiter_raw():
                received += len(piece)
        seconds = time.process_time() - start
    if received != expected:
        raise RuntimeError(f"received {received} body bytes, the server sent {expected}")
    return seconds


def main() -> None:
    """Measure both transports, interleaved, and print the median CPU per event of each."""
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    backend = sys.argv[2] if len(sys.argv) > 2 else "asyncio"
    paced = not (len(sys.argv) > 3 and sys.argv[3] == "burst")
    transports: dict[str, Callable[[], httpx.AsyncBaseTransport]] = {
        "httpx.AsyncHTTPTransport": httpx.AsyncHTTPTransport,
        "HTTP11Transport": HTTP11Transport,
    }
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = multiprocessing.Process(
        target=_serve, args=(listener, events, ROUNDS * len(transports), paced)
    )
    server.start()
    samples: dict[str, list[float]] = {name: [] for name in transports}
    try:
        for round_number in range(ROUNDS):
            order = list(transports.items())
            if round_number % 2:
                order.reverse()
            for name, make in order:
                seconds = anyio.run(
                    _consume,
                    f"http://127.0.0.1:{port}/",
                    make,
                    events * len(EVENT),
                    backend=backend,
                )
                samples[name].append(seconds / events * 1e6)
    finally:
        server.join(timeout=60)
        listener.close()
    mode = "one write per event" if paced else "the whole stream in one write"
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, median in medians.items():
        spread = f"{min(samples[name]):.2f}-{max(samples[name]):.2f}"
        print(f"{name:26} {median:6.2f} µs CPU per event ({spread}; {backend}, {mode})")
    ratio = medians["httpx.AsyncHTTPTransport"] / medians["HTTP11Transport"]
    print(f"HTTP11Transport uses {ratio:.1f}x less CPU per event")


if __name__ == "__main__":
    main()
