"""A readiness check: `await client.health()` as the JSON a service's /healthz would return.

`client.health()` sends one `GET /models` (never retried, past the client-side rate limiter and
circuit breaker) and returns a typed `Health`: reachability, whether the key is accepted, the
latency, the rate-limit headroom the server reported, the models the key may use and the clock
skew. It reports rather than raises, so a refused key or a dead host is a finding, not a crash:
this program probes the API, then a port where nothing listens, and prints both reports.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock
server and talks to that.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import anyio

from openai_ergo import Client, Health
from openai_ergo.mock import client_or_mock


def readiness(health: Health) -> dict[str, Any]:
    """What a readiness endpoint would answer: ready or not, and why."""
    return {
        "ready": health.ok,
        "verdict": health.verdict,
        "reachable": health.reachable,
        "authenticated": health.authenticated,
        "latency_ms": None if health.latency is None else round(health.latency * 1000, 1),
        "rate_limit_headroom": health.headroom,
        "models": len(health.models),
        "request_id": health.request_id,
    }


def unused_port() -> int:
    """A loopback port that was free a moment ago: nothing listens there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def main() -> None:
    async with client_or_mock(seed=3) as client:
        health = await client.health(timeout=5)
    print(json.dumps(readiness(health), indent=2))
    assert health.ok, health.error

    dead = f"http://127.0.0.1:{unused_port()}/v1"
    async with Client(base_url=dead, api_key="sk-unused") as client:
        health = await client.health(timeout=2)
    print(json.dumps(readiness(health), indent=2))
    assert not health.reachable


if __name__ == "__main__":
    anyio.run(main)
