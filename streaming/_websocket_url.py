"""Where a WebSocket connects: the URL read once, checked, and described without secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

import httpx

__all__ = ["WebSocketTarget"]

#: `http(s)://` is accepted as well, meaning `ws(s)://`: an API's base URL works as it is.
_TLS_BY_SCHEME = {"ws": False, "http": False, "wss": True, "https": True}


@final
@dataclass(frozen=True, slots=True)
class WebSocketTarget:
    """A parsed WebSocket URL."""

    host: str
    port: int
    tls: bool
    #: The request target: path and query, as sent in the upgrade request.
    target: str
    #: The Host header: the host, and the port when it is not the scheme's default.
    host_header: str
    #: `scheme://host[:port]/path`, with no user info, query or fragment: safe for messages.
    described: str

    @classmethod
    def parse(cls, url: str | httpx.URL) -> WebSocketTarget:
        """Read `url` (`ws://`, `wss://`, `http://` or `https://`); `ValueError` naming what is
        wrong otherwise."""
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise ValueError(f"not a WebSocket URL: {exc}") from None
        scheme = parsed.scheme.lower()
        if scheme not in _TLS_BY_SCHEME:
            raise ValueError(
                "a WebSocket URL starts with ws://, wss://, http:// or https://, "
                f"not {scheme + '://' if scheme else 'a relative path'}"
            )
        if not parsed.host:
            raise ValueError("a WebSocket URL needs a host")
        tls = _TLS_BY_SCHEME[scheme]
        default_port = 443 if tls else 80
        port = parsed.port or default_port
        host = parsed.host
        bracketed = f"[{host}]" if ":" in host else host
        host_header = bracketed if port == default_port else f"{bracketed}:{port}"
        path = parsed.raw_path.decode("ascii") or "/"
        ws_scheme = "wss" if tls else "ws"
        explicit_port = "" if parsed.port is None else f":{parsed.port}"
        return cls(
            host=host,
            port=port,
            tls=tls,
            target=path,
            host_header=host_header,
            described=f"{ws_scheme}://{bracketed}{explicit_port}{parsed.path}",
        )
