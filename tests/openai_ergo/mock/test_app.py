"""The mock's wire format, replies, validation and recording, served in-process over ASGI."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_ergo import count_tokens
from openai_ergo.mock import Fault, MockOpenAI, RecordedRequest, Reply, ToolCall
from tests.openai_ergo.mock.sse import frames
from tests.openai_ergo.types._samples import openapi_spec

USER = [{"role": "user", "content": "Say something nice."}]


@pytest.fixture
def app() -> MockOpenAI:
    return MockOpenAI(seed=7)


async def _post(http: httpx.AsyncClient, path: str, body: Any, **headers: str) -> httpx.Response:
    return await http.post(path, json=body, headers=headers)


# -- models -------------------------------------------------------------------------------------


async def test_models_are_listed_and_retrieved_including_dated_snapshots(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.strict_models = True
    listed = (await http.get("/models")).json()
    assert listed["object"] == "list"
    assert "gpt-5-mini" in {m["id"] for m in listed["data"]}
    one = await http.get("/models/gpt-4o-2024-08-06")
    assert one.status_code == 200
    assert one.json()["id"] == "gpt-4o-2024-08-06"
    missing = await http.get("/models/gpt-0")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


# -- responses ----------------------------------------------------------------------------------


async def test_responses_answer_has_the_api_shape_and_headers(http: httpx.AsyncClient) -> None:
    response = await _post(http, "/responses", {"model": "gpt-5-mini", "input": "Hi"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    assert int(response.headers["openai-processing-ms"]) >= 0
    assert int(response.headers["x-ratelimit-remaining-requests"]) < int(
        response.headers["x-ratelimit-limit-requests"]
    )
    body = response.json()
    assert body["object"] == "response"
    assert body["id"].startswith("resp_")
    assert body["status"] == "completed"
    [message] = body["output"]
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    [part] = message["content"]
    assert part["type"] == "output_text"
    assert part["text"].endswith(".")
    usage = body["usage"]
    assert usage["output_tokens"] == count_tokens(part["text"], "gpt-5-mini")
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


async def test_responses_stream_events_come_in_the_api_order(http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-5-mini", "input": "Hi"}
    plain = (await _post(http, "/responses", body)).json()
    streamed = await _post(http, "/responses", {**body, "stream": True})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = frames(streamed.content)
    payloads = [f.json() for f in events]
    assert all(f.event == p["type"] for f, p in zip(events, payloads, strict=True))
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    types = [p["type"] for p in payloads]
    deltas = [p for p in payloads if p["type"] == "response.output_text.delta"]
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * len(deltas),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    text = "".join(d["delta"] for d in deltas)
    assert all("obfuscation" in d for d in deltas)
    assert text == payloads[-4]["text"] == plain["output"][0]["content"][0]["text"]
    final = payloads[-1]["response"]
    assert final["usage"] == plain["usage"]
    assert payloads[0]["response"]["status"] == "in_progress"


async def test_same_request_and_seed_give_the_same_text(http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4o-mini", "messages": USER}
    first = (await _post(http, "/chat/completions", body)).json()
    second = (await _post(http, "/chat/completions", body)).json()
    other_seed = (await _post(http, "/chat/completions", {**body, "seed": 99})).json()
    via_header = (await _post(http, "/chat/completions", body, **{"x-mock-seed": "99"})).json()

    def text(c: dict[str, Any]) -> str:
        return str(c["choices"][0]["message"]["content"])

    assert text(first) == text(second)
    assert text(first) != text(other_seed)
    assert text(other_seed) == text(via_header)


async def test_token_limit_cuts_a_response_and_marks_it_incomplete(
    http: httpx.AsyncClient,
) -> None:
    body = {"model": "gpt-5", "input": "Hi"}
    headers = {"x-mock-reply-tokens": "40"}
    full = (await _post(http, "/responses", body, **headers)).json()
    cut = (await _post(http, "/responses", {**body, "max_output_tokens": 16}, **headers)).json()
    assert full["status"] == "completed"
    assert cut["status"] == "incomplete"
    assert cut["incomplete_details"] == {"reason": "max_output_tokens"}
    assert cut["usage"]["output_tokens"] == 16
    cut_text = cut["output"][0]["content"][0]["text"]
    assert full["output"][0]["content"][0]["text"].startswith(cut_text)
    stream = await _post(http, "/responses", {**body, "max_output_tokens": 16, "stream": True})
    assert frames(stream.content)[-1].event == "response.incomplete"


async def test_responses_function_call_streams_argument_fragments(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    call = ToolCall(name="get_weather", arguments={"city": "Paris"}, call_id="call_1")
    app.reply_with(Reply(tool_calls=(call,)))
    response = await _post(http, "/responses", {"model": "gpt-5", "input": "x", "stream": True})
    payloads = [f.json() for f in frames(response.content)]
    added = next(p for p in payloads if p["type"] == "response.output_item.added")
    assert added["item"]["type"] == "function_call"
    assert added["item"]["name"] == "get_weather"
    fragments = [
        p["delta"] for p in payloads if p["type"] == "response.function_call_arguments.delta"
    ]
    assert len(fragments) > 1
    done = next(p for p in payloads if p["type"] == "response.function_call_arguments.done")
    assert "".join(fragments) == done["arguments"] == '{"city":"Paris"}'
    final = payloads[-1]["response"]["output"]
    assert final == [
        {
            "id": added["item"]["id"],
            "type": "function_call",
            "status": "completed",
            "arguments": '{"city":"Paris"}',
            "call_id": "call_1",
            "name": "get_weather",
        }
    ]


# -- chat -----------------------------------------------------------------------------------------


async def test_chat_stream_with_usage_ends_with_a_usage_chunk_and_done(
    http: httpx.AsyncClient,
) -> None:
    body = {"model": "gpt-4o-mini", "messages": USER}
    plain = (await _post(http, "/chat/completions", body)).json()
    streamed = await _post(
        http,
        "/chat/completions",
        {**body, "stream": True, "stream_options": {"include_usage": True}},
    )
    events = frames(streamed.content)
    assert all(f.event is None for f in events)
    assert events[-1].data == "[DONE]"
    chunks = [f.json() for f in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert text == plain["choices"][0]["message"]["content"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == plain["usage"]
    assert all(c["usage"] is None for c in chunks[:-1])


async def test_chat_n_gives_distinct_interleaved_choices(http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4o-mini", "messages": USER, "n": 3}
    plain = (await _post(http, "/chat/completions", body)).json()
    texts = [c["message"]["content"] for c in plain["choices"]]
    assert [c["index"] for c in plain["choices"]] == [0, 1, 2]
    assert len(set(texts)) == 3
    streamed = await _post(http, "/chat/completions", {**body, "stream": True})
    chunks = [f.json() for f in frames(streamed.content)[:-1]]
    joined = ["", "", ""]
    for chunk in chunks:
        for choice in chunk["choices"]:
            joined[choice["index"]] += choice["delta"].get("content") or ""
    assert joined == texts
    assert [c["choices"][0]["index"] for c in chunks[:3]] == [0, 1, 2]


async def test_chat_max_tokens_finishes_with_length(http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4o-mini", "messages": USER, "max_completion_tokens": 3}
    answer = (await _post(http, "/chat/completions", body)).json()
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 3
    whole = await _post(http, "/chat/completions", {**body, "max_completion_tokens": None})
    whole_text = whole.json()["choices"][0]["message"]["content"]
    cut_text = answer["choices"][0]["message"]["content"]
    assert whole_text.startswith(cut_text)
    assert count_tokens(cut_text, "gpt-4o-mini") == 3 < count_tokens(whole_text, "gpt-4o-mini")


async def test_chat_tool_calls_stream_like_the_api(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    calls = (
        ToolCall(name="get_weather", arguments='{"city": "Edinburgh", "country": "GB"}'),
        ToolCall(name="get_time", arguments={"zone": "UTC"}),
    )
    app.reply_with(Reply(tool_calls=calls))
    streamed = await _post(
        http, "/chat/completions", {"model": "gpt-4o", "messages": USER, "stream": True}
    )
    chunks = [f.json() for f in frames(streamed.content)[:-1]]
    assert chunks[0]["choices"][0]["delta"]["content"] is None
    arguments: dict[int, str] = {}
    names: dict[int, str] = {}
    for chunk in chunks:
        for call in chunk["choices"][0]["delta"].get("tool_calls") or []:
            if "id" in call:
                assert call["id"].startswith("call_")
                names[call["index"]] = call["function"]["name"]
            arguments[call["index"]] = arguments.get(call["index"], "") + call["function"].get(
                "arguments", ""
            )
    assert names == {0: "get_weather", 1: "get_time"}
    assert arguments == {0: '{"city": "Edinburgh", "country": "GB"}', 1: '{"zone":"UTC"}'}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_required_tool_choice_generates_arguments_matching_the_schema(
    http: httpx.AsyncClient,
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "book",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "nights": {"type": "integer"},
                    "class": {"enum": ["economy", "business"]},
                },
            },
        },
    }
    body = {"model": "gpt-4o", "messages": USER, "tools": [tool], "tool_choice": "required"}
    answer = (await _post(http, "/chat/completions", body)).json()
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    arguments = json.loads(call["function"]["arguments"])
    assert isinstance(arguments["city"], str)
    assert isinstance(arguments["nights"], int)
    assert arguments["class"] == "economy"
    after = [
        *USER,
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "booked"},
    ]
    # As on the API, the choice still forces a call after the tool's result; "auto" lets the
    # model answer.
    forced = (await _post(http, "/chat/completions", {**body, "messages": after})).json()
    assert forced["choices"][0]["finish_reason"] == "tool_calls"
    auto = {**body, "messages": after, "tool_choice": "auto"}
    follow_up = (await _post(http, "/chat/completions", auto)).json()
    assert follow_up["choices"][0]["finish_reason"] == "stop"
    assert follow_up["choices"][0]["message"]["content"]


async def test_scripted_replies_and_responder(app: MockOpenAI, http: httpx.AsyncClient) -> None:
    seen: list[RecordedRequest] = []

    def responder(request: RecordedRequest) -> str | None:
        seen.append(request)
        return "From code." if request.path.endswith("/responses") else None

    app.responder = responder
    app.reply_with("First.", Reply("Second one."))
    body = {"model": "gpt-5", "input": "x"}
    texts = [
        (await _post(http, "/responses", body)).json()["output"][0]["content"][0]["text"]
        for _ in range(3)
    ]
    assert texts == ["First.", "Second one.", "From code."]
    assert [r.path for r in seen] == ["/v1/responses"]


async def test_a_responder_can_answer_with_tool_calls_and_then_with_text(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    def responder(request: RecordedRequest) -> Reply | None:
        last = request.json["messages"][-1]
        if last["role"] == "tool":
            return Reply(f"It is {json.loads(last['content'])['celsius']} degrees.")
        return Reply(tool_calls=(ToolCall(name="weather", arguments={"city": "Oslo"}),))

    app.responder = responder
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Oslo?"}]
    first = await _post(http, "/chat/completions", {"model": "gpt-4o", "messages": messages})
    choice = first.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["function"] == {"name": "weather", "arguments": '{"city":"Oslo"}'}
    messages += [
        choice["message"],
        {"role": "tool", "tool_call_id": call["id"], "content": '{"celsius": 4}'},
    ]
    body = {"model": "gpt-4o", "messages": messages, "stream": True}
    second = await _post(http, "/chat/completions", body)
    chunks = [f.json() for f in frames(second.content)[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "It is 4 degrees."
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len(app.requests) == 2


async def test_a_responder_that_fails_answers_500_saying_why(
    app: MockOpenAI, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: RecordedRequest) -> str:
        raise KeyError("no_such_field")

    app.responder = broken
    response = await _post(http, "/responses", {"model": "gpt-5", "input": "x", "stream": True})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error"
    assert error["message"] == "The mock's responder raised KeyError: 'no_such_field'"
    assert any(r.exc_info and isinstance(r.exc_info[1], KeyError) for r in caplog.records)

    def confused(request: RecordedRequest) -> Any:
        return {"text": "a dict is not a reply"}

    app.responder = confused
    response = await _post(http, "/chat/completions", {"model": "gpt-4o", "messages": USER})
    assert response.status_code == 500
    assert "must return a Reply, a str or None, not dict" in response.json()["error"]["message"]


def test_a_queued_reply_must_be_a_reply_or_text(app: MockOpenAI) -> None:
    bad: Any = {"text": "hi"}
    with pytest.raises(TypeError, match="not dict"):
        app.reply_with("fine", bad)


async def test_a_client_that_leaves_before_its_body_is_whole_gets_nothing(
    app: MockOpenAI,
) -> None:
    # Straight through ASGI: the server reports the client gone while the body is still coming.
    sent: list[Any] = []
    messages = iter(
        [
            {"type": "http.request", "body": b'{"model": ', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/responses", "headers": []}
    await app(scope, receive, send)
    assert sent == []
    assert app.requests == []


# -- validation and recording ---------------------------------------------------------------------


MISSING = "missing_required_parameter"
ROLE = "messages[0].role"


@pytest.mark.parametrize(
    ("endpoint", "payload", "status", "param", "code"),
    [
        ("/chat/completions", {"model": "gpt-4o"}, 400, "messages", MISSING),
        ("/chat/completions", {"model": "gpt-4o", "messages": []}, 400, "messages", "empty_array"),
        ("/chat/completions", {"model": "gpt-4o", "messages": [{}]}, 400, ROLE, MISSING),
        ("/chat/completions", {"messages": USER}, 400, "model", MISSING),
        # With a strict catalog, the older endpoints answer an unknown model 404; the
        # Responses API answers 400.
        ("/chat/completions", {"model": "gpt-0", "messages": USER}, 404, None, "model_not_found"),
        ("/embeddings", {"model": "gpt-0", "input": "x"}, 404, None, "model_not_found"),
        ("/responses", {"model": "gpt-0", "input": "x"}, 400, "model", "model_not_found"),
        ("/responses", {"model": "gpt-5"}, 400, "input", MISSING),
        ("/responses", {"input": "x"}, 400, "model", MISSING),
        (
            "/responses",
            {"model": "gpt-5", "input": "x", "max_output_tokens": 5},
            400,
            "max_output_tokens",
            "integer_below_min_value",
        ),
        ("/responses", {"model": "gpt-5", "input": "x", "stream": "yes"}, 400, "stream", None),
        ("/embeddings", {"model": "text-embedding-3-small"}, 400, "input", MISSING),
        ("/moderations", {"model": "omni-moderation-latest"}, 400, "input", MISSING),
    ],
)  # fmt: skip
async def test_bad_requests_get_the_api_error_body(
    http: httpx.AsyncClient,
    endpoint: str,
    payload: dict[str, Any],
    status: int,
    param: str | None,
    code: str | None,
    app: MockOpenAI,
) -> None:
    app.strict_models = True  # an unknown model is refused only by a strict catalog
    response = await _post(http, endpoint, payload)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert error["message"]
    if param is not None and code == MISSING:
        assert error["message"] == f"Missing required parameter: '{param}'."
    if code == "model_not_found":
        assert "gpt-0" in error["message"]


def _conforms(value: Any, schema: dict[str, Any]) -> bool:
    """A JSON value against the few schema forms the spec's `Error` uses."""
    if "anyOf" in schema:
        return any(_conforms(value, option) for option in schema["anyOf"])
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        properties = schema.get("properties", {})
        return isinstance(value, dict) and all(
            name in value and _conforms(value[name], properties.get(name, {})) for name in required
        )
    expected: dict[str | None, type | tuple[type, ...]] = {
        "string": str, "null": type(None), "integer": int, None: object,
    }  # fmt: skip
    return isinstance(value, expected[kind])


