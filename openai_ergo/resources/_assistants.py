"""Assistants runs (legacy: OpenAI has deprecated the Assistants API for the Responses API):
a run builder you `await` or `.stream()`, and the same `@tool` loop as the Responses and Chat
builders, answered through `submit_tool_outputs`.

`client.assistant_run(assistant_id).user("...")` is an immutable builder. `.stream()` opens the
run as a `RunStream`: typed events (the generated `AssistantStreamEvent` union, decoded as
`TypedEventStream` decodes them), `text()` for the message deltas, `final()` the run as its last
event left it. `await builder` streams it to its end and returns that run, so nothing polls.
`.run()` is a `ToolRun` (`resources/_run.py`): while the run `requires_action`, the `@tool`
functions it called run concurrently and their outputs go back with `submit_tool_outputs`,
whose stream is the next turn, until the run ends.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

from openai_ergo._errors import InvalidRequestError
from openai_ergo.resources._builder import (
    ToolSpec,
    check_bool,
    check_int,
    check_number,
    check_str,
    checked_tools,
    merged_metadata,
)
from openai_ergo.resources._event_streams import TypedEventStream
from openai_ergo.resources._run import PendingCall, ToolCallRecord, ToolRun
from openai_ergo.resources._tools import FunctionTool
from openai_ergo.resources._typed_stream import Opener, _TypedStream
from openai_ergo.resources._workflow import WorkflowBuilder

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._config import RequestOptions
    from openai_ergo._response import EventStream
    from openai_ergo.resources._aggregate import StreamFailure
    from openai_ergo.types import AssistantStreamEvent, MessageObject, RunObject
    from streaming import ServerSentEvent

__all__ = ["AssistantRunBuilder", "RunStream"]


async def _never_opened() -> EventStream:
    raise AssertionError("the decoding half of a RunStream is never opened")


@final
class RunStream(_TypedStream["AssistantStreamEvent", "RunObject"]):
    """A streamed Assistants run: `async with builder.stream() as stream:`, then
    `async for event in stream:` (typed `AssistantStreamEvent`s; narrow on `event.event`, e.g.
    `"thread.message.delta"`), or `stream.text()` for the text deltas. `final()` is the
    `RunObject` as the last run event left it (`completed`, or `requires_action` with the
    calls to answer); `messages` the assistant messages completed so far.

    Failures are the builders': an `error` event is `StreamEventError`, a stream cut before
    `[DONE]` `StreamInterruptedError`, each with the events received."""

    __slots__ = ("_decoder", "_run", "messages")

    def __init__(self, opener: Opener) -> None:
        super().__init__(opener)
        from openai_ergo.types import AssistantStreamEvent

        # The decoding (the `{event, data}` envelope, error events, the end at [DONE]) is the
        # typed method's, not a copy of it: a TypedEventStream that is never opened decodes.
        self._decoder: TypedEventStream[AssistantStreamEvent] = TypedEventStream(
            _never_opened, AssistantStreamEvent, envelope=True
        )
        self._decoder._events = self._events  # so a malformed event's count is right
        self._run: RunObject | None = None
        #: The assistant messages completed in this stream, in order.
        self.messages: list[MessageObject] = []

    def _decode(self, batch: list[ServerSentEvent]) -> list[AssistantStreamEvent]:
        from openai_ergo.types import MessageObject, RunObject

        decoded = self._decoder._decode(batch)
        if self._decoder._pending is not None:
            self._pending, self._decoder._pending = self._decoder._pending, None
        for event in decoded:
            data = getattr(event, "data", None)
            if isinstance(data, RunObject):
                self._run = data
            elif isinstance(data, MessageObject) and event.event == "thread.message.completed":
                self.messages.append(data)
        return decoded

    async def _refill(self) -> bool:
        if self._decoder._failed is not None and not self._done and self._error is None:
            # The events before an error event were handed out; now the error ends the stream.
            return await self._finish()
        return await super()._refill()

    def _failure(self) -> StreamFailure | None:
        return self._decoder._failed

    def _cut_short(self) -> str | None:
        return self._decoder._cut_short()

    def _snapshot(self) -> RunObject:
        from openai_ergo.types import RunObject

        return self._run if self._run is not None else RunObject()

    def _final(self) -> RunObject:
        return self._snapshot()

    def _text_of(self, event: AssistantStreamEvent) -> str | None:
        return self._decoder._text_of(event)

    def __repr__(self) -> str:
        status = self._run.status if self._run is not None else None
        return f"<RunStream {self._state()} run={status} events={len(self._events)}>"


class _RunTurn(WorkflowBuilder):
    """What a turn of the tool loop needs of a builder: `create()`, `stream()`, the `@tool`
    functions and the fields (`tool_choice`)."""

    __slots__ = ("_headers", "_options", "_tools")

    def __init__(self, client: Client, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(client, fields)
        self._tools: tuple[ToolSpec, ...] = ()
        self._headers: dict[str, str] = {}
        self._options: RequestOptions | None = None

    def _path(self) -> str:
        raise NotImplementedError

    def _body(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def function_tools(self) -> dict[str, FunctionTool[..., Any]]:
        """The `@tool` functions of this run, by name (what `.run()` executes)."""
        return {t.name: t for t in self._tools if isinstance(t, FunctionTool)}

    def stream(self) -> RunStream:
        """Stream the run (see `RunStream`). The body is built and checked now."""
        path, body = self._path(), {**self._body(), "stream": True}
        client, headers, options = self._client, self._headers or None, self._options

        async def open_stream() -> EventStream:
            return await client.request(
                "POST", path, body=body, headers=headers, stream=True, options=options
            )

        return RunStream(open_stream)

    async def create(self) -> RunObject:
        """Stream the run to its end and return it (what `await builder` does): `completed`
        (or `incomplete`, `failed`, ...), or `requires_action` when it called a tool."""
        return await self.stream().until_done()

    def __await__(self) -> Generator[Any, None, RunObject]:
        return self.create().__await__()


@final
class _SubmitOutputs(_RunTurn):
    """The next turn of a run that required action: the tools' outputs, submitted."""

    __slots__ = ("_run_path",)

    def __init__(self, previous: _RunTurn, run: RunObject, records: Sequence[ToolCallRecord]):
        outputs = [{"tool_call_id": r.call_id, "output": r.output} for r in records]
        super().__init__(previous._client, {"tool_outputs": outputs})
        self._tools = previous._tools
        self._headers = previous._headers
        self._options = previous._options
        self._run_path = f"/threads/{run.thread_id}/runs/{run.id}/submit_tool_outputs"

    def _path(self) -> str:
        return self._run_path

    def _body(self) -> dict[str, Any]:
        return dict(self._fields)


