"""The Responses WebSocket mode and the mock's faults over WebSocket, on a real loopback socket
and both backends (a minimal wsproto client)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from openai_ergo.mock import Fault, MockServer, serve
from openai_ergo.types import (
    decode_response_event,
    realtime_create_response,
    realtime_session_update,
)
from tests.openai_ergo.mock.sse import frames
from tests.openai_ergo.mock.wsclient import Dropped, Refused, WSClient

BEARER = {"Authorization": "Bearer sk-mock"}


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with serve(seed=11) as server:
        yield server


async def responses(server: MockServer, **headers: str) -> WSClient:
    return await WSClient.connect(server.port, "/v1/responses", headers={**BEARER, **headers})


def without_ids(event: dict[str, Any]) -> list[Any]:
    """What an event says, apart from the ids and times that differ per response."""
    kind = event["type"]
    if kind.endswith("delta"):
        return [kind, event["delta"]]
    if kind == "response.output_text.done":
        return [kind, event["text"]]
    return [kind, event["sequence_number"]]


async def test_several_responses_over_one_connection_stream_the_sse_events(
    server: MockServer,
) -> None:
    body = {"model": "gpt-5-mini", "input": "Tell me about rivers.", "store": True}
    async with await responses(server) as ws:
        await ws.send({"type": "response.create", **body})
        first = await ws.until("response.completed")
        follow_up = {
            "type": "response.create",
            "stream_id": "lane_1",
            "model": "gpt-5-mini",
            "input": "And lakes?",
            "previous_response_id": first[-1]["response"]["id"],
        }
        await ws.send(follow_up)
        second = await ws.until("response.completed")
    async with httpx.AsyncClient(base_url=server.url, headers=BEARER) as http:
        answer = await http.post("/responses", json=body | {"stream": True})
        sse = [frame.json() for frame in frames(answer.text)]
    # The same events, in the same order, as the SSE endpoint streams for the same request.
    assert [without_ids(e) for e in first] == [without_ids(e) for e in sse]
    for event in first + second:
        decode_response_event(json.dumps(event))
    assert {e.get("stream_id") for e in second} == {"lane_1"}
    assert "stream_id" not in first[0]
    # The follow-up continued the first: it is a different answer, and it was stored.
    texts = [e[-1]["response"]["output"][0]["content"][0]["text"] for e in (first, second)]
    assert texts[0] != texts[1]
    assert second[-1]["response"]["previous_response_id"] == first[-1]["response"]["id"]
    posted = [r.json.get("input") for r in server.requests if r.method == "POST"]
    assert posted[:2] == [
        "Tell me about rivers.",
        "And lakes?",
    ]


@pytest.mark.parametrize(
    ("message", "status", "param"),
    [
        ({"type": "response.create", "input": "Hi"}, 400, "model"),
        ({"type": "response.create", "model": "gpt-5", "input": "Hi", "stream": True}, 400,
         "stream"),
        ({"type": "response.create", "model": "gpt-5", "input": "Hi", "background": True}, 400,
         "background"),
        ({"type": "response.steer"}, 400, "type"),
        ("not json", 400, None),
    ],
)  # fmt: skip
async def test_a_bad_request_gets_the_websocket_error_event_and_the_connection_goes_on(
    server: MockServer, message: dict[str, Any] | str, status: int, param: str | None
) -> None:
    async with await responses(server) as ws:
        if isinstance(message, dict):
            message = {**message, "stream_id": "lane_9"}
        await ws.send(message)
        error = await ws.recv()
        await ws.send({"type": "response.create", "model": "gpt-5", "input": "Hi"})
        after = await ws.until("response.completed")
    assert error["type"] == "error"
    assert error["status"] == status
    assert error["error"]["param"] == param
    assert error.get("stream_id") == ("lane_9" if isinstance(message, dict) else None)
    assert after[0]["type"] == "response.created"


async def test_disconnect_drops_the_connection_without_a_close_frame(server: MockServer) -> None:
    async with await responses(server, **{"x-mock-fault": "disconnect; after=3"}) as ws:
        await ws.send({"type": "response.create", "model": "gpt-5", "input": "Hi"})
        got = [await ws.recv() for _ in range(3)]
        with anyio.fail_after(5), pytest.raises(Dropped):
            await ws.recv()
    assert [e["sequence_number"] for e in got] == [0, 1, 2]


async def test_an_error_event_fails_the_response_and_the_connection_goes_on(
    server: MockServer,
) -> None:
    server.fail_next(Fault.error_event(after=4, code="server_error"), path="/v1/responses")
    async with await responses(server) as ws:
        await ws.send({"type": "response.create", "model": "gpt-5", "input": "Hi"})
        failed = await ws.until("response.failed")
        await ws.send({"type": "response.create", "model": "gpt-5", "input": "Hi"})
        fine = await ws.until("response.completed")
    assert [e["type"] for e in failed[-2:]] == ["error", "response.failed"]
    assert len(failed) == 6
    assert failed[-2]["code"] == "server_error"
    assert fine[0]["type"] == "response.created"


async def test_the_realtime_api_fails_a_response_with_its_error_event(server: MockServer) -> None:
    fault = "error_event; after=5; code=server_error; message=Overloaded."
    headers = {**BEARER, "x-mock-fault": fault}
    async with await WSClient.connect(
        server.port, "/v1/realtime?model=gpt-realtime", headers=headers
    ) as ws:
        await ws.send(realtime_create_response({"output_modalities": ["text"]}))
        events = await ws.until("response.done")
    # session.created and 4 events went out; then the message in progress ends, incomplete,
    # the error event says why, and the response is done, failed.
    assert len(events) == 8
    kinds = [e["type"] for e in events[-3:]]
    assert kinds == ["response.output_item.done", "error", "response.done"]
    assert events[-3]["item"]["status"] == "incomplete"
    error = events[-2]
    assert error["type"] == "error"
    assert error["error"] == {**error["error"], "type": "server_error", "message": "Overloaded."}
    assert events[-1]["response"]["status"] == "failed"


async def test_malformed_sends_one_message_that_is_not_json(server: MockServer) -> None:
    async with await responses(server, **{"x-mock-fault": "malformed; after=2"}) as ws:
        await ws.send({"type": "response.create", "model": "gpt-5", "input": "Hi"})
        texts = [await ws.recv_text() for _ in range(4)]
    with pytest.raises(json.JSONDecodeError):
        json.loads(texts[2])
    assert json.loads(texts[3])["sequence_number"] == 3


async def test_hang_leaves_the_handshake_unanswered(server: MockServer) -> None:
    started = anyio.current_time()
    with anyio.move_on_after(0.5) as waited:
        await responses(server, **{"x-mock-fault": "hang"})
    assert waited.cancelled_caught
    # A bounded hang only delays the handshake.
    async with await responses(server, **{"x-mock-fault": "hang; seconds=0.2"}) as ws:
        delayed = anyio.current_time() - started
        await ws.send({"type": "response.create", "model": "gpt-5", "input": "Hi"})
        assert (await ws.recv())["type"] == "response.created"
    assert delayed >= 0.7


async def test_idle_goes_silent_mid_stream(server: MockServer) -> None:
    async with await responses(server, **{"x-mock-fault": "idle; after=2; seconds=30"}) as ws:
        await ws.send({"type": "response.create", "model": "gpt-5", "input": "Hi"})
        got = [await ws.recv() for _ in range(2)]
        with anyio.move_on_after(0.3) as silent:
            await ws.recv()
    assert silent.cancelled_caught
    assert len(got) == 2


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        ("rate_limit; retry_after=2", 429, "application/json"),
        ("server_error; status=503", 503, "application/json"),
        ("html; status=502", 502, "text/html; charset=utf-8"),
    ],
)
async def test_status_faults_refuse_the_handshake(
    server: MockServer, fault: str, status: int, content_type: str
) -> None:
    with pytest.raises(Refused) as refused:
        await responses(server, **{"x-mock-fault": fault})
    assert refused.value.status == status
    assert refused.value.headers["content-type"] == content_type
    if status == 429:
        assert refused.value.headers["retry-after"] == "2"
        assert refused.value.json()["error"]["code"] == "rate_limit_exceeded"


async def test_an_error_event_outside_a_response_is_a_server_error_event(
    server: MockServer,
) -> None:
    headers = {**BEARER, "x-mock-fault": "error_event; after=1; code=server_error"}
    async with await WSClient.connect(
        server.port, "/v1/realtime?model=gpt-realtime", headers=headers
    ) as ws:
        assert (await ws.recv())["type"] == "session.created"
        await ws.send(realtime_session_update({"instructions": "Be brief."}))
        error = await ws.recv()
        # Struck once: the session goes on, and the next answer is whole.
        await ws.send(realtime_create_response({"output_modalities": ["text"]}))
        answer = await ws.until("response.done")
    assert error["type"] == "error"
    assert error["error"]["type"] == "server_error"
    assert answer[-1]["response"]["status"] == "completed"
