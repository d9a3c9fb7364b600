"""Request bodies, connect errors, and what goes to httpx's default transport instead."""

from __future__ import annotations

import errno
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from openai_ergo._transport import HTTP11Transport
from tests.openai_ergo.transport.loopback import Reply, serve

pytestmark = pytest.mark.anyio

OK = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])


async def test_bodies_with_a_length_arrive_whole() -> None:
    small, large = b'{"model": "gpt"}', bytes(range(256)) * 1024
    async with serve(OK) as server, httpx.AsyncClient(transport=HTTP11Transport()) as client:
        await client.post(server.url(), content=small)
        await client.post(server.url(), content=large)
    assert [r.body for r in server.received] == [small, large]
    assert server.received[1].header("content-length") == str(len(large))


async def test_streamed_bodies_go_chunked() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one ", b"", b"two ", b"three"):
            yield part

    async with serve(OK) as server, httpx.AsyncClient(transport=HTTP11Transport()) as client:
        await client.post(server.url(), content=parts())
    assert server.received[0].header("transfer-encoding") == "chunked"
    assert server.received[0].body == b"one two three"


async def test_header_injection_is_refused() -> None:
    async with serve(OK) as server, httpx.AsyncClient(transport=HTTP11Transport()) as client:
        with pytest.raises(httpx.LocalProtocolError, match="CR, LF or NUL"):
            await client.get(server.url(), headers={"X-A": "b\r\nX-Injected: 1"})
    assert server.received == []


class Parts:
    """A class-based async iterable: an async generator left unfinished warns under trio."""

    def __init__(self, *parts: bytes) -> None:
        self._parts = list(parts)

    def __aiter__(self) -> Parts:
        return self

    async def __anext__(self) -> bytes:
        if not self._parts:
            raise StopAsyncIteration
        return self._parts.pop(0)


async def test_a_body_longer_than_its_content_length_is_refused() -> None:
    parts = Parts(b"12345")
    async with serve(OK) as server, httpx.AsyncClient(transport=HTTP11Transport()) as client:
        with pytest.raises(httpx.LocalProtocolError, match="Content-Length"):
            await client.post(server.url(), content=parts, headers={"Content-Length": "2"})


async def test_refused_connections_raise_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx.AsyncClient(transport=HTTP11Transport()) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(f"http://127.0.0.1:{port}/")
    assert caught.value.request.url.port == port
    assert str(caught.value) == f"could not connect to 127.0.0.1:{port}: connection refused"
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert caught.value.__cause__.errno == errno.ECONNREFUSED


async def test_an_expired_connect_timeout_raises_connect_timeout() -> None:
    async with serve(OK) as server, httpx.AsyncClient(transport=HTTP11Transport()) as client:
        with pytest.raises(httpx.ConnectTimeout):
            await client.get(server.url(), timeout=httpx.Timeout(5, connect=0))


async def test_other_schemes_go_to_httpx_default_transport() -> None:
    async with httpx.AsyncClient(transport=HTTP11Transport()) as client:
        with pytest.raises(httpx.UnsupportedProtocol):
            await client.get("ftp://127.0.0.1/file")


async def test_unix_sockets_go_to_httpx_default_transport(tmp_path: Path) -> None:
    path = str(tmp_path / "api.sock")
    # The server closes after answering: anyio's asyncio Unix streams mishandle a
    # cancelled pending read (InvalidStateError in the loop), which is the server's problem.
    closing = Reply(OK.segments, close_after=True)
    async with (
        serve(closing, uds=path) as server,
        httpx.AsyncClient(transport=HTTP11Transport(uds=path)) as client,
    ):
        assert (await client.get("http://api.test/v1")).text == "ok"
    assert server.received[0].target == "/v1"


async def test_environment_proxies_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve(OK) as proxy, serve(OK) as direct:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with httpx.AsyncClient(transport=HTTP11Transport()) as client:
            await client.get("http://api.example.test/v1/models")
            await client.get(direct.url("/v1/direct"))
        async with httpx.AsyncClient(transport=HTTP11Transport(trust_env=False)) as client:
            await client.get(direct.url("/v1/ignored-env"))
    assert [r.target for r in proxy.received] == ["http://api.example.test/v1/models"]
    assert [r.target for r in direct.received] == ["/v1/direct", "/v1/ignored-env"]


async def test_an_explicit_proxy_is_used() -> None:
    async with serve(OK) as proxy:
        transport = HTTP11Transport(proxy=proxy.url())
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get("http://api.example.test/v1/models")
    assert [r.target for r in proxy.received] == ["http://api.example.test/v1/models"]


async def test_upgrade_requests_go_to_httpx_default_transport() -> None:
    switch = Reply([b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"])
    async with serve(switch) as server, httpx.AsyncClient(transport=HTTP11Transport()) as client:
        request = client.build_request("GET", server.url(), headers={"Upgrade": "websocket"})
        response = await client.send(request, stream=True)
        assert response.status_code == 101
        await response.aclose()


async def test_https_proxy_from_the_environment_tunnels_with_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refuse = Reply([b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"])
    async with serve(refuse) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url())
        async with httpx.AsyncClient(transport=HTTP11Transport()) as client:
            with pytest.raises(httpx.ProxyError):
                await client.get("https://api.example.test/v1/models")
    assert [(r.method, r.target) for r in proxy.received] == [("CONNECT", "api.example.test:443")]


async def test_all_proxy_from_the_environment_routes_plain_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serve(OK) as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url())
        async with httpx.AsyncClient(transport=HTTP11Transport()) as client:
            assert (await client.get("http://api.example.test/v1/models")).text == "ok"
    assert [r.target for r in proxy.received] == ["http://api.example.test/v1/models"]


async def test_http2_for_plain_http_stays_here() -> None:
    # httpx speaks HTTP/1.1 to http:// origins even with http2=True (no prior knowledge),
    # so this transport keeps them; only https goes to httpx's for h2.
    async with (
        serve(OK) as server,
        httpx.AsyncClient(transport=HTTP11Transport(http2=True)) as client,
    ):
        response = await client.get(server.url())
    assert (response.http_version, response.text) == ("HTTP/1.1", "ok")


async def test_a_deprecated_verify_path_warns_once_not_again_at_request_time(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "api.sock")
    closing = Reply(OK.segments, close_after=True)
    with pytest.warns(DeprecationWarning, match="verify=<str>"):
        # A CA directory (empty: a Unix socket carries no TLS).
        transport = HTTP11Transport(verify=str(tmp_path), uds=path)
    async with serve(closing, uds=path), httpx.AsyncClient(transport=transport) as client:
        # The route to httpx's transport is built here; -W error would fail a second warning.
        assert (await client.get("http://api.test/v1")).text == "ok"


async def test_socket_options_go_to_httpx_default_transport() -> None:
    # httpx's transport hands up one HTTP chunk at a time; this one, a socket read's worth.
    events = [b"data: %d\n\n" % n for n in range(100)]
    body = b"".join(b"%x\r\n%b\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    stream = Reply([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body])
    options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    counts = []
    for transport in (HTTP11Transport(), HTTP11Transport(socket_options=options)):
        async with (
            serve(stream) as server,
            httpx.AsyncClient(transport=transport) as client,
            client.stream("GET", server.url()) as response,
        ):
            counts.append(len([piece async for piece in response.aiter_raw()]))
    assert counts[0] < 10
    assert counts[1] == len(events)
