"""`HTTP11Transport`: the fast HTTP/1.1 transport, and the routing to httpx's own for the rest."""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, final

import anyio
import httpx
from httpx._utils import URLPattern, get_environment_proxies

from openai_ergo._transport._connection import (
    HTTP11Connection,
    ResponseBody,
    StaleConnectionError,
)
from openai_ergo._transport._network import Origin, open_stream
from openai_ergo._transport._pool import ConnectionPool
from openai_ergo._transport._prepared import PlainResponse, PreparedRequest

__all__ = ["HTTP11Transport"]

_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


@final
class HTTP11Transport(httpx.AsyncBaseTransport):
    """A fast HTTP/1.1 transport for `httpx.AsyncClient`, on anyio (asyncio and trio).

    It reads the socket in 64 KiB blocks and de-chunks a whole block in C (httptools), so a
    stream of small chunks (one per token) costs a fraction of httpx's default transport.
    It takes the same arguments as `httpx.AsyncHTTPTransport` and keeps its semantics:
    `verify` and `cert` as in `httpx.create_ssl_context`, `limits` for the pool, `trust_env`
    for `SSL_CERT_FILE`/`SSL_CERT_DIR` and the proxy variables. Requests it does not handle
    itself go to an `httpx.AsyncHTTPTransport` built from the same arguments: proxies
    (explicit or from `HTTP(S)_PROXY`/`ALL_PROXY`), HTTP/2 (`http2=True`, for https), Unix
    sockets (`uds`), `socket_options`, protocol upgrades, and schemes other than http(s).
    Environment proxies apply whatever else is set, except with `uds` (which goes direct),
    and connections to a proxy get the same `socket_options`.

    ```python
    async with httpx.AsyncClient(transport=HTTP11Transport()) as client:
        ...
    ```
    """

    def __init__(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = _DEFAULT_LIMITS,
        proxy: Any = None,
        uds: str | None = None,
        local_address: str | None = None,
        retries: int = 0,
        socket_options: Iterable[Any] | None = None,
    ) -> None:
        self._ssl_context = httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
        # As httpx's default transport does: offer only what this transport speaks.
        self._ssl_context.set_alpn_protocols(["http/1.1"])
        self._fallback_arguments: dict[str, Any] = {
            "verify": verify,
            "cert": cert,
            "trust_env": trust_env,
            "http1": http1,
            "http2": http2,
            "limits": limits,
            "uds": uds,
            "local_address": local_address,
            "retries": retries,
            "socket_options": socket_options,
        }
        self._local_address = local_address
        self._retries = retries
        self._http2 = http2
        self._fallback: httpx.AsyncHTTPTransport | None = None
        # What this transport does not do itself goes to httpx's, built from the same arguments.
        self._delegate_all = (
            proxy is not None or uds is not None or socket_options is not None or not http1
        )
        if proxy is not None:
            self._fallback = self._httpx_transport(proxy)
        # httpx.AsyncClient applies environment proxies only to its own default transport, so
        # a custom transport must honour them itself, with the same patterns and precedence,
        # and also when everything else is delegated (socket options, HTTP/2 only). A Unix
        # socket is the one way out that no proxy can stand in for.
        self._proxy_routes: list[tuple[URLPattern, httpx.AsyncHTTPTransport | None]] = []
        if trust_env and proxy is None and uds is None:
            routes = {
                URLPattern(pattern): None
                if url is None
                else self._httpx_transport(httpx.Proxy(url))
                for pattern, url in get_environment_proxies().items()
            }
            self._proxy_routes = sorted(routes.items())
        self._pool = ConnectionPool(self._open_connection, limits)

    def __repr__(self) -> str:
        stats = self._pool.statistics()
        return f"<HTTP11Transport busy={stats['busy']} idle={stats['idle']}>"

    def statistics(self) -> dict[str, int]:
        """The pool's counts: `busy`, `idle` and `opening` connections, `waiting` requests."""
        return self._pool.statistics()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request and return its response, with the body still to be read."""
        delegate = self._route(request)
        if delegate is not None:
            return await delegate.handle_async_request(request)
        try:
            return await self._exchange(request.url, request, _may_retry(request))
        except httpx.RequestError as exc:
            exc.request = request
            raise

    def sends_itself(self, url: httpx.URL, method: str) -> bool:
        """Whether a request to `url` (without an `Upgrade` header) is sent by this transport
        itself, not handed to httpx's: the condition for `send_prepared`."""
        return self._route_url(url, method, upgrade=False) is None

    def origin_of(self, url: httpx.URL) -> Origin:
        """Where a request to `url` connects (without SNI override): its pool key."""
        scheme = url.scheme
        # The ASCII (IDNA 2008) form httpx computed, as `_exchange` reads it.
        return Origin(scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS[scheme])

    async def send_prepared(self, prepared: PreparedRequest) -> httpx.Response:
        """Send a request already encoded (the caller checked `sends_itself`): a
        `PlainResponse`, whose `request` is `prepared.build()` when something reads it.
        `prepared.origin`, when the caller kept it from `origin_of`, saves reading the URL."""
        origin = prepared.origin or self.origin_of(prepared.url)
        try:
            try:
                return await self._send(prepared, origin, fresh=False)
            except StaleConnectionError as stale:
                if not prepared.idempotent:
                    raise stale.error from None
            # As `_exchange`: the kept-alive connection was closed under us, once more.
            try:
                return await self._send(prepared, origin, fresh=True)
            except StaleConnectionError as stale:
                raise stale.error from None
        except httpx.RequestError as exc:
            exc.request = prepared.build()
            raise

    async def aclose(self) -> None:
        """Close every pooled connection and the fallback transports, even when cancelled."""
        with anyio.CancelScope(shield=True):
            await self._pool.aclose()
            if self._fallback is not None:
                await self._fallback.aclose()
            for _, transport in self._proxy_routes:
                if transport is not None:
                    await transport.aclose()

    async def _exchange(
        self, url: httpx.URL, request: httpx.Request | PreparedRequest, may_retry: bool
    ) -> httpx.Response:
        scheme = url.scheme
        sni = request.extensions.get("sni_hostname") if isinstance(request, httpx.Request) else None
        # The ASCII (IDNA 2008) form httpx computed: Python's own "idna" codec is IDNA 2003,
        # which would connect "straße.de" to strasse.de.
        host = url.raw_host.decode("ascii")
        origin = Origin(scheme, host, url.port or _DEFAULT_PORTS[scheme], sni)
        try:
            return await self._send(request, origin, fresh=False)
        except StaleConnectionError as stale:
            if not may_retry:
                raise stale.error from None
        # The kept-alive connection was closed under us: once more, on a new one.
        try:
            return await self._send(request, origin, fresh=True)
        except StaleConnectionError as stale:
            raise stale.error from None

    async def _send(
        self, request: httpx.Request | PreparedRequest, origin: Origin, *, fresh: bool
    ) -> httpx.Response:
        prepared = request if isinstance(request, PreparedRequest) else None
        timeouts: Mapping[str, Any] = (
            request.extensions.get("timeout", {})
            if isinstance(request, httpx.Request)
            else request.timeouts
        )
        connection = await self._pool.acquire(
            origin,
            pool_timeout=timeouts.get("pool"),
            connect_timeout=timeouts.get("connect"),
            fresh=fresh,
        )
        read_timeout = timeouts.get("read")
        write_timeout = timeouts.get("write")
        try:
            if prepared is not None:
                parser = await connection.request_prepared(
                    prepared, read_timeout=read_timeout, write_timeout=write_timeout
                )
            else:
                parser = await connection.request(
                    request,  # type: ignore[arg-type]
                    read_timeout=read_timeout,
                    write_timeout=write_timeout,
                )
        except BaseException:
            await self._pool.discard(connection)
            raise
        body = ResponseBody(
            connection,
            parser,
            self._pool,
            request=None if prepared is not None else request,  # type: ignore[arg-type]
            host=origin.host,
            read_timeout=read_timeout,
        )
        extensions = {
            "http_version": parser.http_version,
            "reason_phrase": parser.reason,
            "network_stream": connection.network_stream(),
        }
        if prepared is not None:
            response: httpx.Response = PlainResponse(
                parser.status,
                parser.headers,
                stream=body,
                extensions=extensions,
                build_request=prepared.build,
                timeouts=prepared.timeouts,
                header_index=parser.index,
            )
            body.response = response
            parser.release_head()
            return response
        response = httpx.Response(
            parser.status, headers=parser.headers, stream=body, extensions=extensions
        )
        parser.release_head()
        return response

    async def _open_connection(
        self, origin: Origin, connect_timeout: float | None
    ) -> HTTP11Connection:
        stream = await open_stream(
            origin,
            ssl_context=self._ssl_context,
            connect_timeout=connect_timeout,
            local_address=self._local_address,
            retries=self._retries,
        )
        return HTTP11Connection(origin, stream)

    def _route(self, request: httpx.Request) -> httpx.AsyncBaseTransport | None:
        """The transport for what this one does not do itself, or None to handle it here."""
        return self._route_url(request.url, request.method, upgrade="upgrade" in request.headers)

    def _route_url(
        self, url: httpx.URL, method: str, *, upgrade: bool
    ) -> httpx.AsyncBaseTransport | None:
        for pattern, transport in self._proxy_routes:
            if pattern.matches(url):
                if transport is not None:
                    return transport
                break
        if self._delegate_all:
            return self._fallback_transport()
        scheme = url.scheme
        if scheme == "https":
            if self._http2:
                return self._fallback_transport()
        elif scheme != "http":
            return self._fallback_transport()
        if method == "CONNECT" or upgrade:
            return self._fallback_transport()
        return None

    def _fallback_transport(self) -> httpx.AsyncHTTPTransport:
        if self._fallback is None:
            self._fallback = self._httpx_transport(None)
        return self._fallback

    def _httpx_transport(self, proxy: Any) -> httpx.AsyncHTTPTransport:
        with warnings.catch_warnings():
            # httpx deprecates `verify=<str>` and `cert=`; the user heard it once, from this
            # constructor, not again from each transport built here (some at request time).
            warnings.simplefilter("ignore", DeprecationWarning)
            transport = httpx.AsyncHTTPTransport(proxy=proxy, **self._fallback_arguments)
        socket_options = self._fallback_arguments["socket_options"]
        if proxy is not None and socket_options is not None:
            # Imported here: httpcore (and, through it, trio where installed) costs ~30-90 ms,
            # which `import openai_ergo` must not pay for a rarely used combination.
            from openai_ergo._transport._proxy_backend import apply_socket_options

            apply_socket_options(transport, list(socket_options))
        return transport


def _may_retry(request: httpx.Request) -> bool:
    """Safe to send twice: an idempotent request whose body can be replayed."""
    idempotent = request.method in _IDEMPOTENT_METHODS or "idempotency-key" in request.headers
    return idempotent and isinstance(request.stream, httpx.ByteStream)
