"""The two ways the mock's tests reach it: in-process over ASGI (`http`, for the module's own
`app` fixture), the official SDK over loopback (`sdk`, the judge of the wire format) and our own
typed methods over loopback (`client`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client
from openai_ergo.mock import MockOpenAI, MockServer


@pytest.fixture
async def http(app: MockOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the module's `app`, in-process; the app's store is reset after."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as client:
        yield client
    app.reset()  # closes spooled files now rather than at collection


@pytest.fixture
async def sdk(mock_openai: MockServer) -> AsyncIterator[AsyncOpenAI]:
    """The official SDK on the session's mock server, without retries."""
    async with AsyncOpenAI(api_key="sk-mock", base_url=mock_openai.url, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    """Our client on the session's mock server, for the typed methods (`client.containers...`)."""
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        yield client
