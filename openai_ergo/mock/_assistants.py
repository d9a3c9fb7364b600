"""The Assistants API (beta): assistants, threads and their messages, as the service keeps them.

An assistant is a model with instructions and tools; a thread holds messages, oldest first, and
the runs made on it (`_runs.py`). Messages a run writes appear on the thread as the run reaches
them on the app's clock: each carries its `MessageTiming`, so a read shows what exists by then
(in_progress, then completed, or incomplete when its run was cancelled first). While a run is
active, the thread takes no new message.

    assistant, thread, message: created ──DELETE──▶ deleted (404 from then on)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from openai_ergo.mock._endpoints import BadRequest, missing_parameter, require_model
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import Collection, metadata_param, page
from openai_ergo.mock._wire import new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["AssistantStore", "MessageTiming", "StoredMessage", "StoredThread", "text_content"]

MAX_ASSISTANT_TOOLS = 128
_TOOL_TYPES = ("code_interpreter", "file_search", "function")
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_TEXT_LIMITS = {"name": 256, "description": 512, "instructions": 256_000}


# -- parameters -----------------------------------------------------------------------------------


def invalid(param: str, message: str, code: str = "invalid_value") -> BadRequest:
    """OpenAI's 400 naming the parameter."""
    return BadRequest(message, param=param, code=code)


def _wrong_type(param: str, expected: str) -> BadRequest:
    return invalid(param, f"Invalid type for '{param}': expected {expected}.", "invalid_type")


def optional_text(body: dict[str, Any], name: str, default: str | None = None) -> str | None:
    """A nullable string field, within the service's length limit."""
    value = body.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _wrong_type(name, "a string")
    limit = _TEXT_LIMITS.get(name)
    if limit is not None and len(value) > limit:
        raise invalid(
            name,
            f"Invalid '{name}': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(value)} instead.",
            "string_above_max_length",
        )
    return value


def optional_number(body: dict[str, Any], name: str, high: float, default: Any = None) -> Any:
    """A nullable number in 0..`high` (temperature, top_p)."""
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong_type(name, "a number")
    if not 0 <= value <= high:
        raise invalid(
            name,
            f"Invalid '{name}': expected a number from 0 to {high:g}, but got {value} instead.",
        )
    return value


def reasoning_effort_param(body: dict[str, Any], default: str | None) -> str | None:
    """`reasoning_effort`: none, minimal, low, medium or high (null: the model's default)."""
    effort = body.get("reasoning_effort", default)
    if effort is not None and effort not in _EFFORTS:
        raise invalid(
            "reasoning_effort",
            f"Invalid value: {effort!r}. Supported values are: "
            + ", ".join(f"'{e}'" for e in _EFFORTS)
            + ".",
        )
    return effort


def tools_param(value: Any, param: str = "tools", limit: int = MAX_ASSISTANT_TOOLS) -> list[Any]:
    """`tools`: code_interpreter, file_search and function tools (a function needs a name)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong_type(param, "an array of tools")
    if len(value) > limit:
        raise invalid(
            param,
            f"Invalid '{param}': array too long. Expected an array with maximum length {limit}, "
            f"but got an array with length {len(value)} instead.",
            "array_above_max_length",
        )
    for index, tool in enumerate(value):
        where = f"{param}[{index}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in _TOOL_TYPES:
            raise invalid(
                f"{where}.type",
                f"Invalid value: {kind!r}. Supported values are: 'code_interpreter', "
                "'file_search' and 'function'.",
            )
        if kind == "function":
            function = tool.get("function")
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise missing_parameter(f"{where}.function.name")
            if function.get("parameters") is not None and not isinstance(
                function["parameters"], dict
            ):
                raise _wrong_type(f"{where}.function.parameters", "an object")
    return value


def response_format_param(value: Any) -> Any:
    """`response_format`: "auto", or an object of type text, json_object or json_schema."""
    if value is None or value == "auto":
        return "auto" if value is None else value
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise invalid(
            "response_format",
            "Invalid 'response_format': expected 'auto' or an object with 'type' 'text', "
            "'json_object' or 'json_schema'.",
        )
    if kind == "json_schema" and not isinstance(value.get("json_schema"), dict):
        raise missing_parameter("response_format.json_schema")
    return value


def _tool_resources(value: Any, param: str = "tool_resources") -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong_type(param, "an object")
    return value


def text_content(text: str) -> list[dict[str, Any]]:
    """A message's content holding one text part, as the service renders it."""
    return [{"type": "text", "text": {"value": text, "annotations": []}}]


