"""A KeyPool's revocations and cool-downs shared through a real `redis-server`: a key one
process saw fail is skipped by every process, Redis never holds a key, and an outage leaves
each pool with what it saw itself."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from openai_ergo import (
    Client,
    ConfigurationError,
    InvalidRequestError,
    KeyPool,
    RedisConnection,
    RedisKeyCooldowns,
    RetryPolicy,
)
from tests.openai_ergo.pipeline.scripted import Recorded, Reply, error_body, scripted_server
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)

REVOKED = "sk-revoked-secret-0000000000"
BUSY = "sk-busy-secret-1111111111"
GOOD = "sk-good-secret-2222222222"
KEYS = [REVOKED, BUSY, GOOD]


def _bearer(request: Recorded) -> str:
    return request.headers["authorization"].removeprefix("Bearer ")


async def _answer(request: Recorded) -> Reply:
    key = _bearer(request)
    if key == REVOKED:
        return Reply(status=401, json=error_body("Incorrect API key", code="invalid_api_key"))
    if key == BUSY:
        limited = error_body("Rate limit reached for this key")
        return Reply(status=429, json=limited, headers=[("Retry-After", "30")])
    return Reply(json={"key": key})


def _client(pool: KeyPool, url: str, **options: Any) -> Client:
    return Client(auth=pool, base_url=url, retry=RetryPolicy(max_attempts=4), **options)


async def test_a_key_one_process_saw_fail_is_skipped_by_every_process(redis_url: str) -> None:
    async with (
        RedisConnection(redis_url, timeout=5) as first_redis,
        RedisConnection(redis_url, timeout=5) as second_redis,
        scripted_server() as server,
    ):
        server.handler = _answer
        first = KeyPool(KEYS, shared=RedisKeyCooldowns(first_redis))
        second = KeyPool(KEYS, shared=RedisKeyCooldowns(second_redis), refresh_interval=0)
        async with _client(first, server.url) as client:
            # Round robin: a 401 on one key, a 429 on another, each retried on the good one.
            for _ in range(2):
                assert (await client.request("GET", "/models")).json() == {"key": GOOD}
        assert {_bearer(r) for r in server.requests} == set(KEYS)
        assert first.revoked() == 1
        assert first.available == 1
        seen = len(server.requests)
        async with _client(second, server.url, rate_limiter=False) as client:
            for _ in range(4):
                assert (await client.request("GET", "/models")).json() == {"key": GOOD}
        # The second process never sent the revoked key nor the cooling one.
        assert [_bearer(r) for r in server.requests[seen:]] == [GOOD] * 4
        assert second.revoked() == 1
        assert second.available == 1
        cooling = await second_redis.run(lambda r: r.keys("openai-ergo:keys:*:cooling"))
        (name,) = cooling
        left = await second_redis.run(lambda r: r.pttl(name))
        assert 25_000 < left <= 30_000  # the server's Retry-After, kept by Redis's clock


async def test_redis_never_holds_a_key(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis, scripted_server() as server:
        server.handler = _answer
        pool = KeyPool(KEYS, shared=RedisKeyCooldowns(redis))
        async with _client(pool, server.url) as client:
            for _ in range(2):
                await client.request("GET", "/models")
        names = sorted(await redis.run(lambda r: r.keys("*")))
        assert len(names) == 2  # one revoked key, one cooling key
        stored = b" ".join(names)
        for name in names:
            value = await redis.run(lambda r, at=name: r.get(at))  # type: ignore[misc]
            assert isinstance(value, bytes)
            stored += b" " + value
        for key in KEYS:
            for part in (key, key[3:], key[-10:]):
                assert part.encode() not in stored
        assert b"sk-" not in stored


async def test_a_pool_reads_shared_state_at_most_every_refresh_interval(redis_url: str) -> None:
    async with (
        RedisConnection(redis_url, timeout=5) as first_redis,
        RedisConnection(redis_url, timeout=5) as second_redis,
        scripted_server() as server,
    ):
        server.handler = _answer
        slow = KeyPool([GOOD, REVOKED], shared=RedisKeyCooldowns(second_redis), refresh_interval=60)
        async with _client(slow, server.url, rate_limiter=False) as client:
            await client.request("GET", "/models")  # read the shared state: nothing yet
            first = KeyPool([REVOKED, GOOD], shared=RedisKeyCooldowns(first_redis))
            async with _client(first, server.url, rate_limiter=False) as other:
                await other.request("GET", "/models")  # the revocation reaches Redis
            seen = len(server.requests)
            await client.request("GET", "/models")  # within the interval: its own view
            assert _bearer(server.requests[seen]) == REVOKED
            assert slow.revoked() == 1  # that 401 taught it anyway


async def test_an_outage_leaves_each_pool_with_what_it_saw_then_shares_again(
    own_redis_server: RedisServer,
) -> None:
    async with (
        RedisConnection(own_redis_server.url, timeout=5, retry_interval=0.1) as first_redis,
        RedisConnection(own_redis_server.url, timeout=5, retry_interval=0.1) as second_redis,
        scripted_server() as server,
    ):
        server.handler = _answer
        first = KeyPool([REVOKED, GOOD], shared=RedisKeyCooldowns(first_redis), refresh_interval=0)
        second = KeyPool(
            [REVOKED, GOOD], shared=RedisKeyCooldowns(second_redis), refresh_interval=0
        )
        own_redis_server.stop()
        async with _client(first, server.url) as a, _client(second, server.url) as b:
            with anyio.fail_after(20):  # nothing hangs
                assert (await a.request("GET", "/models")).json() == {"key": GOOD}
                assert (await b.request("GET", "/models")).json() == {"key": GOOD}
            # Each learned the revoked key on its own: nothing was shared.
            assert [_bearer(r) for r in server.requests].count(REVOKED) == 2
            own_redis_server.start()  # empty again: what it learns now comes from the pools
            await anyio.sleep(0.15)
            # A fresh process on the connection that saw the outage learns by a 401, and
            # tells Redis, which answers again.
            third = KeyPool([REVOKED, GOOD], shared=RedisKeyCooldowns(first_redis))
            async with _client(third, server.url) as c:
                await c.request("GET", "/models")
            assert len(await first_redis.run(lambda r: r.keys("openai-ergo:keys:*"))) == 1
            seen = len(server.requests)
            fourth = KeyPool([REVOKED, GOOD], shared=RedisKeyCooldowns(second_redis))
            async with _client(fourth, server.url) as d:
                assert (await d.request("GET", "/models")).json() == {"key": GOOD}
            assert [_bearer(r) for r in server.requests[seen:]] == [GOOD]  # shared again


async def test_bad_settings_are_refused(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        shared = RedisKeyCooldowns(redis)
        with pytest.raises(ConfigurationError, match="RedisKeyCooldowns"):
            KeyPool(KEYS, shared="redis")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="refresh_interval"):
            KeyPool(KEYS, shared=shared, refresh_interval=-1)
        with pytest.raises(InvalidRequestError, match="never pass the key") as caught:
            await shared.revoke(GOOD)
        assert GOOD not in str(caught.value)
        with pytest.raises(InvalidRequestError, match="revoked_ttl"):
            RedisKeyCooldowns(redis, revoked_ttl=0)
        assert "secret" not in repr(KeyPool(KEYS, shared=shared))
    with pytest.raises(TypeError, match="RedisConnection"):
        RedisKeyCooldowns("redis://localhost")  # type: ignore[arg-type]
