"""RedisCacheBackend against a real `redis-server`: expiry, namespaces, the LRU bound, a hit
shared between processes, and an outage that turns into misses (or the fallback)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import anyio
import pytest

from openai_ergo import (
    Client,
    InvalidRequestError,
    MemoryCacheBackend,
    RedisCacheBackend,
    RedisConnection,
    ResponseCache,
    RetryPolicy,
)
from openai_ergo.mock import MockServer
from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)


def _client(server: MockServer, cache: ResponseCache) -> Client:
    return Client(
        api_key="sk-mock",
        base_url=server.url,
        cache=cache,
        rate_limiter=False,
        retry=RetryPolicy.never(),
    )


async def test_values_round_trip_and_expire_with_the_ttl(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        backend = RedisCacheBackend(redis)
        await backend.set("a", b"\x00bytes\xff", ttl=None)
        await backend.set("b", b"short", ttl=0.2)
        assert await backend.get("a") == b"\x00bytes\xff"
        assert await backend.get("b") == b"short"
        # The ttl is a Redis expiry: Redis itself drops the value.
        pttl = await redis.run(lambda r: r.pttl("openai-ergo:cache:default:b"))
        assert 0 < pttl <= 200
        assert await redis.run(lambda r: r.ttl("openai-ergo:cache:default:a")) == -1
        await anyio.sleep(0.3)
        assert await backend.get("b") is None
        await backend.delete("a")
        assert await backend.get("a") is None
        await backend.delete("never-there")  # no error


async def test_namespaces_are_separate_and_clear_touches_only_its_own(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        one = RedisCacheBackend(redis, namespace="one")
        two = RedisCacheBackend(redis, namespace="two")
        for n in range(1200):  # more than one SCAN batch
            await one.set(f"k{n}", b"1", ttl=60)
        await two.set("k0", b"2", ttl=60)
        assert await one.get("k0") == b"1"
        assert await two.get("k0") == b"2"
        await one.clear()
        assert await one.get("k0") is None
        assert await one.get("k1199") is None
        assert await two.get("k0") == b"2"
        assert await redis.run(lambda r: r.dbsize()) == 1


async def test_max_entries_evicts_the_least_recently_used(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        backend = RedisCacheBackend(redis, max_entries=3)
        for key in ("a", "b", "c"):
            await backend.set(key, key.encode(), ttl=60)
            await anyio.sleep(0.002)  # distinct last-used times on Redis's millisecond clock
        assert await backend.get("a") == b"a"  # now the most recently used
        await anyio.sleep(0.002)
        await backend.set("d", b"d", ttl=60)
        assert await backend.get("b") is None  # the least recently used went
        assert [await backend.get(k) for k in ("a", "c", "d")] == [b"a", b"c", b"d"]
        assert backend.evictions == 1
        assert await redis.run(lambda r: r.zcard("openai-ergo:cache-index:default")) == 3


async def test_a_hit_is_shared_between_clients_on_their_own_connections(
    redis_url: str, mock_openai: MockServer
) -> None:
    async with (
        RedisConnection(redis_url, timeout=5) as first_redis,
        RedisConnection(redis_url, timeout=5) as second_redis,
    ):
        first = ResponseCache(RedisCacheBackend(first_redis, namespace="shared"), ttl=60)
        second = ResponseCache(RedisCacheBackend(second_redis, namespace="shared"), ttl=60)
        async with _client(mock_openai, first) as a, _client(mock_openai, second) as b:
            fresh = await a.chat("gpt-4o-mini").user("Hello there")
            sent = len(mock_openai.requests)
            cached = await b.chat("gpt-4o-mini").user("Hello there")
            async with a.chat("gpt-4o-mini").user("Stream it").stream() as stream:
                await stream.until_done()
            async with b.chat("gpt-4o-mini").user("Stream it").stream() as replay:
                await replay.until_done()
        assert cached.choices[0].message.content == fresh.choices[0].message.content
        assert len(mock_openai.requests) == sent + 1  # only the first stream went out
        assert second.statistics().hits == 2
        assert first.statistics().stored == 2
        assert (
            replay.final().choices[0].message.content == stream.final().choices[0].message.content
        )


_OTHER_PROCESS = textwrap.dedent(
    """
    import sys, anyio
    from openai_ergo import RedisCacheBackend, RedisConnection

    async def main() -> None:
        async with RedisConnection(sys.argv[1], timeout=5) as redis:
            backend = RedisCacheBackend(redis, namespace="procs")
            if sys.argv[2] == "set":
                await backend.set("answer", b"from another process", ttl=30)
            else:
                print((await backend.get("answer")).decode())

    anyio.run(main, backend=sys.argv[3])
    """
)


@pytest.mark.parametrize("other_backend", ["asyncio", "trio"])
async def test_a_value_written_in_one_process_is_read_in_another(
    redis_url: str, other_backend: str
) -> None:
    def run(action: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", _OTHER_PROCESS, redis_url, action, other_backend],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()

    await anyio.to_thread.run_sync(run, "set")
    async with RedisConnection(redis_url, timeout=5) as redis:
        backend = RedisCacheBackend(redis, namespace="procs")
        assert await backend.get("answer") == b"from another process"
        await backend.set("answer", b"written here", ttl=30)
    assert await anyio.to_thread.run_sync(run, "get") == "written here"


async def test_an_outage_is_a_miss_or_goes_to_the_fallback_then_redis_again(
    own_redis_server: RedisServer, mock_openai: MockServer
) -> None:
    async with RedisConnection(own_redis_server.url, timeout=5, retry_interval=0.1) as redis:
        plain = RedisCacheBackend(redis)
        fallback = MemoryCacheBackend()
        backed = RedisCacheBackend(redis, namespace="backed", fallback=fallback)
        cache = ResponseCache(plain, ttl=60)
        await plain.set("k", b"v", ttl=60)
        own_redis_server.stop()
        with anyio.fail_after(20):  # nothing hangs: a stopped Redis refuses at once
            assert await plain.get("k") is None
            await plain.set("k", b"w", ttl=60)  # skipped, no error
            await backed.set("k", b"local", ttl=60)
            assert await backed.get("k") == b"local"
            async with _client(mock_openai, cache) as client:
                for _ in range(2):
                    reply = await client.chat("gpt-4o-mini").user("Still answered")
                    assert reply.choices
        stats = cache.statistics()
        assert (stats.hits, stats.misses, stats.errors) == (0, 2, 0)
        own_redis_server.start()
        # Recovery is automatic: the connection tries Redis again every `retry_interval`, so
        # the cache writes reach it again soon (on a loaded machine, not on the first try).
        with anyio.fail_after(10):
            while await plain.get("k") != b"back":
                await plain.set("k", b"back", ttl=60)
                await anyio.sleep(0.05)
        assert await backed.get("k") is None  # Redis answers again: the fallback rests
        assert redis.available


async def test_bad_settings_are_refused(redis_url: str) -> None:
    async with RedisConnection(redis_url, timeout=5) as redis:
        with pytest.raises(InvalidRequestError, match="namespace"):
            RedisCacheBackend(redis, namespace="a:b")
        with pytest.raises(InvalidRequestError, match="max_entries"):
            RedisCacheBackend(redis, max_entries=0)
        with pytest.raises(InvalidRequestError, match="fallback"):
            RedisCacheBackend(redis, fallback="memory")  # type: ignore[arg-type]
        backend = RedisCacheBackend(redis)
        with pytest.raises(InvalidRequestError, match="bytes"):
            await backend.set("k", "text", ttl=1)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match="ttl"):
            await backend.set("k", b"v", ttl=0)
        assert "max_entries" not in repr(backend)
    with pytest.raises(TypeError, match="RedisConnection"):
        RedisCacheBackend("redis://localhost")  # type: ignore[arg-type]
