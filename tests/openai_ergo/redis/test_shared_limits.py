"""Real processes sharing one limit through a real Redis, against a server that enforces it.

The server (in this process, on a loopback socket) holds a 600 requests/min budget as OpenAI
does, refilled continuously, with room for a burst of 20 (two seconds' worth): a request it
cannot cover gets a 429. Four workers (two on asyncio, two on trio) each believe the whole 600
RPM is theirs to use; uncoordinated, they would send 2,400 a minute and be refused within a
second. Through Redis they share it.

The run is 100 requests: at 10 a second that is ten seconds, long enough that a pacing error of
5% shows as half a second, short enough for every CI run. Throughput is counted at the server,
from the first arrival to the last, so the workers' start-up does not count.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import pytest

from openai_ergo import Client, RateLimiter, RateLimitError, RedisConnection, RedisRateLimiter
from tests.openai_ergo.pipeline.scripted import Recorded, Reply, error_body, scripted_server
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[3]
RPM = 600
pytestmark = pytest.mark.timeout(120)


@dataclass
class EnforcedLimit:
    """The server's budget: `rpm` a minute refilled continuously, at most `burst` at once."""

    rpm: float
    burst: float
    level: float = 0.0
    stamp: float = field(default_factory=time.monotonic)
    arrivals: list[float] = field(default_factory=list)
    refused: int = 0

    def __post_init__(self) -> None:
        self.level = self.burst

    async def __call__(self, request: Recorded) -> Reply:
        now = time.monotonic()
        self.level = min(self.burst, self.level + (now - self.stamp) * self.rpm / 60)
        self.stamp = now
        if self.level < 1:
            self.refused += 1
            return Reply(
                status=429,
                json=error_body("Rate limit reached for requests", type="requests"),
                headers=[("retry-after", "1")],
            )
        self.level -= 1
        self.arrivals.append(now)
        return Reply(json={"id": "chatcmpl-1", "object": "chat.completion", "choices": []})


@contextmanager
def enforcing_server(limit: EnforcedLimit) -> Iterator[str]:
    """The server on a loopback port, served from a thread's event loop; its base URL."""
    with anyio.from_thread.start_blocking_portal() as portal:
        server = scripted_server()
        with portal.wrap_async_context_manager(server) as scripted:
            scripted.handler = limit
            yield scripted.url


class Worker:
    """One worker process (tests/openai_ergo/redis/shared_worker.py)."""

    def __init__(self, config: dict[str, Any]) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env = {k: v for k, v in env.items() if not k.startswith("OPENAI_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.openai_ergo.redis.shared_worker", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )

    def expect(self, line: str) -> None:
        assert self.process.stdout is not None
        got = self.process.stdout.readline().strip()
        if got != line:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise AssertionError(f"the worker said {got!r}, not {line!r}: {err}")

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self, timeout: float = 60) -> dict[str, Any]:
        out, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, err
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=10)


@contextmanager
def workers(configs: list[dict[str, Any]]) -> Iterator[list[Worker]]:
    """Start the workers, wait until each is ready, and kill what is left at the end."""
    with ExitStack() as stack:
        started = []
        for config in configs:
            worker = Worker(config)
            stack.callback(worker.kill)
            started.append(worker)
        for worker in started:
            worker.expect("ready")
        yield started


def _configs(count: int, **settings: Any) -> list[dict[str, Any]]:
    return [
        {"backend": ("asyncio", "trio")[i % 2], "workers": count, **settings} for i in range(count)
    ]


def test_four_processes_share_600_rpm_with_no_429_at_the_limit(redis_url: str) -> None:
    limit = EnforcedLimit(rpm=RPM, burst=20)
    with enforcing_server(limit) as url:
        configs = _configs(
            4,
            mode="requests",
            redis=redis_url,
            base_url=url,
            requests_per_minute=RPM,
            requests=25,
            tasks=3,
        )
        with workers(configs) as running:
            for worker in running:
                worker.go()
            results = [worker.result() for worker in running]
    statuses = [status for result in results for status in result["statuses"]]
    assert statuses.count(429) == 0
    assert limit.refused == 0
    assert statuses == [200] * 100
    assert all(result["statistics"]["fallback_admitted"] == 0 for result in results)
    arrivals = limit.arrivals
    per_minute = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) * 60
    assert abs(per_minute - RPM) / RPM < 0.05, f"{per_minute:.0f} requests a minute"


