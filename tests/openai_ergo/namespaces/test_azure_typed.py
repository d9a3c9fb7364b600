"""Azure deployment routing through the typed methods: a method whose body names a `model` goes
to that deployment (dated API), resource-scoped ones to the resource, with the api-version."""

from __future__ import annotations

import json

import httpx

from openai_ergo import Client
from openai_ergo.types import ChatCompletionRequestUserMessage

DATED = "2024-10-21"
ENDPOINT = "https://example-resource.openai.azure.com"


async def test_typed_methods_keep_azure_deployment_routing() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": [{"id": "gpt-4o"}]})
        return httpx.Response(200, json={"object": "list", "data": []})

    transport = httpx.MockTransport(answer)
    client = Client.azure(
        ENDPOINT, api_key="azure-key-0123", api_version=DATED, transport=transport
    )
    async with client:
        await client.embeddings.create(model="my-embedder", input="hi")
        await client.chat.completions.create(
            model="my-chat", messages=[ChatCompletionRequestUserMessage(content="Hi")]
        )
        models = [m.id async for m in client.models.list()]
    assert models == ["gpt-4o"]
    urls = [(r.url.path, r.url.params.get("api-version")) for r in seen]
    assert urls == [
        ("/openai/deployments/my-embedder/embeddings", DATED),
        ("/openai/deployments/my-chat/chat/completions", DATED),
        ("/openai/models", DATED),
    ]
    assert all(r.headers["api-key"] == "azure-key-0123" for r in seen)
    assert json.loads(seen[0].content) == {"model": "my-embedder", "input": "hi"}
