"""The mock's `x-ratelimit-*` headers come from buckets that refill continuously, as OpenAI's do:
`remaining` grows back at the limit per minute, and `reset` is the time until the bucket is
full again, both read off the app's clock."""

from __future__ import annotations

import httpx

from openai_ergo.mock import MockOpenAI


async def _headers(http: httpx.AsyncClient, tokens_text: str = "Hi") -> httpx.Headers:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": tokens_text}]}
    answer = await http.post("/chat/completions", json=body)
    assert answer.status_code == 200
    return answer.headers


async def test_remaining_refills_continuously_and_reset_is_the_time_to_full() -> None:
    app = MockOpenAI(requests_per_minute=60, tokens_per_minute=6_000)
    app.clock.speed = 0  # time moves only when the test says so
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as http:
        for expected in ("59", "58", "57"):
            headers = await _headers(http)
            assert headers["x-ratelimit-remaining-requests"] == expected
        assert headers["x-ratelimit-reset-requests"] == "3s"  # 3 requests at 1 per second
        tokens = int(headers["x-ratelimit-remaining-tokens"])
        assert tokens < 6_000
        app.clock.advance(2)  # two requests' worth flows back in
        headers = await _headers(http)
        assert headers["x-ratelimit-remaining-requests"] == "58"
        assert headers["x-ratelimit-reset-requests"] == "2s"
        app.clock.advance(60)  # a minute refills any bucket
        headers = await _headers(http)
        assert headers["x-ratelimit-remaining-requests"] == "59"
        assert int(headers["x-ratelimit-remaining-tokens"]) > tokens
        assert headers["x-ratelimit-reset-requests"] == "1s"
