"""What a new user meets without scripting the mock: any model name, stored prompts, structured
output that parses, tool calls under a documented rule, tool loops that end, accepted keys, and
OpenAI's 404/405 for routes the mock does not have. The client and the official SDK both judge.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

import httpx
import msgspec
import openai
import pydantic
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client
from openai_ergo.mock import MockOpenAI, MockServer

USER = [{"role": "user", "content": "Say something nice."}]


@pytest.fixture
def app() -> MockOpenAI:
    return MockOpenAI(seed=3)


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False)


# -- models -------------------------------------------------------------------------------------

ANY_NAMES = ["gpt-6-astra", "ft:gpt-4o-mini-2024-07-18:acme::9xYz1234", "my-azure-deployment"]


@pytest.mark.parametrize("model", ANY_NAMES)
async def test_any_model_name_is_served_by_default(http: httpx.AsyncClient, model: str) -> None:
    chat = await http.post("/chat/completions", json={"model": model, "messages": USER})
    assert chat.status_code == 200
    assert chat.json()["model"] == model
    response = await http.post("/responses", json={"model": model, "input": "Hi"})
    assert response.status_code == 200
    assert response.json()["model"] == model
    embedded = await http.post("/embeddings", json={"model": model, "input": "Hi"})
    assert embedded.status_code == 200
    assert (await http.get(f"/models/{model}")).json()["id"] == model


async def test_a_strict_catalog_refuses_models_outside_it(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.strict_models = True
    chat = await http.post("/chat/completions", json={"model": "gpt-6-astra", "messages": USER})
    assert chat.status_code == 404
    assert chat.json()["error"]["code"] == "model_not_found"
    assert (await http.get("/models/gpt-6-astra")).status_code == 404


async def test_a_created_fine_tuned_model_is_listed_and_can_be_deleted(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    tuned = "ft:gpt-4o-mini-2024-07-18:acme::abc123"
    app.add_model(tuned)
    catalog = {m["id"]: m for m in (await http.get("/models")).json()["data"]}
    listed = list(catalog)
    assert listed[-1] == tuned
    assert catalog[tuned]["owned_by"] == "acme"  # the organization in the fine-tuned id
    assert {"gpt-5", "gpt-4o-mini", "text-embedding-3-small", "whisper-1", "dall-e-3"} <= set(
        listed
    )
    assert catalog["whisper-1"]["owned_by"] == "openai-internal"
    assert catalog["gpt-4o"]["created"] < catalog["gpt-5"]["created"]
    deleted = await http.delete(f"/models/{tuned}")
    assert deleted.json() == {"id": tuned, "object": "model", "deleted": True}
    assert tuned not in [m["id"] for m in (await http.get("/models")).json()["data"]]
    again = await http.delete(f"/models/{tuned}")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "model_not_found"
    assert (await http.get(f"/models/{tuned}")).status_code == 404
    base = await http.delete("/models/gpt-4o")
    assert base.status_code == 403
    assert "gpt-4o" in base.json()["error"]["message"]


async def test_the_sdk_lists_and_deletes_a_fine_tuned_model(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    tuned = "ft:gpt-4o-mini-2024-07-18:acme::sdk1"
    mock_openai.app.add_model(tuned)
    assert tuned in [m.id async for m in sdk.models.list()]
    deleted = await sdk.models.delete(tuned)
    assert deleted.deleted is True
    assert deleted.id == tuned
    with pytest.raises(openai.NotFoundError):
        await sdk.models.delete(tuned)
    reply = await sdk.chat.completions.create(model="gpt-6-astra", messages=USER)  # type: ignore[arg-type]
    assert reply.model == "gpt-6-astra"


async def test_a_stored_prompt_stands_in_for_the_model(sdk: AsyncOpenAI) -> None:
    response = await sdk.responses.create(prompt={"id": "pmpt_123", "version": "2"})
    assert response.status == "completed"
    assert response.output_text


async def test_without_model_or_prompt_responses_still_wants_a_model(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post("/responses", json={"input": "Hi"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "model"


# -- structured output --------------------------------------------------------------------------


class Mood(enum.Enum):
    CALM = "calm"
    CROSS = "cross"


class Place(msgspec.Struct):
    city: str
    population: int


class Report(msgspec.Struct):
    title: str
    mood: Mood
    score: float
    tags: list[str]
    place: Place
    stops: list[Place]
    note: str | None
    kind: Literal["short", "long"]


async def test_chat_and_responses_parse_a_struct_unscripted(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        chat = await client.chat("gpt-4o").user("Report on Paris").parse(Report)
        response = await client.responses("gpt-5").input("Report on Paris").parse(Report)
        async with client.chat("gpt-4o").user("Report on Paris").stream() as stream:
            prose = "".join([text async for text in stream.text()])
    for parsed in (chat.parsed, response.parsed):
        assert isinstance(parsed, Report)
        assert parsed.kind in ("short", "long")
        assert isinstance(parsed.place, Place)
        assert parsed.stops
        assert isinstance(parsed.stops[0], Place)
        assert parsed.note is not None  # a nullable field still gets a real value
    # Without a format, the reply stays prose.
    assert prose
    assert not prose.startswith("{")


async def test_a_cut_structured_reply_is_cut_json(http: httpx.AsyncClient) -> None:
    schema = msgspec.json.schema(Place)
    body = {
        "model": "gpt-4o",
        "messages": USER,
        "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
    }
    whole = (await http.post("/chat/completions", json=body)).json()["choices"][0]
    cut = (await http.post("/chat/completions", json=body | {"max_completion_tokens": 2})).json()[
        "choices"
    ][0]
    assert whole["finish_reason"] == "stop"
    assert cut["finish_reason"] == "length"
    assert whole["message"]["content"].startswith(cut["message"]["content"])
    assert cut["message"]["content"] != whole["message"]["content"]


class Bounded(pydantic.BaseModel):
    count: int = pydantic.Field(ge=5, le=9)
    ratio: float = pydantic.Field(gt=0, lt=1)
    name: str = pydantic.Field(min_length=12)
    items: list[int] = pydantic.Field(min_length=3)


class Wrapper(pydantic.BaseModel):
    inner: Bounded
    maybe: Bounded | None


async def test_the_sdk_parse_helpers_validate_the_default_reply(sdk: AsyncOpenAI) -> None:
    chat = await sdk.chat.completions.parse(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Fill it in"}],
        response_format=Wrapper,
    )
    parsed = chat.choices[0].message.parsed
    assert isinstance(parsed, Wrapper)
    assert 5 <= parsed.inner.count <= 9
    response = await sdk.responses.parse(model="gpt-5", input="Fill it in", text_format=Wrapper)
    assert isinstance(response.output_parsed, Wrapper)
    assert len(response.output_parsed.inner.items) >= 3


async def test_json_object_mode_answers_a_json_object(http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4o", "messages": USER, "response_format": {"type": "json_object"}}
    content = (await http.post("/chat/completions", json=body)).json()["choices"][0]
    assert isinstance(msgspec.json.decode(content["message"]["content"]), dict)


# -- tools under tool_choice "auto" ---------------------------------------------------------------

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
            "required": ["city", "days"],
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


def _says(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


async def _calls(http: httpx.AsyncClient, messages: list[dict[str, Any]], **extra: Any) -> Any:
    body = {"model": "gpt-4o", "messages": messages, "tools": [WEATHER, TIME], **extra}
    return (await http.post("/chat/completions", json=body)).json()["choices"][0]


async def test_auto_calls_the_tools_the_last_user_message_names(http: httpx.AsyncClient) -> None:
    named = await _calls(http, _says("Use get_weather for Paris, then get_time."))
    assert named["finish_reason"] == "tool_calls"
    calls = named["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    arguments = msgspec.json.decode(calls[0]["function"]["arguments"])
    assert set(arguments) == {"city", "days"}
    assert isinstance(arguments["city"], str)
    assert arguments["days"] >= 1
    single = await _calls(http, _says("get_weather and get_time"), parallel_tool_calls=False)
    assert [c["function"]["name"] for c in single["message"]["tool_calls"]] == ["get_weather"]
    # A name inside another word is not a mention; nor is any tool when the choice is "none".
    prose = await _calls(http, _says("What is the weather like? get_weathers"))
    assert prose["finish_reason"] == "stop"
    off = await _calls(http, _says("get_weather please"), tool_choice="none")
    assert off["finish_reason"] == "stop"


async def test_after_a_tool_result_auto_answers_in_text(http: httpx.AsyncClient) -> None:
    first = await _calls(http, _says("get_time please"))
    call = first["message"]["tool_calls"][0]
    history = [
        *_says("get_time please"),
        first["message"],
        {"role": "tool", "tool_call_id": call["id"], "content": "noon"},
    ]
    second = await _calls(http, history)
    assert second["finish_reason"] == "stop"
    assert second["message"]["content"]


async def test_responses_name_rule_and_function_call_output(http: httpx.AsyncClient) -> None:
    tool_def = {"type": "function", "name": "get_time", "parameters": {"type": "object"}}
    body = {"model": "gpt-5", "input": "Call get_time now", "tools": [tool_def]}
    first = (await http.post("/responses", json=body)).json()
    assert [item["type"] for item in first["output"]] == ["function_call"]
    output = {"type": "function_call_output", "call_id": first["output"][0]["call_id"]}
    follow = {
        "model": "gpt-5",
        "previous_response_id": first["id"],
        "input": [output | {"output": "noon"}],
        "tools": [tool_def],
    }
    second = (await http.post("/responses", json=follow)).json()
    assert [item["type"] for item in second["output"]] == ["message"]


# -- keys and routes ----------------------------------------------------------------------------


async def test_only_the_accepted_api_keys_pass(mock_openai: MockServer) -> None:
    mock_openai.app.api_keys = frozenset({"sk-good"})
    async with AsyncOpenAI(api_key="sk-good", base_url=mock_openai.url, max_retries=0) as good:
        assert (await good.models.retrieve("gpt-4o")).id == "gpt-4o"
    async with AsyncOpenAI(
        api_key="sk-wrong-secret-1234", base_url=mock_openai.url, max_retries=0
    ) as bad:
        with pytest.raises(openai.AuthenticationError) as refused:
            await bad.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_api_key"
    assert "1234" not in refused.value.message
    assert "sk-wrong" not in refused.value.message


async def test_an_azure_style_api_key_header_counts(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.api_keys = frozenset({"azure-key"})
    assert (await http.get("/models", headers={"api-key": "azure-key"})).status_code == 200
    missing = await http.get("/models")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] is None


async def test_unknown_routes_404_and_wrong_methods_405(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/nowhere/at/all")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Invalid URL (GET /v1/nowhere/at/all)"
    wrong = await http.get("/embeddings")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == {
        "message": "Invalid method for URL (GET /v1/embeddings)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    put = await http.put("/models/gpt-4o", json={})
    assert put.status_code == 405
