"""Streamed runs (`stream=true` on run create, create-and-run and submit_tool_outputs): the
spec's events in the service's order, ending with `done`; what they carry agrees with the run
as it then reads; faults strike them; and the official SDK's `AssistantEventHandler` streams
consume them under asyncio and trio.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec
import openai
import pytest
from openai import AsyncAssistantEventHandler, AsyncOpenAI
from openai.types.beta.threads import Message, Text, TextDelta
from openai.types.beta.threads.runs import ToolCall
from typing_extensions import override

from openai_ergo.mock import MockOpenAI, MockServer
from openai_ergo.types import (
    MessageDeltaObject,
    MessageObject,
    RunObject,
    RunStepDeltaObject,
    RunStepObject,
    ThreadObject,
)

from .test_runs import FORECAST, _ok, _valid_forecast

pytestmark = pytest.mark.filterwarnings(
    "ignore:(The Assistants API is )?deprecated:DeprecationWarning"
)

THREAD = {"messages": [{"role": "user", "content": "Please forecast Rome."}]}


@pytest.fixture
def app() -> MockOpenAI:
    mock = MockOpenAI()
    mock.clock.speed = 0  # a streamed run takes no clock time: nothing here waits for it
    return mock


def _events(body: bytes) -> list[tuple[str, Any]]:
    """Each SSE block's event name and its data (JSON, or the raw text for `done`)."""
    events = []
    for block in body.decode().split("\n\n"):
        if not block:
            continue
        name, data = block.split("\n")
        assert name.startswith("event: ")
        assert data.startswith("data: ")
        raw = data.removeprefix("data: ")
        events.append((name.removeprefix("event: "), raw if raw == "[DONE]" else json.loads(raw)))
    return events


async def _assistant(http: httpx.AsyncClient) -> str:
    made = await _ok(http.post("/assistants", json={"model": "gpt-4o", "tools": [FORECAST]}))
    return str(made["id"])


async def test_a_streamed_run_sends_the_specs_events_in_order_and_reads_the_same_after(
    http: httpx.AsyncClient,
) -> None:
    assistant = await _assistant(http)
    body = {"assistant_id": assistant, "thread": THREAD, "stream": True}
    answer = await http.post("/threads/runs", json=body)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = _events(answer.content)
    names = [name for name, _ in events]
    deltas = names.count("thread.run.step.delta")
    assert deltas > 1
    assert names == [
        "thread.created", "thread.run.created", "thread.run.queued", "thread.run.in_progress",
        "thread.run.step.created", "thread.run.step.in_progress",
        *["thread.run.step.delta"] * deltas, "thread.run.requires_action", "done",
    ]  # fmt: skip
    thread = events[0][1]
    assert (thread["object"], thread["id"].startswith("thread_")) == ("thread", True)
    assert [events[i][1]["status"] for i in (1, 2, 3)] == ["queued", "queued", "in_progress"]
    step = events[4][1]
    assert (step["type"], step["status"], step["step_details"]["tool_calls"]) == (
        "tool_calls", "in_progress", [],
    )  # fmt: skip
    calls = [data["delta"]["step_details"]["tool_calls"][0] for _, data in events[6:-2]]
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["function"]["name"] == "forecast"
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert _valid_forecast(arguments)
    run = events[-2][1]
    [required] = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert (required["id"], required["function"]["arguments"]) == (calls[0]["id"], arguments)
    assert events[-1][1] == "[DONE]"
    path = f"/threads/{thread['id']}/runs/{run['id']}"
    assert (await _ok(http.get(path)))["status"] == "requires_action"  # no clock time passed

    outputs = {"tool_outputs": [{"tool_call_id": required["id"], "output": "Hot"}], "stream": True}
    resumed = _events((await http.post(f"{path}/submit_tool_outputs", json=outputs)).content)
    names = [name for name, _ in resumed]
    tokens = names.count("thread.message.delta")
    assert tokens > 1
    assert names == [
        "thread.run.step.completed", "thread.run.queued", "thread.run.in_progress",
        "thread.run.step.created", "thread.run.step.in_progress", "thread.message.created",
        "thread.message.in_progress", *["thread.message.delta"] * tokens,
        "thread.message.completed", "thread.run.step.completed", "thread.run.completed", "done",
    ]  # fmt: skip
    answered = resumed[0][1]["step_details"]["tool_calls"][0]["function"]
    assert (answered["arguments"], answered["output"]) == (arguments, "Hot")
    opened = resumed[5][1]
    assert (opened["status"], opened["content"], opened["role"]) == ("in_progress", [], "assistant")
    text = "".join(d["delta"]["content"][0]["text"]["value"] for n, d in resumed if "delta" in n)
    message = resumed[-4][1]
    assert message["status"] == "completed"
    assert message["content"] == [{"type": "text", "text": {"value": text, "annotations": []}}]
    final = resumed[-2][1]
    assert final["status"] == "completed"
    assert final["usage"]["total_tokens"] > 0
    assert await _ok(http.get(path)) == final
    stored = await _ok(http.get(f"/threads/{thread['id']}/messages/{message['id']}"))
    assert stored == message


