"""The tool loop against the mock server: how turns chain, when the loop ends, what runs.

Every case runs the loop both ways, awaited and streamed, because the two paths must agree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import pytest

from openai_ergo import Client, ToolError, tool
from openai_ergo.mock import MockServer, Reply, ToolCall
from openai_ergo.resources import FunctionTool, ToolRun, ToolStep

WAYS = pytest.mark.parametrize("streamed", [False, True], ids=["awaited", "streamed"])


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False)


async def _finish(run: ToolRun[Any], *, streamed: bool) -> tuple[Any, list[ToolStep[Any]]]:
    """The loop's answer and its steps, taken awaited or streamed."""
    if streamed:
        async with run.stream() as stream:
            async for _ in stream:
                pass
        return stream.final(), stream.steps
    answer = await run
    return answer, run.steps


def _text(answer: Any) -> str:
    return str(getattr(answer, "output_text", None) or answer.text)


@tool
async def lookup(word: str) -> str:
    """Look a word up."""
    return word.upper()


Builder = Callable[[Client], Any]
ENDPOINTS: dict[str, Builder] = {
    "responses": lambda c: c.responses("gpt-5").input("Look it up"),
    "chat": lambda c: c.chat("gpt-4o").user("Look it up"),
}
ENDPOINT = pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))


# -- a forced tool_choice and the end of the loop -------------------------------------------


@ENDPOINT
@WAYS
@pytest.mark.parametrize("choice", ["required", "named"])
async def test_a_forced_tool_choice_becomes_auto_once_a_tool_ran(
    mock_openai: MockServer, endpoint: str, streamed: bool, choice: str
) -> None:
    # The mock, like the API, calls a tool on every turn whose choice forces one: the loop
    # can only end if the second turn lets the model answer.
    async with _client(mock_openai) as client:
        builder = ENDPOINTS[endpoint](client).tools(lookup)
        builder = builder.tool_choice("required" if choice == "required" else lookup)
        answer, steps = await _finish(builder.run(max_steps=3), streamed=streamed)
    assert _text(answer)
    assert [len(step.calls) for step in steps] == [1, 0]
    sent = [request.json["tool_choice"] for request in mock_openai.requests]
    first = builder.request_body()["tool_choice"]
    assert sent == [first, "auto"]


ALLOWED = {
    "responses": {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "lookup"}],
    },
    "chat": {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": "required",
            "tools": [{"type": "function", "function": {"name": "lookup"}}],
        },
    },
}


@ENDPOINT
@WAYS
async def test_allowed_tools_in_required_mode_keep_their_set_and_drop_the_obligation(
    mock_openai: MockServer, endpoint: str, streamed: bool
) -> None:
    mock_openai.reply_with(
        Reply(tool_calls=(ToolCall(name="lookup", arguments={"word": "hi"}),)), "HI it is."
    )
    async with _client(mock_openai) as client:
        builder = ENDPOINTS[endpoint](client).tools(lookup).tool_choice(ALLOWED[endpoint])
        await _finish(builder.run(), streamed=streamed)
    first, second = (request.json["tool_choice"] for request in mock_openai.requests)
    assert first == ALLOWED[endpoint]
    relaxed = msgspec.json.encode(second).decode()
    assert relaxed == msgspec.json.encode(first).decode().replace('"required"', '"auto"')


@ENDPOINT
@WAYS
async def test_keep_tool_choice_sends_the_forced_choice_on_every_turn(
    mock_openai: MockServer, endpoint: str, streamed: bool
) -> None:
    ran: list[str] = []

    @tool
    async def note(word: str) -> str:
        """Note a word down."""
        ran.append(word)
        return "noted"

    async with _client(mock_openai) as client:
        builder = ENDPOINTS[endpoint](client).tools(note).tool_choice("required")
        run = builder.run(max_steps=3, keep_tool_choice=True)
        with pytest.raises(ToolError, match="after 3 steps"):
            await _finish(run, streamed=streamed)
    assert [request.json["tool_choice"] for request in mock_openai.requests] == ["required"] * 3
    # The third turn's call never ran: its output could not have gone back to the model.
    assert len(ran) == 2