@final
class AssistantRunBuilder(_RunTurn):
    """An Assistants run (legacy API), built a step at a time; every setter returns a new
    builder. On a new thread (the default; `user()` messages start it) or an existing one
    (`thread(id)`; `user()` messages are added to it).

    `await builder` returns the `RunObject` once the run stops; `builder.stream()` streams
    it; `builder.run()` runs the `@tool` loop through `submit_tool_outputs`."""

    __slots__ = ()

    def __init__(self, client: Client, assistant_id: str) -> None:
        super().__init__(client, {"assistant_id": check_str("assistant_id", assistant_id)})

    def _with_tools(self, tools: tuple[ToolSpec, ...]) -> AssistantRunBuilder:
        clone = self._clone()
        clone._tools = tools
        return clone

    def thread(self, thread_id: str | None) -> AssistantRunBuilder:
        """Run on this existing thread (`thread_...`); `None` starts a new one."""
        checked = None if thread_id is None else check_str("thread_id", thread_id)
        return self._set("thread_id", checked)

    def user(self, content: str) -> AssistantRunBuilder:
        """A user message for the run (starts the new thread, or is added to the thread)."""
        message = {"role": "user", "content": check_str("content", content)}
        return self._set("messages", (*self._fields.get("messages", ()), message))

    def messages(self, messages: Sequence[Mapping[str, Any]]) -> AssistantRunBuilder:
        """Messages as the API takes them (`{"role", "content", "attachments"}`), added after
        those set before."""
        added = []
        for n, message in enumerate(messages):
            if not isinstance(message, Mapping) or message.get("role") not in ("user", "assistant"):
                raise InvalidRequestError(
                    f"messages[{n}] must be a dict with role 'user' or 'assistant'",
                    param=f"messages[{n}]",
                )
            added.append(dict(message))
        return self._set("messages", (*self._fields.get("messages", ()), *added))

    def model(self, model: str | None) -> AssistantRunBuilder:
        """Use this model instead of the assistant's."""
        return self._set("model", None if model is None else check_str("model", model))

    def instructions(self, text: str | None) -> AssistantRunBuilder:
        """Replace the assistant's instructions for this run."""
        checked = None if text is None else check_str("instructions", text)
        return self._set("instructions", checked)

    def additional_instructions(self, text: str | None) -> AssistantRunBuilder:
        """Add to the assistant's instructions for this run."""
        checked = None if text is None else check_str("additional_instructions", text)
        return self._set("additional_instructions", checked)

    def tools(self, *tools: ToolSpec) -> AssistantRunBuilder:
        """Tools for this run, replacing the assistant's: `@tool` functions (which `.run()`
        executes) or built-in tools' JSON (`{"type": "file_search"}`); at most 20."""
        combined = checked_tools(self._tools, tools)
        if len(combined) > 20:
            raise InvalidRequestError(
                f"a run takes at most 20 tools, not {len(combined)}", param="tools"
            )
        return self._with_tools(combined)

    def tool_choice(
        self, value: str | FunctionTool[..., Any] | Mapping[str, Any] | None
    ) -> AssistantRunBuilder:
        """`"auto"`, `"none"`, `"required"`, a `@tool` function (that one), or the API's JSON.
        A forced choice holds for the run's first turn (the service cannot change it mid-run)."""
        if isinstance(value, str) and value not in ("auto", "none", "required"):
            raise InvalidRequestError(
                f"tool_choice must be 'auto', 'none', 'required', a tool or its JSON, "
                f"not {value!r}",
                param="tool_choice",
            )
        if isinstance(value, FunctionTool):
            value = {"type": "function", "function": {"name": value.name}}
        return self._set("tool_choice", value)

    def parallel_tool_calls(self, value: bool | None = True) -> AssistantRunBuilder:
        """Whether the model may call several tools in one turn."""
        checked = None if value is None else check_bool("parallel_tool_calls", value)
        return self._set("parallel_tool_calls", checked)

    def temperature(self, value: float | None) -> AssistantRunBuilder:
        """Sampling temperature, 0 to 2."""
        checked = None if value is None else check_number("temperature", value, 0, 2)
        return self._set("temperature", checked)

    def max_completion_tokens(self, tokens: int | None) -> AssistantRunBuilder:
        """Upper bound on the tokens the run may write, over all its turns (at least 256)."""
        checked = None if tokens is None else check_int("max_completion_tokens", tokens, 256)
        return self._set("max_completion_tokens", checked)

    def metadata(
        self, value: Mapping[str, str] | None = None, /, **pairs: str
    ) -> AssistantRunBuilder:
        """Up to 16 string pairs stored with the run."""
        return self._set("metadata", merged_metadata(value, pairs))

    def extra_headers(self, headers: Mapping[str, str]) -> AssistantRunBuilder:
        """Extra HTTP headers for this run's requests."""
        clone = self._clone()
        clone._headers = {**self._headers, **headers}
        return clone

    def options(self, options: RequestOptions) -> AssistantRunBuilder:
        """Per-request client options (timeouts, retry policy, ...) for the run's requests."""
        clone = self._clone()
        clone._options = options
        return clone

    def _path(self) -> str:
        thread_id = self._fields.get("thread_id")
        return f"/threads/{thread_id}/runs" if thread_id else "/threads/runs"

    def _body(self) -> dict[str, Any]:
        body = {k: v for k, v in self._fields.items() if k not in ("thread_id", "messages")}
        messages = [dict(m) for m in self._fields.get("messages", ())]
        if self._fields.get("thread_id"):
            if messages:
                body["additional_messages"] = messages
        elif messages:
            body["thread"] = {"messages": messages}
        else:
            raise InvalidRequestError(
                "a run on a new thread needs a message: .user(...), or .thread(id) to run on "
                "an existing thread",
                param="thread",
            )
        if self._tools:
            body["tools"] = [
                t.for_chat() if isinstance(t, FunctionTool) else dict(t) for t in self._tools
            ]
        return body

    def request_body(self) -> dict[str, Any]:
        """The JSON body this run sends (a copy; checked as when it is sent)."""
        return self._body()

    def run(self, *, max_steps: int = 10) -> ToolRun[RunObject]:
        """The `@tool` loop: stream the run; while it requires action, run the tools it called
        (concurrently) and submit their outputs, until it ends. `await` it for the final
        `RunObject`; `.stream()` streams every turn's events (`text()` across turns)."""
        return ToolRun(self, _RUN_LOOP, max_steps=max_steps)

    def __repr__(self) -> str:
        tools = [t.name if isinstance(t, FunctionTool) else t.get("type") for t in self._tools]
        return f"AssistantRunBuilder({self._fields!r}, tools={tools!r})"


class _AssistantsLoop:
    """The tool loop's turns on a run: the calls of a `requires_action` run; outputs go back
    with `submit_tool_outputs` on the same run."""

    def calls(self, result: RunObject) -> list[PendingCall]:
        action = result.required_action
        if result.status != "requires_action" or action is None:
            return []
        calls = (
            action.submit_tool_outputs.tool_calls if action.submit_tool_outputs else None
        ) or []
        return [
            PendingCall(
                call.id or "",
                call.function.name or "" if call.function else "",
                call.function.arguments or "" if call.function else "",
            )
            for call in calls
        ]

    def next_turn(
        self, builder: _RunTurn, result: RunObject, records: Sequence[ToolCallRecord]
    ) -> _RunTurn:
        return _SubmitOutputs(builder, result, records)


_RUN_LOOP = _AssistantsLoop()
