"""The official SDK's constructor arguments work on `Client`, mapped onto its own settings."""

from __future__ import annotations

import math
import time
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import (
    APITimeoutError,
    Client,
    ConfigurationError,
    InternalServerError,
    RequestOptions,
    RetryPolicy,
    StreamIdleTimeoutError,
    Timeouts,
)
from tests.openai_ergo.pipeline.conftest import FakeClock
from tests.openai_ergo.pipeline.scripted import Reply, error_body, scripted_server, sse

KEY = "sk-test-0000"
BUSY = Reply(status=500, json=error_body("busy", type="server_error"))


@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_max_retries_is_the_number_of_retries(max_retries: int, clock: FakeClock) -> None:
    async with (
        scripted_server(BUSY) as server,
        Client(KEY, base_url=server.url, max_retries=max_retries, clock=clock) as client,
    ):
        with pytest.raises(InternalServerError) as caught:
            await client.request("GET", "/models")
    assert len(server.requests) == max_retries + 1
    assert len(caught.value.attempts) == max_retries + 1


# The SDK's retries sleep on the event loop's clock (half a second, jittered): one retry only.
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_max_retries_sends_as_many_requests_as_the_sdk(anyio_backend: str) -> None:
    async with scripted_server(BUSY) as server:
        async with AsyncOpenAI(api_key=KEY, base_url=server.url, max_retries=1) as sdk:
            with pytest.raises(openai.InternalServerError):
                await sdk.models.list()
        sdk_requests = len(server.requests)
        async with Client(KEY, base_url=server.url, max_retries=1) as client:
            with pytest.raises(InternalServerError):
                await client.request("GET", "/models")
        assert len(server.requests) - sdk_requests == sdk_requests == 2


async def test_with_options_takes_the_sdks_names_too(clock: FakeClock) -> None:
    async with (
        scripted_server(BUSY) as server,
        Client(KEY, base_url=server.url, clock=clock) as client,
    ):
        derived = client.with_options(max_retries=0, default_headers={"X-Once": "1"})
        with pytest.raises(InternalServerError):
            await derived.request("GET", "/models")
        assert len(server.requests) == 1
        assert server.requests[0].headers["x-once"] == "1"
        with pytest.raises(ConfigurationError, match=r"timeout= .* timeouts="):
            client.with_options(timeout=1.0, timeouts=Timeouts())


