"""One worker process of the shared-limit tests: a `Client` paced by a `RedisRateLimiter`.

Run as `python -m tests.openai_ergo.redis.shared_worker CONFIG_JSON`. It opens its connection
and limiter, prints `ready`, and waits for `go` on stdin, so that every worker starts together
whatever its start-up took. Then, by `mode`:

- `requests`: send `requests` requests, `tasks` at a time, and print one JSON line: each
  request's status and how it was admitted, the limiter's statistics, and its log events;
- `hold`: take `hold` concurrency slots, print `held`, and sleep until killed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import anyio.to_thread
from structlog.testing import capture_logs

from openai_ergo import (
    Client,
    RateLimiter,
    RateLimitError,
    RedisConnection,
    RedisRateLimiter,
)


async def _send(client: Client, statuses: list[int]) -> None:
    try:
        await client.request("POST", "/chat/completions", body={"model": "gpt-4o-mini"})
        statuses.append(200)
    except RateLimitError as exc:
        statuses.append(exc.status_code)


async def main(config: dict[str, Any]) -> None:
    rpm = config["requests_per_minute"]
    with capture_logs() as logs:
        async with (
            # A busy CI machine may stall a call for a moment: no outage but a real one here.
            RedisConnection(
                config["redis"], timeout=config.get("timeout", 2.0), retry_interval=0.25
            ) as redis,
            RedisRateLimiter(
                redis,
                name=config.get("name", "workers"),
                requests_per_minute=rpm,
                max_concurrency=config.get("max_concurrency"),
                lease=config.get("lease", 30.0),
                # While Redis is away, each worker keeps to its share of the limit.
                fallback=RateLimiter(requests_per_minute=rpm / config["workers"]),
            ) as limiter,
            Client(
                api_key="sk-worker",
                base_url=config["base_url"],
                rate_limiter=limiter,
                max_retries=0,
            ) as client,
        ):
            print("ready", flush=True)
            await anyio.to_thread.run_sync(sys.stdin.readline)
            if config["mode"] == "hold":
                for _ in range(config["hold"]):
                    await limiter.acquire()
                print("held", flush=True)
                await anyio.sleep_forever()
            statuses: list[int] = []
            remaining = config["requests"]

            async def run() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await _send(client, statuses)

            async with anyio.create_task_group() as group:
                for _ in range(config["tasks"]):
                    group.start_soon(run)
            stats = limiter.statistics()
    events = [
        {"event": log["event"], "level": log["log_level"]}
        for log in logs
        if log["event"] != "openai_ergo.rate_limit.wait" and not log["event"].endswith(".request")
    ]
    print(json.dumps({"statuses": statuses, "statistics": stats, "events": events}), flush=True)


if __name__ == "__main__":
    settings = json.loads(sys.argv[1])
    anyio.run(main, settings, backend=settings["backend"])
