"""Every captured OpenAI stream, replayed through the typed stream handles.

Expectations come from the captures themselves, folded here with plain `json` (an oracle that
shares no code with the library): joined texts, refusals, tool-call arguments per index, every
choice of `n=3`, log probabilities, finish reasons, usage, and the Responses terminal event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from openai_ergo import (
    Client,
    RefusalError,
    ResponseFailedError,
    StreamEventError,
    TruncatedOutputError,
)
from openai_ergo.types import decode_response
from tests.conftest import shared_path
from tests.openai_ergo.canned import Reads, canned_client
from tests.openai_ergo.types._samples import CHAT_CAPTURES, COMPLETED_RESPONSES_CAPTURES


def _client(capture: bytes, requests: list[httpx.Request], size: int = 97) -> Client:
    """Replays the capture in reads of `size` bytes, so events straddle reads as on a socket."""
    reads = [capture[start : start + size] for start in range(0, len(capture), size)]

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        headers = {"content-type": "text/event-stream", "x-request-id": "req_replay"}
        return httpx.Response(200, headers=headers, stream=Reads(reads))

    return canned_client(handler, circuit_breaker=False)


def _payloads(path: Path) -> list[dict[str, Any]]:
    payloads = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            payloads.append(json.loads(line[len("data: ") :]))
    return payloads


def _fold_chat(chunks: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per choice index: content, refusal, tool calls (id, name, arguments), finish, logprobs."""
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            state = choices.setdefault(
                choice["index"],
                {"content": None, "refusal": None, "calls": {}, "finish": None, "logprobs": []},
            )
            delta = choice["delta"]
            for key in ("content", "refusal"):
                if delta.get(key) is not None:
                    state[key] = (state[key] or "") + delta[key]
            for call in delta.get("tool_calls") or []:
                entry = state["calls"].setdefault(call["index"], {"id": "", "name": "", "args": ""})
                entry["id"] = entry["id"] or call.get("id") or ""
                function = call.get("function") or {}
                entry["name"] += function.get("name") or ""
                entry["args"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                state["finish"] = choice["finish_reason"]
            if choice.get("logprobs") and choice["logprobs"].get("content"):
                state["logprobs"].extend(t["token"] for t in choice["logprobs"]["content"])
    return choices


@pytest.mark.parametrize("name", CHAT_CAPTURES)
async def test_chat_capture_final_matches_the_chunks(name: str) -> None:
    path = shared_path("sse-corpus", "openai", name)
    chunks = _payloads(path)
    expected = _fold_chat(chunks)
    usage = next((c["usage"] for c in reversed(chunks) if c.get("usage")), None)
    requests: list[httpx.Request] = []
    async with (
        _client(path.read_bytes(), requests) as client,
        client.chat("gpt-4o").user("Replay").n(max(len(expected), 1)).stream() as stream,
    ):
        texts = [text async for text in stream.text()]
    final = stream.final()
    assert stream.request_id == "req_replay"
    assert [c.index for c in final.choices] == sorted(expected)
    for choice in final.choices:
        want = expected[choice.index]
        message = choice.message
        assert choice.finish_reason == want["finish"]
        assert message.refusal == want["refusal"]
        if want["calls"]:
            calls = [want["calls"][i] for i in sorted(want["calls"])]
            assert message.tool_calls is not None
            got = [
                (c.id, c.function.name, c.function.arguments)
                for c in message.tool_calls
                if c.function
            ]
            assert got == [(c["id"], c["name"], c["args"]) for c in calls]
            for call in message.tool_calls:
                assert call.function is not None
                json.loads(call.function.arguments)  # joined fragments are whole JSON
        elif want["refusal"] is None:
            assert message.content == want["content"]
        if want["logprobs"]:
            assert choice.logprobs is not None
            assert choice.logprobs.content is not None
            assert [t.token for t in choice.logprobs.content] == want["logprobs"]
    assert "".join(texts) == (expected[0]["content"] or "")
    if usage is not None:
        assert final.usage is not None
        assert final.usage.total_tokens == usage["total_tokens"]
    body = json.loads(requests[0].content)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("name", COMPLETED_RESPONSES_CAPTURES)
async def test_responses_capture_final_is_the_completed_response(name: str) -> None:
    path = shared_path("sse-corpus", "openai", name)
    payloads = _payloads(path)
    completed = next(p for p in payloads if p["type"] == "response.completed")
    expected = decode_response(msgspec.json.encode(completed["response"]))
    deltas: dict[str, list[str]] = {}
    for payload in payloads:
        if payload["type"] == "response.function_call_arguments.delta":
            deltas.setdefault(payload["item_id"], []).append(payload["delta"])
    # The captures were edited after recording: their deltas do not always add up to the
    # `.done` text, which is what the completed response carries.
    done_texts = [p["text"] for p in payloads if p["type"] == "response.output_text.done"]
    async with (
        _client(path.read_bytes(), []) as client,
        client.responses("gpt-5").input("Replay").stream() as stream,
    ):
        seen = [event async for event in stream]
    assert [event.type for event in seen] == [p["type"] for p in payloads]
    final = stream.final()
    assert final == expected
    assert final.output_text == "".join(done_texts)
    for call in final.function_calls:
        assert call.id is not None
        assert call.arguments == "".join(deltas[call.id])
        json.loads(call.arguments)


async def test_text_yields_exactly_the_text_deltas_of_a_responses_capture() -> None:
    path = shared_path("sse-corpus", "openai", "responses-output-text.sse")
    deltas = [p["delta"] for p in _payloads(path) if p["type"] == "response.output_text.delta"]
    async with (
        _client(path.read_bytes(), [], size=13) as client,
        client.responses("gpt-5").input("Replay").stream() as stream,
    ):
        texts = [text async for text in stream.text()]
    assert texts == deltas
    assert stream.done


async def test_the_error_event_raises_with_the_failed_response_and_every_event() -> None:
    path = shared_path("sse-corpus", "openai", "responses-error-event.sse")
    payloads = _payloads(path)
    error = next(p["error"] for p in payloads if p["type"] == "error")
    failed = next(p["response"] for p in payloads if p["type"] == "response.failed")
    seen: list[Any] = []
    async with _client(path.read_bytes(), []) as client:
        stream = client.responses("gpt-5").input("Replay").stream()
        with pytest.raises(ResponseFailedError) as caught:  # noqa: PT012
            async with stream:
                async for event in stream:
                    seen.append(event)
    exc = caught.value
    assert exc.code == error["code"]
    assert exc.type == error["type"]
    assert error["message"] in str(exc)
    assert exc.request_id == "req_replay"
    assert exc.partial is not None
    assert exc.partial.id == failed["id"]
    assert exc.partial.status == "failed"
    assert [e.type for e in exc.events] == [p["type"] for p in payloads]
    assert [e.type for e in seen] == [p["type"] for p in payloads]
    with pytest.raises(ResponseFailedError):
        stream.final()


async def test_a_chat_error_chunk_raises_with_what_came_before() -> None:
    good = {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    more = {"id": "c1", "choices": [{"index": 0, "delta": {"content": "lo"}}]}
    bad = {"error": {"message": "The server had an error", "type": "server_error", "code": None}}
    capture = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in (good, more, bad))
    async with _client(capture, []) as client:
        stream = client.chat("gpt-4o").user("Hi").stream()
        texts: list[str] = []
        with pytest.raises(StreamEventError) as caught:  # noqa: PT012
            async with stream:
                async for text in stream.text():
                    texts.append(text)
    assert texts == ["Hel", "lo"]
    assert caught.value.type == "server_error"
    assert caught.value.partial.text == "Hello"
    assert len(caught.value.events) == 2


class _Answer(msgspec.Struct):
    city: str
    temperature: float


async def test_a_captured_refusal_raises_refusal_error_from_a_parse_stream() -> None:
    path = shared_path("sse-corpus", "openai", "chat-refusal.sse")
    expected = _fold_chat(_payloads(path))[0]["refusal"]
    async with (
        _client(path.read_bytes(), []) as client,
        client.chat("gpt-4o").user("Replay").parse(_Answer).stream() as stream,
    ):
        async for _ in stream:
            pass
    with pytest.raises(RefusalError) as caught:
        stream.final()
    assert caught.value.refusal == expected
    assert caught.value.result == stream.stream.final()
    assert caught.value.result == stream.partial


async def test_a_captured_length_finish_raises_truncated_output_error() -> None:
    path = shared_path("sse-corpus", "openai", "chat-finish-length.sse")
    expected = _fold_chat(_payloads(path))[0]["content"]
    async with _client(path.read_bytes(), []) as client:
        with pytest.raises(TruncatedOutputError) as caught:
            await client.chat("gpt-4o").user("Replay").parse(_Answer).stream().until_done()
    assert caught.value.text == expected


async def test_a_responses_refusal_raises_refusal_error() -> None:
    body = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "gpt-5",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "refusal", "refusal": "I can't help with that."}],
            }
        ],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    async with Client(
        api_key="sk-x", base_url="http://replay.test/v1", transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(RefusalError) as caught:
            await client.responses("gpt-5").input("Replay").parse(_Answer)
    assert caught.value.refusal == "I can't help with that."
    assert caught.value.result.id == "resp_1"