async def test_timeout_in_seconds_bounds_a_silent_response() -> None:
    silent = Reply(events=[], hang=True)
    async with (
        scripted_server(silent) as server,
        Client(KEY, base_url=server.url, timeout=0.2, max_retries=0) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.request("GET", "/models")
        assert time.monotonic() - started < 5.0


async def test_timeout_in_seconds_bounds_the_silence_inside_a_stream() -> None:
    silent = Reply(events=sse({"delta": "Hel"}), hang=True)
    async with (
        scripted_server(silent) as server,
        Client(KEY, base_url=server.url, timeout=0.2) as client,
    ):
        stream = await client.request("GET", "/x", stream=True)
        async with stream:
            first = await stream.__anext__()
            started = time.monotonic()
            with pytest.raises(StreamIdleTimeoutError):
                await stream.__anext__()
            assert time.monotonic() - started < 5.0
    assert first.data == '{"delta":"Hel"}'


async def test_an_httpx_timeout_bounds_each_phase_as_it_says() -> None:
    silent = Reply(events=[], hang=True)
    timeout = httpx.Timeout(30.0, read=0.2)
    async with (
        scripted_server(silent) as server,
        Client(KEY, base_url=server.url, timeout=timeout, max_retries=0) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.request("GET", "/models")
        assert time.monotonic() - started < 5.0


async def test_a_typed_call_takes_the_sdks_per_call_timeout() -> None:
    silent = Reply(events=[], hang=True)
    async with (
        scripted_server(silent) as server,
        Client(KEY, base_url=server.url, max_retries=0) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.models.retrieve("gpt-4o-mini", timeout=0.2)
        # The client's own read timeout is far longer: the call's 0.2 s is what fired.
        assert time.monotonic() - started < 5.0
        with pytest.raises(APITimeoutError):
            async for _ in client.files.list(timeout=httpx.Timeout(30.0, read=0.2)):
                pass
        assert time.monotonic() - started < 10.0
        with pytest.raises(ConfigurationError, match=r"timeout= .* timeouts="):
            await client.models.retrieve(
                "gpt-4o-mini", timeout=1.0, options=RequestOptions(timeouts=Timeouts())
            )
        with pytest.raises(ConfigurationError, match=r"timeout= takes seconds"):
            await client.models.retrieve("gpt-4o-mini", timeout=-1)


async def test_default_headers_and_default_query_go_with_every_request() -> None:
    async with (
        scripted_server(Reply(json={"object": "list", "data": []})) as server,
        Client(
            KEY,
            base_url=server.url,
            default_headers={"X-Tenant": "search"},
            default_query={"api-version": "7", "tag": "a"},
        ) as client,
    ):
        await client.request("GET", "/models")
        await client.request("GET", "/models", query={"tag": "b"})
        await client.with_options(headers={"X-More": "1"}).request("GET", "/files")
        await client.models.list(extra_query={"limit": 2}).pages().__anext__()
    first, second, derived, typed = server.requests
    assert first.headers["x-tenant"] == "search"
    assert first.target == "/v1/models?api-version=7&tag=a"
    # A request's own parameter wins over the default of the same name.
    assert second.target == "/v1/models?api-version=7&tag=b"
    assert derived.target == "/v1/files?api-version=7&tag=a"
    assert derived.headers["x-tenant"] == "search"
    assert derived.headers["x-more"] == "1"
    assert typed.target == "/v1/models?api-version=7&tag=a&limit=2"


async def test_the_sdks_organization_and_project_are_sent_as_it_sends_them() -> None:
    async with (
        scripted_server(Reply(json={"object": "list", "data": []})) as server,
        Client(KEY, base_url=server.url, organization="org-1", project="proj_2") as client,
    ):
        await client.request("GET", "/models")
    assert server.requests[0].headers["openai-organization"] == "org-1"
    assert server.requests[0].headers["openai-project"] == "proj_2"


def test_an_sdk_argument_beside_our_own_is_an_error_naming_both() -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"max_retries": 2, "retry": RetryPolicy()}, "max_retries", "retry"),
        ({"timeout": 30, "timeouts": Timeouts()}, "timeout", "timeouts"),
        ({"default_headers": {"a": "b"}, "headers": {"c": "d"}}, "default_headers", "headers"),
    ]
    for kwargs, sdk_name, ours in cases:
        with pytest.raises(ConfigurationError) as caught:
            Client(KEY, base_url="http://127.0.0.1:1/v1", **kwargs)
        assert f"{sdk_name}=" in str(caught.value)
        assert f" {ours}=" in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_retries": -1}, "max_retries= takes a whole number of retries"),
        ({"max_retries": True}, "max_retries= takes a whole number of retries"),
        ({"max_retries": "2"}, "max_retries= takes a whole number of retries"),
        ({"timeout": 0}, "timeout= takes seconds"),
        ({"timeout": -1.5}, "timeout= takes seconds"),
        ({"timeout": math.nan}, "timeout= takes seconds"),
        ({"timeout": "30"}, "timeout= takes seconds"),
        ({"timeout": True}, "timeout= takes seconds"),
        ({"default_headers": [("a", "b")]}, "default_headers= takes a mapping"),
        ({"default_headers": {"X-Key": 42}}, "'X-Key' maps to int"),
        ({"default_query": "a=b"}, "default_query= takes a mapping"),
    ],
)
def test_a_bad_sdk_argument_is_a_configuration_error_naming_it(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Client(KEY, base_url="http://127.0.0.1:1/v1", **kwargs)


def test_a_webhook_secret_comes_from_the_argument_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", " whsec_c2VjcmV0\n")
    client = Client(KEY, base_url="http://127.0.0.1:1/v1")
    assert repr(client.webhooks) == "Webhooks(secret=set)"
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET")
    assert repr(Client(KEY, base_url="http://127.0.0.1:1/v1").webhooks) == "Webhooks(secret=unset)"


def test_a_webhook_secret_that_cannot_sign_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigurationError, match="webhook_secret starts with whsec_") as caught:
        Client(KEY, base_url="http://127.0.0.1:1/v1", webhook_secret="whsec_not*base64!")
    assert "not*base64" not in str(caught.value)