def _content(value: Any, param: str) -> list[dict[str, Any]]:
    """A new message's `content` (a string or parts) in the message object's shape."""
    if isinstance(value, str):
        return text_content(value)
    if not isinstance(value, list):
        if value is None:
            raise missing_parameter(param)
        raise _wrong_type(param, "a string or an array of content parts")
    if not value:
        raise invalid(
            param,
            f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got "
            "an empty array instead.",
            "empty_array",
        )
    parts = []
    for index, part in enumerate(value):
        where = f"{param}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise missing_parameter(f"{where}.text")
            parts.extend(text_content(part["text"]))
        elif kind in ("image_file", "image_url"):
            if not isinstance(part.get(kind), dict):
                raise missing_parameter(f"{where}.{kind}")
            parts.append(part)
        else:
            raise invalid(
                f"{where}.type",
                f"Invalid value: {kind!r}. Supported values are: 'text', 'image_file' and "
                "'image_url'.",
            )
    return parts


def _attachments(value: Any, param: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(a, dict) and isinstance(a.get("file_id"), str) for a in value
    ):
        raise _wrong_type(param, "an array of objects with a 'file_id'")
    return value


# -- records --------------------------------------------------------------------------------------


class RunOnThread(Protocol):
    """What a thread needs of its runs (`_runs.StoredRun`): to know whether one is active."""

    id: str

    def status(self, app: MockOpenAI) -> str:
        """The run's status, read off the clock."""
        ...


@dataclass
class MessageTiming:
    """When a run's message exists and is done, on the app's clock (`cut`: its run's cancel)."""

    appears: float
    done: float
    cut: float | None = None
    #: Why it stops short when it is cut by the token limit rather than by a cancel.
    incomplete_reason: str | None = None


@dataclass
class StoredMessage:
    """One message of a thread."""

    id: str
    thread_id: str
    role: str
    content: list[dict[str, Any]]
    attachments: list[Any]
    metadata: dict[str, str]
    created_at: int = field(default_factory=now)
    assistant_id: str | None = None
    run_id: str | None = None
    timing: MessageTiming | None = None

    def visible(self, clock_now: float) -> bool:
        """Whether the message exists yet (a run writes its message when it gets to it)."""
        timing = self.timing
        if timing is None:
            return True
        until = clock_now if timing.cut is None else min(clock_now, timing.cut)
        return timing.appears <= until

    def render(self, clock_now: float) -> dict[str, Any]:
        """The message object as it reads now."""
        status, content, details = "completed", self.content, None
        completed_at: int | None = self.created_at
        incomplete_at = None
        timing = self.timing
        if timing is not None:
            offset = round(timing.done - timing.appears)
            if timing.cut is not None and timing.cut < timing.done:
                status, content = "incomplete", []
                details = {"reason": "run_cancelled"}
                completed_at, incomplete_at = (
                    None,
                    self.created_at + round(timing.cut - timing.appears),
                )
            elif clock_now < timing.done:
                status, content, completed_at = "in_progress", [], None
            elif timing.incomplete_reason is not None:
                status, details = "incomplete", {"reason": timing.incomplete_reason}
                completed_at, incomplete_at = None, self.created_at + offset
            else:
                completed_at = self.created_at + offset
        return {
            "id": self.id,
            "object": "thread.message",
            "created_at": self.created_at,
            "thread_id": self.thread_id,
            "status": status,
            "incomplete_details": details,
            "completed_at": completed_at,
            "incomplete_at": incomplete_at,
            "role": self.role,
            "content": content,
            "assistant_id": self.assistant_id,
            "run_id": self.run_id,
            "attachments": self.attachments,
            "metadata": self.metadata,
        }


@dataclass
class StoredAssistant:
    """One assistant: what a run on it starts from."""

    id: str
    fields: dict[str, Any]
    created_at: int = field(default_factory=now)

    def render(self) -> dict[str, Any]:
        """The assistant object."""
        return {"id": self.id, "object": "assistant", "created_at": self.created_at} | self.fields


