"""Retries and rate limits: the retry policy at work on the mock's faults, learned rate limits,
and a pool of keys that routes around a revoked or rate-limited key.

This example is about failures, so it always runs against the embedded mock server, which fails
on request (`fail_next`): a key is neither needed nor used.
"""

from __future__ import annotations

import time

import anyio
import httpx

from openai_ergo import (
    Client,
    InternalServerError,
    KeyPool,
    Middleware,
    RateLimiter,
    RateLimitError,
    RetryPolicy,
)
from openai_ergo.mock import serve


class ShowAttempts(Middleware):
    """Prints every attempt's status: retries are otherwise invisible when they succeed."""

    async def on_response(self, response: httpx.Response, state: dict[str, object]) -> None:
        print(f"    attempt {state['attempt']}: {response.status_code}")


async def main() -> None:
    # The mock's learned budget: 30 requests a minute, counted down in its x-ratelimit headers.
    async with serve(seed=7, requests_per_minute=30, api_keys={"sk-team-a", "sk-team-b"}) as server:
        retry = RetryPolicy(max_attempts=3, initial_backoff=0.05, max_backoff=0.2)
        limiter = RateLimiter()  # learns the server's budgets from its headers
        async with Client(
            base_url=server.url,
            api_key="sk-team-a",
            retry=retry,
            rate_limiter=limiter,
            middleware=[ShowAttempts()],
        ) as client:
            chat = client.chat("gpt-4o-mini").user("Say hi")

            # 1. Two 503s, then success: jittered exponential backoff, and the same
            #    Idempotency-Key on every attempt, so the server can drop a duplicate.
            print("two 503s, then an answer:")
            server.fail_next("server_error; status=503", times=2)
            reply = await chat
            print("  answered:", reply.text[:40], "...")
            keys = {r.headers.get("idempotency-key") for r in server.requests[-3:]}
            print("  one idempotency key for the 3 attempts:", len(keys) == 1)

            # 2. What the limiter learned from those answers' x-ratelimit-* headers, per model:
            #    a request waits only when the learned bucket cannot cover it.
            for scope, stats in limiter.statistics()["scopes"].items():
                budget = stats["requests"]
                print(
                    f"learned for {scope}: {budget['limit']:.0f} requests a minute, "
                    f"{budget['available']:.0f} left, refilling {budget['refill_per_second']:.2f}/s"
                )

            # 3. A 429 with Retry-After: the retry waits exactly as long as the server asked.
            print("a 429 asking for 0.3 s:")
            server.fail_next("rate_limit; retry_after=0.3")
            started = time.perf_counter()
            await chat
            print(f"  answered after {time.perf_counter() - started:.1f} s")

            # 4. A failure that lasts: every attempt is in `err.attempts`, and the message says
            #    why retrying stopped.
            print("a 500 that lasts:")
            server.fail_next("server_error", times=5)
            try:
                await chat
            except InternalServerError as err:
                print("  gave up:", str(err).rsplit(";", 1)[-1].strip())
                print("  attempts:", [a.get("status") for a in err.attempts])
            server.app.reset()  # forget the two faults left armed

            # 5. A Retry-After longer than `max_retry_after` (60 s) means a spent quota: it is
            #    not retried, so the caller decides.
            print("a 429 asking for 120 s:")
            server.fail_next("rate_limit; retry_after=120")
            try:
                await chat
            except RateLimitError as err:
                print("  not retried:", str(err).rsplit("not retried: ", 1)[-1])

        # 6. A KeyPool: round robin over keys; a key refused with 401 is taken out and the
        #    request goes again at once on the next one; a key that gets a 429 cools down while
        #    the others carry on.
        pool = KeyPool(["sk-team-a", "sk-revoked", "sk-team-b"])
        async with Client(base_url=server.url, auth=pool, retry=retry) as client:
            chat = client.chat("gpt-4o-mini").user("Say hi")
            for _ in range(3):
                await chat
            print("after a 401:", pool)
            server.fail_next("rate_limit; retry_after=30")
            started = time.perf_counter()
            await chat
            print(
                f"a 429 asking for 30 s cost {time.perf_counter() - started:.1f} s "
                f"(the retry went out on the other key): {pool}"
            )


if __name__ == "__main__":
    anyio.run(main)
