"""The pipeline's direct send against `httpx.AsyncClient.send`, and its plain send against
an `httpx.Request`: the same auth flows, event hooks, cookies, heads and errors, whichever path
a request takes.

Every scenario runs twice, once as a `Client` sends by default and once with the faster path
switched off, and the two records must be equal.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from openai_ergo import (
    APIConnectionError,
    AuthenticationError,
    Client,
    Middleware,
    RequestOptions,
    RetryPolicy,
)
from openai_ergo._pipeline._plain import PlainRequests
from tests.openai_ergo.transport.loopback import Reply as LoopReply
from tests.openai_ergo.transport.loopback import serve

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


# -- the plain send: no httpx.Request built, the head written from checked lines -------------
#
# Over a real loopback socket with the client's default transport, where `PlainRequests`
# writes the head itself; the same client with `pipeline.plain = None` builds httpx's request
# and lets the transport encode it. Everything observable must be equal, down to the bytes of
# the head on the wire.

OK_JSON = LoopReply(
    [
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n"
        b"x-request-id: req_1\r\nx-ratelimit-limit-requests: 10\r\n"
        b"x-ratelimit-remaining-requests: 9\r\nX-Dup: a\r\nx-dup: b\r\n\r\n"
        b'{"ok":true}'
    ]
)
SSE_REPLY = LoopReply(
    [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
        b"x-request-id: req_s\r\n\r\n",
        b'f\r\ndata: {"a":1}\n\n\r\n',
        b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n",
    ]
)
FIXED = RequestOptions(idempotency_key="idem-1")


@asynccontextmanager
async def loopback_client(
    port: int, *, plain: bool, sent: list[str] | None = None, **settings: Any
) -> AsyncIterator[Client]:
    """A client on the default transport; `sent` records which transport entry each attempt
    took ("prepared" for the plain send, "request" for an `httpx.Request`)."""
    if "auth" not in settings and "api_key" not in settings:
        settings["api_key"] = SECRET
    if "endpoint" in settings:
        client = Client.azure(**settings, retry=RetryPolicy(max_attempts=1), circuit_breaker=False)
    else:
        client = Client(
            base_url=f"http://127.0.0.1:{port}/v1",
            retry=RetryPolicy(max_attempts=1),
            circuit_breaker=False,
            **settings,
        )
    async with client:
        pipeline: Any = client._pipeline
        if not plain:
            pipeline.plain = None
        transport: Any = client.http_client._transport
        if sent is not None:
            for entry, name in (("send_prepared", "prepared"), ("handle_async_request", "request")):
                original = getattr(transport, entry)

                def spy(request: Any, original: Any = original, name: str = name) -> Any:
                    sent.append(name)
                    return original(request)

                setattr(transport, entry, spy)
        yield client


async def heads_both_ways(
    reply: LoopReply, scenario: Callable[[Client], Any], **settings: Any
) -> tuple[list[bytes], list[str]]:
    """The heads (and bodies) one server received through the plain send and through httpx's
    request; equal, or the test fails here. Returns them with the entries the plain run took."""
    heads = []
    taken: list[str] = []
    async with serve(reply) as server:
        if "endpoint" in settings:
            settings["endpoint"] = f"http://127.0.0.1:{server.port}"
        for plain in (True, False):
            async with loopback_client(
                server.port, plain=plain, sent=taken if plain else None, **settings
            ) as client:
                await scenario(client)
            heads.append([received.head + received.body for received in server.received])
            server.received.clear()
    assert heads[0] == heads[1]
    return heads[0], taken


async def test_the_plain_send_writes_the_head_httpx_would_byte_for_byte() -> None:
    async def requests(client: Client) -> None:
        await client.request("POST", "/chat/completions", body={"model": "m"}, options=FIXED)
        await client.request("GET", "/files", query={"limit": 2, "after": "f 1"})
        await client.request("DELETE", "/files/f-1")
        await client.request("POST", "/files/f-1/cancel", options=FIXED)
        await client.request(
            "POST",
            "/responses",
            body=b"{}",
            headers={"OpenAI-Beta": "assistants=v2", "X-Trace": "t-1"},
            options=FIXED,
        )

    heads, taken = await heads_both_ways(
        OK_JSON, requests, organization="org-1", project="proj-1", headers={"X-App": "a"}
    )
    assert taken == ["prepared"] * 5
    first = heads[0].decode()
    assert first.startswith("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:")
    # The key last, as the auth flow appends it (the server's record stops at the blank line).
    assert first.endswith(f"\r\nAuthorization: Bearer {SECRET}" + '{"model":"m"}')
    assert "Content-Length: 0\r\n" in heads[3].decode()


async def test_azure_requests_take_the_plain_send_with_their_query_and_key_header() -> None:
    async def requests(client: Client) -> None:
        await client.request("POST", "/chat/completions", body={"model": "dep"}, options=FIXED)

    heads, taken = await heads_both_ways(
        OK_JSON, requests, endpoint="", api_key=SECRET, api_version="2024-10-21"
    )
    assert taken == ["prepared"]
    assert heads[0].startswith(
        b"POST /openai/deployments/dep/chat/completions?api-version=2024-10-21 HTTP/1.1\r\n"
    )
    assert heads[0].endswith(f"\r\napi-key: {SECRET}".encode() + b'{"model":"dep"}')


async def test_headers_httpx_acts_on_take_httpx_path_with_the_same_head() -> None:
    async def requests(client: Client) -> None:
        for headers in ({"Authorization": "Bearer other"}, {"Content-Length": "2"}):
            await client.request("POST", "/x", body=b"{}", headers=headers, options=FIXED)

    _, taken = await heads_both_ways(OK_JSON, requests)
    assert taken == ["request", "request"]


async def test_responses_read_the_same_through_the_plain_send() -> None:
    async def run(plain: bool) -> Any:
        async with loopback_client(server.port, plain=plain) as client:
            response = await client.request("GET", "/models")
            stream = await client.request("POST", "/stream", body={}, stream=True, options=FIXED)
            async with stream:
                events = [event.data async for event in stream]
            request = stream.response.request
            async with await client.request("GET", "/stream", stream="bytes") as body:
                data = await body.read()
                binary = (body.headers.multi_items(), body.request_id)
        return (
            response.headers.multi_items(),
            response.headers.encoding,
            response.request_id,
            response.rate_limit,
            response.json(),
            events,
            stream.headers.multi_items(),
            stream.request_id,
            (request.method, str(request.url), request.headers.multi_items()),
            request.extensions,
            request.content,
            stream.response.http_version,
            stream.response.reason_phrase,
            data,
            binary,
        )

    async with serve(lambda r: SSE_REPLY if "stream" in r.target else OK_JSON) as server:
        plain, via_httpx = await both(run)
    assert plain == via_httpx
    assert plain[0][-2:] == [("x-dup", "a"), ("x-dup", "b")]
    assert plain[2] == "req_1"


async def test_a_plain_stream_opens_and_ends_without_building_its_request_or_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built_headers: list[list[tuple[str, str]]] = []

    class RecordedHeaders(httpx.Headers):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built_headers.append(self.multi_items())

    built_requests: list[str] = []
    build = PlainRequests._request

    def recorded_build(*args: Any) -> httpx.Request:
        request = build(*args)
        built_requests.append(request.method)
        return request

    monkeypatch.setattr(httpx, "Headers", RecordedHeaders)
    monkeypatch.setattr(PlainRequests, "_request", recorded_build)
    async with serve(SSE_REPLY) as server, loopback_client(server.port, plain=True) as client:
        stream = await client.request("POST", "/stream", body={}, stream=True, options=FIXED)
        async with stream:
            events = [event.data async for event in stream]
        response_heads = [h for h in built_headers if ("x-request-id", "req_s") in h]
        assert (events, stream.request_id, built_requests, response_heads) == (
            ['{"a":1}', "[DONE]"],
            "req_s",
            [],
            [],
        )
        # Built when read, and what httpx's path would have given.
        assert stream.response.headers["content-type"] == "text/event-stream"
        assert stream.response.request.extensions["timeout"]["read"] == 120.0
        assert built_requests == ["POST"]


async def test_errors_of_the_plain_send_carry_the_same_request_and_map_the_same() -> None:
    cut_short = LoopReply([b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"], close_after=True)

    async def run(plain: bool) -> Any:
        outcomes = []
        for port in (server.port, closed_port):
            async with loopback_client(port, plain=plain) as client:
                with pytest.raises(APIConnectionError) as caught:
                    await client.request("POST", "/chat/completions", body={}, options=FIXED)
            outcomes.append(caught.value)
        records = []
        for error in outcomes:
            cause = error.__cause__
            assert isinstance(cause, httpx.TransportError)
            request = cause.request
            records.append(
                (
                    type(error),
                    type(cause),
                    str(error),
                    (request.method, str(request.url), request.headers.multi_items()),
                )
            )
        return records

    async with serve(LoopReply()) as closed:
        closed_port = closed.port  # nothing listens there after this block: connects fail
    async with serve(cut_short) as server:
        plain, via_httpx = await both(run)
    assert plain == via_httpx
    assert [record[1] for record in plain] == [httpx.RemoteProtocolError, httpx.ConnectError]


async def test_hooks_cookies_auth_flows_and_middleware_still_see_httpx_objects() -> None:
    class SeesRequests(Middleware):
        def __init__(self) -> None:
            self.seen: list[str] = []

        async def on_request(self, request: httpx.Request, state: Any) -> None:
            self.seen.append(request.url.path)

    async def run(plain: bool) -> Any:
        set_cookie = LoopReply(
            [b"HTTP/1.1 200 OK\r\nset-cookie: lb=n3; Path=/\r\ncontent-length: 2\r\n\r\n{}"]
        )
        hooked: list[str] = []
        taken: list[str] = []

        async def on_request(request: httpx.Request) -> None:
            hooked.append(request.url.path)

        async with serve(set_cookie) as server:
            async with loopback_client(server.port, plain=plain, sent=taken) as client:
                await client.request("GET", "/a")  # sets the cookie
                await client.request("GET", "/b")  # sends it back
                client.http_client.cookies.clear()
                client.http_client.event_hooks["request"].append(on_request)
                await client.request("GET", "/c")
            middleware = SeesRequests()
            async with loopback_client(
                server.port, plain=plain, sent=taken, middleware=[middleware]
            ) as client:
                await client.request("GET", "/d")
            auth = ChallengeAuth()
            async with loopback_client(server.port, plain=plain, sent=taken, auth=auth) as client:
                await client.request("GET", "/e")
        cookies = [received.header("cookie") for received in server.received]
        return cookies, hooked, middleware.seen, auth.seen, taken

    plain, via_httpx = await both(run)
    assert plain[:4] == via_httpx[:4]
    assert plain[:4] == (
        [None, "lb=n3", None, None, None],
        ["/v1/c"],
        ["/v1/d"],
        [(200, "{}")],
    )
    # Only the first request, before any cookie, hook, middleware or auth flow, was plain.
    assert plain[4] == ["prepared"] + ["request"] * 4
    assert via_httpx[4] == ["request"] * 5


async def test_plain_requests_leave_nothing_for_the_garbage_collector() -> None:
    """A response's parser, body and stream point back at each other while it is read; those
    cycles are broken when it ends, so a request's objects are freed as it returns (garbage
    left for the collector makes its passes run, which every later request pays for)."""
    ours = {"Call", "PlainResponse", "ResponseParser", "ResponseBody", "TimedStream"}
    async with serve(OK_JSON) as server, loopback_client(server.port, plain=True) as client:
        await client.request("GET", "/models")
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            responses = [await client.request("POST", "/chat/completions", body={}) for _ in "abc"]
            gc.collect()
            left = sorted({type(found).__name__ for found in gc.garbage} & ours)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert [response.json() for response in responses] == [{"ok": True}] * 3
    assert left == []
