"""Configuration: environment, Azure URL shapes, derived clients, and no secret in any repr."""

from __future__ import annotations

import sys

import httpx
import pytest

from openai_ergo import Client, ConfigurationError, KeyPool, RequestOptions, TokenProvider
from tests.openai_ergo.pipeline.scripted import Reply, scripted_server

SECRET = "sk-test-SECRET"


@pytest.mark.parametrize("around", ["", " \t\r\n"], ids=["as set", "with whitespace around"])
async def test_settings_come_from_the_environment(
    around: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whitespace around a value is stripped: `export VAR=$(cat file)` and .env files keep it.
    async with scripted_server(Reply(json={"object": "list"})) as server:
        monkeypatch.setenv("OPENAI_API_KEY", f"{around}{SECRET}{around}")
        monkeypatch.setenv("OPENAI_BASE_URL", f"{around}{server.url}/{around}")
        monkeypatch.setenv("OPENAI_ORG_ID", f"{around}org-42{around}")
        monkeypatch.setenv("OPENAI_PROJECT_ID", f"{around}proj_7{around}")
        async with Client() as client:
            response = await client.request("GET", "/models")
        assert response.json() == {"object": "list"}
        seen = server.requests[0]
        assert seen.target == "/v1/models"
        assert seen.headers["authorization"] == f"Bearer {SECRET}"
        assert seen.headers["openai-organization"] == "org-42"
        assert seen.headers["openai-project"] == "proj_7"


async def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-000000")
    async with scripted_server() as server, Client("sk-argument-111111", base_url=server.url) as c:
        await c.request("GET", "/models")
        assert server.requests[0].headers["authorization"] == "Bearer sk-argument-111111"


def test_a_missing_key_names_the_variable_to_set() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        Client()


def test_a_key_pool_passed_as_the_key_says_where_it_goes() -> None:
    with pytest.raises(
        ConfigurationError, match=r"not KeyPool \(a KeyPool or TokenProvider goes in auth=\)"
    ):
        Client(KeyPool(["sk-a", "sk-b"]), base_url="http://127.0.0.1:1/v1")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"^api_key must be a string, not bytes$"):
        Client.azure("https://r.openai.azure.com", api_key=b"key")  # type: ignore[arg-type]


def test_a_missing_azure_setting_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        Client.azure(api_key="k" * 32)
    with pytest.raises(ConfigurationError, match="AZURE_OPENAI_API_KEY"):
        Client.azure("https://x.openai.azure.com")


async def test_repr_and_str_never_show_the_key() -> None:
    async with Client(SECRET) as client:
        for text in (repr(client), str(client), repr(client.with_options())):
            assert "SECRET" not in text
            assert SECRET not in text
        assert "api.openai.com" in repr(client)


async def test_azure_deployment_routes_key_header_and_api_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with scripted_server() as server:
        endpoint = server.url.removesuffix("/v1")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", endpoint + "/")
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-123456")
        monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
        async with Client.azure() as client:
            body = {"model": "my-gpt4o", "messages": []}
            await client.request("POST", "/chat/completions", body=body)
            await client.request("POST", "/responses", body={"model": "my-gpt4o", "input": "x"})
            await client.request(
                "POST",
                "/embeddings",
                body=b'{"input": "x"}',
                options=RequestOptions(deployment="my-embedder"),
            )
        chat, responses, embeddings = server.requests
        assert chat.target == "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
        assert responses.target == "/openai/responses?api-version=2024-10-21"
        assert (
            embeddings.target == "/openai/deployments/my-embedder/embeddings?api-version=2024-10-21"
        )
        assert chat.headers["api-key"] == "azure-key-123456"
        assert "authorization" not in chat.headers