@dataclass
class StoredThread:
    """One thread: its messages and runs, oldest first."""

    id: str
    metadata: dict[str, str]
    tool_resources: dict[str, Any] | None
    created_at: int = field(default_factory=now)
    messages: Collection[StoredMessage] = field(
        default_factory=lambda: Collection("Message"), repr=False
    )
    runs: Collection[RunOnThread] = field(default_factory=lambda: Collection("Run"), repr=False)

    def render(self) -> dict[str, Any]:
        """The thread object."""
        return {
            "id": self.id,
            "object": "thread",
            "created_at": self.created_at,
            "metadata": self.metadata,
            "tool_resources": self.tool_resources or {},
        }

    def visible_messages(self, clock_now: float) -> list[StoredMessage]:
        """The messages that exist by now, oldest first."""
        return [m for m in self.messages.values() if m.visible(clock_now)]

    def message(self, message_id: str, clock_now: float) -> StoredMessage:
        """A message that exists by now, or OpenAI's 404."""
        found = self.messages.find(message_id)
        if found is None or not found.visible(clock_now):
            raise self.messages.missing(message_id)
        return found

    def active_run(self, app: MockOpenAI) -> RunOnThread | None:
        """The run still working on the thread (it holds the thread until it ends), if any."""
        for run in reversed(self.runs.values()):
            if run.status(app) in ACTIVE:
                return run
        return None

    def add(self, message: StoredMessage) -> StoredMessage:
        """Append a message."""
        return self.messages.put(message.id, message)


#: Run statuses that hold their thread.
ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})


class AssistantStore:
    """The assistants and threads of one mock server."""

    def __init__(self) -> None:
        self.assistants: Collection[StoredAssistant] = Collection("Assistant")
        self.threads: Collection[StoredThread] = Collection("Thread")

    def clear(self) -> None:
        """Forget every assistant and thread."""
        self.assistants.clear()
        self.threads.clear()


def new_message(thread: StoredThread, value: Any, param: str) -> StoredMessage:
    """A message from a create request (`role`, `content`, `attachments`, `metadata`)."""
    if not isinstance(value, dict):
        raise _wrong_type(param or "body", "an object")
    prefix = f"{param}." if param else ""
    role = value.get("role")
    if role is None:
        raise missing_parameter(f"{prefix}role")
    if role not in ("user", "assistant"):
        raise invalid(
            f"{prefix}role",
            f"Invalid value: {role!r}. Supported values are: 'user' and 'assistant'.",
        )
    return StoredMessage(
        id=new_id("msg_"),
        thread_id=thread.id,
        role=role,
        content=_content(value.get("content"), f"{prefix}content"),
        attachments=_attachments(value.get("attachments"), f"{prefix}attachments"),
        metadata=_metadata(value.get("metadata"), f"{prefix}metadata"),
    )


def _metadata(value: Any, param: str) -> dict[str, str]:
    try:
        return metadata_param(value)
    except BadRequest as exc:
        exc.param = param
        raise


def new_thread(body: dict[str, Any], param: str = "") -> StoredThread:
    """A thread from a create request (`messages`, `metadata`, `tool_resources`), checked whole
    before anything is kept."""
    prefix = f"{param}." if param else ""
    thread = StoredThread(
        id=new_id("thread_"),
        metadata=_metadata(body.get("metadata"), f"{prefix}metadata"),
        tool_resources=_tool_resources(body.get("tool_resources"), f"{prefix}tool_resources"),
    )
    messages = body.get("messages")
    if messages is not None and not isinstance(messages, list):
        raise _wrong_type(f"{prefix}messages", "an array of messages")
    for index, message in enumerate(messages or ()):
        thread.add(new_message(thread, message, f"{prefix}messages[{index}]"))
    return thread


def thread_of(app: MockOpenAI, call: Call) -> StoredThread:
    """The thread a route names, or OpenAI's 404."""
    return app.assistants.threads.get(call.params["thread_id"])


