"""Proxy, certificate and environment settings on `Client`, and `http_client=`: each lands on
the transport that carries the requests, the default one or httpx's (`http2=True`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trustme

from openai_ergo import APIConnectionError, Client, ConfigurationError, HTTP11Transport, RetryPolicy
from tests.openai_ergo.transport.loopback import (
    Reply,
    forward_proxy,
    serve,
    tls_contexts,
)

pytestmark = pytest.mark.anyio

BODY = b'{"object": "list", "data": []}'
MODELS = Reply(
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b"
        % (len(BODY), BODY)
    ]
)
HTTP2 = pytest.mark.parametrize("http2", [False, True], ids=["default", "http2=True"])


def make_client(base_url: str, **settings: Any) -> Client:
    return Client("sk-test", base_url=base_url, retry=RetryPolicy.never(), **settings)


@HTTP2
async def test_proxy_carries_every_request(http2: bool) -> None:
    async with serve(MODELS) as target, forward_proxy() as proxy:
        base = f"http://api.example.test:{target.port}/v1"
        async with make_client(base, proxy=proxy.url(), http2=http2) as client:
            response = await client.request("GET", "/models")
    assert response.json() == {"object": "list", "data": []}
    assert proxy.requests == [f"GET {base}/models"]


@HTTP2
async def test_a_corporate_ca_in_verify_trusts_a_server_behind_a_proxy(
    ca: trustme.CA, http2: bool
) -> None:
    # A TLS-inspecting corporate proxy: https goes through a CONNECT tunnel, and the server
    # at its end shows a certificate from the company's own CA.
    server_context, corporate = tls_contexts(ca, "api.example.test")
    async with serve(MODELS, ssl_context=server_context) as target, forward_proxy() as proxy:
        base = f"https://api.example.test:{target.port}/v1"
        settings = {"proxy": proxy.url(), "http2": http2}
        async with make_client(base, verify=corporate, **settings) as client:
            response = await client.request("GET", "/models")
        async with make_client(base, **settings) as client:
            with pytest.raises(APIConnectionError, match="certificate verif"):
                await client.request("GET", "/models")
    assert response.status_code == 200
    assert proxy.requests == [f"CONNECT api.example.test:{target.port}"] * 2


@HTTP2
async def test_verify_false_skips_verification(ca: trustme.CA, http2: bool) -> None:
    server_context, _ = tls_contexts(ca, "localhost")
    async with serve(MODELS, ssl_context=server_context) as target:
        base = target.url("/v1", scheme="https", host="localhost")
        async with make_client(base, verify=False, http2=http2) as client:
            assert (await client.request("GET", "/models")).status_code == 200


@HTTP2
async def test_environment_proxies_apply_unless_trust_env_is_false(
    monkeypatch: pytest.MonkeyPatch, http2: bool
) -> None:
    async with serve(MODELS) as target, forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        for trust_env in (True, False):
            async with make_client(target.url("/v1"), trust_env=trust_env, http2=http2) as client:
                await client.request("GET", "/models", query={"trust_env": trust_env})
    assert proxy.requests == [f"GET {target.url('/v1/models')}?trust_env=true"]
    assert [r.target for r in target.received] == [
        "/v1/models?trust_env=true",
        "/v1/models?trust_env=false",
    ]


@pytest.mark.parametrize(
    ("transport", "through_the_proxy"),
    [(HTTP11Transport, True), (httpx.AsyncHTTPTransport, False)],
)
async def test_your_own_transport_decides_about_environment_proxies(
    monkeypatch: pytest.MonkeyPatch,
    transport: type[httpx.AsyncBaseTransport],
    through_the_proxy: bool,
) -> None:
    # httpx applies environment proxies only to the transport it builds itself.
    async with serve(MODELS) as target, forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        async with make_client(target.url("/v1"), transport=transport(), http2=True) as client:
            await client.request("GET", "/models")
    assert bool(proxy.requests) is through_the_proxy
    assert [r.target for r in target.received] == ["/v1/models"]


async def test_your_own_transport_with_http2_true_speaks_http11(ca: trustme.CA) -> None:
    # http2= configures the transport the Client builds; yours speaks what it speaks.
    server_context, client_context = tls_contexts(ca, "localhost", "h2", "http/1.1")
    async with serve(MODELS, ssl_context=server_context) as target:
        base = target.url("/v1", scheme="https", host="localhost")
        transport = HTTP11Transport(verify=client_context)
        async with make_client(base, transport=transport, http2=True) as client:
            assert (await client.request("GET", "/models")).status_code == 200
    assert target.alpn == ["http/1.1"]


async def test_http_client_carries_the_requests_and_closes_with_the_client() -> None:
    async with serve(MODELS) as target, forward_proxy() as proxy:
        external = f"http://api.example.test:{target.port}/v1/models"
        http = httpx.AsyncClient(
            transport=HTTP11Transport(),
            mounts={"http://api.example.test": HTTP11Transport(proxy=proxy.url())},
        )
        client = make_client(target.url("/v1"), http_client=http)
        assert client.http_client is http
        async with client:
            await client.request("GET", "/models")
            await client.request("GET", external)
        assert http.is_closed
    assert proxy.requests == [f"GET {external}"]
    assert len(target.received) == 2


async def test_settings_that_would_be_ignored_are_configuration_errors() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(
            ConfigurationError,
            match=r"^proxy=, verify= and http_client= cannot go together: set proxy=, verify= "
            r"on the httpx.AsyncClient you pass as http_client$",
        ):
            make_client("http://127.0.0.1/v1", http_client=http, proxy="http://p:1", verify=False)
        with pytest.raises(ConfigurationError, match=r"^transport=, http2=, limits= and http_"):
            make_client(
                "http://127.0.0.1/v1",
                http_client=http,
                transport=HTTP11Transport(),
                http2=True,
                limits=httpx.Limits(),
            )
    with pytest.raises(
        ConfigurationError, match=r"^trust_env= and transport= cannot go together: set trust_env="
    ):
        make_client("http://127.0.0.1/v1", transport=HTTP11Transport(), trust_env=False)


def test_a_path_in_verify_is_refused_with_the_context_to_use_instead() -> None:
    with pytest.raises(
        ConfigurationError, match=r"ssl\.create_default_context\(cafile='ca\.pem'\)"
    ):
        make_client("http://127.0.0.1/v1", verify="ca.pem")


def test_a_bad_proxy_url_is_refused_without_quoting_its_credentials() -> None:
    with pytest.raises(ConfigurationError, match=r"^proxy= must be an http://") as caught:
        make_client("http://127.0.0.1/v1", proxy="ftp://user:hunter2@proxy.example")
    assert "hunter2" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_http_client_must_be_an_httpx_async_client() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^http_client= takes an httpx.AsyncClient, not Client$"
    ):
        make_client("http://127.0.0.1/v1", http_client=httpx.Client())


@HTTP2
async def test_a_reset_says_so_through_either_transport(http2: bool) -> None:
    # httpx's own transport (http2=True) raises a ReadError with no message on asyncio; the
    # client finds the reset in its cause chain, as HTTP11Transport does.
    async with serve(Reply(reset=True)) as target:
        client = make_client(target.url("/v1"), http2=http2)
        async with client:
            with pytest.raises(APIConnectionError, match=r"(?i)connection reset by peer\)\.$"):
                await client.request("GET", "/models")
