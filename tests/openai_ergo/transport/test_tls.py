"""TLS: httpx's verification semantics, SNI, hostname checks and ALPN, on a loopback server."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trustme

from openai_ergo._transport import HTTP11Transport
from tests.openai_ergo.transport.loopback import Reply, serve

pytestmark = pytest.mark.anyio

OK = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure"])


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_verification_succeeds_with_the_ca(
    ca: trustme.CA, server_context: ssl.SSLContext
) -> None:
    async with (
        serve(OK, ssl_context=server_context) as server,
        httpx.AsyncClient(transport=HTTP11Transport(verify=trusting(ca))) as client,
    ):
        for host in ("localhost", "127.0.0.1"):
            response = await client.get(server.url(scheme="https", host=host))
            assert response.text == "secure"
    # Only HTTP/1.1 is offered, though the server prefers h2.
    assert server.alpn == ["http/1.1", "http/1.1"]


async def test_verification_fails_clearly_without_the_ca(server_context: ssl.SSLContext) -> None:
    async with (
        serve(OK, ssl_context=server_context) as server,
        httpx.AsyncClient(transport=HTTP11Transport()) as client,
    ):
        with pytest.raises(httpx.ConnectError, match="certificate verif") as caught:
            await client.get(server.url(scheme="https", host="localhost"))
    assert caught.value.request.url.host == "localhost"


async def test_a_hostname_mismatch_fails(ca: trustme.CA) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.example.test").configure_cert(context)
    async with (
        serve(OK, ssl_context=context) as server,
        httpx.AsyncClient(transport=HTTP11Transport(verify=trusting(ca))) as client,
    ):
        with pytest.raises(httpx.ConnectError, match=r"certificate verif.*[Hh]ostname mismatch"):
            await client.get(server.url(scheme="https", host="localhost"))


async def test_sni_names_the_host_or_the_sni_hostname_extension(ca: trustme.CA) -> None:
    names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "api.example.test").configure_cert(context)
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    async with (
        serve(OK, ssl_context=context) as server,
        httpx.AsyncClient(transport=HTTP11Transport(verify=trusting(ca))) as client,
    ):
        await client.get(server.url(scheme="https", host="localhost"))
        extensions = {"sni_hostname": "api.example.test"}
        await client.get(server.url(scheme="https", host="127.0.0.1"), extensions=extensions)
    assert names == ["localhost", "api.example.test"]


async def test_verify_false_skips_verification(server_context: ssl.SSLContext) -> None:
    async with (
        serve(OK, ssl_context=server_context) as server,
        httpx.AsyncClient(transport=HTTP11Transport(verify=False)) as client,
    ):
        assert (await client.get(server.url(scheme="https", host="localhost"))).text == "secure"


async def test_verify_as_a_ca_file_path_like_httpx(
    ca: trustme.CA, server_context: ssl.SSLContext, tmp_path: Path
) -> None:
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    # Same semantics as httpx, including its deprecation of a path in `verify`.
    with pytest.warns(DeprecationWarning, match="verify=<str>"):
        transport = HTTP11Transport(verify=str(pem))
    async with (
        serve(OK, ssl_context=server_context) as server,
        httpx.AsyncClient(transport=transport) as client,
    ):
        assert (await client.get(server.url(scheme="https", host="localhost"))).text == "secure"


async def test_http2_over_https_goes_to_httpx_default_transport(
    ca: trustme.CA, server_context: ssl.SSLContext
) -> None:
    # The loopback server does not speak HTTP/2, so the request fails; what matters is that
    # h2 was offered and chosen, i.e. httpx's own transport handled it.
    transport = HTTP11Transport(verify=trusting(ca), http2=True)
    async with (
        serve(OK, ssl_context=server_context) as server,
        httpx.AsyncClient(transport=transport) as client,
    ):
        with pytest.raises(httpx.HTTPError):
            await client.get(server.url(scheme="https", host="localhost"), timeout=2)
    assert server.alpn == ["h2"]
