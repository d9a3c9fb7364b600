"""Azure OpenAI URL shapes: the dated API per deployment, and the version-less v1 API."""

from __future__ import annotations

import pytest

from openai_ergo import Client, ConfigurationError
from tests.openai_ergo.pipeline.scripted import scripted_server

KEY = "azure-key-0123456789"
DATED = "2024-10-21"

# Azure routes these per deployment in the dated API: {endpoint}/openai/deployments/{model}...
DEPLOYMENT_ROUTES = [
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/audio/transcriptions",
    "/audio/translations",
    "/audio/speech",
    "/images/generations",
    "/images/edits",
]
# ...and these per resource: {endpoint}/openai{path}.
RESOURCE_ROUTES = [
    ("POST", "/responses"),
    ("GET", "/responses/resp_123"),
    ("GET", "/responses/resp_123/input_items"),
    ("GET", "/models"),
    ("GET", "/models/gpt-4o"),
    ("POST", "/files"),
    ("GET", "/files/file-abc123/content"),
    ("POST", "/uploads"),
    ("POST", "/batches"),
    ("POST", "/batches/batch_123/cancel"),
    ("POST", "/fine_tuning/jobs"),
    ("POST", "/vector_stores"),
    ("GET", "/vector_stores/vs_123/files"),
]


@pytest.mark.parametrize("v1", [False, True], ids=["dated", "v1"])
async def test_url_shapes_of_every_deployment_and_resource_route(
    v1: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A dated OPENAI_API_VERSION, set for the classic API: it must not leak into v1 URLs.
    monkeypatch.setenv("OPENAI_API_VERSION", DATED)
    async with scripted_server() as server:
        endpoint = server.url.removesuffix("/v1")
        async with Client.azure(endpoint, api_key=KEY, v1=v1) as client:
            for path in DEPLOYMENT_ROUTES:
                await client.request("POST", path, body={"model": "my-deployment"})
            for method, path in RESOURCE_ROUTES:
                body = {"model": "my-deployment"} if method == "POST" else None
                await client.request(method, path, body=body)
    resources = [path for _, path in RESOURCE_ROUTES]
    if v1:
        expected = [f"/openai/v1{path}" for path in DEPLOYMENT_ROUTES + resources]
    else:
        query = f"?api-version={DATED}"
        expected = [f"/openai/deployments/my-deployment{p}{query}" for p in DEPLOYMENT_ROUTES]
        expected += [f"/openai{path}{query}" for path in resources]
    assert [r.target for r in server.requests] == expected
    assert {r.headers["api-key"] for r in server.requests} == {KEY}
    # The deployment travels as the body's model, unchanged, in both modes.
    assert server.requests[0].json() == {"model": "my-deployment"}


async def test_the_v1_api_sends_a_version_passed_explicitly() -> None:
    async with scripted_server() as server:
        endpoint = server.url.removesuffix("/v1")
        async with Client.azure(endpoint, api_key=KEY, v1=True, api_version="preview") as client:
            await client.request("POST", "/responses", body={"model": "dep", "input": "x"})
            await client.request("GET", "/models", query={"limit": 2})
    assert [r.target for r in server.requests] == [
        "/openai/v1/responses?api-version=preview",
        "/openai/v1/models?api-version=preview&limit=2",
    ]


@pytest.mark.parametrize("suffix", ["/openai/v1", "/openai/v1/"])
async def test_an_endpoint_ending_in_openai_v1_means_the_v1_api_without_doubling_it(
    suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The base URL Azure's own docs show for the v1 API.
    monkeypatch.setenv("OPENAI_API_VERSION", DATED)
    async with scripted_server() as server:
        endpoint = server.url.removesuffix("/v1") + suffix
        async with Client.azure(endpoint, api_key=KEY) as client:
            await client.request("GET", "/models")
            await client.request("POST", "/chat/completions", body={"model": "dep"})
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
        async with Client.azure() as client:
            await client.request("GET", "/models")
        assert client.base_url == server.url.removesuffix("/v1")
    assert [r.target for r in server.requests] == [
        "/openai/v1/models",
        "/openai/v1/chat/completions",
        "/openai/v1/models",
    ]


async def test_an_endpoint_ending_in_openai_is_the_dated_api() -> None:
    async with scripted_server() as server:
        endpoint = server.url.removesuffix("/v1") + "/openai/"
        async with Client.azure(endpoint, api_key=KEY, api_version=DATED) as client:
            await client.request("GET", "/models")
    assert server.requests[0].target == f"/openai/models?api-version={DATED}"


async def test_a_v1_endpoint_with_v1_false_is_a_contradiction_named() -> None:
    with pytest.raises(ConfigurationError, match=r"^endpoint ends in /openai/v1.*v1=False"):
        Client.azure("https://r.openai.azure.com/openai/v1/", api_key=KEY, v1=False)
