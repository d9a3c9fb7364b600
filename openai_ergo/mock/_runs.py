"""Runs and run steps (the Assistants API, beta): an assistant answering a thread, on the clock.

A run plans its answer when it is created (and again when tool outputs are submitted) with the
same code and rules as the chat and Responses replies: scripted replies first, a forced tool,
then the documented rule — the thread's last message is the user's and names an offered
function tool as a whole word — and otherwise generated text (or an instance of the
`json_schema` response format). Each such model turn is then read off the app's clock over
`background_seconds` (T): queued for T/2, in progress for T/2, and then done.

    queued ──(T/2)──▶ in_progress ──(T/2)──▶ completed (or incomplete: token limit)
                           │                  └──(a tool call)──▶ requires_action
                           │                      ├──submit_tool_outputs──▶ queued (next turn)
                           │                      └──(10 minutes after creation)──▶ expired
       (queued, in_progress or requires_action) ──cancel──▶ cancelling ──(T/2)──▶ cancelled

A turn's steps (a `message_creation` step and its message, or a `tool_calls` step) appear when
it goes in progress. After tool outputs the run answers in text, so a tool loop ends. A
streamed run (`stream=true`, `_run_streams.py`) runs as it streams: its turn takes no clock
time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from openai_ergo.mock import _run_streams as run_streams
from openai_ergo.mock._assistants import (
    MessageTiming,
    StoredAssistant,
    StoredMessage,
    StoredThread,
    invalid,
    new_message,
    new_thread,
    optional_number,
    optional_text,
    reasoning_effort_param,
    response_format_param,
    thread_of,
    tools_param,
)
from openai_ergo.mock._endpoints import (
    BadRequest,
    _chat_output_format,
    _check_stream_flag,
    _last_user_text,
    _optional_int,
    _strings,
    missing_parameter,
    plan_completion,
    require_model,
)
from openai_ergo.mock._replies import Completion, estimate_tokens
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import Collection, metadata_param, page
from openai_ergo.mock._wire import new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["StoredRun"]

#: A run expires this long after it was created (the service's ten minutes).
EXPIRY_SECONDS = 600
MAX_RUN_TOOLS = 20
_TERMINAL = frozenset({"completed", "incomplete", "cancelled", "expired", "failed"})


@dataclass
class Turn:
    """One model turn of a run: its answer, and when it runs on the clock."""

    start: float
    seconds: float
    completion: Completion
    input_tokens: int
    message: StoredMessage | None
    #: The tool outputs submitted for its calls (by call id), and when.
    outputs: dict[str, str] | None = None
    submitted: float | None = None

    @property
    def begins(self) -> float:
        """When it goes in progress (and its steps appear)."""
        return self.start + self.seconds / 2

    @property
    def ends(self) -> float:
        """When its model work is done."""
        return self.start + self.seconds

    def usage(self) -> dict[str, int]:
        """Its token usage."""
        produced = self.completion.output_tokens
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": produced,
            "total_tokens": self.input_tokens + produced,
        }


@dataclass
class StoredStep:
    """One run step: a turn's message creation or its tool calls."""

    id: str
    type: str
    turn: Turn
    created_at: int


