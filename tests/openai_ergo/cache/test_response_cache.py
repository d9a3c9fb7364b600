"""The response cache against the mock over loopback: hits skip the network, streamed hits
replay typed events through the same handles with the same `final()`, and only whole answers
are kept."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from openai_ergo import (
    APIResponse,
    CacheBackend,
    ChatStream,
    Client,
    ConfigurationError,
    EventStream,
    InternalServerError,
    InvalidRequestError,
    MemoryCacheBackend,
    RequestOptions,
    ResponseCache,
    ResponseStream,
    RetryPolicy,
    SemanticMatcher,
    StreamInterruptedError,
)
from openai_ergo.mock import Fault, MockServer, Reply, ToolCall
from openai_ergo.resources import _streams as streams_module
from openai_ergo.types import decode_chat_chunk


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def _client(server: MockServer, cache: ResponseCache, **options: Any) -> Client:
    return Client(
        api_key="sk-mock", base_url=server.url, rate_limiter=False, cache=cache, **options
    )


async def test_a_repeated_request_is_answered_without_the_network(
    mock_openai: MockServer,
) -> None:
    cache = ResponseCache()
    async with _client(mock_openai, cache) as client:
        first = await client.responses("gpt-5-mini").input("What is 2+2?")
        sent = len(mock_openai.requests)
        again = await client.responses("gpt-5-mini").input("What is 2+2?")
        raw = await client.request(
            "POST", "/responses", body={"model": "gpt-5-mini", "input": "What is 2+2?"}
        )
    assert len(mock_openai.requests) == sent == 1
    assert again == first
    assert isinstance(raw, APIResponse)
    assert raw.attempts == 0  # no attempt went out
    assert raw.request_id == first.id or raw.request_id is not None
    stats = cache.statistics()
    assert (stats.hits, stats.misses, stats.stored) == (2, 1, 1)
    assert stats.hit_rate == pytest.approx(2 / 3)


async def test_the_key_ignores_who_asked_but_not_what_was_asked(mock_openai: MockServer) -> None:
    cache = ResponseCache()
    async with _client(mock_openai, cache) as client:
        ask = client.chat("gpt-4o-mini").user("Hello")
        await ask
        await client.request(
            "POST",
            "/chat/completions",
            body={
                "messages": [{"role": "user", "content": "Hello"}],
                "model": "gpt-4o-mini",
                "user": "u-42",
                "metadata": {"run": "7"},
            },
        )
        await ask.temperature(0.5)
        await client.chat("gpt-4o").user("Hello")
    paths = [r.path for r in mock_openai.requests]
    assert len(paths) == 3  # the first, the other temperature, the other model


async def test_opting_out_neither_reads_nor_writes_the_cache(mock_openai: MockServer) -> None:
    cache = ResponseCache()
    off = RequestOptions(cache=False)
    async with _client(mock_openai, cache) as client:
        ask = client.responses("gpt-5-mini").input("Hi")
        await ask.options(off)
        await ask
        await ask.options(off)
    assert len(mock_openai.requests) == 3
    assert cache.statistics().stored == 1
    async with _client(mock_openai, cache) as client:
        await client.responses("gpt-5-mini").input("Hi")
    assert len(mock_openai.requests) == 3  # the one stored answer serves a new client too


async def test_errors_incomplete_and_refused_answers_are_never_kept(
    mock_openai: MockServer,
) -> None:
    cache = ResponseCache()
    async with _client(mock_openai, cache, retry=RetryPolicy.never()) as client:
        ask = client.responses("gpt-5-mini").input("Tell me")
        mock_openai.app.fail_next(Fault.server_error())
        with pytest.raises(InternalServerError):
            await ask
        await client.responses("gpt-5-mini").input("Long").max_output_tokens(16)  # incomplete
        mock_openai.reply_with(Reply(refusal="I can't help with that."))
        await client.responses("gpt-5-mini").input("Refuse")
        mock_openai.reply_with(Reply(refusal="No."))
        await client.chat("gpt-4o-mini").user("Refuse")
        await client.chat("gpt-4o-mini").user("Cut").max_completion_tokens(2)  # length
    stats = cache.statistics()
    assert stats.stored == 0
    assert stats.refused == 4
    assert stats.hits == 0


async def test_entries_expire_after_their_ttl_and_the_oldest_go_first() -> None:
    clock = FakeClock()
    backend = MemoryCacheBackend(max_entries=2, clock=clock)
    await backend.set("a", b"1", ttl=10)
    await backend.set("b", b"2", ttl=None)
    assert await backend.get("a") == b"1"  # a is now the most recently used
    await backend.set("c", b"3", ttl=None)
    assert await backend.get("b") is None  # evicted: least recently used
    assert backend.evictions == 1
    clock.t += 10
    assert await backend.get("a") is None  # expired
    assert await backend.get("c") == b"3"
    assert len(backend) == 1
    small = MemoryCacheBackend(max_bytes=4)
    await small.set("x", b"12345", ttl=None)
    assert await small.get("x") is None  # larger than the whole cache
    await small.set("y", b"12", ttl=None)
    await small.set("z", b"34", ttl=None)
    await small.set("w", b"5", ttl=None)
    assert (await small.get("y"), small.size_bytes) == (None, 3)


async def test_a_ttl_on_the_client_clock_expires_a_cached_answer(mock_openai: MockServer) -> None:
    clock = FakeClock()
    cache = ResponseCache(MemoryCacheBackend(clock=clock), ttl=60)
    async with _client(mock_openai, cache) as client:
        await client.responses("gpt-5-mini").input("Hi")
        clock.t += 59
        await client.responses("gpt-5-mini").input("Hi")
        clock.t += 1
        await client.responses("gpt-5-mini").input("Hi")
    assert len(mock_openai.requests) == 2


class DictBackend:
    """A backend of the interface's four methods over a dict (as a Redis one would be)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def set(self, key: str, value: bytes, *, ttl: float | None) -> None:
        assert isinstance(value, bytes)
        self.data[key] = value

    async def delete(self, key: str) -> None:
        self.data.pop(key, None)

    async def clear(self) -> None:
        self.data.clear()


