"""Auth: key pools (revocation, cool-down, rotation under load) and async token providers."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from openai_ergo import Client, ConfigurationError, KeyPool, RetryPolicy, TokenProvider
from tests.openai_ergo.pipeline.conftest import FakeClock
from tests.openai_ergo.pipeline.scripted import Recorded, Reply, error_body, scripted_server

REVOKED = "sk-revoked-000000"


def _bearer(request: Recorded) -> str:
    return request.headers["authorization"].removeprefix("Bearer ")


async def _reject_revoked(request: Recorded) -> Reply:
    if _bearer(request) == REVOKED:
        return Reply(status=401, json=error_body("Incorrect API key", code="invalid_api_key"))
    return Reply(json={"key": _bearer(request)})


async def test_a_revoked_key_is_taken_out_and_skipped() -> None:
    pool = KeyPool([REVOKED, "sk-good-aaaaaa", "sk-good-bbbbbb"])
    async with scripted_server() as server:
        server.handler = _reject_revoked
        async with Client(auth=pool, base_url=server.url) as client:
            answers = [(await client.request("GET", "/models")).json()["key"] for _ in range(6)]
    assert REVOKED not in answers
    assert set(answers) == {"sk-good-aaaaaa", "sk-good-bbbbbb"}
    # One 401 took the key out; after that it never went out again.
    assert [_bearer(r) for r in server.requests].count(REVOKED) == 1
    assert pool.revoked() == 1
    assert "sk-" not in repr(pool)


async def test_when_every_key_is_revoked_the_error_says_what_to_do() -> None:
    async with scripted_server() as server:
        server.handler = _reject_revoked
        async with Client(auth=KeyPool([REVOKED]), base_url=server.url) as client:
            with pytest.raises(Exception, match="401"):
                await client.request("GET", "/models")
            with pytest.raises(ConfigurationError, match=r"KeyPool.replace"):
                await client.request("GET", "/models")


async def test_a_key_that_hits_429_cools_down_while_others_work(clock: FakeClock) -> None:
    async def handler(request: Recorded) -> Reply:
        if _bearer(request) == "sk-busy-000000" and len(server.requests) == 1:
            limited = error_body("Rate limit reached for this key")
            return Reply(status=429, json=limited, headers=[("Retry-After", "20")])
        return Reply(json={"key": _bearer(request)})

    pool = KeyPool(["sk-busy-000000", "sk-idle-111111"], cooldown=20, clock=clock)
    async with scripted_server() as server:
        server.handler = handler
        async with Client(auth=pool, base_url=server.url, clock=clock) as client:
            first = await client.request("GET", "/models")
            second = await client.request("GET", "/models")
            clock.advance(21)
            third = await client.request("GET", "/models")
            fourth = await client.request("GET", "/models")
    # Retried at once on the other key: the limited key's Retry-After delays nothing.
    assert first.json()["key"] == "sk-idle-111111"
    assert first.attempts == 2
    assert clock.sleeps == []
    assert second.json()["key"] == "sk-idle-111111"  # the busy one still cools down
    assert {third.json()["key"], fourth.json()["key"]} == {"sk-busy-000000", "sk-idle-111111"}


async def test_when_every_key_cools_down_the_retry_waits_for_the_server(clock: FakeClock) -> None:
    limited = Reply(status=429, json=error_body("Slow down"), headers=[("Retry-After", "2")])
    pool = KeyPool(["sk-one-000000", "sk-two-111111"], clock=clock)
    async with (
        scripted_server(limited, limited, Reply(json={"ok": True})) as server,
        Client(auth=pool, base_url=server.url, clock=clock) as client,
    ):
        response = await client.request("GET", "/models")
    # The second key went at once; with both cooling, the third attempt waited 2 s.
    assert clock.sleeps == [2.0]
    assert response.attempts == 3
    assert [_bearer(r) for r in server.requests] == [
        "sk-one-000000",
        "sk-two-111111",
        "sk-one-000000",
    ]


async def test_keys_take_turns_round_robin() -> None:
    keys = ["sk-key-aaaaaa", "sk-key-bbbbbb", "sk-key-cccccc"]
    async with scripted_server() as server, Client(auth=KeyPool(keys), base_url=server.url) as c:
        for _ in range(7):
            await c.request("GET", "/models")
    assert [_bearer(r) for r in server.requests] == [*keys, *keys, keys[0]]


async def test_rotating_keys_under_200_concurrent_requests_drops_none() -> None:
    old = ["sk-old-aaaaaa", "sk-old-bbbbbb"]
    new = ["sk-new-cccccc", "sk-new-dddddd"]
    pool = KeyPool(old)
    valid = set(old)
    results: list[str] = []

    async def handler(request: Recorded) -> Reply:
        if len(server.requests) == 100:
            # The provider rotates: old keys stop working the moment the pool gets new ones.
            pool.replace(new)
            valid.clear()
            valid.update(new)
        await anyio.lowlevel.checkpoint()
        if _bearer(request) not in valid:
            return Reply(status=401, json=error_body("revoked", code="invalid_api_key"))
        return Reply(json={"key": _bearer(request)})

    async with scripted_server() as server:
        server.handler = handler
        async with Client(auth=pool, base_url=server.url) as client:

            async def one() -> None:
                response = await client.request("GET", "/models")
                results.append(response.json()["key"])

            async with anyio.create_task_group() as group:
                for _ in range(200):
                    group.start_soon(one)
            # After the rotation, fresh requests go straight out with new keys.
            assert (await client.request("GET", "/models")).json()["key"] in new
    assert len(results) == 200
    assert set(results) <= set(old) | set(new)
    assert set(results) & set(new)
    # Requests in flight with an old key were refused after the rotation and went again: more
    # requests reached the server than the 201 made.
    assert len(server.requests) > 201
    assert pool.revoked() == 0  # rotated out, not revoked


async def test_a_token_provider_refreshes_before_expiry_single_flight() -> None:
    now = [1_000_000.0]
    calls = 0

    async def fetch() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        await anyio.sleep(0.01)  # concurrent requests pile up behind this refresh
        return f"eyJtoken{calls}.payload.sig", now[0] + 3600

    provider = TokenProvider(fetch, refresh_margin=300, time_source=lambda: now[0])
    async with scripted_server() as server, Client(auth=provider, base_url=server.url) as client:
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(client.request, "GET", "/models")
        assert calls == 1
        now[0] += 3300 - 1  # still fresh: 301 s left, more than the margin
        await client.request("GET", "/models")
        assert calls == 1
        now[0] += 2  # inside the margin: refreshed before it expires
        await client.request("GET", "/models")
        assert calls == 2
    tokens = [_bearer(r) for r in server.requests]
    assert tokens[:21] == ["eyJtoken1.payload.sig"] * 21
    assert tokens[21] == "eyJtoken2.payload.sig"
    assert "eyJ" not in repr(provider)


async def test_a_token_rejected_with_401_is_refreshed_once_and_resent() -> None:
    issued = iter(["eyJold.a.b", "eyJnew.a.b"])

    async def fetch() -> tuple[str, float]:
        return next(issued), 4_000_000_000.0

    async def handler(request: Recorded) -> Reply:
        if _bearer(request) == "eyJold.a.b":
            return Reply(status=401, json=error_body("token expired"))
        return Reply(json={"ok": True})

    async with scripted_server() as server:
        server.handler = handler
        client = Client(auth=TokenProvider(fetch), base_url=server.url, retry=RetryPolicy.never())
        async with client:
            assert (await client.request("GET", "/models")).json() == {"ok": True}
    assert [_bearer(r) for r in server.requests] == ["eyJold.a.b", "eyJnew.a.b"]