async def test_azure_v1_api_uses_the_model_in_the_body() -> None:
    async with scripted_server() as server:
        endpoint = server.url.removesuffix("/v1")
        async with Client.azure(endpoint, api_key="azure-key-123456", v1=True) as client:
            await client.request("POST", "/chat/completions", body={"model": "dep", "messages": []})
        assert server.requests[0].target == "/openai/v1/chat/completions"
        assert server.requests[0].json() == {"model": "dep", "messages": []}
        assert server.requests[0].headers["api-key"] == "azure-key-123456"


async def test_azure_deployment_route_without_a_model_is_a_clear_error() -> None:
    async with Client.azure("https://x.openai.azure.com", api_key="k" * 32) as client:
        with pytest.raises(ConfigurationError, match="deployment"):
            await client.request("POST", "/chat/completions", body=b"{}")


async def test_with_options_shares_the_pool_and_never_closes_it() -> None:
    async with scripted_server() as server:
        async with Client(SECRET, base_url=server.url) as client:
            derived = client.with_options(headers={"X-Team": "search"})
            assert derived.http_client is client.http_client
            await derived.request("GET", "/models")
            await derived.aclose()
            assert not client.is_closed
            await client.request("GET", "/models")
        assert client.http_client.is_closed
        assert server.requests[0].headers["x-team"] == "search"
        assert "x-team" not in server.requests[1].headers
        # Both went over the one pooled connection.
        assert server.connections == 1


async def test_a_closed_client_refuses_requests_clearly() -> None:
    client = Client(SECRET, base_url="http://127.0.0.1:9/v1")
    await client.aclose()
    with pytest.raises(ConfigurationError, match="closed"):
        await client.request("GET", "/models")


async def test_a_custom_transport_is_used() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"path": request.url.path})

    async with Client(SECRET, transport=httpx.MockTransport(handler)) as client:
        response = await client.request("GET", "/models")
    assert response.json() == {"path": "/v1/models"}


def test_http2_without_h2_is_a_configuration_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `None` in sys.modules makes `import h2` fail as it does when the package is absent.
    monkeypatch.setitem(sys.modules, "h2", None)
    with pytest.raises(ConfigurationError, match=r"openai-ergo\[h2\]"):
        Client(SECRET, http2=True)


async def test_http2_with_h2_installed_still_talks_to_an_http1_server() -> None:
    pytest.importorskip("h2")
    async with (
        scripted_server(Reply(json={"ok": True})) as server,
        Client(SECRET, base_url=server.url, http2=True) as client,
    ):
        # Plain http has no ALPN: httpx's HTTP/2-capable transport speaks HTTP/1.1 here.
        assert (await client.request("GET", "/models")).json() == {"ok": True}


async def test_cookies_a_server_set_go_back_on_later_requests() -> None:
    # What httpx itself does: a CDN in front of the API (Cloudflare's __cf_bm) expects them.
    cookie = Reply(json={}, headers=[("Set-Cookie", "__cf_bm=abc123; Path=/")])
    async with (
        scripted_server(cookie, Reply(json={})) as server,
        Client(SECRET, base_url=server.url) as client,
    ):
        await client.request("GET", "/models")
        await client.request("POST", "/responses", body={"input": "x"})
    first, second = server.requests
    assert "cookie" not in first.headers
    assert second.headers["cookie"] == "__cf_bm=abc123"


async def test_azure_with_entra_id_sends_a_bearer_token_and_no_key() -> None:
    async def fetch() -> tuple[str, float]:
        return "entra-token-abcdef", 4_000_000_000.0

    async with scripted_server() as server:
        endpoint = server.url.removesuffix("/v1")
        client = Client.azure(endpoint, auth=TokenProvider(fetch), api_version="2024-10-21")
        async with client:
            await client.request("POST", "/embeddings", body={"model": "emb", "input": "x"})
    seen = server.requests[0]
    assert seen.target == "/openai/deployments/emb/embeddings?api-version=2024-10-21"
    assert seen.headers["authorization"] == "Bearer entra-token-abcdef"
    assert "api-key" not in seen.headers