async def test_every_error_body_has_the_spec_error_shape(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    schema = openapi_spec()["components"]["schemas"]["Error"]
    chat = {"model": "gpt-4o", "messages": USER}
    app.require_api_key = True
    app.strict_models = True
    key = {"authorization": "Bearer sk-test"}
    answers = [
        await http.get("/models"),  # 401
        await http.post("/responses", json={"model": "gpt-0", "input": "x"}, headers=key),
        await http.post("/chat/completions", json={"model": "gpt-4o"}, headers=key),
        await http.post("/chat/completions", content=b"{", headers=key),
        await http.post("/nowhere", json={}, headers=key),
        await http.get("/models/gpt-0", headers=key),
    ]
    for fault in ("rate_limit", "server_error", "server_error; status=503", "error_event"):
        answers.append(
            await http.post("/chat/completions", json=chat, headers={**key, "x-mock-fault": fault})
        )
    assert sorted({a.status_code for a in answers}) == [400, 401, 404, 429, 500, 503]
    for answer in answers:
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["x-request-id"].startswith("req_")
        body = answer.json()
        assert set(body) == {"error"}
        assert _conforms(body["error"], schema), body


async def test_a_negative_reply_length_header_is_a_clear_400(http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-5", "input": "x"}
    response = await _post(http, "/responses", body, **{"x-mock-reply-tokens": "-3"})
    assert response.status_code == 400
    assert "x-mock-reply-tokens" in response.json()["error"]["message"]


async def test_bad_json_and_unknown_routes(http: httpx.AsyncClient) -> None:
    bad = await http.post("/chat/completions", content=b'{"model": ')
    assert bad.status_code == 400
    assert "could not parse the JSON body" in bad.json()["error"]["message"]
    missing = await http.post("/completions/legacy", json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Invalid URL (POST /v1/completions/legacy)"


async def test_api_key_is_required_when_asked(app: MockOpenAI, http: httpx.AsyncClient) -> None:
    app.require_api_key = True
    assert (await http.get("/models")).status_code == 401
    ok = await http.get("/models", headers={"authorization": "Bearer sk-test"})
    assert ok.status_code == 200


async def test_requests_are_recorded_without_showing_secrets(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    secret = "sk-very-secret-value"
    await http.post(
        "/chat/completions",
        json={"model": "gpt-4o", "messages": USER},
        headers={"authorization": f"Bearer {secret}"},
    )
    [request] = app.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.json["messages"] == USER
    assert request.headers["authorization"] == f"Bearer {secret}"
    assert secret not in repr(request)
    assert secret not in repr(app)
    app.reset()
    assert app.requests == []


# -- embeddings and moderations -------------------------------------------------------------------


async def test_embeddings_are_deterministic_unit_vectors(http: httpx.AsyncClient) -> None:
    body = {"model": "text-embedding-3-small", "input": ["cat", "dog", "cat"], "dimensions": 64}
    answer = (await _post(http, "/embeddings", body)).json()
    vectors = [d["embedding"] for d in answer["data"]]
    assert [d["index"] for d in answer["data"]] == [0, 1, 2]
    assert all(len(v) == 64 for v in vectors)
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0) for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]
    assert answer["usage"]["prompt_tokens"] == answer["usage"]["total_tokens"] > 0
    encoded = (await _post(http, "/embeddings", {**body, "encoding_format": "base64"})).json()
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(decoded, vectors[0], strict=True))
    native = await _post(http, "/embeddings", {"model": "text-embedding-3-large", "input": "x"})
    assert len(native.json()["data"][0]["embedding"]) == 3072
    ada = await _post(http, "/embeddings", {**body, "model": "text-embedding-ada-002"})
    assert ada.status_code == 400
    assert ada.json()["error"]["param"] == "dimensions"


async def test_moderations_flag_telltale_text(http: httpx.AsyncClient) -> None:
    answer = (await _post(http, "/moderations", {"input": ["I will kill it", "hello"]})).json()
    assert answer["id"].startswith("modr-")
    first, second = answer["results"]
    assert first["flagged"] is True
    assert first["categories"]["violence"] is True
    assert second["flagged"] is False
    assert set(first["categories"]) == set(first["category_scores"])


# -- faults that replace the response -------------------------------------------------------------


async def test_rate_limit_fault_sends_retry_after_and_rate_headers(
    http: httpx.AsyncClient,
) -> None:
    body = {"model": "gpt-4o", "messages": USER}
    response = await _post(
        http, "/chat/completions", body, **{"x-mock-fault": "rate_limit; retry_after=2"}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "2000"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


async def test_armed_faults_hit_the_next_requests_to_their_path(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.fail_next(Fault.server_error(503), times=2, path="/responses")
    body = {"model": "gpt-5", "input": "x"}
    chat = await _post(http, "/chat/completions", {"model": "gpt-4o", "messages": USER})
    assert chat.is_success
    first = await _post(http, "/responses", body)
    second = await _post(http, "/responses", body)
    third = await _post(http, "/responses", body)
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert "overloaded" in first.json()["error"]["message"]


async def test_html_fault_serves_a_proxy_page(app: MockOpenAI, http: httpx.AsyncClient) -> None:
    app.fail_next("html")
    response = await http.get("/models")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert b"<html>" in response.content


async def test_bad_fault_header_is_a_clear_400(http: httpx.AsyncClient) -> None:
    response = await http.get("/models", headers={"x-mock-fault": "explode"})
    assert response.status_code == 400
    assert "unknown fault 'explode'" in response.json()["error"]["message"]


def test_fault_header_form_parses_parameters() -> None:
    assert Fault.parse("disconnect; after=3") == Fault.disconnect(after=3)
    assert Fault.parse("rate_limit") == Fault.rate_limit()
    assert Fault.parse("server_error; status=503").status_code == 503
    assert Fault.parse("hang; seconds=0.5").seconds == 0.5
    with pytest.raises(ValueError, match="not a number"):
        Fault.parse("idle; after=soon")
    with pytest.raises(ValueError, match="unknown fault parameter"):
        Fault.parse("idle; color=red")
    with pytest.raises(ValueError, match="name=value"):
        Fault.parse("idle; after")
    with pytest.raises(ValueError, match="'retry_after' is negative"):
        Fault.parse("rate_limit; retry_after=-1")


# -- faults inside a stream (buffered here; the loopback tests show the timing) ----------------


async def test_error_event_ends_a_responses_stream_with_failed(http: httpx.AsyncClient) -> None:
    response = await _post(
        http,
        "/responses",
        {"model": "gpt-5", "input": "x", "stream": True},
        **{"x-mock-fault": "error_event; after=6; code=insufficient_quota"},
    )
    events = frames(response.content)
    assert [f.event for f in events[-2:]] == ["error", "response.failed"]
    error = events[-2].json()
    assert _conforms(error, openapi_spec()["components"]["schemas"]["ResponseErrorEvent"])
    assert error["code"] == error["error"]["code"] == "insufficient_quota"
    assert error["sequence_number"] == 6
    assert events[-1].json()["response"]["status"] == "failed"
    assert len(events) == 8


async def test_error_event_in_chat_is_an_error_payload_without_done(
    http: httpx.AsyncClient,
) -> None:
    response = await _post(
        http,
        "/chat/completions",
        {"model": "gpt-4o", "messages": USER, "stream": True},
        **{"x-mock-fault": "error_event; after=2"},
    )
    events = frames(response.content)
    assert len(events) == 3
    assert events[-1].json()["error"]["type"] == "server_error"


async def test_malformed_fault_truncates_one_event(http: httpx.AsyncClient) -> None:
    response = await _post(
        http,
        "/chat/completions",
        {"model": "gpt-4o", "messages": USER, "stream": True},
        **{"x-mock-fault": "malformed; after=1"},
    )
    events = frames(response.content)
    events[0].json()
    with pytest.raises(json.JSONDecodeError):
        events[1].json()
    assert events[-1].data == "[DONE]"


# -- laws -----------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**31),
    prompt=st.text(min_size=1, max_size=40),
    limit=st.one_of(st.none(), st.integers(min_value=16, max_value=64)),
)
def test_a_stream_aggregates_to_the_non_streamed_answer(
    seed: int, prompt: str, limit: int | None
) -> None:
    app = MockOpenAI(seed=seed, reply_tokens=(1, 80))
    body: dict[str, Any] = {"model": "gpt-5", "input": prompt}
    if limit is not None:
        body["max_output_tokens"] = limit

    async def both() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as http:
            plain = (await http.post("/responses", json=body)).json()
            streamed = await http.post("/responses", json={**body, "stream": True})
        return plain, [f.json() for f in frames(streamed.content)]

    plain, events = anyio.run(both)
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == plain["output"][0]["content"][0]["text"]
    assert events[-1]["response"]["status"] == plain["status"]
    assert events[-1]["response"]["usage"] == plain["usage"]
    produced = plain["usage"]["output_tokens"]
    if plain["status"] == "incomplete":
        assert produced == limit
    else:
        assert produced == count_tokens(text, "gpt-5")
        assert limit is None or produced <= limit
