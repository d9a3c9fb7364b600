"""The mock answers Azure OpenAI's paths: a deployment's routes, the dated API's resource routes
and the v1 API's, each as the OpenAI route it stands for, so `Client.azure()` runs against it."""

from __future__ import annotations

import httpx
import pytest

from openai_ergo import Client, NotFoundError
from openai_ergo.mock import MockOpenAI

KEY = "azure-key-0123"
DATED = "2024-10-21"


@pytest.fixture
def app() -> MockOpenAI:
    return MockOpenAI(seed=3, api_keys={KEY})


def _seen(app: MockOpenAI) -> list[tuple[str, str]]:
    return [(r.path, r.query) for r in app.requests]


async def test_the_dated_api_routes_to_deployments_and_the_resource(app: MockOpenAI) -> None:
    transport = httpx.ASGITransport(app=app)
    client = Client.azure("http://mock", api_key=KEY, api_version=DATED, transport=transport)
    async with client:
        chat = await client.chat("my-chat").user("Hi")
        vectors = await client.embeddings.create(model="my-embedder", input="Hi")
        reply = await client.responses("my-gpt5").input("Hi")
        models = [m.id async for m in client.models.list()]
        with pytest.raises(NotFoundError):
            await client.request("POST", "/openai/deployments/only-a-name", body={})
    assert chat.model == "my-chat"
    assert chat.text
    assert vectors.data is not None
    assert len(vectors.data[0].embedding or []) > 0
    assert reply.model == "my-gpt5"
    assert reply.output_text
    assert "gpt-4o" in models
    version = f"api-version={DATED}"
    assert _seen(app)[:4] == [
        ("/openai/deployments/my-chat/chat/completions", version),
        ("/openai/deployments/my-embedder/embeddings", version),
        ("/openai/responses", version),
        ("/openai/models", version),
    ]


async def test_the_v1_api_routes_by_the_body_model(app: MockOpenAI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with Client.azure("http://mock/openai/v1", api_key=KEY, transport=transport) as client:
        chat = await client.chat("my-chat").user("Hi")
        stored = await client.files.create(file=b"hello", purpose="assistants")
        again = await client.files.retrieve(stored.id or "")
    assert chat.model == "my-chat"
    assert again.bytes == 5
    assert [path for path, _ in _seen(app)] == [
        "/openai/v1/chat/completions",
        "/openai/v1/files",
        f"/openai/v1/files/{stored.id}",
    ]
    app.reset()