async def test_keep_tool_choice_must_be_a_bool(mock_openai: MockServer) -> None:
    from openai_ergo import InvalidRequestError

    async with _client(mock_openai) as client:
        with pytest.raises(InvalidRequestError) as caught:
            client.chat("gpt-4o").user("Hi").tools(lookup).run(keep_tool_choice="yes")  # type: ignore[arg-type]
    assert caught.value.param == "keep_tool_choice"
    assert not mock_openai.requests


# -- max_steps: the awaited and streamed loop agree, and neither runs unreported calls --------


@ENDPOINT
@WAYS
async def test_max_steps_stops_before_running_calls_it_could_not_report(
    mock_openai: MockServer, endpoint: str, streamed: bool
) -> None:
    ran: list[str] = []

    @tool
    def charge(account: str) -> str:
        """A side effect that must not happen more often than the model hears about it."""
        ran.append(account)
        return "charged"

    calling = Reply(tool_calls=(ToolCall(name="charge", arguments={"account": "a"}),))
    mock_openai.reply_with(calling, calling, calling)
    async with _client(mock_openai) as client:
        run = ENDPOINTS[endpoint](client).tools(charge).run(max_steps=2)
        with pytest.raises(ToolError, match="after 2 steps") as caught:
            await _finish(run, streamed=streamed)
    assert ran == ["a"]
    assert len(mock_openai.requests) == 2
    assert "charge" in str(caught.value)


# -- unscripted: the mock's own rule calls a tool the user names, then answers --------------


@ENDPOINT
@WAYS
async def test_an_unscripted_tool_loop_calls_once_and_ends_in_text(
    mock_openai: MockServer, endpoint: str, streamed: bool
) -> None:
    # Nothing scripted: the mock calls `lookup` because the user's message names it, and
    # answers in text once it sees the result (a Responses `function_call_output` too).
    async with _client(mock_openai) as client:
        if endpoint == "chat":
            builder: Any = client.chat("gpt-4o").user("Please lookup the word")
        else:
            builder = client.responses("gpt-5").input("Please lookup the word")
        answer, steps = await _finish(builder.tools(lookup).run(max_steps=4), streamed=streamed)
    assert [len(step.calls) for step in steps] == [1, 0]
    assert steps[0].calls[0].name == "lookup"
    text = _text(answer)
    assert text
    assert not text.startswith("{")
    assert len(mock_openai.requests) == 2


# -- a conversation carries the loop without previous_response_id ----------------------------


@WAYS
async def test_the_loop_in_a_conversation_sends_only_the_tool_outputs(
    mock_openai: MockServer, streamed: bool
) -> None:
    mock_openai.reply_with(
        Reply(tool_calls=(ToolCall(name="lookup", arguments={"word": "hi"}),)), "HI it is."
    )
    async with _client(mock_openai) as client:
        created = await client.request("POST", "/conversations", body={})
        conversation = created.json()["id"]
        builder = client.responses("gpt-5").conversation(conversation).input("Look up hi")
        answer, steps = await _finish(builder.tools(lookup).run(), streamed=streamed)
    assert answer.output_text == "HI it is."
    second = mock_openai.requests[2].json
    assert second["conversation"] == conversation
    assert "previous_response_id" not in second
    [call] = steps[0].calls
    assert second["input"] == [
        {"type": "function_call_output", "call_id": call.call_id, "output": "HI"}
    ]


# -- unknown output items go back as the server sent them --------------------------------------


FUTURE_ITEM = {"type": "future_thought", "id": "ft_1", "note": {"depth": 3}}
FUTURE_PART = {"type": "hologram", "frames": [1, 2]}
FUTURE_ANNOTATION = {"type": "hologram_citation", "frame": 2}


def _response(output: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "status": "completed", "output": output}


