"""Replaying captured OpenAI streams through the decoders and accumulators.

Expected values come from the capture itself: the raw JSON deltas joined independently, the
`.done` events, or the `response.completed` payload.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from openai_ergo import ResponseFailedError
from openai_ergo.resources._aggregate import ChatCompletionAccumulator, ResponseAccumulator
from openai_ergo.types import (
    FunctionCall,
    OutputMessage,
    ResponseCompletedEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputItemDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    decode_chat_chunk,
    decode_response,
    decode_response_event,
)
from tests.openai_ergo.types._samples import (
    CHAT_CAPTURES,
    COMPLETED_RESPONSES_CAPTURES,
    capture,
)


def _chat_payloads(name: str) -> list[dict[str, Any]]:
    data = capture(name)
    assert data[-1] == "[DONE]"
    return [json.loads(item) for item in data[:-1]]


def _expected_choices(payloads: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each choice folded naively from the raw JSON: the oracle for the accumulator."""
    choices: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"content": "", "refusal": "", "calls": defaultdict(dict), "tokens": []}
    )
    for payload in payloads:
        for raw in payload["choices"]:
            choice = choices[raw["index"]]
            delta = raw["delta"]
            choice["content"] += delta.get("content") or ""
            choice["refusal"] += delta.get("refusal") or ""
            for call in delta.get("tool_calls") or []:
                slot = choice["calls"][call["index"]]
                if "id" in call:
                    slot["id"] = call["id"]
                function = call.get("function", {})
                slot["name"] = slot.get("name", "") + (function.get("name") or "")
                slot["arguments"] = slot.get("arguments", "") + (function.get("arguments") or "")
            if raw.get("finish_reason"):
                choice["finish_reason"] = raw["finish_reason"]
            if raw.get("logprobs") and raw["logprobs"].get("content"):
                choice["tokens"] += [t["token"] for t in raw["logprobs"]["content"]]
    return choices


@pytest.mark.parametrize("name", CHAT_CAPTURES)
def test_chat_capture_aggregates_to_the_completion(name: str) -> None:
    payloads = _chat_payloads(name)
    accumulator = ChatCompletionAccumulator()
    for payload in payloads:
        accumulator.add(decode_chat_chunk(json.dumps(payload)))
    completion = accumulator.final()
    expected = _expected_choices(payloads)

    assert completion.id == payloads[0]["id"]
    assert completion.model == payloads[0]["model"]
    assert completion.system_fingerprint == payloads[0]["system_fingerprint"]
    assert completion.usage is not None
    assert completion.usage.total_tokens == payloads[-1]["usage"]["total_tokens"]
    assert [c.index for c in completion.choices] == sorted(expected)
    assert accumulator.failure is None
    for choice in completion.choices:
        want = expected[choice.index]
        message = choice.message
        assert choice.finish_reason == want["finish_reason"]
        assert (message.content or "") == want["content"]
        assert (message.refusal or "") == want["refusal"]
        calls = [
            (c.id, c.function.name, c.function.arguments)
            for c in message.tool_calls or []
            if c.function is not None
        ]
        want_calls = want["calls"]
        assert calls == [
            (want_calls[i]["id"], want_calls[i]["name"], want_calls[i]["arguments"])
            for i in sorted(want_calls)
        ]
        tokens = [t.token for t in (choice.logprobs.content or [])] if choice.logprobs else []
        assert tokens == want["tokens"]


def test_chat_captures_cover_what_they_promise() -> None:
    def final(name: str) -> Any:
        accumulator = ChatCompletionAccumulator()
        for payload in _chat_payloads(name):
            accumulator.add(decode_chat_chunk(json.dumps(payload)))
        return accumulator.final()

    assert len(final("chat-multiple-choices.sse").choices) == 3
    parallel = final("chat-parallel-tool-calls.sse").choices[0].message
    assert parallel.content is None
    assert parallel.tool_calls is not None
    assert len(parallel.tool_calls) == 2
    assert [json.loads(c.function.arguments) for c in parallel.tool_calls if c.function]
    refusal = final("chat-refusal.sse").choices[0].message
    assert refusal.refusal
    assert refusal.content is None
    assert final("chat-finish-length.sse").choices[0].finish_reason == "length"
    logprobs = final("chat-content-logprobs.sse").choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content


