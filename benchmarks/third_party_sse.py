"""`python -m benchmarks.third_party_sse [--quick]`: `streaming` beside httpx-sse, against a server
neither of them wrote (sse-starlette on uvicorn, in its own process).

Three comparisons, printed as a Markdown table (docs/streaming.md, "Against third-party servers"):

- heartbeats: what each client hands its consumer from a feed of 3 events with sse-starlette's
  `: ping` comments between them;
- reconnection: a feed that drops its connection after every 3 of 9 events, read by each client
  as its documentation shows;
- CPU per event (the client process's CPU time, median of the repeats) reading 20,000 small
  events sent one event per write, and packed into 64 KiB writes, with the ratio to httpx-sse.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import httpx_sse

from streaming import ReconnectPolicy, connect_sse

ROOT = Path(__file__).resolve().parent.parent


async def _ours(client: httpx.AsyncClient, url: str) -> int:
    count = 0
    async with connect_sse(client, "GET", url) as source:
        async for _ in source:
            count += 1
    return count


async def _httpx_sse(client: httpx.AsyncClient, url: str) -> int:
    count = 0
    async with httpx_sse.aconnect_sse(client, "GET", url) as source:
        async for _ in source.aiter_sse():
            count += 1
    return count


async def _cpu_per_event(base: str, write: int, events: int, repeats: int) -> dict[str, float]:
    url = f"{base}/bulk?count={events}&write={write}"
    results: dict[str, list[float]] = {"streaming": [], "httpx-sse": []}
    async with httpx.AsyncClient(timeout=60) as client:
        await _ours(client, url)  # warm the pool and both code paths
        await _httpx_sse(client, url)
        for _ in range(repeats):
            for name, read in (("streaming", _ours), ("httpx-sse", _httpx_sse)):
                started = time.process_time()
                received = await read(client, url)
                spent = time.process_time() - started
                assert received == events, (name, received)
                results[name].append(spent / events * 1e6)
    return {name: statistics.median(values) for name, values in results.items()}


async def _heartbeats(base: str) -> dict[str, str]:
    url = f"{base}/heartbeat?count=3&gap=0.2"
    async with httpx.AsyncClient() as client:
        comments: list[str] = []
        async with connect_sse(client, "GET", url, on_comment=comments.append) as source:
            ours = [event.data async for event in source]
        async with httpx_sse.aconnect_sse(client, "GET", url) as theirs_source:
            theirs = [event.data async for event in theirs_source.aiter_sse()]
    empty = sum(1 for data in theirs if not data)
    return {
        "streaming": f"{len(ours)} events; {len(comments)} pings as comments (activity)",
        "httpx-sse": f"{len(theirs)} events, {empty} of them empty (the pings)",
    }


async def _reconnection(base: str) -> dict[str, str]:
    url = f"{base}/drop?count=9&every=3"
    async with httpx.AsyncClient() as client:
        policy = ReconnectPolicy(initial_delay=0, jitter=0)
        async with connect_sse(client, "GET", url, reconnect=policy) as source:
            ours = [event.id async for event in source]
        theirs: list[str] = []
        try:
            async with httpx_sse.aconnect_sse(client, "GET", url) as theirs_source:
                async for event in theirs_source.aiter_sse():
                    theirs.append(event.id)
        except httpx.TransportError as exc:
            error = type(exc).__name__
    return {
        "streaming": f"all {len(ours)} events, resumed twice with Last-Event-ID",
        "httpx-sse": f"{len(theirs)} events, then {error}; resuming is the caller's loop",
    }


def _serve() -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.streaming.starlette_feeds"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("PORT "):
        raise SystemExit(f"the sse-starlette server did not start (it printed {line!r})")
    return process, f"http://127.0.0.1:{int(line.split()[1])}"


async def _run(quick: bool) -> str:
    process, base = _serve()
    try:
        events, repeats = (2_000, 3) if quick else (20_000, 7)
        single = await _cpu_per_event(base, 0, events, repeats)
        packed = await _cpu_per_event(base, 65_536, events, repeats)
        heartbeats = await _heartbeats(base)
        reconnection = await _reconnection(base)
    finally:
        process.terminate()
        process.wait()
    lines = [
        "| | streaming | httpx-sse 0.4.3 | httpx-sse / streaming |",
        "|---|---|---|---|",
        f"| heartbeats (3 events, `: ping` between) | {heartbeats['streaming']} "
        f"| {heartbeats['httpx-sse']} | |",
        f"| a feed that drops every 3 of 9 events | {reconnection['streaming']} "
        f"| {reconnection['httpx-sse']} | |",
    ]
    for label, numbers in (("one event per write", single), ("64 KiB writes", packed)):
        ours, theirs = numbers["streaming"], numbers["httpx-sse"]
        lines.append(
            f"| CPU per event, {label} ({events:,} events) | {ours:.2f} µs | {theirs:.2f} µs "
            f"| {theirs / ours:.1f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    """Run the comparison and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    arguments = parser.parse_args()
    print(anyio.run(_run, arguments.quick))


if __name__ == "__main__":
    main()
