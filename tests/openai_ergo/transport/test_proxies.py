"""Environment proxies, through a real forward proxy on loopback: plain http is forwarded and
https tunnelled with CONNECT, also when the transport hands every request to httpx's own
(`socket_options`, `http1=False`), with the same socket options on the proxy's connections.
Only a Unix socket (`uds`) goes direct."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from openai_ergo._transport import HTTP11Transport
from tests.openai_ergo.transport.loopback import (
    Reply,
    forward_proxy,
    serve,
    tls_contexts,
)

pytestmark = pytest.mark.anyio

OK = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
KEEPALIVE = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
#: Arguments that make the transport delegate every request to httpx's own.
DELEGATING = [
    pytest.param({"socket_options": KEEPALIVE}, id="socket_options"),
    pytest.param({"http1": False, "http2": True}, id="http1=False"),
    pytest.param(
        {"socket_options": KEEPALIVE, "http1": False, "http2": True},
        id="socket_options+http1=False",
    ),
]


def keepalive_of(response: httpx.Response) -> bool:
    """Whether the socket that carried `response` has SO_KEEPALIVE set (off by default)."""
    sock = response.extensions["network_stream"].get_extra_info("socket")
    return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))


@pytest.mark.parametrize("options", [pytest.param({}, id="default"), *DELEGATING])
async def test_plain_http_goes_through_the_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    async with serve(OK) as target, forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        url = f"http://api.example.test:{target.port}/v1/models"
        async with httpx.AsyncClient(transport=HTTP11Transport(**options)) as client:
            response = await client.get(url)
            keepalive = keepalive_of(response)
    assert response.text == "ok"
    assert proxy.requests == [f"GET {url}"]
    assert [(r.target, r.header("host")) for r in target.received] == [
        ("/v1/models", f"api.example.test:{target.port}")
    ]
    assert keepalive is ("socket_options" in options)


@pytest.mark.parametrize("options", [pytest.param({}, id="default"), DELEGATING[0]])
async def test_https_is_tunnelled_through_the_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, ca: trustme.CA, options: dict[str, Any]
) -> None:
    server_context, client_context = tls_contexts(ca, "api.example.test")
    async with serve(OK, ssl_context=server_context) as target, forward_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url())
        transport = HTTP11Transport(verify=client_context, **options)
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.get(f"https://api.example.test:{target.port}/v1/models")
            keepalive = keepalive_of(response)
    assert response.text == "ok"
    assert proxy.requests == [f"CONNECT api.example.test:{target.port}"]
    assert [r.target for r in target.received] == ["/v1/models"]
    assert keepalive is ("socket_options" in options)


@pytest.mark.parametrize("options", DELEGATING[1:])
async def test_http2_only_tunnels_through_the_environment_proxy_and_speaks_h2(
    monkeypatch: pytest.MonkeyPatch, ca: trustme.CA, options: dict[str, Any]
) -> None:
    # The loopback server speaks HTTP/1.1 only: what matters is that the tunnel was asked for
    # and that HTTP/2 (its connection preface) arrived through it.
    server_context, client_context = tls_contexts(ca, "api.example.test", "h2", "http/1.1")
    answerless = Reply(close_before=True)
    async with serve(answerless, ssl_context=server_context) as target, forward_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url())
        transport = HTTP11Transport(verify=client_context, **options)
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(f"https://api.example.test:{target.port}/v1/models")
    assert proxy.requests == [f"CONNECT api.example.test:{target.port}"]
    assert target.alpn == ["h2"]
    assert [(r.method, r.target) for r in target.received] == [("PRI", "*")]


async def test_an_explicit_proxy_gets_the_socket_options_too() -> None:
    async with serve(OK) as target, forward_proxy() as proxy:
        transport = HTTP11Transport(proxy=proxy.url(), socket_options=KEEPALIVE)
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.get(f"http://api.example.test:{target.port}/v1/models")
            keepalive = keepalive_of(response)
    assert (response.text, keepalive) == ("ok", True)
    assert proxy.requests == [f"GET http://api.example.test:{target.port}/v1/models"]


async def test_no_proxy_still_goes_direct_with_the_socket_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serve(OK) as target, forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        transport = HTTP11Transport(socket_options=KEEPALIVE)
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.get(target.url("/v1/models"))
            keepalive = keepalive_of(response)
    assert (response.text, keepalive) == ("ok", True)
    assert proxy.requests == []
    assert [r.target for r in target.received] == ["/v1/models"]


async def test_a_unix_socket_goes_direct_whatever_the_environment_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = str(tmp_path / "api.sock")
    # The server closes after answering: see test_requests.py's Unix socket test for why.
    closing = Reply(OK.segments, close_after=True)
    async with serve(closing, uds=path) as server, forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        monkeypatch.setenv("ALL_PROXY", proxy.url())
        async with httpx.AsyncClient(transport=HTTP11Transport(uds=path)) as client:
            assert (await client.get("http://api.test/v1/models")).text == "ok"
    assert proxy.requests == []
    assert [r.target for r in server.received] == ["/v1/models"]