@dataclass
class StoredRun:
    """One run on a thread: its settings, its turns and steps, and its cancel."""

    id: str
    thread_id: str
    assistant_id: str
    fields: dict[str, Any]
    started: float
    turns: list[Turn] = field(default_factory=list)
    steps: Collection[StoredStep] = field(
        default_factory=lambda: Collection("Run step"), repr=False
    )
    cancelled: float | None = None
    cancel_seconds: float = 0.0
    created_at: int = field(default_factory=now)

    def unix(self, clock_time: float) -> int:
        """A clock reading as Unix seconds, counted from the run's creation."""
        return self.created_at + round(clock_time - self.started)

    def status(self, app: MockOpenAI) -> str:
        """The run's status now (what a thread asks to know whether the run holds it)."""
        return self.state(app.clock.time())

    def state(self, clock_now: float) -> str:
        """The run's status at a clock reading."""
        if self.cancelled is not None:
            return "cancelling" if clock_now < self.cancelled + self.cancel_seconds else "cancelled"
        turn = self.turns[-1]
        if clock_now < turn.begins:
            return "queued"
        if clock_now < turn.ends:
            return "in_progress"
        if turn.completion.calls and turn.submitted is None:
            expired = clock_now >= self.started + EXPIRY_SECONDS
            return "expired" if expired else "requires_action"
        return "incomplete" if turn.completion.finish == "length" else "completed"

    def render(self, clock_now: float, status: str | None = None) -> dict[str, Any]:
        """The run object as it reads at a clock reading (or as it read in `status`)."""
        status = status or self.state(clock_now)
        turn, first = self.turns[-1], self.turns[0]
        terminal = status in _TERMINAL
        required = None
        if status == "requires_action":
            calls = [
                {"id": c.call_id, "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments}}
                for c in turn.completion.calls
            ]  # fmt: skip
            required = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
        until = clock_now if self.cancelled is None else min(clock_now, self.cancelled)
        began = status != "queued" and first.begins <= until
        usage = None
        if terminal:
            totals = [t.usage() for t in self.turns if t.begins <= clock_now]
            usage = {k: sum(u[k] for u in totals) for k in ("prompt_tokens", "completion_tokens",
                                                             "total_tokens")}  # fmt: skip
        return {
            "id": self.id,
            "object": "thread.run",
            "created_at": self.created_at,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "status": status,
            "required_action": required,
            "last_error": None,
            "expires_at": None if terminal else self.created_at + EXPIRY_SECONDS,
            "started_at": self.unix(first.begins) if began else None,
            "cancelled_at": (
                self.unix(self.cancelled + self.cancel_seconds)
                if status == "cancelled" and self.cancelled is not None
                else None
            ),
            "failed_at": None,
            "completed_at": self.unix(turn.ends) if status == "completed" else None,
            "incomplete_details": (
                {"reason": "max_completion_tokens"} if status == "incomplete" else None
            ),
            "usage": usage,
        } | self.fields

    def _step_status(self, done_at: float | None, clock_now: float) -> str:
        if (
            done_at is not None
            and done_at <= clock_now
            and (self.cancelled is None or done_at <= self.cancelled)
        ):
            return "completed"
        if self.cancelled is not None:
            return "cancelled"
        return "expired" if self.state(clock_now) == "expired" else "in_progress"

    def step_visible(self, step: StoredStep, clock_now: float) -> bool:
        """Whether a step exists yet (a cancel before its turn got to it means never)."""
        until = clock_now if self.cancelled is None else min(clock_now, self.cancelled)
        return step.turn.begins <= until

    def render_step(
        self, step: StoredStep, clock_now: float, status: str | None = None
    ) -> dict[str, Any]:
        """The run step object as it reads at a clock reading (or as it read in `status`)."""
        turn = step.turn
        done_at = turn.ends if step.type == "message_creation" else turn.submitted
        if status is None:
            status = self._step_status(done_at, clock_now)
        if step.type == "message_creation":
            assert turn.message is not None
            details: dict[str, Any] = {
                "type": "message_creation",
                "message_creation": {"message_id": turn.message.id},
            }
        else:
            outputs = turn.outputs or {}
            details = {"type": "tool_calls", "tool_calls": [
                {"id": c.call_id, "type": "function", "function": {
                    "name": c.name, "arguments": c.arguments, "output": outputs.get(c.call_id)}}
                for c in turn.completion.calls
            ]}  # fmt: skip
        return {
            "id": step.id,
            "object": "thread.run.step",
            "created_at": step.created_at,
            "assistant_id": self.assistant_id,
            "thread_id": self.thread_id,
            "run_id": self.id,
            "type": step.type,
            "status": status,
            "step_details": details,
            "last_error": None,
            "expired_at": self.created_at + EXPIRY_SECONDS if status == "expired" else None,
            "cancelled_at": (
                self.unix(self.cancelled)
                if status == "cancelled" and self.cancelled is not None
                else None
            ),
            "failed_at": None,
            "completed_at": (
                self.unix(done_at) if status == "completed" and done_at is not None else None
            ),
            "metadata": {},
            "usage": turn.usage() if status == "completed" else None,
        }


# -- parameters -----------------------------------------------------------------------------------


def _tool_choice(value: Any, tools: list[Any]) -> Any:
    """`tool_choice`: none, auto, required, or a named tool (a function among `tools`)."""
    if value is None:
        return "auto"
    if value in ("none", "auto", "required"):
        return value
    kind = value.get("type") if isinstance(value, dict) else None
    if kind in ("code_interpreter", "file_search"):
        return value
    if kind != "function":
        raise invalid(
            "tool_choice",
            "Invalid 'tool_choice': expected 'none', 'auto', 'required' or an object naming a "
            "tool.",
        )
    function = value.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        raise missing_parameter("tool_choice.function.name")
    offered = {t["function"]["name"] for t in tools if t.get("type") == "function"}
    if name not in offered:
        raise invalid(
            "tool_choice", f"Invalid 'tool_choice': no function tool named '{name}' is offered."
        )
    return value


def _truncation(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "auto", "last_messages": None}
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in ("auto", "last_messages"):
        raise invalid(
            "truncation_strategy.type",
            f"Invalid value: {kind!r}. Supported values are: 'auto' and 'last_messages'.",
        )
    last = value.get("last_messages")
    if last is not None and (not isinstance(last, int) or isinstance(last, bool) or last < 1):
        raise invalid(
            "truncation_strategy.last_messages",
            f"Invalid 'last_messages': expected an integer of at least 1, got {last!r}.",
        )
    return {"type": kind, "last_messages": last}


def _run_fields(
    app: MockOpenAI, body: dict[str, Any], assistant: StoredAssistant
) -> dict[str, Any]:
    """The run's settings: the request's, else the assistant's."""
    base = assistant.fields
    model = base["model"]
    if body.get("model") is not None:
        model = require_model(body, app.models, strict=app.strict_models)
    instructions = optional_text(body, "instructions", base.get("instructions")) or ""
    extra = optional_text(body, "additional_instructions")
    if extra:
        instructions = f"{instructions}\n{extra}" if instructions else extra
    tools = base["tools"]
    if body.get("tools") is not None:
        tools = tools_param(body["tools"], limit=MAX_RUN_TOOLS)
    parallel = body.get("parallel_tool_calls", True)
    if not isinstance(parallel, bool):
        raise invalid(
            "parallel_tool_calls",
            "Invalid type for 'parallel_tool_calls': expected a boolean.",
            "invalid_type",
        )
    fields = {
        "model": model,
        "instructions": instructions,
        "tools": tools,
        "metadata": metadata_param(body.get("metadata")),
        "temperature": optional_number(body, "temperature", 2, base.get("temperature")),
        "top_p": optional_number(body, "top_p", 1, base.get("top_p")),
        "max_prompt_tokens": _optional_int(body, "max_prompt_tokens", 256),
        "max_completion_tokens": _optional_int(body, "max_completion_tokens", 256),
        "truncation_strategy": _truncation(body.get("truncation_strategy")),
        "tool_choice": _tool_choice(body.get("tool_choice"), tools),
        "parallel_tool_calls": parallel,
        "response_format": base.get("response_format", "auto"),
        "reasoning_effort": reasoning_effort_param(body, base.get("reasoning_effort")),
    }
    if body.get("response_format") is not None:
        fields["response_format"] = response_format_param(body["response_format"])
    return fields


def _assistant(app: MockOpenAI, body: dict[str, Any]) -> StoredAssistant:
    assistant_id = body.get("assistant_id")
    if assistant_id is None:
        raise missing_parameter("assistant_id")
    if not isinstance(assistant_id, str):
        raise invalid("assistant_id", "Invalid type for 'assistant_id': expected a string.",
                      "invalid_type")  # fmt: skip
    return app.assistants.assistants.get(assistant_id)


# -- planning a turn ------------------------------------------------------------------------------


def _text_of(message: StoredMessage) -> str:
    return " ".join(_strings(message.content))


def _plan_turn(
    app: MockOpenAI, call: Call, run: StoredRun, thread: StoredThread, seconds: float
) -> Turn:
    """The run's next turn, from now: the answer the thread and the tool outputs so far call for.

    Only the first turn may call a tool: after tool outputs the run answers in text (the
    client cannot change `tool_choice` mid-run, so a forced tool would never let it end).
    """
    fields = run.fields
    clock_now = app.clock.time()
    seed, reply_tokens = app._limits(call.request.headers)
    messages = thread.visible_messages(clock_now)
    last_messages = fields["truncation_strategy"]["last_messages"]
    if last_messages:
        messages = messages[-last_messages:]
    first = not run.turns
    outputs = [sorted((t.outputs or {}).items()) for t in run.turns]
    conversation = [fields["instructions"], [(m.role, _text_of(m)) for m in messages], outputs]
    last = messages[-1] if messages else None
    body = {
        "tools": fields["tools"],
        "tool_choice": fields["tool_choice"] if first else "auto",
        "parallel_tool_calls": fields["parallel_tool_calls"],
    }
    completion = plan_completion(
        app._policy,
        request=dataclasses.replace(call.request, body=body),
        scripted=app._next_scripted(call.request),
        model=fields["model"],
        conversation=conversation,
        seed=seed,
        choice=0,
        limit=fields["max_completion_tokens"],
        reply_tokens=reply_tokens,
        last_user_text=(
            _last_user_text({"role": last.role, "content": last.content})
            if first and last is not None
            else None
        ),
        output_format=_chat_output_format({"response_format": fields["response_format"]}),
    )
    input_tokens = sum(estimate_tokens(s) for s in _strings([conversation, fields["tools"]])) + 4
    turn = Turn(clock_now, seconds, completion, input_tokens, None)
    created_at = run.unix(turn.begins)
    if completion.tokens or completion.refusal is not None or not completion.calls:
        content: list[dict[str, Any]]
        if completion.refusal is not None:
            content = [{"type": "refusal", "refusal": completion.refusal_text}]
        else:
            content = [{"type": "text", "text": {"value": completion.text, "annotations": []}}]
        reason = "max_tokens" if completion.finish == "length" else None
        turn.message = thread.add(
            StoredMessage(
                id=new_id("msg_"),
                thread_id=thread.id,
                role="assistant",
                content=content,
                attachments=[],
                metadata={},
                created_at=created_at,
                assistant_id=run.assistant_id,
                run_id=run.id,
                timing=MessageTiming(turn.begins, turn.ends, incomplete_reason=reason),
            )
        )
        step = StoredStep(new_id("step_"), "message_creation", turn, created_at)
        run.steps.put(step.id, step)
    if completion.calls:
        step = StoredStep(new_id("step_"), "tool_calls", turn, created_at)
        run.steps.put(step.id, step)
    run.turns.append(turn)
    return turn


def _run_request(
    app: MockOpenAI, body: dict[str, Any]
) -> tuple[StoredAssistant, dict[str, Any], bool]:
    """A run request's assistant, settings and `stream` flag, checked."""
    assistant = _assistant(app, body)
    return assistant, _run_fields(app, body, assistant), _check_stream_flag(body)


async def _start_run(
    app: MockOpenAI,
    call: Call,
    thread: StoredThread,
    assistant: StoredAssistant,
    fields: dict[str, Any],
    stream: bool,
    *,
    made_thread: bool,
) -> dict[str, Any] | None:
    """Start the run and answer: the run as it stands, or its stream."""
    run = StoredRun(new_id("run_"), thread.id, assistant.id, fields, app.clock.time())
    _plan_turn(app, call, run, thread, 0.0 if stream else app.background_seconds)
    thread.runs.put(run.id, run)  # once planned: a responder that raised leaves no run
    if stream:
        events = run_streams.run_events(run, thread if made_thread else None)
        await run_streams.send(app, call, events)
        return None
    return run.render(app.clock.time())


def _run_of(thread: StoredThread, run_id: str) -> StoredRun:
    return cast(StoredRun, thread.runs.get(run_id))


# -- routes ---------------------------------------------------------------------------------------


async def create_run(app: MockOpenAI, call: Call) -> dict[str, Any] | None:
    """`POST /v1/threads/{thread_id}/runs`: the assistant answers the thread."""
    thread = thread_of(app, call)
    body = call.request.json
    assistant, fields, stream = _run_request(app, body)
    extra = body.get("additional_messages")
    if extra is not None and not isinstance(extra, list):
        raise invalid("additional_messages", "Invalid type for 'additional_messages': expected "
                      "an array of messages.", "invalid_type")  # fmt: skip
    added = [new_message(thread, m, f"additional_messages[{i}]") for i, m in enumerate(extra or ())]
    active = thread.active_run(app)
    if active is not None:
        raise BadRequest(f"Thread {thread.id} already has an active run {active.id}.")
    for message in added:
        thread.add(message)
    return await _start_run(app, call, thread, assistant, fields, stream, made_thread=False)


async def create_thread_and_run(app: MockOpenAI, call: Call) -> dict[str, Any] | None:
    """`POST /v1/threads/runs`: a new thread (from `thread`) and a run on it."""
    body = call.request.json
    assistant, fields, stream = _run_request(app, body)
    spec = body.get("thread")
    if spec is not None and not isinstance(spec, dict):
        raise invalid("thread", "Invalid type for 'thread': expected an object.", "invalid_type")
    thread = new_thread(spec or {}, "thread")
    app.assistants.threads.put(thread.id, thread)
    return await _start_run(app, call, thread, assistant, fields, stream, made_thread=True)


async def list_runs(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/threads/{thread_id}/runs`: newest first."""
    clock_now = app.clock.time()
    runs = [cast(StoredRun, r) for r in thread_of(app, call).runs.values()]
    return page(runs, call.queried(), render=lambda r: r.render(clock_now), key=lambda r: r.id)


async def retrieve_run(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/threads/{thread_id}/runs/{run_id}`: as it stands on the clock."""
    run = _run_of(thread_of(app, call), call.params["run_id"])
    return run.render(app.clock.time())


async def update_run(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/threads/{thread_id}/runs/{run_id}`: replace its metadata."""
    run = _run_of(thread_of(app, call), call.params["run_id"])
    body = call.request.json
    if "metadata" in body:
        run.fields["metadata"] = metadata_param(body["metadata"])
    return run.render(app.clock.time())


async def cancel_run(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST .../runs/{run_id}/cancel`: cancelling, then cancelled after T/2."""
    run = _run_of(thread_of(app, call), call.params["run_id"])
    clock_now = app.clock.time()
    status = run.state(clock_now)
    if status not in ("queued", "in_progress", "requires_action"):
        raise BadRequest(f"Cannot cancel run with status '{status}'.")
    run.cancelled, run.cancel_seconds = clock_now, app.background_seconds / 2
    message = run.turns[-1].message
    if message is not None and message.timing is not None:
        message.timing.cut = clock_now
    return run.render(clock_now)


async def submit_tool_outputs(app: MockOpenAI, call: Call) -> dict[str, Any] | None:
    """`POST .../runs/{run_id}/submit_tool_outputs`: one output per call, then the next turn."""
    thread = thread_of(app, call)
    run = _run_of(thread, call.params["run_id"])
    body = call.request.json
    stream = _check_stream_flag(body)
    outputs = _tool_outputs(body.get("tool_outputs"))
    clock_now = app.clock.time()
    status = run.state(clock_now)
    if status != "requires_action":
        raise BadRequest(f'Runs in status "{status}" do not accept tool outputs.', param="run_id")
    turn = run.turns[-1]
    wanted = [c.call_id for c in turn.completion.calls]
    unknown = sorted(set(outputs) - set(wanted))
    if unknown:
        raise invalid("tool_outputs", f"No tool call found with id '{unknown[0]}'.")
    missing = [c for c in wanted if c not in outputs]
    if missing:
        raise invalid(
            "tool_outputs",
            f"Expected tool outputs for call_ids {wanted}, got {sorted(outputs)}.",
        )
    turn.outputs, turn.submitted = outputs, clock_now
    step = next(s for s in run.steps.values() if s.turn is turn and s.type == "tool_calls")
    _plan_turn(app, call, run, thread, 0.0 if stream else app.background_seconds)
    if stream:
        await run_streams.send(app, call, run_streams.resumed_events(run, step))
        return None
    return run.render(clock_now)


def _tool_outputs(value: Any) -> dict[str, str]:
    if value is None:
        raise missing_parameter("tool_outputs")
    if not isinstance(value, list):
        raise invalid("tool_outputs", "Invalid type for 'tool_outputs': expected an array.",
                      "invalid_type")  # fmt: skip
    outputs = {}
    for index, entry in enumerate(value):
        where = f"tool_outputs[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("tool_call_id"), str):
            raise missing_parameter(f"{where}.tool_call_id")
        output = entry.get("output", "")
        if not isinstance(output, str):
            raise invalid(f"{where}.output", f"Invalid type for '{where}.output': expected a "
                          "string.", "invalid_type")  # fmt: skip
        outputs[entry["tool_call_id"]] = output
    return outputs


async def list_steps(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET .../runs/{run_id}/steps`: the steps that exist by now, newest first."""
    run = _run_of(thread_of(app, call), call.params["run_id"])
    clock_now = app.clock.time()
    steps = [s for s in run.steps.values() if run.step_visible(s, clock_now)]
    return page(
        steps, call.queried(), render=lambda s: run.render_step(s, clock_now), key=lambda s: s.id
    )


async def retrieve_step(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET .../runs/{run_id}/steps/{step_id}`."""
    run = _run_of(thread_of(app, call), call.params["run_id"])
    clock_now = app.clock.time()
    step = run.steps.find(call.params["step_id"])
    if step is None or not run.step_visible(step, clock_now):
        raise run.steps.missing(call.params["step_id"])
    return run.render_step(step, clock_now)