async def test_without_sharing_the_same_workers_are_refused_at_once() -> None:
    """The control: each worker keeping 600 RPM by itself sends four times the limit."""
    limit = EnforcedLimit(rpm=RPM, burst=20)
    statuses: list[int] = []
    async with scripted_server() as server:
        server.handler = limit

        async def worker() -> None:
            limiter = RateLimiter(requests_per_minute=RPM)
            async with Client(
                api_key="sk-worker", base_url=server.url, rate_limiter=limiter, max_retries=0
            ) as client:
                for _ in range(12):
                    try:
                        await client.request("POST", "/chat/completions", body={"model": "m"})
                        statuses.append(200)
                    except RateLimitError as exc:
                        statuses.append(exc.status_code)

        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(worker)
    # 48 requests in about 1.1 s, against 20 at once and 10 a second.
    assert statuses.count(429) >= 10
    assert limit.refused == statuses.count(429)


def test_the_slots_of_a_killed_process_come_back_after_the_lease(redis_url: str) -> None:
    lease = 2.0
    with (
        enforcing_server(EnforcedLimit(rpm=60_000, burst=1000)) as url,
        workers(
            _configs(
                1,
                mode="hold",
                redis=redis_url,
                base_url=url,
                requests_per_minute=60_000,
                max_concurrency=2,
                lease=lease,
                timeout=0.5,
                hold=2,
                name="crash",
            )
        ) as (holder,),
    ):
        holder.go()
        holder.expect("held")

        async def take_a_slot() -> tuple[bool, float]:
            async with (
                RedisConnection(redis_url, timeout=0.5) as redis,
                RedisRateLimiter(redis, name="crash", max_concurrency=2, lease=lease) as limiter,
            ):
                # Longer than a lease: the holder renews its leases, so no slot frees.
                with anyio.move_on_after(lease * 1.5):
                    await limiter.acquire()
                    return True, 0.0
                holder.kill()
                killed = time.monotonic()
                with anyio.fail_after(lease + 1.0):
                    await limiter.acquire()
                return False, time.monotonic() - killed

        got_one_early, after_kill = anyio.run(take_a_slot)
    assert not got_one_early, "a slot freed while its holder was alive"
    # The last renewal was at most a third of a lease before the kill.
    assert after_kill <= lease + 0.5


def test_workers_go_on_through_a_redis_outage_and_share_again_after(
    own_redis_server: RedisServer,
) -> None:
    limit = EnforcedLimit(rpm=RPM, burst=20)
    with enforcing_server(limit) as url:
        configs = _configs(
            2,
            mode="requests",
            redis=own_redis_server.url,
            base_url=url,
            requests_per_minute=RPM,
            requests=30,
            tasks=2,
        )
        with workers(configs) as running:
            for worker in running:
                worker.go()
            time.sleep(1.5)
            own_redis_server.stop()
            time.sleep(1.5)
            own_redis_server.start()
            results = [worker.result() for worker in running]
    for result in results:
        assert result["statuses"] == [200] * 30
        events = [event["event"] for event in result["events"]]
        # One warning for the outage, however many requests it met; then sharing again.
        assert events.count("openai_ergo.redis.unavailable") == 1
        assert events[events.index("openai_ergo.redis.unavailable") :] == [
            "openai_ergo.redis.unavailable",
            "openai_ergo.rate_limit.fallback",
            "openai_ergo.redis.recovered",
            "openai_ergo.rate_limit.shared",
        ]
        stats = result["statistics"]
        assert 0 < stats["fallback_admitted"] < stats["admitted"]
    assert limit.refused == 0
