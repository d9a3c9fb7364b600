"""TLS: httpx's verification semantics, SNI, hostname checks and ALPN, on a loopback server."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from openai_ergo._transport import HTTP11Transport
from tests.openai_ergo.transport.loopback import Reply, serve

pytestmark = pytest.mark.anyio

OK = Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure"])


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
            await client.get(server.url(scheme="https", host="localhost"), timeout=0.3)
    assert server.alpn == ["h2"]


def hashed_ca_dir(ca: trustme.CA, folder: Path) -> Path:
    """A CA directory as OpenSSL's `capath` reads it: the certificate under its subject hash."""
    pem = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command names CA files by subject hash; it is absent")
    digest = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", str(pem)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (folder / f"{digest}.0").write_bytes(pem.read_bytes())
    return folder


@pytest.mark.parametrize(
    ("verify", "env", "trust_env", "trusted"),
    [
        pytest.param("default", None, True, False, id="verify=True-certifi"),
        pytest.param("context", None, True, True, id="verify=SSLContext"),
        pytest.param("off", None, True, True, id="verify=False"),
        pytest.param("default", "SSL_CERT_FILE", True, True, id="SSL_CERT_FILE"),
        pytest.param("default", "SSL_CERT_DIR", True, True, id="SSL_CERT_DIR"),
        pytest.param("default", "SSL_CERT_FILE", False, False, id="SSL_CERT_FILE-trust_env=False"),
        pytest.param("default", "SSL_CERT_DIR", False, False, id="SSL_CERT_DIR-trust_env=False"),
        pytest.param("context", "SSL_CERT_FILE", True, True, id="SSLContext-wins-over-env"),
        pytest.param("directory", None, True, True, id="verify=<directory>"),
    ],
)
async def test_verification_means_what_it_means_in_httpx(
    ca: trustme.CA,
    server_context: ssl.SSLContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    verify: str,
    env: str | None,
    trust_env: bool,
    trusted: bool,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    folder = hashed_ca_dir(ca, tmp_path)
    if env == "SSL_CERT_FILE":
        monkeypatch.setenv(env, str(folder / "ca.pem"))
    elif env == "SSL_CERT_DIR":
        monkeypatch.setenv(env, str(folder))

    def setting() -> ssl.SSLContext | str | bool:
        if verify == "context":
            return trusting(ca)
        if verify == "directory":
            return str(folder)
        return verify == "default"

    outcomes: list[object] = []
    async with serve(OK, ssl_context=server_context) as server:
        for make in (httpx.AsyncHTTPTransport, HTTP11Transport):
            with warnings.catch_warnings():
                # httpx deprecates verify=<str>; the meaning is what is compared here.
                warnings.simplefilter("ignore", DeprecationWarning)
                transport = make(verify=setting(), trust_env=trust_env)
            async with httpx.AsyncClient(transport=transport) as client:
                try:
                    response = await client.get(server.url(scheme="https", host="localhost"))
                    outcomes.append(response.text)
                except httpx.ConnectError as exc:
                    # httpx's own message is empty under trio; ours says what failed.
                    verified = "certificate verification failed" in str(exc)
                    outcomes.append("refused" if verified or make is not HTTP11Transport else exc)
    assert outcomes == ["secure" if trusted else "refused"] * 2


async def test_international_hosts_connect_and_verify_by_their_idna_2008_name(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    # IDNA 2003 (Python's "idna" codec) maps "straße" to "strasse", a different host;
    # httpx encodes with IDNA 2008, so must we.
    ascii_name = "xn--strae-oqa.test"
    resolved: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name in (ascii_name, "strasse.test"):
            resolved.append(name)
            if ascii_name != name:
                raise socket.gaierror(socket.EAI_NONAME, "unknown host")
            return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(ascii_name).configure_cert(context)
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    texts = []
    async with serve(OK, ssl_context=context) as server:
        for make in (httpx.AsyncHTTPTransport, HTTP11Transport):
            async with httpx.AsyncClient(transport=make(verify=trusting(ca))) as client:
                response = await client.get(server.url(scheme="https", host="straße.test"))
                texts.append(response.text)
    assert texts == ["secure", "secure"]
    assert set(resolved) == {ascii_name}
    assert names == [ascii_name, ascii_name]
