"""Canned HTTP for the client's tests: a body handed over in chosen reads, a `Client` whose
requests a handler answers in memory, and the SSE framing and read cuts the stream laws draw."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
from hypothesis import strategies as st

from openai_ergo import Client

#: What `canned_client` talks to.
BASE_URL = "http://api.test/v1"


class Reads(httpx.AsyncByteStream):
    """A body handed over in the given reads (class-based: nothing for trio to finalise)."""

    def __init__(self, reads: list[bytes]) -> None:
        self._reads = iter(reads)

    def __aiter__(self) -> Reads:
        return self

    async def __anext__(self) -> bytes:
        try:
            return next(self._reads)
        except StopIteration:
            raise StopAsyncIteration from None


def canned_client(
    handler: Callable[[httpx.Request], httpx.Response], *, api_key: str = "sk-test", **options: Any
) -> Client:
    """A client on `BASE_URL` whose requests `handler` answers, without a rate limiter;
    `options` are the client's."""
    return Client(
        api_key=api_key,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        rate_limiter=False,
        **options,
    )


def frame(payload: Any) -> bytes:
    """One SSE event whose data is `payload` (bytes as they are, anything else as JSON)."""
    data = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    return b"data: " + data + b"\n\n"


def any_reads(
    draw: Callable[[st.SearchStrategy[list[int]]], list[int]], body: bytes
) -> list[bytes]:
    """`body` as a socket delivers it: non-empty reads cut anywhere, even inside a character."""
    if len(body) < 2:
        return [body]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(body) - 1), max_size=8))))
    return [body[a:b] for a, b in itertools.pairwise([0, *cuts, len(body)])]