TURNS = [
    _response(
        [
            FUTURE_ITEM,
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [
                    FUTURE_PART,
                    {"type": "output_text", "text": "t", "annotations": [FUTURE_ANNOTATION]},
                ],
            },
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "lookup",
                "arguments": '{"word":"hi"}',
            },
        ]
    ),
    _response(
        [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Done.", "annotations": []}],
            }
        ]
    ),
]


@WAYS
async def test_the_store_false_loop_sends_unknown_items_back_as_they_came(streamed: bool) -> None:
    sent: list[dict[str, Any]] = []

    def newer_api(request: httpx.Request) -> httpx.Response:
        body = msgspec.json.decode(request.content)
        response = TURNS[len(sent)]
        sent.append(body)
        if not body.get("stream"):
            return httpx.Response(200, json=response)
        event = {"type": "response.completed", "sequence_number": 0, "response": response}
        data = b"event: response.completed\ndata: " + msgspec.json.encode(event) + b"\n\n"
        return httpx.Response(200, content=data, headers={"content-type": "text/event-stream"})

    transport = httpx.MockTransport(newer_api)
    async with Client(
        api_key="sk-x", base_url="http://newer.test/v1", transport=transport, rate_limiter=False
    ) as client:
        run = client.responses("gpt-5").store(False).input("Look up hi").tools(lookup).run()
        answer, _ = await _finish(run, streamed=streamed)
    assert answer.output_text == "Done."
    items = sent[1]["input"]
    assert items[0] == {"role": "user", "content": "Look up hi"}
    assert items[1] == FUTURE_ITEM
    message = items[2]
    assert message["content"][0] == FUTURE_PART
    assert message["content"][1]["annotations"] == [FUTURE_ANNOTATION]
    assert items[3]["type"] == "function_call"
    assert items[4] == {"type": "function_call_output", "call_id": "c1", "output": "HI"}


# -- tools that hide what they are ------------------------------------------------------------


def _sync_decorator(function: Callable[..., Any]) -> Callable[..., Any]:
    """An ordinary decorator: a sync wrapper, as logging and retry decorators often are."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


class Shout:
    """Shout a word."""

    async def __call__(self, word: str) -> str:
        return word.upper() + "!"


async def _shout(word: str, suffix: str) -> str:
    """Shout a word with a suffix."""
    return word.upper() + suffix


class Options(msgspec.Struct):
    loud: bool = True


def _tools_that_hide() -> dict[str, FunctionTool[..., Any]]:
    @tool
    @_sync_decorator
    async def wrapped(word: str) -> str:
        """An async tool behind a sync decorator."""
        return word.upper() + "!"

    @tool
    def defaults(
        word: str,
        marks: list[str] = ["!", "?"],  # noqa: B006 - the default is the point
        table: dict[str, int] = {"a": 1},  # noqa: B006
        options: Options = Options(),  # noqa: B008
    ) -> str:
        """A tool whose defaults are mutable values."""
        return word.upper() + marks[0] if options.loud and table["a"] else word

    return {
        "wrapped": wrapped,
        "defaults": defaults,
        "partial": tool(name="partial")(functools.partial(_shout, suffix="!")),
        "instance": tool(name="instance")(Shout()),
    }


@pytest.mark.parametrize("kind", ["wrapped", "defaults", "partial", "instance"])
@WAYS
async def test_tools_behind_decorators_partials_and_instances_run(
    mock_openai: MockServer, kind: str, streamed: bool
) -> None:
    the_tool = _tools_that_hide()[kind]
    mock_openai.reply_with(
        Reply(tool_calls=(ToolCall(name=kind, arguments={"word": "hi"}),)), "HI! it is."
    )
    async with _client(mock_openai) as client:
        run = client.chat("gpt-4o").user("Shout hi").tools(the_tool).run()
        answer, steps = await _finish(run, streamed=streamed)
    assert answer.text == "HI! it is."
    [record] = steps[0].calls
    assert record.error is None
    assert record.output == "HI!"
