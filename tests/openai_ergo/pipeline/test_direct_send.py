"""The pipeline's direct send against `httpx.AsyncClient.send`: the same auth flows, event
hooks, cookies and errors, whichever path a request takes.

Every scenario runs twice, once as a `Client` sends by default (through the transport itself)
and once with the direct sender switched off (through httpx's `send`), and the two records
must be equal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from openai_ergo import APIConnectionError, AuthenticationError, Client, RetryPolicy

SECRET = "sk-test-SECRET"
Handler = Callable[[httpx.Request], httpx.Response]


@asynccontextmanager
async def client_on(
    handler: Handler, *, direct: bool, auth: httpx.Auth | None = None
) -> AsyncIterator[Client]:
    client = Client(
        None if auth is not None else SECRET,
        base_url="http://api.test/v1",
        transport=httpx.MockTransport(handler),
        auth=auth,
        retry=RetryPolicy(max_attempts=1),
        circuit_breaker=False,
    )
    async with client:
        pipeline: Any = client._pipeline
        assert (pipeline.direct is not None) is True
        if not direct:
            pipeline.direct = None
        yield client


async def both(run: Callable[[bool], Any]) -> list[Any]:
    """The record of `run` through the direct send and through httpx's send."""
    return [await run(True), await run(False)]


class ChallengeAuth(httpx.Auth):
    """Two passes, as a digest-style auth takes: send, read the 401's body, send again."""

    requires_response_body = True

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer first"
        response = yield request
        self.seen.append((response.status_code, response.text))
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {response.json()['nonce']}"
            yield request


async def test_a_multi_step_auth_flow_runs_as_httpx_runs_it() -> None:
    async def run(direct: bool) -> Any:
        sent: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sent.append(request.headers["authorization"])
            if request.headers["authorization"] == "Bearer first":
                return httpx.Response(401, json={"nonce": "n-42"})
            return httpx.Response(200, json={"ok": True})

        auth = ChallengeAuth()
        async with client_on(handler, direct=direct, auth=auth) as client:
            response = await client.request("GET", "/models")
        return sent, auth.seen, response.json()

    direct, via_httpx = await both(run)
    assert direct == via_httpx
    assert direct == (
        ["Bearer first", "Bearer n-42"],
        [(401, '{"nonce":"n-42"}')],
        {"ok": True},
    )


async def test_event_hooks_installed_after_the_client_was_built_run_on_every_request() -> None:
    async def run(direct: bool) -> Any:
        seen: list[Any] = []

        async def on_request(request: httpx.Request) -> None:
            seen.append(("request", request.method, str(request.url)))

        async def on_response(response: httpx.Response) -> None:
            seen.append(("response", response.status_code, response.request.url.path))

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"object": "list"})

        async with client_on(handler, direct=direct) as client:
            client.http_client.event_hooks["request"].append(on_request)
            client.http_client.event_hooks["response"].append(on_response)
            await client.request("GET", "/models")
            await client.request("POST", "/files", body={"purpose": "x"})
        return seen

    direct, via_httpx = await both(run)
    assert direct == via_httpx
    assert direct == [
        ("request", "GET", "http://api.test/v1/models"),
        ("response", 200, "/v1/models"),
        ("request", "POST", "http://api.test/v1/files"),
        ("response", 200, "/v1/files"),
    ]


async def test_a_response_hook_that_raises_fails_the_request_the_same_way() -> None:
    async def run(direct: bool) -> Any:
        async def refuse(response: httpx.Response) -> None:
            response.raise_for_status()

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(401, json={"error": {"message": "no"}})

        async with client_on(handler, direct=direct) as client:
            client.http_client.event_hooks["response"].append(refuse)
            with pytest.raises(APIConnectionError) as caught:
                await client.request("GET", "/models")
        return type(caught.value), type(caught.value.__cause__)

    direct, via_httpx = await both(run)
    assert direct == via_httpx


async def test_a_transport_error_gets_its_request_and_maps_to_the_same_typed_error() -> None:
    async def run(direct: bool) -> Any:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused")  # no request attached, as a bare transport

        async with client_on(handler, direct=direct) as client:
            with pytest.raises(APIConnectionError) as caught:
                await client.request("GET", "/models")
        cause = caught.value.__cause__
        assert isinstance(cause, httpx.ConnectError)
        return type(caught.value), cause.request.url.path, str(caught.value)

    direct, via_httpx = await both(run)
    assert direct == via_httpx
    assert direct[1] == "/v1/models"


async def test_cookies_a_server_sets_go_back_on_the_next_request() -> None:
    async def run(direct: bool) -> Any:
        cookies: list[str | None] = []

        def handler(request: httpx.Request) -> httpx.Response:
            cookies.append(request.headers.get("cookie"))
            return httpx.Response(200, json={}, headers={"Set-Cookie": "lb=node-3; Path=/"})

        async with client_on(handler, direct=direct) as client:
            await client.request("GET", "/models")
            await client.request("GET", "/models")
        return cookies

    direct, via_httpx = await both(run)
    assert direct == via_httpx == [None, "lb=node-3"]


async def test_a_status_error_is_the_same_through_either_path() -> None:
    async def run(direct: bool) -> Any:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(401, json={"error": {"message": "bad key", "type": "x"}})

        async with client_on(handler, direct=direct) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.request("GET", "/models")
        return str(caught.value), caught.value.status_code

    direct, via_httpx = await both(run)
    assert direct == via_httpx


async def test_a_client_with_mounts_or_redirects_keeps_httpx_send() -> None:
    mounted = httpx.AsyncClient(
        mounts={"http://other.test": httpx.MockTransport(lambda r: httpx.Response(204))}
    )
    following = httpx.AsyncClient(follow_redirects=True)
    for http in (mounted, following):
        async with Client(SECRET, http_client=http) as client:
            pipeline: Any = client._pipeline
            assert pipeline.direct is None
