"""The raw tier under the builders, over loopback: what `client.request(..., stream=True)` leaves
for the typed layer above it.

Every fault met through the builders (retries, typed status errors, hangs, mid-stream failures
with their partial answers) is in test_builder_faults.py. Here: the raw tier's own contract —
a mid-stream failure raises a `StreamError` with `partial=None` after handing out every event
that arrived, and an error reported inside the stream is just another event at this tier.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from openai_ergo import (
    Client,
    RetryPolicy,
    StreamError,
    StreamIdleTimeoutError,
    StreamInterruptedError,
    Timeouts,
)
from openai_ergo.mock import MockServer
from streaming import ServerSentEvent

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
RESPONSE = {"model": "gpt-5-mini", "input": "Hi", "stream": True}


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    async with Client(
        api_key="sk-test",
        base_url=mock_openai.url,
        retry=RetryPolicy.never(),
        timeouts=Timeouts(read=0.3, stream_idle=0.25),
    ) as client:
        yield client


async def _collect(
    client: Client, path: str, body: dict[str, Any], fault: str, into: list[ServerSentEvent]
) -> None:
    stream = await client.request(
        "POST", path, body=body, headers={"x-mock-fault": fault}, stream=True
    )
    async with stream:
        async for event in stream:
            into.append(event)


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [("idle; after=6", StreamIdleTimeoutError), ("disconnect; after=6", StreamInterruptedError)],
)
async def test_a_mid_stream_failure_leaves_the_partial_to_the_typed_layer(
    client: Client, fault: str, error_type: type[StreamError]
) -> None:
    received: list[ServerSentEvent] = []
    with pytest.raises(error_type) as caught:
        await _collect(client, "/responses", RESPONSE, fault, received)
    assert caught.value.partial is None
    assert caught.value.request_id is not None
    assert len(received) == 6
    assert [e.event for e in received[:2]] == ["response.created", "response.in_progress"]


async def test_a_responses_error_event_is_an_ordinary_event_at_this_tier(client: Client) -> None:
    received: list[ServerSentEvent] = []
    await _collect(client, "/responses", RESPONSE, "error_event; after=4", received)
    assert [e.event for e in received[-2:]] == ["error", "response.failed"]
    assert received[-2].json()["code"] == "server_error"


async def test_a_chat_error_payload_is_an_ordinary_event_at_this_tier(client: Client) -> None:
    received: list[ServerSentEvent] = []
    await _collect(client, "/chat/completions", CHAT, "error_event; after=3", received)
    assert len(received) == 4
    assert received[-1].json()["error"]["type"] == "server_error"
    assert all(e.data != "[DONE]" for e in received)
