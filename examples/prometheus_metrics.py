"""Prometheus metrics of every request, served at /metrics for Prometheus to scrape.

`PrometheusMetrics()` counts requests, errors by type, retries, rate-limit waits and circuit
refusals, keeps each endpoint's circuit state, adds up tokens (and cost, with a `cost=` price
function), tracks the streams in flight and times durations and the first chunk. This program
serves them with prometheus_client's own HTTP server, sends a few requests, then scrapes its own
/metrics and prints the openai_ergo lines, as Prometheus would see them.

Needs the `prometheus` extra. Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it
starts the embedded mock server and talks to that.
"""

from __future__ import annotations

import anyio
import httpx
from prometheus_client import CollectorRegistry, start_http_server

from openai_ergo import PrometheusMetrics
from openai_ergo.mock import client_or_mock


async def main() -> None:
    # A registry of our own keeps the print short; the default one serves process metrics too.
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    print(f"serving {url}")
    try:
        async with client_or_mock(seed=3) as plain:
            client = plain.with_options(observers=[metrics])
            for question in ("Name a river.", "Name a mountain."):
                reply = await client.chat("gpt-4o-mini").user(question)
                print(reply.choices[0].message.content)
            async with client.responses("gpt-5-mini").input("Name a sea.").stream() as stream:
                async for text in stream.text():
                    print(text, end="")
            print()
        async with httpx.AsyncClient() as http:
            scraped = (await http.get(url)).text
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    shown = [
        line
        for line in scraped.splitlines()
        # Buckets and the "created" timestamps make the print long: the counts tell enough.
        if line.startswith("openai_ergo_") and "_bucket" not in line and "_created" not in line
    ]
    print("\n".join(shown))
    # What Prometheus scraped counts the three requests this program sent.
    requests = [line for line in shown if line.startswith("openai_ergo_requests_total{")]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in requests) == 3, requests


if __name__ == "__main__":
    anyio.run(main)
