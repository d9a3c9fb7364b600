"""The `Client` streams over HTTP11Transport by default, and `transport=` picks either."""

from __future__ import annotations

import httpx
import pytest

from openai_ergo import APIConnectionError, Client, HTTP11Transport, RetryPolicy
from tests.openai_ergo.transport.loopback import Reply, serve

pytestmark = pytest.mark.anyio

EVENTS = [b'data: {"n": %d}\n\n' % n for n in range(200)]
STREAM = Reply(
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"%x\r\n%b\r\n" % (len(e), e) for e in EVENTS)
        + b"0\r\n\r\n"
    ]
)


async def pieces(client: Client, url: str) -> list[bytes]:
    """The raw body of one streamed response, as the client's transport hands it up."""
    async with client, client.http_client.stream("GET", url) as response:
        return [piece async for piece in response.aiter_raw()]


@pytest.mark.parametrize(
    ("transport", "http2", "batched"),
    [
        pytest.param(None, False, True, id="default"),
        pytest.param(HTTP11Transport, False, True, id="transport=HTTP11Transport()"),
        pytest.param(httpx.AsyncHTTPTransport, False, False, id="transport=httpx's"),
        pytest.param(None, True, False, id="http2=True"),
    ],
)
async def test_the_client_default_transport_batches_http_chunks(
    transport: type[httpx.AsyncBaseTransport] | None, http2: bool, batched: bool
) -> None:
    async with serve(STREAM) as server:
        client = Client(
            "sk-test",
            base_url=server.url("/v1"),
            transport=None if transport is None else transport(),
            http2=http2,
        )
        received = await pieces(client, server.url("/v1/stream"))
    assert b"".join(received) == b"".join(EVENTS)
    # Ours hands up one socket read (many HTTP chunks); httpx's one HTTP chunk at a time.
    assert (len(received) < len(EVENTS) // 10) is batched
    assert batched or len(received) == len(EVENTS)


async def test_a_reset_reaches_the_caller_as_a_sentence_that_says_so() -> None:
    async with serve(Reply(reset=True)) as server:
        client = Client("sk-test", base_url=server.url("/v1"), retry=RetryPolicy.never())
        async with client:
            with pytest.raises(APIConnectionError) as caught:
                await client.request("GET", "/models")
    assert str(caught.value) == (
        "GET /v1/models could not reach the server "
        "(ReadError: reading from the server failed: connection reset by peer)."
    )
    # The httpx error, and under it the one with the errno.
    assert isinstance(caught.value.__cause__, httpx.ReadError)
    assert isinstance(caught.value.__cause__.__cause__, ConnectionResetError)