#: The generated type each event's data decodes into, by the event name's family.
EVENT_TYPES: dict[str, type[Any]] = {
    "thread.created": ThreadObject,
    "thread.run.step.delta": RunStepDeltaObject,
    "thread.message.delta": MessageDeltaObject,
    "thread.run.step": RunStepObject,
    "thread.message": MessageObject,
    "thread.run": RunObject,
}


async def test_every_streamed_event_decodes_into_its_generated_type(
    http: httpx.AsyncClient,
) -> None:
    assistant = await _assistant(http)
    body = {"assistant_id": assistant, "thread": THREAD, "stream": True}
    events = _events((await http.post("/threads/runs", json=body)).content)
    run = events[-2][1]
    [call] = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    path = f"/threads/{run['thread_id']}/runs/{run['id']}/submit_tool_outputs"
    outputs = {"tool_outputs": [{"tool_call_id": call["id"], "output": "Hot"}], "stream": True}
    events += _events((await http.post(path, json=outputs)).content)
    decoded = 0
    for name, data in events:
        if name == "done":
            continue
        kind = next(t for family, t in EVENT_TYPES.items() if name.startswith(family))
        value = msgspec.convert(data, kind)
        assert getattr(value, "id", None) == data["id"]
        decoded += 1
    assert decoded == len(events) - 2  # all but the two `done`


async def test_a_streamed_reply_is_the_reply_the_same_run_gives_unstreamed(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    made = await _ok(http.post("/assistants", json={"model": "gpt-4o", "instructions": "Hi."}))
    thread = {"messages": [{"role": "user", "content": "Tell me a story."}]}
    body = {"assistant_id": made["id"], "thread": thread}
    streamed = _events((await http.post("/threads/runs", json={**body, "stream": True})).content)
    text = "".join(d["delta"]["content"][0]["text"]["value"] for n, d in streamed if "delta" in n)
    polled = await _ok(http.post("/threads/runs", json=body))
    app.clock.advance(app.background_seconds)
    messages = await _ok(http.get(f"/threads/{polled['thread_id']}/messages"))
    assert messages["data"][0]["content"][0]["text"]["value"] == text


async def _read_events(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str], into: list[str]
) -> None:
    """The `event:` lines of a run's stream, until it ends or breaks (the caller sees how)."""
    async with http.stream("POST", "/threads/runs", json=body, headers=headers) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                into.append(line)


async def test_faults_strike_a_streamed_run(mock_openai: MockServer) -> None:
    async with httpx.AsyncClient(base_url=mock_openai.url, timeout=5.0) as http:
        assistant = await _assistant(http)
        body = {"assistant_id": assistant, "thread": THREAD, "stream": True}
        broken = await http.post(
            "/threads/runs", json=body, headers={"x-mock-fault": "error_event; after=3"}
        )
        events = _events(broken.content)
        assert [name for name, _ in events] == [
            "thread.created", "thread.run.created", "thread.run.queued", "error",
        ]  # fmt: skip
        assert events[-1][1]["error"]["code"] == "server_error"
        assert events[-1][1]["code"] == "server_error"
        received: list[str] = []
        headers = {"x-mock-fault": "disconnect; after=2"}
        with pytest.raises(httpx.RemoteProtocolError):
            await _read_events(http, body, headers, received)
        assert received == ["event: thread.created", "event: thread.run.created"]


class Recorder(AsyncAssistantEventHandler):
    """What the SDK's event handler hears."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.calls: list[ToolCall] = []
        self.messages: list[Message] = []

    @override
    async def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.text.append(delta.value or "")

    @override
    async def on_tool_call_done(self, tool_call: ToolCall) -> None:
        self.calls.append(tool_call)

    @override
    async def on_message_done(self, message: Message) -> None:
        self.messages.append(message)


# The SDK's Assistants streams stop at `data: [DONE]` (which the service sends, and so does the
# mock) and leave their event generators unexhausted; under trio each one's collection warns
# (ResourceWarning, an error here), whatever the server. The raw streams above run on both.
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_sdks_event_handlers_follow_a_streamed_run_through_its_tool_call(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    mock_openai.app.clock.speed = 0
    tools: Any = [FORECAST]
    assistant = await sdk.beta.assistants.create(model="gpt-4o", tools=tools)
    thread = await sdk.beta.threads.create(messages=[{"role": "user", "content": "forecast it"}])
    calling = Recorder()
    async with sdk.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=calling
    ) as stream:
        await stream.until_done()
    run = await calling.get_final_run()
    assert run.status == "requires_action"
    [call] = calling.calls
    assert call.type == "function"
    assert _valid_forecast(call.function.arguments)
    assert call.function.name == "forecast"
    answering = Recorder()
    async with sdk.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "Mild"}],
        event_handler=answering,
    ) as stream:
        await stream.until_done()
    done = await answering.get_final_run()
    assert done.status == "completed"
    [message] = answering.messages
    assert message.content[0].type == "text"
    assert message.content[0].text.value == "".join(answering.text)
    assert len(answering.text) > 1
    stored = await sdk.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert stored.content == message.content
    with pytest.raises(openai.BadRequestError):
        await sdk.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "x"}]
        )
