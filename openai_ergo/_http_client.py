"""The `httpx.AsyncClient` a `Client` sends through: the caller's own (`http_client=`), or one
built from the client's network settings (proxy, TLS verification, environment, HTTP/2).

Every setting lands on the transport that carries the requests: on `HTTP11Transport` by
default, on httpx's own transport (and its proxy mounts) with `http2=True`. A caller who
brings a transport or a whole `httpx.AsyncClient` configures it there, so a setting given
here as well would be ignored: that is an error, not a silent choice.
"""

from __future__ import annotations

import ssl

import httpx

from openai_ergo._errors import ConfigurationError
from openai_ergo._transport import HTTP11Transport

__all__ = ["DEFAULT_LIMITS", "make_http_client"]

DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
_PROXY_SCHEMES = "http://, https://, socks5:// or socks5h://"


def make_http_client(
    *,
    http_client: httpx.AsyncClient | None,
    transport: httpx.AsyncBaseTransport | None,
    http2: bool,
    limits: httpx.Limits | None,
    proxy: str | httpx.URL | httpx.Proxy | None,
    verify: ssl.SSLContext | bool,
    trust_env: bool,
) -> httpx.AsyncClient:
    """`http_client` itself, or a new `httpx.AsyncClient` built from the other settings.

    Raises `ConfigurationError` for a setting that would be ignored (given with `http_client`,
    or with `transport` for the ones that configure a transport) and for a bad value.
    """
    network = {
        "proxy": proxy is not None,
        "verify": verify is not True,
        "trust_env": trust_env is not True,
    }
    if http_client is not None:
        given = _names(
            {
                "transport": transport is not None,
                "http2": http2,
                "limits": limits is not None,
                **network,
            }
        )
        if given:
            raise ConfigurationError(
                f"{given} and http_client= cannot go together: set {given} on the "
                "httpx.AsyncClient you pass as http_client"
            )
        candidate: object = http_client
        if not isinstance(candidate, httpx.AsyncClient):
            raise ConfigurationError(
                f"http_client= takes an httpx.AsyncClient, not {type(candidate).__name__}"
            )
        return http_client
    if transport is not None:
        given = _names(network)
        if given:
            raise ConfigurationError(
                f"{given} and transport= cannot go together: set {given} on your transport "
                "(HTTP11Transport and httpx.AsyncHTTPTransport take the same arguments)"
            )
    checked_proxy = _checked_proxy(proxy)
    _check_verify(verify)
    limits = limits or DEFAULT_LIMITS
    if transport is None and not http2:
        # The fast HTTP/1.1 transport; it hands proxies, Unix sockets and other schemes to
        # httpx's own (docs/transport.md). HTTP/2 stays with httpx's transport throughout.
        transport = HTTP11Transport(
            limits=limits, trust_env=trust_env, proxy=checked_proxy, verify=verify
        )
        checked_proxy = None
    try:
        return httpx.AsyncClient(
            transport=transport,
            http2=http2,
            limits=limits,
            proxy=checked_proxy,
            verify=verify,
            follow_redirects=False,
            trust_env=trust_env,
        )
    except ImportError as exc:
        raise ConfigurationError(
            "http2=True needs the h2 package: pip install 'openai-ergo[h2]'"
        ) from exc


def _names(settings: dict[str, bool]) -> str:
    """The names of the settings that were given, as "proxy=, verify=" (empty when none)."""
    return ", ".join(f"{name}=" for name, given in settings.items() if given)


def _checked_proxy(proxy: str | httpx.URL | httpx.Proxy | None) -> httpx.Proxy | None:
    if proxy is None or isinstance(proxy, httpx.Proxy):
        return proxy
    try:
        return httpx.Proxy(proxy)
    except (TypeError, ValueError, httpx.InvalidURL):
        # Not chained and not quoted: a proxy URL may carry credentials.
        raise ConfigurationError(
            f"proxy= must be an {_PROXY_SCHEMES} URL, such as 'http://proxy.example:3128'"
        ) from None


def _check_verify(verify: ssl.SSLContext | bool) -> None:
    value: object = verify
    if isinstance(value, str):
        raise ConfigurationError(
            "verify= takes an ssl.SSLContext or a bool, not a path: for a CA bundle pass "
            f"verify=ssl.create_default_context(cafile={value!r})"
        )
    if not isinstance(value, bool | ssl.SSLContext):
        raise ConfigurationError(
            f"verify= takes an ssl.SSLContext or a bool, not {type(value).__name__}"
        )
