"""pydantic models where a type is taken, against the mock: structured output, `@tool`
parameters and returns, `item_type` and `APIResponse.parse`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Annotated, Any, Literal

import msgspec
import pydantic
import pytest

from openai_ergo import (
    APIResponseValidationError,
    Client,
    FileUpload,
    InvalidRequestError,
    OutputParseError,
    tool,
)
from openai_ergo.mock import MockServer, Reply, ToolCall
from tests.openai_ergo.resources._structured import WAYS, final_of, mock_client


class City(pydantic.BaseModel):
    name: str
    population: int = pydantic.Field(description="How many people live there")


class Weather(pydantic.BaseModel):
    city: City
    kind: Literal["sun", "rain"]
    note: str | None = None


class Cat(pydantic.BaseModel):
    type: Literal["cat"] = "cat"
    name: str


class Dog(pydantic.BaseModel):
    type: Literal["dog"] = "dog"
    barks: bool


class Pet(pydantic.BaseModel):
    pet: Annotated[Cat | Dog, pydantic.Field(discriminator="type")]


WEATHER = '{"city": {"name": "Paris", "population": 2100000}, "kind": "rain", "note": null}'


@WAYS
async def test_parse_takes_a_model_sends_a_strict_schema_and_validates_the_answer(
    mock_openai: MockServer, streamed: bool
) -> None:
    mock_openai.reply_with(WEATHER, WEATHER)
    async with mock_client(mock_openai) as client:
        responses = client.responses("gpt-5").input("Weather?").parse(Weather)
        chat = client.chat("gpt-4o").user("Weather?").parse(Weather)
        from_responses = await final_of(responses, streamed=streamed)
        from_chat = await final_of(chat, streamed=streamed)
    expected = Weather(city=City(name="Paris", population=2100000), kind="rain")
    assert from_responses.parsed == expected
    assert from_chat.parsed == expected
    assert from_responses.text == WEATHER
    sent = mock_openai.requests[0].json["text"]["format"]
    assert sent["name"] == "Weather"
    assert sent["strict"] is True
    schema = sent["schema"]
    assert "title" not in schema
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["city", "kind", "note"]
    city = schema["$defs"]["City"]
    assert city["additionalProperties"] is False
    assert city["required"] == ["name", "population"]
    assert city["properties"]["population"]["description"] == "How many people live there"
    assert "default" not in msgspec.json.encode(schema).decode()
    chat_format = mock_openai.requests[1].json["response_format"]["json_schema"]
    assert chat_format["schema"] == schema


@WAYS
async def test_a_discriminated_union_goes_out_as_any_of_and_comes_back_typed(
    mock_openai: MockServer, streamed: bool
) -> None:
    mock_openai.reply_with('{"pet": {"type": "dog", "barks": true}}')
    async with mock_client(mock_openai) as client:
        parsed = await final_of(
            client.responses("gpt-5").input("Pet?").parse(Pet), streamed=streamed
        )
    assert parsed.parsed == Pet(pet=Dog(barks=True))
    sent = mock_openai.requests[0].json["text"]["format"]
    text = msgspec.json.encode(sent).decode()
    assert "oneOf" not in text
    assert "discriminator" not in text
    assert len(sent["schema"]["properties"]["pet"]["anyOf"]) == 2


@WAYS
async def test_an_answer_the_model_refuses_raises_output_parse_error_with_the_text(
    mock_openai: MockServer, streamed: bool
) -> None:
    wrong = '{"city": {"name": "Paris", "population": "many"}, "kind": "snow", "note": null}'
    mock_openai.reply_with(wrong)
    async with mock_client(mock_openai) as client:
        request = client.chat("gpt-4o").user("Weather?").parse(Weather)
        with pytest.raises(OutputParseError) as caught:
            await final_of(request, streamed=streamed)
    assert caught.value.text == wrong
    message = str(caught.value)
    assert "not a valid Weather" in message
    assert "city.population" in message
    assert "kind" in message
    assert "errors.pydantic.dev" not in message


async def test_text_that_is_not_json_raises_output_parse_error(mock_openai: MockServer) -> None:
    mock_openai.reply_with("It rains.")
    async with mock_client(mock_openai) as client:
        with pytest.raises(OutputParseError) as caught:
            await client.responses("gpt-5").input("Weather?").parse(Weather)
    assert caught.value.text == "It rains."


def test_a_model_strict_mode_cannot_take_is_refused_naming_where_or_sent_non_strict() -> None:
    class Tally(pydantic.BaseModel):
        counts: dict[str, int]

    client = Client(api_key="sk-test", base_url="http://127.0.0.1:9")
    builder = client.responses("gpt-5").input("Count")
    with pytest.raises(InvalidRequestError, match=r"\$\.counts is a free-form mapping"):
        builder.parse(Tally)
    loose = builder.parse(Tally, strict=False)
    assert loose.output.strict is False
    with pytest.raises(InvalidRequestError, match="must be an object type"):
        builder.parse(pydantic.RootModel[list[int]])


# -- tools ------------------------------------------------------------------------------------


@tool
def forecast(city: City, days: int = 3, json: bool = False) -> Weather:
    """The weather to come.

    Args:
        city: Where.
        days: How far ahead.
        json: A parameter named as a BaseModel method.
    """
    return Weather(city=city, kind="sun" if days < 5 else "rain", note=f"json={json}")


def test_a_tool_with_model_parameters_describes_them_strictly() -> None:
    assert forecast.strict is True
    schema = forecast.parameters
    assert schema["required"] == ["city", "days", "json"]
    assert schema["additionalProperties"] is False
    # Strict mode takes no keyword beside `$ref`: the described model is written out in place.
    city = schema["properties"]["city"]
    assert city["description"] == "Where."
    assert "$ref" not in city
    assert city["required"] == ["name", "population"]
    days = schema["properties"]["days"]
    assert days["description"] == "How far ahead."
    assert {"type": "null"} in days["anyOf"]
    assert schema["$defs"]["City"]["required"] == ["name", "population"]


def test_a_list_of_models_is_a_tool_parameter_too() -> None:
    @tool
    def compare(cities: list[City], by: Literal["name", "population"] = "population") -> str:
        """Compare cities."""
        return ",".join(city.name for city in cities)

    assert compare.strict is True
    assert compare.parameters["properties"]["cities"]["type"] == "array"
    values = compare.decode_arguments(
        '{"cities": [{"name": "A", "population": 1}, {"name": "B", "population": 2}], "by": null}'
    )
    assert values == {
        "cities": [City(name="A", population=1), City(name="B", population=2)],
        "by": "population",
    }


def test_tool_arguments_become_model_instances_and_null_the_default() -> None:
    values = forecast.decode_arguments(
        '{"city": {"name": "Oslo", "population": 700000}, "days": null, "json": true}'
    )
    assert values == {"city": City(name="Oslo", population=700000), "days": 3, "json": True}
    from openai_ergo.resources import ToolArgumentsError

    with pytest.raises(ToolArgumentsError, match="invalid arguments for forecast") as caught:
        forecast.decode_arguments('{"city": {"name": "Oslo"}, "days": 1, "json": false}')
    assert "population" in str(caught.value)


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
@WAYS
async def test_the_tool_loop_runs_a_model_typed_tool_and_sends_its_model_back(
    mock_openai: MockServer, endpoint: str, streamed: bool
) -> None:
    arguments = {"city": {"name": "Oslo", "population": 700000}, "days": 7, "json": None}
    mock_openai.reply_with(
        Reply(tool_calls=(ToolCall(name="forecast", arguments=arguments),)), "Rain in Oslo."
    )
    async with mock_client(mock_openai) as client:
        if endpoint == "responses":
            builder: Any = client.responses("gpt-5").input("Oslo?")
        else:
            builder = client.chat("gpt-4o").user("Oslo?")
        run = builder.tools(forecast).run()
        if streamed:
            async with run.stream() as stream:
                async for _ in stream:
                    pass
            steps = stream.steps
        else:
            await run
            steps = run.steps
    (record,) = steps[0].calls
    assert record.error is None
    assert msgspec.json.decode(record.output) == {
        "city": {"name": "Oslo", "population": 700000},
        "kind": "rain",
        "note": "json=False",
    }
    second = mock_openai.requests[1].json
    outputs = second["input"] if endpoint == "responses" else second["messages"]
    assert any(record.output == item.get("output", item.get("content")) for item in outputs)


class Opaque:
    """A type neither pydantic nor JSON Schema knows."""


def test_a_model_with_no_json_schema_is_refused_by_parse() -> None:
    class Handle(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
        thing: Opaque

    client = Client(api_key="sk-test", base_url="http://127.0.0.1:9")
    with pytest.raises(InvalidRequestError, match="cannot write a JSON Schema for"):
        client.chat("gpt-4o").user("Go").parse(Handle)


def test_a_tool_parameter_pydantic_cannot_describe_is_a_typed_error() -> None:
    def broken(city: City, thing: Opaque) -> str:
        return "never"

    with pytest.raises(InvalidRequestError, match="tool broken: cannot describe its parameters"):
        tool(broken)


# -- item_type and APIResponse.parse ----------------------------------------------------------


class StoredFile(pydantic.BaseModel):
    id: str
    filename: str
    bytes: int


async def test_paginate_yields_models_across_pages(mock_openai: MockServer) -> None:
    async with mock_client(mock_openai) as client:
        for index in range(3):
            await client.files.create(
                file=FileUpload(b"{}\n", filename=f"f{index}.jsonl"), purpose="batch"
            )
        files = [
            item
            async for item in client.paginate(
                "/files", query={"limit": 2, "order": "asc"}, item_type=StoredFile
            )
        ]
        pages = [
            page
            async for page in client.paginate(
                "/files", query={"limit": 2}, item_type=StoredFile
            ).pages()
        ]
    assert [type(item) for item in files] == [StoredFile] * 3
    assert [item.filename for item in files] == ["f0.jsonl", "f1.jsonl", "f2.jsonl"]
    assert [len(page.items) for page in pages] == [2, 1]


async def test_an_item_its_model_refuses_raises_a_typed_error_naming_the_model(
    mock_openai: MockServer,
) -> None:
    class Strict(pydantic.BaseModel):
        id: int

    async with mock_client(mock_openai) as client:
        await client.files.create(file=FileUpload(b"{}\n", filename="a.jsonl"), purpose="batch")
        with pytest.raises(APIResponseValidationError, match="not a valid page of Strict"):
            async for _ in client.paginate("/files", item_type=Strict):
                pass


async def test_api_response_parse_takes_a_model(mock_openai: MockServer) -> None:
    async with mock_client(mock_openai) as client:
        created = await client.files.create(
            file=FileUpload(b"{}\n", filename="a.jsonl"), purpose="batch"
        )
        response = await client.request("GET", f"/files/{created.id}")
        stored = response.parse(StoredFile)
        assert stored == StoredFile(id=str(created.id), filename="a.jsonl", bytes=3)
        with pytest.raises(APIResponseValidationError, match="not a valid City"):
            response.parse(City)


def test_pydantic_is_never_imported_unless_a_model_is_passed() -> None:
    program = textwrap.dedent(
        """
        import sys
        import msgspec
        from openai_ergo import Client, tool
        from openai_ergo.resources._structured import OutputFormat

        class Answer(msgspec.Struct):
            text: str

        @tool
        def echo(text: str) -> Answer:
            return Answer(text)

        OutputFormat(Answer).decode('{"text": "hi"}', None)
        echo.decode_arguments('{"text": "hi"}')
        assert "pydantic" not in sys.modules, "pydantic was imported"
        """
    )
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    subprocess.run([sys.executable, "-c", program], check=True, env=env, timeout=120)
