"""Arguments written as the official SDK's users write them, plain dicts and lists, type-check
and run; wrong ones do not type-check and are refused before anything is sent.

mypy --strict checks this file (`make typecheck`): each call the type checker must refuse
carries a `# type: ignore[code]`, which strict mode reports as unused if the call type-checked,
so this file fails to type-check the day a wrong call is let through. The same calls run
against the mock server under asyncio and trio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from openai_ergo import Client, InvalidRequestError
from openai_ergo.mock import MockServer
from openai_ergo.types import (
    ChatCompletion,
    ChatCompletionRequestMessageParam,
    ChatCompletionToolParam,
    FunctionToolDict,
    Response,
)


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        yield client


def _sent(server: MockServer) -> dict[str, Any]:
    body = server.requests[-1].body
    assert isinstance(body, dict)
    return body


WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


async def test_responses_create_takes_input_and_tools_as_dicts(
    client: Client, mock_openai: MockServer
) -> None:
    response = await client.responses.create(
        model="gpt-5",
        input=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        ],
        tools=[
            {
                "type": "function",
                "name": "get_weather",
                "parameters": WEATHER_PARAMETERS,
                "strict": True,
            }
        ],
        reasoning={"effort": "low"},
        text={"format": {"type": "text"}},
    )
    assert isinstance(response, Response)
    sent = _sent(mock_openai)
    assert [item["role"] for item in sent["input"]] == ["developer", "user"]
    assert sent["input"][1]["content"] == [{"type": "input_text", "text": "hi"}]
    assert sent["tools"][0]["name"] == "get_weather"
    assert sent["tools"][0]["parameters"] == WEATHER_PARAMETERS
    assert sent["reasoning"] == {"effort": "low"}


async def test_chat_completions_create_takes_messages_tools_and_options_as_dicts(
    client: Client, mock_openai: MockServer
) -> None:
    messages: list[ChatCompletionRequestMessageParam] = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "hi"},
    ]
    tool: ChatCompletionToolParam = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": WEATHER_PARAMETERS},
    }
    completion = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,
        tools=[tool],
        response_format={"type": "text"},
    )
    assert isinstance(completion, ChatCompletion)
    sent = _sent(mock_openai)
    assert sent["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "hi"},
    ]
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    final = await stream.until_done()
    assert final.usage is not None
    assert _sent(mock_openai)["stream_options"] == {"include_usage": True}


async def test_files_create_takes_a_nested_object_as_a_dict(
    client: Client, mock_openai: MockServer
) -> None:
    uploaded = await client.files.create(
        file=b"hello",
        purpose="assistants",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert uploaded.id
    assert uploaded.expires_at is not None


async def test_a_typed_dict_annotated_by_the_user_is_accepted(client: Client) -> None:
    # `FunctionToolParam` is a schema of the spec already: the dict form ends in `Dict`.
    tool: FunctionToolDict = {
        "type": "function",
        "name": "lookup",
        "parameters": {},
        "strict": False,
    }
    response = await client.responses.create(model="gpt-5", input="hi", tools=[tool])
    assert isinstance(response, Response)


# -- wrong arguments: refused by the type checker, and at run time before sending ---------------


async def test_a_value_of_the_wrong_type_in_a_dict_does_not_type_check(
    client: Client, mock_openai: MockServer
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": 42}],  # type: ignore[list-item]
        )
    assert caught.value.param == "messages"
    assert mock_openai.requests == []


def test_a_misspelt_key_does_not_type_check() -> None:
    # Only the type checker is asked: at run time the tolerant Struct ignores a key it does not
    # know, as it does in the server's answers.
    tool: FunctionToolDict = {
        "type": "function",
        "name": "lookup",
        "parameters": {},
        "strict": True,
        "descripton": "misspelt",  # type: ignore[typeddict-unknown-key]
    }
    assert tool["name"] == "lookup"


async def test_a_missing_required_key_does_not_type_check(
    client: Client, mock_openai: MockServer
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await client.files.create(
            file=b"hello",
            purpose="assistants",
            expires_after={"anchor": "created_at"},  # type: ignore[arg-type]
        )
    assert caught.value.param == "expires_after"
    assert mock_openai.requests == []


def test_a_wrong_tag_does_not_type_check() -> None:
    # Only the type checker is asked: a tool of a kind the API does not have.
    tool: ChatCompletionToolParam = {
        "type": "teleport",  # type: ignore[typeddict-item]
        "function": {"name": "f"},
    }
    assert tool["function"]["name"] == "f"