async def test_any_backend_of_bytes_serves_plain_and_streamed_hits(
    mock_openai: MockServer,
) -> None:
    backend = DictBackend()
    assert isinstance(backend, CacheBackend)
    cache = ResponseCache(backend)
    async with _client(mock_openai, cache) as client:
        await client.responses("gpt-5-mini").input("Hi")
        async with client.responses("gpt-5-mini").input("Hi").stream() as live:
            await live.until_done()
        # a foreign value under a key is a miss, not a crash
        backend.data = dict.fromkeys(backend.data, b"not an entry")
        await client.responses("gpt-5-mini").input("Hi")
        await cache.clear()
    assert backend.data == {}
    assert len(mock_openai.requests) == 3
    assert cache.statistics().misses == 3


async def test_bad_configuration_is_named() -> None:
    with pytest.raises(InvalidRequestError, match="CacheBackend"):
        ResponseCache(backend=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="ttl"):
        ResponseCache(ttl=0)
    with pytest.raises(InvalidRequestError, match="max_entries"):
        MemoryCacheBackend(max_entries=0)
    with pytest.raises(ConfigurationError, match="ResponseCache"):
        Client(api_key="sk-x", cache=MemoryCacheBackend())  # type: ignore[arg-type]
    backend = MemoryCacheBackend()
    with pytest.raises(InvalidRequestError, match="bytes"):
        await backend.set("k", "text", ttl=None)  # type: ignore[arg-type]


# -- streams ----------------------------------------------------------------------------------


async def test_a_streamed_hit_replays_through_the_same_handle_without_the_network(
    mock_openai: MockServer,
) -> None:
    cache = ResponseCache()
    async with _client(mock_openai, cache) as client:
        ask = client.chat("gpt-4o-mini").user("Count to five")
        async with ask.stream() as live:
            live_text = [t async for t in live.text()]
        sent = len(mock_openai.requests)
        async with ask.stream() as replay:
            replay_text = [t async for t in replay.text()]
        raw = await client.request(
            "POST",
            "/chat/completions",
            body=ask.request_body() | {"stream": True, "stream_options": {"include_usage": True}},
            stream=True,
        )
        async with raw:
            events = [event async for event in raw]
    assert len(mock_openai.requests) == sent == 1
    assert type(replay) is type(live) is ChatStream
    assert replay_text == live_text
    assert replay.final() == live.final()
    assert isinstance(raw, EventStream)
    assert events
    assert events[-1].data == "[DONE]"
    assert raw.closed


