"""Socket options for httpx's proxy connections, which httpcore's proxy pool drops.

Kept apart from `_transport.py` so that `import openai_ergo` never imports httpcore: only a
client that combines a proxy with `socket_options` loads this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


def apply_socket_options(transport: httpx.AsyncHTTPTransport, socket_options: list[Any]) -> None:
    """Give every connection `transport`'s proxy pool opens these socket options.

    httpcore's proxy pool takes `socket_options` but opens its connections (to the proxy,
    forwarding or tunnelling) without them (httpcore 1.0.9); its network backend is the one
    place every one of those connections passes through. Private to httpx and httpcore: should
    a release move it, requests still go through the proxy, without the options
    (test_proxies.py would say so).
    """
    pool: Any = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.AsyncNetworkBackend):
        pool._network_backend = _SocketOptionsBackend(backend, socket_options)


class _SocketOptionsBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that opens every TCP connection with `socket_options`
    unless the caller passes its own."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend, socket_options: list[Any]) -> None:
        self._backend = backend
        self._socket_options = socket_options

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect as the wrapped backend does, with this backend's socket options."""
        return await self._backend.connect_tcp(
            host,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=self._socket_options if socket_options is None else socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect as the wrapped backend does."""
        return await self._backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does."""
        await self._backend.sleep(seconds)