@pytest.mark.parametrize("name", COMPLETED_RESPONSES_CAPTURES)
def test_responses_capture_final_is_the_completed_response(name: str) -> None:
    payloads = capture(name)
    events = [decode_response_event(p) for p in payloads]
    accumulator = ResponseAccumulator()
    for event in events:
        accumulator.add(event)
    (completed,) = [json.loads(p) for p in payloads if '"response.completed"' in p]
    assert accumulator.completed
    assert accumulator.failure is None
    assert accumulator.final() == decode_response(json.dumps(completed["response"]))
    assert isinstance(events[-1], ResponseCompletedEvent)


@pytest.mark.parametrize("name", COMPLETED_RESPONSES_CAPTURES)
def test_responses_capture_assembles_from_deltas_alone(name: str) -> None:
    """Without the terminal and `.done` events, the deltas still give the final texts."""
    events = [decode_response_event(p) for p in capture(name)]
    accumulator = ResponseAccumulator()
    for event in events:
        # Leave out the terminal event and every `.done` event (they carry the full values).
        if not type(event).__name__.endswith(("DoneEvent", "CompletedEvent")):
            accumulator.add(event)
    assembled = accumulator.snapshot().output
    done_items = [e.item for e in events if isinstance(e, ResponseOutputItemDoneEvent)]
    assert [item.type for item in assembled] == [item.type for item in done_items]
    arguments = [e for e in events if isinstance(e, ResponseFunctionCallArgumentsDoneEvent)]
    calls = [item for item in assembled if isinstance(item, FunctionCall)]
    assert [c.arguments for c in calls] == [e.arguments for e in arguments]
    deltas: dict[str, str] = defaultdict(str)
    for event in events:
        if isinstance(event, ResponseTextDeltaEvent):
            deltas[event.item_id] += event.delta
    messages = [m for m in assembled if isinstance(m, OutputMessage)]
    assert [m.text for m in messages] == [deltas[m.id] for m in messages]


def test_text_done_events_give_the_final_text() -> None:
    """This capture is abridged (its deltas do not add up to the text): `.done` wins."""
    events = [decode_response_event(p) for p in capture("responses-output-text.sse")]
    accumulator = ResponseAccumulator()
    for event in events:
        if not isinstance(event, (ResponseCompletedEvent, ResponseOutputItemDoneEvent)):
            accumulator.add(event)
    texts = [e.text for e in events if isinstance(e, ResponseTextDoneEvent)]
    assembled = accumulator.snapshot().output
    assert [m.text for m in assembled if isinstance(m, OutputMessage)] == texts
    assert accumulator.snapshot().output_text == "".join(texts)


def test_function_call_arguments_join_to_the_done_arguments() -> None:
    events = [decode_response_event(p) for p in capture("responses-function-call.sse")]
    accumulator = ResponseAccumulator()
    for event in events:
        accumulator.add(event)
    (done,) = [e for e in events if isinstance(e, ResponseFunctionCallArgumentsDoneEvent)]
    (call,) = accumulator.final().function_calls
    assert call.arguments == done.arguments
    assert json.loads(call.arguments) == {"city": "Beijing"}


def test_error_capture_is_reported_as_a_failed_response() -> None:
    payloads = capture("responses-error-event.sse")
    accumulator = ResponseAccumulator()
    for payload in payloads:
        accumulator.add(decode_response_event(payload))
    (error,) = [json.loads(p)["error"] for p in payloads if '"type":"error"' in p]
    failure = accumulator.failure
    assert failure is not None
    assert (failure.kind, failure.type, failure.code, failure.message) == (
        "failed",
        error["type"],
        error["code"],
        error["message"],
    )
    partial = accumulator.final()
    assert partial.status == "failed"
    exc = failure.to_error(partial=partial, events=payloads, request_id="req_1")
    assert isinstance(exc, ResponseFailedError)
    assert exc.partial is partial
    assert exc.code == error["code"]
    assert len(exc.events) == len(payloads)
    assert str(exc) == error["message"]
