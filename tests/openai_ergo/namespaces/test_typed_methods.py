"""The typed tier against the mock server over loopback: namespaces named as the SDK names them,
typed results, the raw response beside them, lists as paginators, bad input refused before
anything is sent, unknown names answered with the closest ones."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from openai_ergo import Client, InvalidRequestError
from openai_ergo.mock import MockServer
from openai_ergo.resources import ChatBuilder, ResponsesBuilder
from openai_ergo.types import (
    ChatCompletion,
    ChatCompletionRequestUserMessage,
    CreateEmbeddingResponse,
    CreateModerationResponse,
    Model,
    Response,
)


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        yield client


async def test_models_list_is_a_paginator_of_typed_models(client: Client) -> None:
    models = [model async for model in client.models.list()]
    assert models
    assert all(isinstance(m, Model) for m in models)
    first = await client.models.retrieve(models[0].id or "")
    assert isinstance(first, Model)
    assert first.id == models[0].id


async def test_embeddings_create_sends_the_keyword_arguments_as_the_body(
    client: Client, mock_openai: MockServer
) -> None:
    result = await client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], extra_body={"user": "u1"}
    )
    assert isinstance(result, CreateEmbeddingResponse)
    assert result.data is not None
    assert len(result.data) == 2
    body = mock_openai.requests[-1].body
    assert body == {"model": "text-embedding-3-small", "input": ["a", "b"], "user": "u1"}


async def test_moderations_create(client: Client) -> None:
    result = await client.moderations.create(input="hello")
    assert isinstance(result, CreateModerationResponse)
    assert result.results


async def test_chat_completions_create_beside_the_chat_builder(client: Client) -> None:
    completion = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[ChatCompletionRequestUserMessage(content="Hi")]
    )
    assert isinstance(completion, ChatCompletion)
    assert completion.text
    assert isinstance(client.chat("gpt-4o-mini"), ChatBuilder)


async def test_responses_create_and_retrieve_beside_the_responses_builder(
    client: Client, mock_openai: MockServer
) -> None:
    response = await client.responses.create(model="gpt-5", input="Hi", store=True)
    assert isinstance(response, Response)
    assert response.output_text
    assert isinstance(client.responses("gpt-5"), ResponsesBuilder)
    request = mock_openai.requests[-1]
    assert request.body == {"model": "gpt-5", "input": "Hi", "store": True}


async def test_with_raw_response_gives_the_headers_and_parses_to_the_typed_object(
    client: Client,
) -> None:
    raw = await client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="a"
    )
    assert raw.status_code == 200
    assert raw.request_id == raw.headers.get("x-request-id")
    assert isinstance(raw.parse(), CreateEmbeddingResponse)


async def test_extra_headers_and_query_are_sent(client: Client, mock_openai: MockServer) -> None:
    await client.moderations.create(
        input="x", extra_headers={"X-Trace": "t1"}, extra_query={"probe": "1"}
    )
    request = mock_openai.requests[-1]
    assert request.headers["x-trace"] == "t1"
    assert request.query == "probe=1"


async def test_a_missing_required_parameter_is_refused_before_sending(
    client: Client, mock_openai: MockServer
) -> None:
    with pytest.raises(InvalidRequestError, match="'model'") as caught:
        await client.embeddings.create(input="a")  # type: ignore[call-arg]
    assert caught.value.param == "model"
    assert mock_openai.requests == []


async def test_a_value_of_the_wrong_type_is_refused_naming_the_parameter(
    client: Client, mock_openai: MockServer
) -> None:
    with pytest.raises(InvalidRequestError, match="'dimensions'") as caught:
        await client.embeddings.create(model="m", input="a", dimensions="big")  # type: ignore[arg-type]
    assert caught.value.param == "dimensions"
    with pytest.raises(InvalidRequestError, match="'model'") as by_path:
        await client.models.delete(3)  # type: ignore[arg-type]
    assert by_path.value.param == "model"
    assert mock_openai.requests == []


async def test_an_unknown_namespace_or_method_names_the_closest_matches(client: Client) -> None:
    with pytest.raises(AttributeError, match="'files'"):
        client.file  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError, match="'retrieve'"):
        client.files.retreive  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError, match="'files'"):
        client.vector_stores.file  # type: ignore[attr-defined]  # noqa: B018


async def test_list_methods_take_headers_and_options_on_every_page(
    client: Client, mock_openai: MockServer
) -> None:
    models = [m async for m in client.models.list(extra_headers={"X-Trace": "p"})]
    assert models
    assert all(r.headers["x-trace"] == "p" for r in mock_openai.requests)
