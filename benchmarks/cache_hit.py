"""What a response-cache hit costs beside a round trip to the mock, in one process and run.

Rows, each the median of `--runs` runs of `--count` requests (wall time per request; the mock
serves over loopback from its own process, `python -m openai_ergo.mock`, so that it does not
share this process's interpreter lock):

- `raw_httpx`: a plain `httpx.AsyncClient` POST to the mock, body read (the floor of a round
  trip);
- `round_trip` / `stream_round_trip`: our client through the pipeline to the mock, with the
  cache opted out (`RequestOptions(cache=False)`), plain and streamed (`final()`);
- `hit` / `stream_hit`: the same requests answered by the `ResponseCache`.

The ratios `hit / round_trip` and `stream_hit / stream_round_trip` are the figures of merit:
the target is under 0.05 (a hit costs less than 5% of a round trip). Run as
`python -m benchmarks.cache_hit [--runs 5] [--count 200] [--quick]`; it prints a table with
PASS/MISS and one JSON line (`make bench-quick` runs `--quick`, the CI smoke run).

Every request, the raw httpx row's included, has the same bound, `--timeout` (60 s): long
enough that a loaded machine's slowest round trip is measured, not failed (httpx's own default
of 5 s failed the raw row under load), short enough that a mock that stopped answering ends
the run with the row's timeout error instead of hanging it.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import anyio
import httpx

from openai_ergo import Client, RequestOptions, ResponseCache

__all__ = ["REQUEST_TIMEOUT", "TARGET", "main", "measure"]

#: A hit must cost less than this fraction of a round trip to the mock.
TARGET = 0.05
#: Seconds allowed for any one request of any row, and for the mock to start.
REQUEST_TIMEOUT = 60.0
_NO_CACHE = RequestOptions(cache=False)
_NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi there"}]}


async def _per_request(step: Callable[[], Awaitable[Any]], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await step()
    return (time.perf_counter() - started) / count * 1e6


@contextmanager
def _mock_process(timeout: float) -> Iterator[str]:
    """The mock in its own process; yields its base URL (waiting at most `timeout` for it)."""
    command = [sys.executable, "-m", "openai_ergo.mock", "--port", "0", "--reply-tokens", "24"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        if not ready:
            raise RuntimeError(f"the mock printed no URL within {timeout:g} s")
        line = process.stdout.readline().strip()  # "Mock OpenAI API listening on <url>"
        url = line.rsplit(" ", 1)[-1]
        if not url.startswith("http"):
            raise RuntimeError(f"the mock did not start: {line!r}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


async def _measure(url: str, runs: int, count: int, request_timeout: float) -> dict[str, Any]:
    samples: dict[str, list[float]] = {}
    cache = ResponseCache()
    async with (
        Client(
            api_key="sk-bench",
            base_url=url,
            rate_limiter=False,
            cache=cache,
            timeout=request_timeout,
            max_retries=0,
        ) as client,
        # The floor is the loopback round trip itself: no proxy from the environment, and no
        # Nagle delay (httpx writes a POST's headers and body apart and leaves Nagle on, so
        # the body would wait for the server's delayed ACK; our transport turns it off).
        httpx.AsyncClient(
            base_url=url,
            timeout=request_timeout,
            transport=httpx.AsyncHTTPTransport(socket_options=[_NO_DELAY]),
        ) as raw,
    ):
        ask = client.chat("gpt-4o-mini").user("Hi there")

        async def raw_post() -> None:
            response = await raw.post("/chat/completions", json=_BODY)
            response.raise_for_status()

        async def round_trip() -> None:
            await ask.options(_NO_CACHE)

        async def hit() -> None:
            await ask

        async def stream_round_trip() -> None:
            async with ask.options(_NO_CACHE).stream() as stream:
                await stream.until_done()
            stream.final()

        async def stream_hit() -> None:
            async with ask.stream() as stream:
                await stream.until_done()
            stream.final()

        rows: dict[str, Callable[[], Awaitable[Any]]] = {
            "raw_httpx": raw_post,
            "round_trip": round_trip,
            "hit": hit,
            "stream_round_trip": stream_round_trip,
            "stream_hit": stream_hit,
        }
        for step in rows.values():  # warm: connections open, entries stored
            for _ in range(3):
                await step()
        for _ in range(runs):
            for name, step in rows.items():  # interleaved, so drift hits every row alike
                samples.setdefault(name, []).append(await _per_request(step, count))
        stats = cache.statistics()
        if stats.misses != 2:  # the warm-up's first plain and first streamed request
            raise RuntimeError("a cache-hit row reached the network: it measured no hit")
        hits = stats.hits
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        **{f"{name}_us": round(value, 1) for name, value in medians.items()},
        "hit_ratio": round(medians["hit"] / medians["round_trip"], 4),
        "stream_hit_ratio": round(medians["stream_hit"] / medians["stream_round_trip"], 4),
        "hit_vs_raw_httpx": round(medians["hit"] / medians["raw_httpx"], 4),
        "target_ratio": TARGET,
        "hits": hits,
    }


def measure(
    *, runs: int = 5, count: int = 200, timeout: float = REQUEST_TIMEOUT, url: str | None = None
) -> dict[str, Any]:
    """Microseconds per request of each row (medians of `runs`), the hit ratios and whether
    both meet the target; against the mock in its own process, or the server at `url`."""
    with _mock_process(timeout) if url is None else _given(url) as base:
        result: dict[str, Any] = anyio.run(_measure, base, runs, count, timeout)
    result["pass"] = result["hit_ratio"] < TARGET and result["stream_hit_ratio"] < TARGET
    return result


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


def _table(result: dict[str, Any]) -> str:
    lines = ["Response-cache hits beside round trips to the mock (wall µs per request)"]
    for row in ("raw_httpx", "round_trip", "hit", "stream_round_trip", "stream_hit"):
        lines.append(f"  {row:18} {result[f'{row}_us']:12,.1f}")
    for name, label in (("hit_ratio", "plain"), ("stream_hit_ratio", "streamed")):
        verdict = "PASS" if result[name] < TARGET else "MISS"
        lines.append(
            f"  {verdict} {label}: a hit costs {result[name]:.2%} of a round trip "
            f"(target < {TARGET:.0%})"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: the table with PASS/MISS, then the result as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cache_hit")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="3 runs of 50: the CI smoke run")
    parser.add_argument(
        "--timeout", type=float, default=REQUEST_TIMEOUT, help="seconds allowed per request"
    )
    args = parser.parse_args(argv)
    runs, count = (3, 50) if args.quick else (args.runs, args.count)
    result = measure(runs=runs, count=count, timeout=args.timeout)
    print(_table(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