async def test_a_streamed_hit_in_memory_replays_the_decoded_events_without_decoding(
    mock_openai: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ResponseCache()
    async with _client(mock_openai, cache) as client:
        chat = client.chat("gpt-4o-mini").user("Count to five")
        responses = client.responses("gpt-5-mini").input("Count to five")
        first: list[Any] = []
        for ask in (chat, responses):
            async with ask.stream() as live:
                await live.until_done()
            async with ask.stream() as replay:  # the first hit decodes the stored events
                await replay.until_done()
            first.append(replay)
        decoded: list[str] = []

        def refuse(data: str) -> Any:
            decoded.append(data)
            raise AssertionError("a hit held in memory decoded an event")

        monkeypatch.setattr(streams_module, "decode_chat_chunk", refuse)
        monkeypatch.setattr(streams_module, "decode_response_event", refuse)
        again: list[Any] = []
        for ask in (chat, responses):
            async with ask.stream() as replay:
                texts = [text async for text in replay.text()]
            again.append((replay, texts))
        # A handle that judges a stream by other rules decodes it itself, the same request's
        # entry or not, and its objects are not the ones replayed above.
        counted: list[str] = []

        def count(data: str) -> Any:
            counted.append(data)
            return original(data)

        monkeypatch.undo()
        original = decode_chat_chunk
        monkeypatch.setattr(streams_module, "decode_chat_chunk", count)
        async with chat.require_finish_reason(False).stream() as lenient:
            await lenient.until_done()
    assert decoded == []
    assert counted
    assert lenient.final() == first[0].final()
    assert len(mock_openai.requests) == 2  # the two live streams only
    for old, (new, texts) in zip(first, again, strict=True):
        assert type(new) is type(old)
        assert new.final() == old.final()
        assert [a is b for a, b in zip(new.events, old.events, strict=True)] == [True] * len(
            old.events
        )
        assert "".join(texts) == "".join(t for t in map(new._text_of, new.events) if t)
    assert cache.statistics().hits == 5


async def test_the_memory_backend_counts_held_entries_at_their_serialised_size(
    mock_openai: MockServer,
) -> None:
    backend = MemoryCacheBackend()
    cache = ResponseCache(backend)
    async with _client(mock_openai, cache) as client:
        ask = client.chat("gpt-4o-mini").user("Hi")
        async with ask.stream() as live:
            await live.until_done()
        await ask
    assert len(backend) == 2
    # Read through the bytes interface, a held entry is the bytes a serialising backend
    # stores, and the byte bound counts exactly those.
    keys = list(backend._entries)
    values = [await backend.get(key) for key in keys]
    assert all(isinstance(value, bytes) for value in values)
    assert backend.size_bytes == sum(len(value) for value in values if value is not None)
    copy = DictBackend()
    copy.data = {key: value for key, value in zip(keys, values, strict=True) if value}
    async with _client(mock_openai, ResponseCache(copy)) as client:
        replay = client.chat("gpt-4o-mini").user("Hi").stream()
        async with replay:
            await replay.until_done()
    assert replay.final() == live.final()
    assert len(mock_openai.requests) == 2
    small = ResponseCache(MemoryCacheBackend(max_bytes=min(len(v or b"") for v in values) - 1))
    async with _client(mock_openai, small) as client:
        await client.chat("gpt-4o-mini").user("Hi")
        await client.chat("gpt-4o-mini").user("Hi")
    assert small.statistics().hits == 0  # too large to keep, held or not


async def test_a_plain_answer_does_not_answer_a_stream_nor_the_reverse(
    mock_openai: MockServer,
) -> None:
    cache = ResponseCache()
    async with _client(mock_openai, cache) as client:
        ask = client.responses("gpt-5-mini").input("Hi")
        await ask
        async with ask.stream() as stream:
            await stream.until_done()
        await ask
        async with ask.stream() as stream:
            await stream.until_done()
    assert len(mock_openai.requests) == 2


async def test_a_stream_closed_early_or_broken_is_not_kept(mock_openai: MockServer) -> None:
    cache = ResponseCache()
    async with _client(mock_openai, cache, retry=RetryPolicy.never()) as client:
        ask = client.responses("gpt-5-mini").input("Tell a story")
        mock_openai.app.fail_next(Fault.disconnect(after=3))
        with pytest.raises(StreamInterruptedError):
            async with ask.stream() as stream:
                await stream.until_done()
        # Paced, so that the break comes before the answer is whole.
        mock_openai.app.tokens_per_second = 100
        async with ask.stream() as stream:
            async for _ in stream.text():
                break
        mock_openai.app.tokens_per_second = None
        async with ask.stream() as stream:
            await stream.until_done()
        async with ask.stream() as again:
            await again.until_done()
    assert len(mock_openai.requests) == 3
    assert cache.statistics().refused == 2
    assert again.final() == stream.final()


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
calls = st.lists(
    st.builds(
        lambda name, value: ToolCall(name=name, arguments={"value": value}),
        st.sampled_from(["lookup", "search"]),
        st.one_of(st.integers(), texts),
    ),
    max_size=2,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts, tool_calls=calls, prompt=texts, responses=st.booleans())
async def test_a_cached_streamed_replay_gives_the_same_final_as_the_original(
    mock_openai: MockServer, text: str, tool_calls: list[ToolCall], prompt: str, responses: bool
) -> None:
    if not text and not tool_calls:
        text = "."
    cache = ResponseCache()
    mock_openai.reply_with(Reply(text=text, tool_calls=tuple(tool_calls)))
    before = len(mock_openai.requests)
    async with _client(mock_openai, cache) as client:
        builder: Any = (
            client.responses("gpt-5-mini").input(prompt or "x")
            if responses
            else client.chat("gpt-4o-mini").user(prompt or "x")
        )
        async with builder.stream() as live:
            live_events = [event async for event in live]
        async with builder.stream() as replay:
            replay_events = [event async for event in replay]
        # The second hit replays the objects the first decoded (held in memory).
        async with builder.stream() as again:
            again_events = [event async for event in again]
    assert len(mock_openai.requests) == before + 1
    assert (
        type(replay) is type(again) is type(live) is (ResponseStream if responses else ChatStream)
    )
    assert replay.final() == again.final() == live.final()
    assert msgspec.json.encode(replay_events) == msgspec.json.encode(live_events)
    assert msgspec.json.encode(again_events) == msgspec.json.encode(live_events)


async def test_a_semantic_match_answers_the_same_prompt_asked_another_way(
    mock_openai: MockServer,
) -> None:
    async with Client(api_key="sk-mock", base_url=mock_openai.url, rate_limiter=False) as plain:
        matcher = SemanticMatcher(plain, threshold=0.99)
        cache = ResponseCache(semantic=matcher)
        async with _client(mock_openai, cache) as client:
            first = await client.chat("gpt-4o-mini").user("What is the capital of France?")
            # The same words as a content part: another exact key, the same meaning.
            parts = [{"type": "text", "text": "What is the capital of France?"}]
            again = await client.request(
                "POST",
                "/chat/completions",
                body={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": parts}]},
            )
            other = await client.chat("gpt-4o-mini").user("How do volcanoes form?")
            hotter = (
                await client.chat("gpt-4o-mini")
                .user("What is the capital of France?")
                .temperature(1.5)
            )
    chats = [r for r in mock_openai.requests if r.path.endswith("/chat/completions")]
    embeds = [r for r in mock_openai.requests if r.path.endswith("/embeddings")]
    assert len(chats) == 3  # the first, the other question, the other temperature
    assert len(embeds) == 4  # one per lookup that missed the exact key
    assert again.attempts == 0
    assert again.json()["choices"][0]["message"]["content"] == first.choices[0].message.content
    assert other.choices[0].message.content != first.choices[0].message.content
    assert hotter.id != first.id
    stats = cache.statistics()
    assert (stats.hits, stats.semantic_hits) == (1, 1)
    assert len(matcher) == 3
    with pytest.raises(InvalidRequestError, match="threshold"):
        SemanticMatcher(plain, threshold=0)


class BrokenBackend(DictBackend):
    """A store that is down: every call raises."""

    async def get(self, key: str) -> bytes | None:
        raise ConnectionError("the store is down")

    async def set(self, key: str, value: bytes, *, ttl: float | None) -> None:
        raise ConnectionError("the store is down")


async def test_a_failing_backend_is_a_miss_not_a_failed_request(mock_openai: MockServer) -> None:
    cache = ResponseCache(BrokenBackend())
    with capture_logs() as logs:
        async with _client(mock_openai, cache) as client:
            first = await client.responses("gpt-5-mini").input("Hi")
            again = await client.responses("gpt-5-mini").input("Hi")
            async with client.chat("gpt-4o-mini").user("Hi").stream() as stream:
                await stream.until_done()
    assert first.output_text == again.output_text
    assert len(mock_openai.requests) == 3
    stats = cache.statistics()
    assert (stats.hits, stats.misses, stats.stored, stats.errors) == (0, 3, 0, 6)
    failures = [log for log in logs if log["event"] == "openai_ergo.cache.backend_failed"]
    assert {(log["operation"], log["error"]) for log in failures} == {
        ("get", "ConnectionError"),
        ("set", "ConnectionError"),
    }