def _assistant_fields(body: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """An assistant's fields from a create (`base` empty) or an update (`base` its fields)."""
    fields = dict(base)
    for name in ("name", "description", "instructions"):
        fields[name] = optional_text(body, name, base.get(name))
    if "tools" in body or not base:
        fields["tools"] = tools_param(body.get("tools"))
    if "metadata" in body or not base:
        fields["metadata"] = metadata_param(body.get("metadata"))
    fields["temperature"] = optional_number(body, "temperature", 2, base.get("temperature", 1.0))
    fields["top_p"] = optional_number(body, "top_p", 1, base.get("top_p", 1.0))
    if "response_format" in body or not base:
        fields["response_format"] = response_format_param(body.get("response_format"))
    if "tool_resources" in body or not base:
        fields["tool_resources"] = _tool_resources(body.get("tool_resources")) or {}
    fields["reasoning_effort"] = reasoning_effort_param(body, base.get("reasoning_effort"))
    return fields


# -- assistants -----------------------------------------------------------------------------------


async def create_assistant(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/assistants`: a model with instructions and tools."""
    body = call.request.json
    model = require_model(body, app.models, strict=app.strict_models)
    fields = {"model": model} | _assistant_fields(body, {})
    assistant = StoredAssistant(new_id("asst_"), fields)
    return app.assistants.assistants.put(assistant.id, assistant).render()


async def list_assistants(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/assistants`: newest first."""
    return page(
        app.assistants.assistants.values(),
        call.queried(),
        render=StoredAssistant.render,
        key=lambda a: a.id,
    )


async def retrieve_assistant(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/assistants/{assistant_id}`."""
    return app.assistants.assistants.get(call.params["assistant_id"]).render()


async def update_assistant(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/assistants/{assistant_id}`: the fields given replace the old ones."""
    assistant = app.assistants.assistants.get(call.params["assistant_id"])
    body = call.request.json
    model = assistant.fields["model"]
    if "model" in body:
        model = require_model(body, app.models, strict=app.strict_models)
    assistant.fields = _assistant_fields(body, assistant.fields) | {"model": model}
    return assistant.render()


async def delete_assistant(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/assistants/{assistant_id}`."""
    assistant = app.assistants.assistants.delete(call.params["assistant_id"])
    return {"id": assistant.id, "object": "assistant.deleted", "deleted": True}


# -- threads --------------------------------------------------------------------------------------


async def create_thread(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/threads`: optional messages, metadata and tool resources."""
    thread = new_thread(call.request.json)
    return app.assistants.threads.put(thread.id, thread).render()


async def retrieve_thread(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/threads/{thread_id}`."""
    return thread_of(app, call).render()


async def update_thread(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/threads/{thread_id}`: metadata and tool resources."""
    thread = thread_of(app, call)
    body = call.request.json
    metadata = metadata_param(body["metadata"]) if "metadata" in body else thread.metadata
    resources = thread.tool_resources
    if "tool_resources" in body:
        resources = _tool_resources(body["tool_resources"])
    thread.metadata, thread.tool_resources = metadata, resources
    return thread.render()


async def delete_thread(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/threads/{thread_id}` (its messages and runs go with it)."""
    thread = app.assistants.threads.delete(call.params["thread_id"])
    return {"id": thread.id, "object": "thread.deleted", "deleted": True}


# -- messages -------------------------------------------------------------------------------------


async def create_message(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/threads/{thread_id}/messages`: refused while a run is active on the thread."""
    thread = thread_of(app, call)
    message = new_message(thread, call.request.json, "")
    refuse_while_active(thread, app)
    return thread.add(message).render(app.clock.time())


def refuse_while_active(thread: StoredThread, app: MockOpenAI) -> None:
    """OpenAI's 400 for adding to a thread a run is working on."""
    run = thread.active_run(app)
    if run is not None:
        raise BadRequest(f"Can't add messages to {thread.id} while a run {run.id} is active.")


async def list_messages(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/threads/{thread_id}/messages`: newest first, `run_id` keeps one run's."""
    thread = thread_of(app, call)
    query = call.queried()
    clock_now = app.clock.time()
    messages = thread.visible_messages(clock_now)
    run_id = query.get("run_id")
    if run_id:
        messages = [m for m in messages if m.run_id == run_id]
    return page(messages, query, render=lambda m: m.render(clock_now), key=lambda m: m.id)


async def retrieve_message(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/threads/{thread_id}/messages/{message_id}`."""
    clock_now = app.clock.time()
    return thread_of(app, call).message(call.params["message_id"], clock_now).render(clock_now)


async def update_message(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/threads/{thread_id}/messages/{message_id}`: replace its metadata."""
    clock_now = app.clock.time()
    message = thread_of(app, call).message(call.params["message_id"], clock_now)
    body = call.request.json
    if "metadata" in body:
        message.metadata = metadata_param(body["metadata"])
    return message.render(clock_now)


async def delete_message(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/threads/{thread_id}/messages/{message_id}`."""
    thread = thread_of(app, call)
    message = thread.message(call.params["message_id"], app.clock.time())
    thread.messages.delete(message.id)
    return {"id": message.id, "object": "thread.message.deleted", "deleted": True}
