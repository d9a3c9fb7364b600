"""What the structured-output tests share: each case runs awaited and streamed, on a mock client."""

from __future__ import annotations

from typing import Any

import pytest

from openai_ergo import Client
from openai_ergo.mock import MockServer

#: Run a test twice: the request awaited for its final object, and streamed to its end.
WAYS = pytest.mark.parametrize("streamed", [False, True], ids=["awaited", "streamed"])


def mock_client(server: MockServer) -> Client:
    """A client of the mock with no local rate limiter (the tests count requests themselves)."""
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False)


async def final_of(request: Any, *, streamed: bool) -> Any:
    """The final object of `request`: awaited, or streamed through to its end."""
    if streamed:
        async with request.stream() as stream:
            async for _ in stream:
                pass
        return stream.final()
    return await request
