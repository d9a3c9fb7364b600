"""Assistants runs against the mock: awaited and streamed runs with typed events and text
deltas, and the `@tool` loop answered through submit_tool_outputs."""

from __future__ import annotations

from typing import Any

import pytest

from openai_ergo import (
    AssistantRunBuilder,
    InvalidRequestError,
    RunStream,
    StreamEventError,
    StreamInterruptedError,
    ToolError,
    tool,
)
from openai_ergo.mock import MockServer

from .clocks import client_on

calls: list[str] = []


@tool
async def forecast(city: str) -> str:
    """The weather tomorrow in a city."""
    calls.append(city)
    return f"Sunny in {city}"


@pytest.fixture(autouse=True)
def _forget_calls() -> None:
    calls.clear()


async def _assistant(client: Any, **fields: Any) -> str:
    made = await client.beta.assistants.create(model="gpt-4o", **fields)
    return str(made.id)


async def test_awaited_run_completes_with_the_reply_on_the_thread(
    mock_openai: MockServer,
) -> None:
    client, time = client_on(mock_openai)
    async with client:
        assistant = await _assistant(client, instructions="Be brief.")
        run = await client.assistant_run(assistant).user("Say hello.")
        assert run.status == "completed"
        assert run.usage is not None
        assert time.sleeps == []  # a streamed run takes no clock time: nothing polled
        messages = [m async for m in client.beta.threads.messages.list(run.thread_id or "")]
        assert [m.role for m in messages] == ["assistant", "user"]


async def test_streamed_run_gives_typed_events_and_text(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        assistant = await _assistant(client)
        async with client.assistant_run(assistant).user("Say hello.").stream() as stream:
            assert isinstance(stream, RunStream)
            text = "".join([piece async for piece in stream.text()])
        names = [event.event for event in stream.events]
        assert names[:4] == [
            "thread.created",
            "thread.run.created",
            "thread.run.queued",
            "thread.run.in_progress",
        ]
        assert names[-1] == "thread.run.completed"
        assert "thread.message.delta" in names
        run = stream.final()
        assert run.status == "completed"
        [message] = stream.messages
        [part] = message.content or []
        assert part.text.value == text  # type: ignore[union-attr]
        assert text


@pytest.mark.parametrize("streamed", [False, True], ids=["awaited", "streamed"])
async def test_tool_loop_runs_tools_and_submits_outputs(
    mock_openai: MockServer, streamed: bool
) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        assistant = await _assistant(client)
        builder = client.assistant_run(assistant).tools(forecast).user("Please forecast Paris.")
        run = builder.run()
        if streamed:
            async with run.stream() as stream:
                text = "".join([piece async for piece in stream.text()])
            final, steps = stream.final(), stream.steps
            assert text
        else:
            final = await run
            steps = run.steps
        assert final.status == "completed"
        assert len(steps) == 2
        first = steps[0]
        assert first.result.status == "requires_action"
        [record] = first.calls
        assert record.name == "forecast"
        assert record.output == f"Sunny in {calls[0]}"
        assert calls == [calls[0]]
        # The server saw the output on the same run.
        path = f"/v1/threads/{final.thread_id}/runs/{final.id}/submit_tool_outputs"
        submitted = [r for r in mock_openai.requests if r.path == path]
        assert len(submitted) == 1
        assert submitted[0].json["tool_outputs"][0]["output"] == record.output
        step_list = client.beta.threads.runs.steps.list(final.thread_id or "", final.id or "")
        kinds = sorted([s.type or "" async for s in step_list])
        assert kinds == ["message_creation", "tool_calls"]


async def test_run_on_an_existing_thread_adds_the_messages(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        assistant = await _assistant(client)
        thread = await client.beta.threads.create()
        run = await client.assistant_run(assistant).thread(thread.id or "").user("Hi there.")
        assert run.thread_id == thread.id
        messages = [m async for m in client.beta.threads.messages.list(thread.id or "")]
        assert [m.role for m in messages] == ["assistant", "user"]


async def test_an_unknown_tool_call_is_a_tool_error(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        function = {"type": "function", "function": {"name": "lookup", "parameters": {}}}
        assistant = await _assistant(client, tools=[function])

        @tool
        def unrelated(x: int) -> int:
            """Not what the assistant calls."""
            return x

        builder = client.assistant_run(assistant).user("Please lookup it.")
        with pytest.raises(ToolError, match="'lookup'"):
            await builder.tools(unrelated, function).run()


async def test_stream_errors_carry_the_events(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        assistant = await _assistant(client)
        builder = client.assistant_run(assistant).user("Say hello.")
        mock_openai.fail_next("error_event; after=5; code=server_error")
        with pytest.raises(StreamEventError) as failed:
            await builder
        assert failed.value.code == "server_error"
        assert len(failed.value.events) == 5
        mock_openai.fail_next("disconnect; after=6")
        with pytest.raises(StreamInterruptedError) as cut:
            await builder
        assert 0 < len(cut.value.events) <= 6


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda c: c.assistant_run(""), "assistant_id"),
        (lambda c: c.assistant_run("asst_1").user(""), "content"),
        (lambda c: c.assistant_run("asst_1").messages([{"role": "system"}]), "messages[0]"),
        (lambda c: c.assistant_run("asst_1").tool_choice("always"), "tool_choice"),
        (lambda c: c.assistant_run("asst_1").tools(forecast, forecast), "tools"),
        (lambda c: c.assistant_run("asst_1").tools(*[{"type": "code_interpreter"}] * 21), "tools"),
        (lambda c: c.assistant_run("asst_1").temperature(3), "temperature"),
        (lambda c: c.assistant_run("asst_1").max_completion_tokens(10), "max_completion_tokens"),
        (lambda c: c.assistant_run("asst_1").stream(), "thread"),
        (lambda c: c.assistant_run("asst_1").user("x").run(), None),
    ],
)
def test_bad_values_name_the_parameter(mock_openai: MockServer, make: Any, param: str) -> None:
    client, _ = client_on(mock_openai)
    with pytest.raises(InvalidRequestError) as caught:
        make(client)
    assert caught.value.param == param


def test_the_request_body(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    base = client.assistant_run("asst_1").tools(forecast).tool_choice(forecast)
    new_thread = base.user("Hi").request_body()
    assert new_thread["thread"] == {"messages": [{"role": "user", "content": "Hi"}]}
    assert new_thread["tools"] == [forecast.for_chat()]
    assert new_thread["tool_choice"] == {"type": "function", "function": {"name": "forecast"}}
    on_thread = base.thread("thread_1").user("Hi").request_body()
    assert on_thread["additional_messages"] == [{"role": "user", "content": "Hi"}]
    assert "thread" not in on_thread
    assert isinstance(base, AssistantRunBuilder)
    assert "messages" not in repr(base)
