"""The mock's output tokens, counted as the client counts them: with tiktoken (the `tokens`
extra), answers stream as the model's real tokens, usage is their exact count, and a token limit
cuts at exactly that many; without it, a delta is a word and counts as one token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_ergo import count_tokens, counting_method
from openai_ergo._accounting import _counting
from openai_ergo.mock import MockOpenAI, MockServer, Reply, ToolCall, serve
from openai_ergo.types import realtime_create_response, realtime_session_update
from tests.openai_ergo.mock.sse import frames
from tests.openai_ergo.mock.wsclient import WSClient

USER = [{"role": "user", "content": "Tell me about rivers."}]
BEARER = {"Authorization": "Bearer sk-mock"}
#: Characters spelled by several tokens (emoji with modifiers, flags, CJK, accents, Arabic).
MULTIBYTE = "Café 😀 👍🏽 🇫🇷 日本語のテキスト, 한국어 and مرحبا — €5 𝔘𝔫𝔦."


@pytest.fixture
def app() -> MockOpenAI:
    return MockOpenAI(seed=21, reply_tokens=(30, 60))


@pytest.fixture(autouse=True)
def _tiktoken() -> None:
    # The exact rule needs the extra; CI installs it (`make install`), so it is never skipped.
    assert counting_method() == "tiktoken", "install the tokens extra: pip install -e '.[dev]'"


async def _chat(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> tuple[dict[str, Any], list[str], dict[str, Any], str]:
    """The non-streamed answer, and the streamed one's content deltas, usage and finish."""
    plain = (await http.post("/chat/completions", json=body)).json()
    stream = {**body, "stream": True, "stream_options": {"include_usage": True}}
    chunks = [f.json() for f in frames((await http.post("/chat/completions", json=stream)).text)
              if f.data != "[DONE]"]  # fmt: skip
    deltas = [c["choices"][0]["delta"]["content"] for c in chunks
              if c["choices"] and c["choices"][0]["delta"].get("content")]  # fmt: skip
    finish = next(c["choices"][0]["finish_reason"] for c in chunks
                  if c["choices"] and c["choices"][0]["finish_reason"])  # fmt: skip
    return plain, deltas, chunks[-1]["usage"], finish


