"""Every fault the mock injects, met by our own `Client` over loopback: a typed error or recovery.

Also a fidelity check from the other side: every event the mock streams decodes into one of our
typed events (never the forward-compatibility fallback), and the typed objects agree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from openai_ergo import (
    APITimeoutError,
    Client,
    InternalServerError,
    RateLimitError,
    StreamIdleTimeoutError,
    StreamInterruptedError,
)
from openai_ergo._config import Timeouts
from openai_ergo._pipeline._retry import RetryPolicy
from openai_ergo.mock import Fault, MockServer
from openai_ergo.types import (
    UnknownEvent,
    decode_chat_chunk,
    decode_chat_completion,
    decode_response,
    decode_response_event,
)

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
RESPONSE = {"model": "gpt-5-mini", "input": "Hi"}
QUICK_RETRIES = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05)


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    timeouts = Timeouts(read=0.5, stream_idle=0.3)
    async with Client(
        api_key="sk-test", base_url=mock_openai.url, retry=QUICK_RETRIES, timeouts=timeouts
    ) as client:
        yield client


@pytest.fixture
async def no_retry_client(mock_openai: MockServer) -> AsyncIterator[Client]:
    async with Client(
        api_key="sk-test",
        base_url=mock_openai.url,
        retry=RetryPolicy.never(),
        timeouts=Timeouts(read=0.3, stream_idle=0.3),
    ) as client:
        yield client


async def test_a_rate_limit_is_retried_after_the_advised_wait(
    mock_openai: MockServer, client: Client
) -> None:
    mock_openai.fail_next(Fault.rate_limit(retry_after=0.05), path="/v1/chat/completions")
    response = await client.request("POST", "/chat/completions", body=CHAT)
    assert response.status_code == 200
    assert [r.path for r in mock_openai.requests] == ["/v1/chat/completions"] * 2


async def test_a_lasting_rate_limit_is_a_typed_error_with_its_headers(
    no_retry_client: Client,
) -> None:
    with pytest.raises(RateLimitError) as caught:
        await no_retry_client.request(
            "POST", "/chat/completions", body=CHAT, headers={"x-mock-fault": "rate_limit"}
        )
    error = caught.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert error.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert "sk-test" not in str(error)


async def test_server_errors_are_retried_until_one_succeeds(
    mock_openai: MockServer, client: Client
) -> None:
    mock_openai.fail_next(Fault.server_error(503), times=2)
    response = await client.request("POST", "/responses", body=RESPONSE)
    assert response.json()["status"] == "completed"
    assert len(mock_openai.requests) == 3


async def test_an_html_error_page_is_a_clean_status_error(
    mock_openai: MockServer, no_retry_client: Client
) -> None:
    mock_openai.fail_next(Fault.html(502))
    with pytest.raises(InternalServerError) as caught:
        await no_retry_client.request("POST", "/responses", body=RESPONSE)
    error = caught.value
    assert error.status_code == 502
    assert "502" in str(error)
    assert "Bad Gateway" in str(error.body)


async def test_a_hang_before_headers_times_out(
    mock_openai: MockServer, no_retry_client: Client
) -> None:
    mock_openai.fail_next(Fault.hang())
    with pytest.raises(APITimeoutError):
        await no_retry_client.request("POST", "/responses", body=RESPONSE)
    assert (await no_retry_client.request("GET", "/models")).status_code == 200


async def _collect(client: Client, body: dict[str, Any], fault: str, into: list[Any]) -> None:
    stream = await client.request(
        "POST",
        "/responses",
        body={**body, "stream": True},
        headers={"x-mock-fault": fault},
        stream=True,
    )
    async with stream:
        async for event in stream:
            into.append(decode_response_event(event.data))


async def test_a_silent_stream_fails_fast_and_keeps_its_events(no_retry_client: Client) -> None:
    received: list[Any] = []
    with pytest.raises(StreamIdleTimeoutError):
        await _collect(no_retry_client, RESPONSE, "idle; after=6", received)
    assert [e.type for e in received[:2]] == ["response.created", "response.in_progress"]
    assert len(received) == 6
    assert received[-1].type == "response.output_text.delta"


async def test_a_disconnect_mid_stream_is_interrupted_and_keeps_its_events(
    no_retry_client: Client,
) -> None:
    received: list[Any] = []
    with pytest.raises(StreamInterruptedError):
        await _collect(no_retry_client, RESPONSE, "disconnect; after=7", received)
    assert len(received) == 7


async def test_every_streamed_responses_event_decodes_to_a_typed_event(
    mock_openai: MockServer, client: Client
) -> None:
    plain = decode_response((await client.request("POST", "/responses", body=RESPONSE)).content)
    received: list[Any] = []
    body = {**RESPONSE, "stream": True}
    stream = await client.request("POST", "/responses", body=body, stream=True)
    async with stream:
        async for event in stream:
            received.append(decode_response_event(event.data))
    assert not any(isinstance(e, UnknownEvent) for e in received)
    final = received[-1].response
    assert final.output_text == plain.output_text != ""
    assert final.usage == plain.usage


async def test_every_chat_chunk_decodes_to_a_typed_chunk(client: Client) -> None:
    plain = decode_chat_completion(
        (await client.request("POST", "/chat/completions", body=CHAT)).content
    )
    text = ""
    usage = None
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    stream = await client.request("POST", "/chat/completions", body=body, stream=True)
    async with stream:
        async for event in stream:
            if event.data == "[DONE]":
                break
            chunk = decode_chat_chunk(event.data)
            for choice in chunk.choices:
                text += choice.delta.content or ""
            usage = chunk.usage or usage
    assert text == plain.choices[0].message.content
    assert usage == plain.usage
