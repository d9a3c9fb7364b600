"""Runs and run steps (the Assistants API, beta) on the mock's clock: queued → in_progress →
completed, requires_action → submit_tool_outputs → completed, cancel → cancelling → cancelled,
expiry; the steps and the reply message on the thread; OpenAI's 404/400; and round trips through
the official SDK's polling helpers and through our typed methods.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client, count_tokens
from openai_ergo.mock import MockOpenAI, MockServer, Reply
from openai_ergo.types import (
    AssistantToolsFunction,
    CreateMessageRequest,
    FunctionObject,
    RunObject,
    RunStepObject,
    SubmitToolOutputsRunRequestToolOutputsItem,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:(The Assistants API is )?deprecated:DeprecationWarning"
)

#: A tool whose arguments must be an object with a `city` string and a `days` integer in 1..5.
FORECAST: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "forecast",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 5},
                "unit": {"type": "string", "enum": ["c", "f"]},
            },
            "required": ["city", "days", "unit"],
            "additionalProperties": False,
        },
    },
}
T = 2.0  # the app's background_seconds: a turn is queued for T/2, then in progress for T/2


@pytest.fixture
def app() -> MockOpenAI:
    mock = MockOpenAI(background_seconds=T)
    mock.clock.speed = 0  # time moves only when a test says so
    return mock


async def _ok(answer: Any) -> dict[str, Any]:
    response: httpx.Response = await answer
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _thread(http: httpx.AsyncClient, text: str, **assistant: Any) -> tuple[str, str]:
    """An assistant (with the forecast tool unless told otherwise) and a thread saying `text`."""
    body = {"model": "gpt-4o", "tools": [FORECAST], **assistant}
    made = await _ok(http.post("/assistants", json=body))
    thread = await _ok(
        http.post("/threads", json={"messages": [{"role": "user", "content": text}]})
    )
    return str(made["id"]), str(thread["id"])


def _valid_forecast(arguments: str) -> bool:
    parsed = json.loads(arguments)
    return (
        set(parsed) == {"city", "days", "unit"}
        and isinstance(parsed["city"], str)
        and isinstance(parsed["days"], int)
        and 1 <= parsed["days"] <= 5
        and parsed["unit"] in ("c", "f")
    )


async def test_a_run_is_queued_then_in_progress_then_completed_with_its_reply_on_the_thread(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    assistant, thread = await _thread(http, "Tell me about rivers.", instructions="Be brief.")
    runs = f"/threads/{thread}/runs"
    run = await _ok(http.post(runs, json={"assistant_id": assistant, "metadata": {"r": "1"}}))
    assert run["id"].startswith("run_")
    assert (run["object"], run["status"], run["thread_id"], run["assistant_id"]) == (
        "thread.run", "queued", thread, assistant,
    )  # fmt: skip
    assert (run["model"], run["instructions"], run["tools"]) == ("gpt-4o", "Be brief.", [FORECAST])
    assert (run["usage"], run["started_at"], run["required_action"]) == (None, None, None)
    assert run["expires_at"] == run["created_at"] + 600
    assert (run["tool_choice"], run["parallel_tool_calls"], run["metadata"]) == (
        "auto", True, {"r": "1"},
    )  # fmt: skip
    steps = f"{runs}/{run['id']}/steps"
    assert (await _ok(http.get(steps)))["data"] == []
    messages = f"/threads/{thread}/messages"
    assert len((await _ok(http.get(messages)))["data"]) == 1  # the reply is not there yet

    app.clock.advance(T / 2)
    running = await _ok(http.get(f"{runs}/{run['id']}"))
    assert (running["status"], running["started_at"]) == ("in_progress", run["created_at"] + 1)
    [step] = (await _ok(http.get(steps)))["data"]
    assert (step["type"], step["status"], step["run_id"]) == (
        "message_creation", "in_progress", run["id"],
    )  # fmt: skip
    reply_id = step["step_details"]["message_creation"]["message_id"]
    writing = await _ok(http.get(f"{messages}/{reply_id}"))
    assert (writing["status"], writing["content"], writing["role"]) == (
        "in_progress", [], "assistant",
    )  # fmt: skip

    app.clock.advance(T / 2)
    done = await _ok(http.get(f"{runs}/{run['id']}"))
    assert (done["status"], done["completed_at"], done["expires_at"]) == (
        "completed", run["created_at"] + 2, None,
    )  # fmt: skip
    usage = done["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    reply = await _ok(http.get(f"{messages}/{reply_id}"))
    assert (reply["status"], reply["run_id"], reply["assistant_id"]) == (
        "completed", run["id"], assistant,
    )  # fmt: skip
    [part] = reply["content"]
    assert part["type"] == "text"
    assert part["text"]["value"].endswith(".")
    assert part["text"]["annotations"] == []
    listed = await _ok(http.get(messages, params={"order": "asc"}))
    assert [m["role"] for m in listed["data"]] == ["user", "assistant"]
    by_run = await _ok(http.get(messages, params={"run_id": run["id"]}))
    assert [m["id"] for m in by_run["data"]] == [reply_id]
    finished = await _ok(http.get(f"{steps}/{step['id']}"))
    assert (finished["status"], finished["usage"]) == (
        "completed", {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")},
    )  # fmt: skip
    assert [r["id"] for r in (await _ok(http.get(runs)))["data"]] == [run["id"]]
    updated = await _ok(http.post(f"{runs}/{run['id']}", json={"metadata": {"r": "2"}}))
    assert (updated["metadata"], updated["status"]) == ({"r": "2"}, "completed")

    # The same thread and seed answer the same text: the reply depends only on the request.
    again = MockOpenAI(background_seconds=0)
    transport = httpx.ASGITransport(app=again)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as other:
        assistant2, thread2 = await _thread(
            other, "Tell me about rivers.", instructions="Be brief."
        )
        await _ok(other.post(f"/threads/{thread2}/runs", json={"assistant_id": assistant2}))
        replies = await _ok(other.get(f"/threads/{thread2}/messages"))
        assert replies["data"][0]["content"] == reply["content"]


async def test_a_run_calls_a_tool_the_user_names_and_answers_in_text_after_its_output(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    assistant, thread = await _thread(http, "Please forecast the weather in Paris.")
    runs = f"/threads/{thread}/runs"
    run = await _ok(http.post(runs, json={"assistant_id": assistant}))
    app.clock.advance(T)
    waiting = await _ok(http.get(f"{runs}/{run['id']}"))
    assert waiting["status"] == "requires_action"
    action = waiting["required_action"]
    assert action["type"] == "submit_tool_outputs"
    [call] = action["submit_tool_outputs"]["tool_calls"]
    assert (call["type"], call["function"]["name"]) == ("function", "forecast")
    assert _valid_forecast(call["function"]["arguments"])
    [step] = (await _ok(http.get(f"{runs}/{run['id']}/steps")))["data"]
    assert (step["type"], step["status"]) == ("tool_calls", "in_progress")
    assert step["step_details"]["tool_calls"][0]["function"]["output"] is None
    # The thread is the run's until it ends.
    busy = await http.post(f"/threads/{thread}/messages", json={"role": "user", "content": "x"})
    assert busy.status_code == 400
    assert busy.json()["error"]["message"] == (
        f"Can't add messages to {thread} while a run {run['id']} is active."
    )
    second = await http.post(runs, json={"assistant_id": assistant})
    assert second.status_code == 400
    assert run["id"] in second.json()["error"]["message"]

    outputs = [{"tool_call_id": call["id"], "output": "Sunny, 21C"}]
    path = f"{runs}/{run['id']}/submit_tool_outputs"
    resumed = await _ok(http.post(path, json={"tool_outputs": outputs}))
    assert (resumed["status"], resumed["required_action"]) == ("queued", None)
    answered = await _ok(http.get(f"{runs}/{run['id']}/steps/{step['id']}"))
    assert answered["status"] == "completed"
    assert answered["step_details"]["tool_calls"][0]["function"]["output"] == "Sunny, 21C"
    app.clock.advance(T / 2)
    assert (await _ok(http.get(f"{runs}/{run['id']}")))["status"] == "in_progress"
    app.clock.advance(T / 2)
    done = await _ok(http.get(f"{runs}/{run['id']}"))
    assert done["status"] == "completed"
    steps = await _ok(http.get(f"{runs}/{run['id']}/steps", params={"order": "asc"}))
    assert [s["type"] for s in steps["data"]] == ["tool_calls", "message_creation"]
    messages = await _ok(http.get(f"/threads/{thread}/messages", params={"order": "asc"}))
    assert [m["role"] for m in messages["data"]] == ["user", "assistant"]
    assert messages["data"][1]["content"][0]["text"]["value"]
    late = await http.post(path, json={"tool_outputs": outputs})
    assert late.status_code == 400
    assert (
        late.json()["error"]["message"] == 'Runs in status "completed" do not accept tool outputs.'
    )


@pytest.mark.parametrize(
    ("text", "options", "calls"),
    [
        ("Tell me the weather.", {}, False),  # the tool is not named
        ("Please forecast it.", {"tool_choice": "none"}, False),
        ("Tell me the weather.", {"tool_choice": "required"}, True),
        ("Tell me.", {"tool_choice": {"type": "function", "function": {"name": "forecast"}}}, True),
    ],
)
async def test_the_documented_rule_decides_whether_a_run_calls_a_tool(
    app: MockOpenAI, http: httpx.AsyncClient, text: str, options: dict[str, Any], calls: bool
) -> None:
    assistant, thread = await _thread(http, text)
    run = await _ok(http.post(f"/threads/{thread}/runs", json={"assistant_id": assistant,
                                                               **options}))  # fmt: skip
    app.clock.advance(T)
    status = (await _ok(http.get(f"/threads/{thread}/runs/{run['id']}")))["status"]
    assert status == ("requires_action" if calls else "completed")


async def test_a_cancelled_run_is_cancelling_then_cancelled_and_its_reply_incomplete(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    assistant, thread = await _thread(http, "Hello.")
    runs = f"/threads/{thread}/runs"
    run = await _ok(http.post(runs, json={"assistant_id": assistant}))
    app.clock.advance(T * 3 / 4)
    cancelling = await _ok(http.post(f"{runs}/{run['id']}/cancel"))
    assert cancelling["status"] == "cancelling"
    app.clock.advance(T / 2 - 0.01)
    assert (await _ok(http.get(f"{runs}/{run['id']}")))["status"] == "cancelling"
    app.clock.advance(0.01)
    cancelled = await _ok(http.get(f"{runs}/{run['id']}"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] is not None
    assert cancelled["completed_at"] is None
    [step] = (await _ok(http.get(f"{runs}/{run['id']}/steps")))["data"]
    assert step["status"] == "cancelled"
    reply_id = step["step_details"]["message_creation"]["message_id"]
    reply = await _ok(http.get(f"/threads/{thread}/messages/{reply_id}"))
    assert (reply["status"], reply["incomplete_details"], reply["content"]) == (
        "incomplete", {"reason": "run_cancelled"}, [],
    )  # fmt: skip
    again = await http.post(f"{runs}/{run['id']}/cancel")
    assert again.status_code == 400
    assert again.json()["error"]["message"] == "Cannot cancel run with status 'cancelled'."
    # Cancelled while queued: no step and no message ever appear.
    second = await _ok(http.post(runs, json={"assistant_id": assistant}))
    await _ok(http.post(f"{runs}/{second['id']}/cancel"))
    app.clock.advance(T * 2)
    assert (await _ok(http.get(f"{runs}/{second['id']}")))["started_at"] is None
    assert (await _ok(http.get(f"{runs}/{second['id']}/steps")))["data"] == []
    messages = await _ok(http.get(f"/threads/{thread}/messages", params={"run_id": second["id"]}))
    assert messages["data"] == []


async def test_a_run_waiting_for_tool_outputs_expires_ten_minutes_after_its_creation(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    assistant, thread = await _thread(http, "forecast please")
    runs = f"/threads/{thread}/runs"
    run = await _ok(http.post(runs, json={"assistant_id": assistant}))
    app.clock.advance(599.9)
    assert (await _ok(http.get(f"{runs}/{run['id']}")))["status"] == "requires_action"
    app.clock.advance(0.1)
    expired = await _ok(http.get(f"{runs}/{run['id']}"))
    assert (expired["status"], expired["expires_at"], expired["required_action"]) == (
        "expired", None, None,
    )  # fmt: skip
    [step] = (await _ok(http.get(f"{runs}/{run['id']}/steps")))["data"]
    assert (step["status"], step["expired_at"]) == ("expired", run["created_at"] + 600)
    late = await http.post(f"{runs}/{run['id']}/submit_tool_outputs",
                           json={"tool_outputs": []})  # fmt: skip
    assert late.status_code == 400
    # The thread is free again.
    await _ok(http.post(f"/threads/{thread}/messages", json={"role": "user", "content": "x"}))


async def test_a_token_limit_makes_the_run_incomplete_and_scripts_answer_runs(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    assistant, thread = await _thread(http, "Hello.", tools=[])
    runs = f"/threads/{thread}/runs"
    body = {"assistant_id": assistant, "max_completion_tokens": 256}
    long = await http.post(runs, json=body, headers={"x-mock-reply-tokens": "300"})
    app.clock.advance(T)
    incomplete = await _ok(http.get(f"{runs}/{long.json()['id']}"))
    assert (incomplete["status"], incomplete["incomplete_details"]) == (
        "incomplete", {"reason": "max_completion_tokens"},
    )  # fmt: skip
    reply = (await _ok(http.get(f"/threads/{thread}/messages")))["data"][0]
    assert (reply["status"], reply["incomplete_details"]) == (
        "incomplete",
        {"reason": "max_tokens"},
    )
    assert incomplete["usage"]["completion_tokens"] == 256
    assert count_tokens(reply["content"][0]["text"]["value"], "gpt-4o") == 256

    said = "Scripted answer, 日本語 😀."
    app.reply_with(said)
    scripted = await _ok(http.post(runs, json={"assistant_id": assistant}))
    app.clock.advance(T)
    newest = (await _ok(http.get(f"/threads/{thread}/messages")))["data"][0]
    assert newest["content"][0]["text"]["value"] == said
    done = await _ok(http.get(f"{runs}/{scripted['id']}"))
    assert done["usage"]["completion_tokens"] == count_tokens(said, "gpt-4o")


async def test_create_and_run_makes_the_thread_and_its_run(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    made = await _ok(http.post("/assistants", json={"model": "gpt-4o", "tools": [FORECAST]}))
    thread = {"messages": [{"role": "user", "content": "forecast Oslo"}], "metadata": {"t": "1"}}
    run = await _ok(http.post("/threads/runs", json={"assistant_id": made["id"], "thread": thread,
                                                     "model": "gpt-5"}))  # fmt: skip
    assert (run["status"], run["model"]) == ("queued", "gpt-5")
    created = await _ok(http.get(f"/threads/{run['thread_id']}"))
    assert created["metadata"] == {"t": "1"}
    app.clock.advance(T)
    assert (await _ok(http.get(f"/threads/{run['thread_id']}/runs/{run['id']}")))[
        "status"
    ] == "requires_action"


async def test_unknown_ids_and_bad_parameters_are_openai_errors(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    assistant, thread = await _thread(http, "Hello.")
    runs = f"/threads/{thread}/runs"
    run = await _ok(http.post(runs, json={"assistant_id": assistant}))
    for method, path, body in [
        ("POST", "/threads/thread_nope/runs", {"assistant_id": assistant}),
        ("POST", runs, {"assistant_id": "asst_nope"}),
        ("GET", f"{runs}/run_nope", None),
        ("GET", f"{runs}/run_nope/steps", None),
        ("GET", f"{runs}/{run['id']}/steps/step_nope", None),
        ("POST", f"{runs}/run_nope/cancel", None),
        ("POST", "/threads/runs", {"assistant_id": "asst_nope"}),
    ]:
        answer = await http.request(method, path, json=body)
        assert answer.status_code == 404, (method, path)
        assert "nope" in answer.json()["error"]["message"]
    app.clock.advance(T)
    bad: list[tuple[str, dict[str, Any], str]] = [
        (runs, {}, "assistant_id"),
        (runs, {"assistant_id": 5}, "assistant_id"),
        (runs, {"assistant_id": assistant, "max_completion_tokens": 100}, "max_completion_tokens"),
        (runs, {"assistant_id": assistant, "tool_choice": "sometimes"}, "tool_choice"),
        (runs, {"assistant_id": assistant,
                "tool_choice": {"type": "function", "function": {"name": "other"}}},
         "tool_choice"),
        (runs, {"assistant_id": assistant, "tools": [FORECAST] * 21}, "tools"),
        (runs, {"assistant_id": assistant, "truncation_strategy": {"type": "first"}},
         "truncation_strategy.type"),
        (runs, {"assistant_id": assistant, "stream": "yes"}, "stream"),
        (runs, {"assistant_id": assistant, "additional_messages": [{"role": "user"}]},
         "additional_messages[0].content"),
        (runs, {"assistant_id": assistant, "parallel_tool_calls": "no"}, "parallel_tool_calls"),
        (runs, {"assistant_id": assistant, "reasoning_effort": 1}, "reasoning_effort"),
        ("/threads/runs", {"assistant_id": assistant, "thread": {"messages": [{}]}},
         "thread.messages[0].role"),
        (f"{runs}/{run['id']}/submit_tool_outputs", {}, "tool_outputs"),
        (f"{runs}/{run['id']}/submit_tool_outputs", {"tool_outputs": [{"output": "x"}]},
         "tool_outputs[0].tool_call_id"),
    ]  # fmt: skip
    for path, body, param in bad:
        answer = await http.post(path, json=body)
        assert answer.status_code == 400, (path, body, answer.text)
        assert answer.json()["error"]["param"] == param, (path, body)
    # No bad request started a run or a thread.
    assert [r["id"] for r in (await _ok(http.get(runs)))["data"]] == [run["id"]]


async def test_tool_outputs_must_answer_every_call_and_only_those(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    assistant, thread = await _thread(http, "forecast and forecast again")
    run = await _ok(http.post(f"/threads/{thread}/runs", json={"assistant_id": assistant}))
    app.clock.advance(T)
    path = f"/threads/{thread}/runs/{run['id']}/submit_tool_outputs"
    missing = await http.post(path, json={"tool_outputs": []})
    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "tool_outputs")
    unknown = await http.post(path, json={"tool_outputs": [{"tool_call_id": "call_x"}]})
    assert unknown.json()["error"]["message"] == "No tool call found with id 'call_x'."
    retrieved = await _ok(http.get(f"/threads/{thread}/runs/{run['id']}"))
    assert retrieved["status"] == "requires_action"  # a refused submission changed nothing


async def test_faults_and_the_log_reach_the_run_routes(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    assistant, thread = await _thread(http, "Hello.")
    runs = f"/threads/{thread}/runs"
    app.fail_next("rate_limit", path=runs)
    assert (await http.post(runs, json={"assistant_id": assistant})).status_code == 429
    assert (await _ok(http.get(runs)))["data"] == []  # the struck request started nothing
    assert [r.path for r in app.requests][-2:] == ["/v1" + runs, "/v1" + runs]


# -- the official SDK and our typed methods, over loopback ---------------------------------------


async def test_the_sdk_polls_a_run_through_a_tool_call_to_its_answer(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    mock_openai.app.clock.speed = 1000  # the SDK polls real time: hurry the mock's
    tools: Any = [FORECAST]
    assistant = await sdk.beta.assistants.create(model="gpt-4o", tools=tools)
    run = await sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "Please forecast Lima."}]},
        poll_interval_ms=5,
    )
    assert run.status == "requires_action"
    assert run.required_action is not None
    [call] = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "forecast"
    assert _valid_forecast(call.function.arguments)
    done = await sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=run.thread_id,
        tool_outputs=[{"tool_call_id": call.id, "output": "Rain"}],
        poll_interval_ms=5,
    )
    assert done.status == "completed"
    assert done.usage is not None
    assert done.usage.total_tokens > 0
    steps = [s async for s in sdk.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id)]
    assert [s.type for s in steps] == ["message_creation", "tool_calls"]
    step = await sdk.beta.threads.runs.steps.retrieve(
        steps[1].id, thread_id=run.thread_id, run_id=run.id
    )
    assert step.step_details.type == "tool_calls"
    messages = [m async for m in sdk.beta.threads.messages.list(run.thread_id)]
    assert messages[0].role == "assistant"
    assert messages[0].content[0].type == "text"
    assert [r.id async for r in sdk.beta.threads.runs.list(run.thread_id)] == [run.id]
    updated = await sdk.beta.threads.runs.update(
        run.id, thread_id=run.thread_id, metadata={"a": "b"}
    )
    assert updated.metadata == {"a": "b"}

    mock_openai.app.clock.speed = 0
    second = await sdk.beta.threads.runs.create(thread_id=run.thread_id, assistant_id=assistant.id)
    cancelled = await sdk.beta.threads.runs.cancel(second.id, thread_id=run.thread_id)
    assert cancelled.status == "cancelling"
    with pytest.raises(openai.BadRequestError):
        await sdk.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        yield client


async def test_our_typed_methods_run_a_thread_through_a_tool_call(
    mock_openai: MockServer, client: Client
) -> None:
    mock_openai.app.clock.speed = 0
    function = FORECAST["function"]
    tool = AssistantToolsFunction(function=FunctionObject(**function))
    assistant = await client.beta.assistants.create(model="gpt-4o", tools=[tool])
    assert assistant.id is not None
    ask = CreateMessageRequest(role="user", content="forecast")
    thread = await client.beta.threads.create(messages=[ask])
    assert thread.id is not None
    run = await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert isinstance(run, RunObject)
    assert (run.status, run.id is not None) == ("queued", True)
    assert run.id is not None
    mock_openai.app.clock.advance(mock_openai.app.background_seconds)
    waiting = await client.beta.threads.runs.retrieve(thread.id, run.id)
    assert waiting.status == "requires_action"
    assert waiting.required_action is not None
    required = waiting.required_action.submit_tool_outputs
    assert required is not None
    assert required.tool_calls is not None
    call_id = required.tool_calls[0].id
    assert call_id is not None
    resumed = await client.beta.threads.runs.submit_tool_outputs(
        thread.id,
        run.id,
        tool_outputs=[
            SubmitToolOutputsRunRequestToolOutputsItem(tool_call_id=call_id, output="Snow")
        ],
    )
    assert resumed.status == "queued"
    mock_openai.app.clock.advance(mock_openai.app.background_seconds)
    steps = [s async for s in client.beta.threads.runs.steps.list(thread.id, run.id)]
    assert all(isinstance(s, RunStepObject) for s in steps)
    assert [s.type for s in steps] == ["message_creation", "tool_calls"]
    assert steps[0].id is not None
    step = await client.beta.threads.runs.steps.retrieve(thread.id, run.id, steps[0].id)
    assert step.status == "completed"
    assert [r.id async for r in client.beta.threads.runs.list(thread.id)] == [run.id]
    done = await client.beta.threads.runs.update(thread.id, run.id, metadata={"k": "v"})
    assert (done.status, done.metadata) == ("completed", {"k": "v"})
    other = await client.beta.threads.create_and_run(assistant_id=assistant.id)
    assert other.thread_id is not None
    assert other.id is not None
    cancelled = await client.beta.threads.runs.cancel(other.thread_id, other.id)
    assert cancelled.status == "cancelling"


async def test_a_runs_reply_follows_the_response_format_and_a_scripted_refusal(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"},
              "days": {"type": "integer", "minimum": 1, "maximum": 5}},
              "required": ["city", "days"], "additionalProperties": False}  # fmt: skip
    response_format = {"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}}
    assistant, thread = await _thread(http, "Plan a trip.", tools=[],
                                      response_format=response_format)  # fmt: skip
    runs = f"/threads/{thread}/runs"
    run = await _ok(http.post(runs, json={"assistant_id": assistant}))
    assert run["response_format"] == response_format
    app.clock.advance(T)
    reply = (await _ok(http.get(f"/threads/{thread}/messages")))["data"][0]
    plan = json.loads(reply["content"][0]["text"]["value"])
    assert set(plan) == {"city", "days"}
    assert isinstance(plan["city"], str)
    assert 1 <= plan["days"] <= 5

    app.reply_with(Reply(refusal="I can't help with that."))
    await _ok(http.post(runs, json={"assistant_id": assistant}))
    app.clock.advance(T)
    refused = (await _ok(http.get(f"/threads/{thread}/messages")))["data"][0]
    assert refused["content"] == [{"type": "refusal", "refusal": "I can't help with that."}]