async def _responses(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """The non-streamed response, and the streamed one's text deltas and final response."""
    plain = (await http.post("/responses", json=body)).json()
    events = [
        f.json() for f in frames((await http.post("/responses", json=body | {"stream": True})).text)
    ]
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    return plain, deltas, events[-1]["response"]


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4"])  # o200k_base and cl100k_base
async def test_chat_usage_is_the_exact_count_of_the_answer(
    http: httpx.AsyncClient, model: str
) -> None:
    plain, deltas, usage, finish = await _chat(http, {"model": model, "messages": USER})
    text = plain["choices"][0]["message"]["content"]
    assert "".join(deltas) == text
    assert plain["usage"]["completion_tokens"] == count_tokens(text, model)
    assert usage == plain["usage"]
    assert finish == plain["choices"][0]["finish_reason"] == "stop"
    # One delta a token, as the API streams (generated text is whole characters).
    assert len(deltas) == count_tokens(text, model)
    assert all(count_tokens(d, model) == 1 for d in deltas)


async def test_responses_usage_is_the_exact_count_of_the_answer(http: httpx.AsyncClient) -> None:
    plain, deltas, final = await _responses(http, {"model": "gpt-5-mini", "input": "Hi"})
    text = plain["output"][0]["content"][0]["text"]
    assert "".join(deltas) == text
    assert plain["usage"]["output_tokens"] == count_tokens(text, "gpt-5-mini") == len(deltas)
    assert final["usage"] == plain["usage"]
    assert plain["usage"]["total_tokens"] == plain["usage"]["input_tokens"] + len(deltas)


@pytest.mark.parametrize("limit", [1, 7, 25])
async def test_a_chat_limit_cuts_at_exactly_that_many_tokens(
    http: httpx.AsyncClient, limit: int
) -> None:
    body = {"model": "gpt-4o-mini", "messages": USER, "seed": limit}
    whole, _, _, _ = await _chat(http, body)
    plain, deltas, usage, finish = await _chat(http, body | {"max_completion_tokens": limit})
    text = plain["choices"][0]["message"]["content"]
    assert whole["choices"][0]["message"]["content"].startswith(text)
    assert "".join(deltas) == text
    assert len(deltas) == count_tokens(text, "gpt-4o-mini") == limit
    assert finish == plain["choices"][0]["finish_reason"] == "length"
    assert usage["completion_tokens"] == plain["usage"]["completion_tokens"] == limit


@pytest.mark.parametrize("limit", [16, 33])
async def test_a_responses_limit_cuts_at_exactly_that_many_tokens(
    app: MockOpenAI, http: httpx.AsyncClient, limit: int
) -> None:
    app.reply_tokens = 80
    body = {"model": "gpt-5", "input": "Hi"}
    whole = await http.post("/responses", json=body)
    plain, deltas, final = await _responses(http, body | {"max_output_tokens": limit})
    text = plain["output"][0]["content"][0]["text"]
    assert whole.json()["output"][0]["content"][0]["text"].startswith(text)
    assert (plain["status"], final["status"]) == ("incomplete", "incomplete")
    assert plain["incomplete_details"] == {"reason": "max_output_tokens"}
    assert plain["usage"]["output_tokens"] == final["usage"]["output_tokens"] == limit
    assert "".join(deltas) == text
    assert count_tokens(text, "gpt-5") == limit


@pytest.mark.parametrize("length", [1, 2, 17, 120])
async def test_the_generated_length_is_counted_in_tokens(
    app: MockOpenAI, http: httpx.AsyncClient, length: int
) -> None:
    app.reply_tokens = length
    texts = []
    for seed in range(5):
        body = {"model": "gpt-5", "input": "Hi"}
        plain = await http.post("/responses", json=body, headers={"x-mock-seed": str(seed)})
        answer = plain.json()
        text = answer["output"][0]["content"][0]["text"]
        produced = answer["usage"]["output_tokens"]
        assert produced == count_tokens(text, "gpt-5")
        # Words are drawn until the answer, with its closing full stop, reaches the length: a
        # last word of several tokens may take it a little past.
        assert length <= produced <= length + 3
        assert text.endswith(".")
        texts.append(text)
    assert len(set(texts)) > 1


async def test_multibyte_text_streams_whole_characters_and_counts_exactly(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    for model in ("gpt-4o-mini", "gpt-4"):
        app.reply_with(MULTIBYTE, MULTIBYTE)
        plain, deltas, usage, _ = await _chat(http, {"model": model, "messages": USER})
        assert plain["choices"][0]["message"]["content"] == "".join(deltas) == MULTIBYTE
        assert usage["completion_tokens"] == count_tokens(MULTIBYTE, model)
        assert plain["usage"]["completion_tokens"] == count_tokens(MULTIBYTE, model)
        # Some characters take several tokens: their delta stands for all of them.
        spent = [count_tokens(d, model) for d in deltas]
        assert sum(spent) == count_tokens(MULTIBYTE, model)
        assert max(spent) > 1
        assert len(deltas) < count_tokens(MULTIBYTE, model)
    app.reply_with(MULTIBYTE, MULTIBYTE)
    plain_response, deltas, final = await _responses(http, {"model": "gpt-5", "input": "Hi"})
    assert "".join(deltas) == MULTIBYTE
    assert final["usage"]["output_tokens"] == count_tokens(MULTIBYTE, "gpt-5")
    assert plain_response["usage"] == final["usage"]


async def test_a_limit_inside_a_character_stops_before_it_and_counts_the_limit(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    flag = "Go 🇫🇷 now"
    tokens_before = count_tokens("Go", "gpt-4o")
    assert count_tokens("Go 🇫🇷", "gpt-4o") - tokens_before > 1  # the flag is several tokens
    app.reply_with(flag, flag)
    body = {"model": "gpt-4o", "messages": USER, "max_completion_tokens": tokens_before + 1}
    plain, deltas, usage, finish = await _chat(http, body)
    assert plain["choices"][0]["message"]["content"] == "".join(deltas) == "Go"
    assert usage["completion_tokens"] == tokens_before + 1
    assert finish == "length"


async def test_refusals_and_tool_calls_count_like_the_client(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    refusal = "I can't help with that 🙅."
    app.reply_with(Reply(refusal=refusal), Reply(refusal=refusal))
    plain, _, final = await _responses(http, {"model": "gpt-5", "input": "Hi"})
    assert plain["output"][0]["content"][0]["refusal"] == refusal
    assert plain["usage"]["output_tokens"] == count_tokens(refusal, "gpt-5")
    assert final["usage"] == plain["usage"]
    app.reply_with(Reply(refusal=refusal))
    body = {"model": "gpt-4o", "messages": USER, "max_completion_tokens": 2}
    cut = (await http.post("/chat/completions", json=body)).json()
    assert cut["choices"][0]["finish_reason"] == "length"
    assert cut["usage"]["completion_tokens"] == 2
    assert refusal.startswith(cut["choices"][0]["message"]["refusal"])
    assert count_tokens(cut["choices"][0]["message"]["refusal"], "gpt-4o") == 2

    call = ToolCall(name="get_weather", arguments={"city": "Zürich", "days": 3})
    app.reply_with(Reply("Checking.", tool_calls=(call,)))
    answer = await http.post("/chat/completions", json={"model": "gpt-4", "messages": USER})
    made = answer.json()
    arguments = made["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert made["usage"]["completion_tokens"] == (
        count_tokens("Checking.", "gpt-4")
        + count_tokens("get_weather", "gpt-4")
        + count_tokens(arguments, "gpt-4")
    )


async def test_a_structured_reply_streams_real_tokens(http: httpx.AsyncClient) -> None:
    properties = {"name": {"type": "string"}, "age": {"type": "integer"}}
    schema = {"type": "object", "properties": properties, "required": ["name", "age"],
              "additionalProperties": False}  # fmt: skip
    text_format = {"format": {"type": "json_schema", "name": "person", "schema": schema}}
    plain, deltas, final = await _responses(
        http, {"model": "gpt-5", "input": "Who?", "text": text_format}
    )
    text = plain["output"][0]["content"][0]["text"]
    assert set(json.loads(text)) == {"name", "age"}
    assert "".join(deltas) == text
    assert final["usage"]["output_tokens"] == count_tokens(text, "gpt-5") == len(deltas)


# -- WebSocket: Realtime and the Responses WebSocket mode ------------------------------------------


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with serve(seed=5, reply_tokens=40) as server:
        yield server


async def _realtime_answer(
    server: MockServer, options: dict[str, Any], *, audio: bool = False
) -> list[dict[str, Any]]:
    client = await WSClient.connect(server.port, "/v1/realtime?model=gpt-realtime", headers=BEARER)
    async with client as ws:
        assert (await ws.recv())["type"] == "session.created"
        if not audio:
            await ws.send(realtime_session_update({"output_modalities": ["text"]}))
            await ws.until("session.updated")
        await ws.send(realtime_create_response(options))
        return await ws.until("response.done")


async def test_a_realtime_response_counts_and_cuts_exact_tokens(server: MockServer) -> None:
    events = await _realtime_answer(server, {})
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    text = next(e for e in events if e["type"] == "response.output_text.done")["text"]
    done = events[-1]["response"]
    assert "".join(deltas) == text
    assert done["status"] == "completed"
    assert done["usage"]["output_tokens"] == count_tokens(text, "gpt-realtime") == len(deltas)

    cut = await _realtime_answer(server, {"max_output_tokens": 9})
    cut_text = next(e for e in cut if e["type"] == "response.output_text.done")["text"]
    cut_done = cut[-1]["response"]
    assert (cut_done["status"], cut_done["status_details"]["reason"]) == (
        "incomplete", "max_output_tokens",
    )  # fmt: skip
    assert cut_done["usage"]["output_tokens"] == 9 == count_tokens(cut_text, "gpt-realtime")
    assert text.startswith(cut_text)


async def test_a_spoken_realtime_answer_counts_its_transcript_and_its_audio(
    server: MockServer,
) -> None:
    events = await _realtime_answer(server, {}, audio=True)
    deltas = [e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"]
    transcript = "".join(deltas)
    usage = events[-1]["response"]["usage"]
    details = usage["output_token_details"]
    assert details["text_tokens"] == count_tokens(transcript, "gpt-realtime") == len(deltas)
    assert details["audio_tokens"] > 0
    assert usage["output_tokens"] == details["text_tokens"] + details["audio_tokens"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


async def test_the_responses_websocket_mode_counts_exact_tokens(server: MockServer) -> None:
    server.reply_with(MULTIBYTE)
    async with await WSClient.connect(server.port, "/v1/responses", headers=BEARER) as ws:
        await ws.send({"type": "response.create", "model": "gpt-5-mini", "input": "Hi"})
        events = await ws.until("response.completed")
        await ws.send({"type": "response.create", "model": "gpt-5-mini", "input": "Hi",
                       "max_output_tokens": 16})  # fmt: skip
        cut = await ws.until("response.incomplete")
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == MULTIBYTE
    assert events[-1]["response"]["usage"]["output_tokens"] == count_tokens(MULTIBYTE, "gpt-5-mini")
    assert cut[-1]["response"]["usage"]["output_tokens"] == 16


# -- the law, on random scripted texts ------------------------------------------------------------

_PIECES = ["Hello", " world", ",", ".", " ", "  ", "\n", "\n\n", "é", "ü", "日本語", "の", "😀",
           "👍🏽", "🇫🇷", "한국어", "مرحبا", " 123", "4567", "'s", "\t", "—", "€", "𝔘",
           "<|endoftext|>",
           "naïve", " résumé", "🧑‍🚀"]  # fmt: skip


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=60, deadline=None)
@given(
    text=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=40).map("".join),
    limit=st.integers(min_value=1, max_value=48),
    model=st.sampled_from(["gpt-4o-mini", "gpt-4"]),
)
def test_streamed_deltas_are_a_prefix_whose_tokens_are_the_usage(
    backend: str, text: str, limit: int, model: str
) -> None:
    app = MockOpenAI(seed=1)
    body = {"model": model, "messages": USER}

    # Responses take no limit under 16.
    responses_limit = max(16, limit)

    async def both() -> tuple[list[str], dict[str, Any], tuple[Any, ...], tuple[Any, ...]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as http:
            app.reply_with(*[text] * 6)
            whole, whole_deltas, _, _ = await _chat(http, body)
            cut = await _chat(http, body | {"max_completion_tokens": limit})
            response = await _responses(
                http, {"model": model, "input": "Hi", "max_output_tokens": responses_limit}
            )
        return whole_deltas, whole, cut, response

    whole_deltas, whole, cut, response = anyio.run(both, backend=backend)
    plain, deltas, usage, finish = cut
    total = count_tokens(text, model)
    assert "".join(whole_deltas) == whole["choices"][0]["message"]["content"] == text
    assert whole["usage"]["completion_tokens"] == total
    spent = [count_tokens(d, model) for d in whole_deltas]
    assert sum(spent) == total
    # The cut answer: a prefix of the whole one's deltas, which stream as the non-streamed text.
    assert deltas == whole_deltas[: len(deltas)]
    assert "".join(deltas) == (plain["choices"][0]["message"]["content"] or "")
    assert usage == plain["usage"]
    assert usage["completion_tokens"] == min(limit, total)
    if total <= limit:
        assert (deltas, finish) == (whole_deltas, "stop")
    else:
        # Exactly `limit` tokens: every delta that fits in them, none that does not.
        kept = len(deltas)
        assert finish == "length"
        assert sum(spent[:kept]) <= limit < sum(spent[: kept + 1])
    # The same law on the Responses API, streamed and not.
    plain_response, response_deltas, final = response
    assert response_deltas == whole_deltas[: len(response_deltas)]
    assert "".join(response_deltas) == plain_response["output"][0]["content"][0]["text"]
    assert final["usage"] == plain_response["usage"]
    assert final["usage"]["output_tokens"] == min(responses_limit, total)
    assert final["status"] == ("incomplete" if total > responses_limit else "completed")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**31),
    reply_tokens=st.integers(min_value=1, max_value=120),
    limit=st.integers(min_value=1, max_value=130),
    model=st.sampled_from(["gpt-5", "gpt-3.5-turbo"]),
)
def test_a_cut_generated_answer_is_a_prefix_of_exactly_the_limit(
    seed: int, reply_tokens: int, limit: int, model: str
) -> None:
    app = MockOpenAI(seed=seed, reply_tokens=reply_tokens)
    body = {"model": model, "messages": USER}

    async def both() -> tuple[dict[str, Any], dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as http:
            whole = (await http.post("/chat/completions", json=body)).json()
            cut = await http.post("/chat/completions", json=body | {"max_tokens": limit})
        return whole, cut.json()

    whole, cut = anyio.run(both)
    text = whole["choices"][0]["message"]["content"]
    cut_text = cut["choices"][0]["message"]["content"]
    total = whole["usage"]["completion_tokens"]
    assert total == count_tokens(text, model) >= reply_tokens
    assert text.startswith(cut_text)
    assert cut["usage"]["completion_tokens"] == count_tokens(cut_text, model) == min(limit, total)
    assert cut["choices"][0]["finish_reason"] == ("length" if total > limit else "stop")


# -- without the tokens extra -------------------------------------------------------------------


@pytest.fixture
def estimated(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's counter as it is without tiktoken (its counters made anew)."""
    monkeypatch.setattr(_counting, "tiktoken_installed", lambda: False)
    monkeypatch.setattr(_counting, "_counters", {})
    assert counting_method() == "estimate"


async def test_without_tiktoken_a_delta_is_a_word_and_one_token(
    estimated: None, app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.reply_tokens = 12
    plain, deltas, usage, _ = await _chat(http, {"model": "gpt-4o", "messages": USER})
    text = plain["choices"][0]["message"]["content"]
    assert len(text.split()) == len(deltas) == 12
    assert all(len(d.split()) == 1 for d in deltas)
    assert usage["completion_tokens"] == plain["usage"]["completion_tokens"] == 12
    cut, cut_deltas, _, finish = await _chat(
        http, {"model": "gpt-4o", "messages": USER, "max_completion_tokens": 5}
    )
    assert (finish, cut["usage"]["completion_tokens"], len(cut_deltas)) == ("length", 5, 5)
    assert text.startswith(cut["choices"][0]["message"]["content"])
    app.reply_with(MULTIBYTE, MULTIBYTE)
    scripted, scripted_deltas, _, _ = await _chat(http, {"model": "gpt-4o", "messages": USER})
    assert "".join(scripted_deltas) == MULTIBYTE
    assert scripted["usage"]["completion_tokens"] == len(MULTIBYTE.split()) == len(scripted_deltas)


def test_without_tiktoken_installed_the_mock_counts_words() -> None:
    # A fresh interpreter in which tiktoken cannot be imported at all.
    code = """
import sys
sys.modules["tiktoken"] = None
import anyio, httpx, openai_ergo
from openai_ergo.mock import MockOpenAI

async def main():
    app = MockOpenAI(seed=3, reply_tokens=30)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as http:
        body = {"model": "gpt-5", "input": "Hi"}
        answer = (await http.post("/responses", json=body)).json()
        cut = (await http.post("/responses", json=body | {"max_output_tokens": 16})).json()
    text = answer["output"][0]["content"][0]["text"]
    cut_text = cut["output"][0]["content"][0]["text"]
    print(openai_ergo.counting_method(), len(text.split()), answer["usage"]["output_tokens"],
          cut["status"], len(cut_text.split()), cut["usage"]["output_tokens"],
          text.startswith(cut_text))

anyio.run(main)
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["estimate", "30", "30", "incomplete", "16", "16", "True"]
