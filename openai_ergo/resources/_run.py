"""The tool loop: ask, run the tools the model called (concurrently), answer, until it replies.

Calls of one turn run together in an anyio task group (sync functions in worker threads). A tool
that raises, or arguments that do not fit its parameters, go back to the model as an error
output: the model can recover, and the loop goes on. An unknown tool name, or a model still
calling tools after `max_steps` turns, raises `ToolError` (the calls of that last turn do not run:
their output could never reach the model). A `tool_choice` that forces a call holds for the first
turn; later turns let the model answer, unless the run keeps it.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, final

import anyio
import msgspec
from anyio.abc import AsyncResource

from openai_ergo._errors import InvalidRequestError, ToolError
from openai_ergo._pipeline._observe import LocalSpan, Observer
from openai_ergo._pydantic import encode_hook
from openai_ergo.resources._builder import check_bool, check_int
from openai_ergo.resources._tools import FunctionTool, ToolArgumentsError

if TYPE_CHECKING:
    from openai_ergo.resources._typed_stream import _TypedStream

__all__ = ["ToolCallRecord", "ToolRun", "ToolRunStream", "ToolStep"]

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)
B = TypeVar("B")


@final
@dataclass(frozen=True)
class ToolCallRecord:
    """One tool call of one turn: what the model asked for and what went back to it.

    `error` is set when the tool raised or the arguments did not fit; `output` is then the
    error text the model saw."""

    call_id: str
    name: str
    arguments: str
    output: str
    error: str | None = None


@final
@dataclass(frozen=True)
class ToolStep(Generic[R]):
    """One turn of the loop: the model's result and the tool calls it made (empty for the last,
    answering turn)."""

    result: R
    calls: tuple[ToolCallRecord, ...] = ()


@dataclass(frozen=True)
class PendingCall:
    """A call the model made, before it runs."""

    call_id: str
    name: str
    arguments: str


class LoopSteps(Protocol[B, R_contra]):
    """How one endpoint finds the calls in its result and builds the next turn. A turn is sent
    with the builder's own `create()` or `stream()`, and runs the builder's `function_tools`."""

    def calls(self, result: R_contra) -> list[PendingCall]:
        """The function calls in a result."""
        ...

    def next_turn(self, builder: B, result: R_contra, records: Sequence[ToolCallRecord]) -> B:
        """The builder for the next turn, carrying the results back to the model."""
        ...


def _encode_output(value: Any) -> str:
    if isinstance(value, str):
        return value
    # The hook turns pydantic models (a tool may return one) into their JSON form.
    return msgspec.json.encode(value, enc_hook=encode_hook).decode()


def local_spans(
    observers: Sequence[Observer], name: str, attributes: Mapping[str, Any]
) -> tuple[LocalSpan, ...]:
    """The spans the observers that trace open for a step the client runs itself."""
    if not observers:
        return ()
    spans = (observer.local_span(name, attributes) for observer in observers)
    return tuple(span for span in spans if span is not None)


#: The context of a step no observer traces (reusable: it holds nothing).
_UNTRACED = nullcontext()


def _activated(spans: Sequence[LocalSpan]) -> AbstractContextManager[object]:
    """A context under which `spans` are the current parents."""
    if not spans:
        return _UNTRACED
    stack = ExitStack()
    for span in spans:
        stack.enter_context(span.activate())
    return stack


def _observers_of(builder: Any) -> tuple[Observer, ...]:
    client = getattr(builder, "client", None) or getattr(builder, "_client", None)
    observers: tuple[Observer, ...] = getattr(getattr(client, "_pipeline", None), "observers", ())
    return observers


async def run_calls(
    tools: dict[str, FunctionTool[..., Any]],
    calls: Sequence[PendingCall],
    observers: Sequence[Observer] = (),
) -> list[ToolCallRecord]:
    """Run every call concurrently; the records come back in the calls' order. Observers that
    trace get an `execute_tool` span for each call."""
    unknown = [call.name for call in calls if call.name not in tools]
    if unknown:
        known = ", ".join(sorted(tools)) or "none"
        raise ToolError(
            f"the model called {unknown[0]!r}, which is not one of this request's tools "
            f"({known}); pass it to .tools(...) as a @tool function"
        )
    records: list[ToolCallRecord | None] = [None] * len(calls)

    async def run_one(index: int, call: PendingCall) -> None:
        error: str | None = None
        spans = local_spans(
            observers,
            "execute_tool",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": call.name,
                "gen_ai.tool.call.id": call.call_id,
                "gen_ai.tool.type": "function",
            },
        )
        failure: BaseException | None = None
        try:
            with _activated(spans):
                output = _encode_output(await tools[call.name].invoke(call.arguments))
        except ToolArgumentsError as exc:
            failure = exc
            error = output = f"Error: {exc}"
        except Exception as exc:  # the model hears about it and can recover
            failure = exc
            error = output = f"Error: {call.name} failed: {type(exc).__name__}: {exc}"
        except BaseException as exc:
            for span in spans:
                span.end(exc)
            raise
        for span in spans:
            span.end(failure)
        records[index] = ToolCallRecord(call.call_id, call.name, call.arguments, output, error)

    async with anyio.create_task_group() as group:
        for index, call in enumerate(calls):
            group.start_soon(run_one, index, call)
    return [record for record in records if record is not None]


def _too_many(max_steps: int, calls: Sequence[PendingCall]) -> ToolError:
    names = ", ".join(dict.fromkeys(call.name for call in calls))
    return ToolError(
        f"the model was still calling tools after {max_steps} steps (its last turn asked for "
        f"{names}, which did not run: their output could not go back); raise max_steps or "
        "check the tools' outputs"
    )


def _unforced(choice: Any) -> Any:
    """The choice that lets the model answer in place of a `tool_choice` that obliges it to
    call a tool (`required`, a named tool, `allowed_tools` in `required` mode), or `None` when
    `choice` obliges nothing."""
    if choice == "required" or isinstance(choice, FunctionTool):
        return "auto"
    if not isinstance(choice, Mapping):
        return None  # "auto", "none", or unset
    if choice.get("type") != "allowed_tools":
        return "auto"  # a named function, custom or built-in tool
    # The allowed set stays; only the obligation goes. Responses keeps `mode` at the top,
    # Chat Completions inside `allowed_tools`.
    inner = choice.get("allowed_tools")
    if isinstance(inner, Mapping) and inner.get("mode") == "required":
        return {**choice, "allowed_tools": {**inner, "mode": "auto"}}
    if choice.get("mode") == "required":
        return {**choice, "mode": "auto"}
    return None


class _Loop(Generic[R]):
    """One pass of a `ToolRun`, what the awaited and the streamed loop share: the endpoint's
    steps, the limit on turns, and what happens to the builder between turns."""

    __slots__ = (
        "_builder",
        "_loop",
        "_observers",
        "_spans",
        "_tools",
        "keep_tool_choice",
        "max_steps",
        "steps",
    )

    def __init__(self, run: ToolRun[R]) -> None:
        self._builder: Any = run._builder
        self._loop = run._loop
        self._tools: dict[str, FunctionTool[..., Any]] = run._builder.function_tools
        self._observers = _observers_of(run._builder)
        #: The loop's own spans (`invoke_agent`), opened on the first turn.
        self._spans: tuple[LocalSpan, ...] | None = None
        self.max_steps = run.max_steps
        self.keep_tool_choice = run.keep_tool_choice
        self.steps: list[ToolStep[R]] = []

    def _traced(self) -> AbstractContextManager[object]:
        """The context every step of the loop runs in: its span the parent of the turns'
        requests and the tool calls (opened on first use)."""
        spans = self._spans
        if spans is None:
            attributes: dict[str, Any] = {
                "gen_ai.operation.name": "invoke_agent",
                "openai_ergo.max_steps": self.max_steps,
            }
            model = getattr(self._builder, "model", None)
            if isinstance(model, str):
                attributes["gen_ai.request.model"] = model
            spans = self._spans = local_spans(self._observers, "invoke_agent", attributes)
        return _activated(spans)

    def _end_spans(self, error: BaseException | None) -> None:
        spans, self._spans = self._spans, ()
        for span in spans or ():
            span.end(error)

    async def _take_turn(self, result: R) -> bool:
        """Run the calls of the turn that gave `result` and make the next turn's builder.
        False when the model answered. On the last allowed turn its calls are not run: their
        output could never go back to the model."""
        calls = self._loop.calls(result)
        if not calls:
            self.steps.append(ToolStep(result))
            return False
        if len(self.steps) + 1 >= self.max_steps:
            raise _too_many(self.max_steps, calls)
        records = await run_calls(self._tools, calls, self._observers)
        self.steps.append(ToolStep(result, tuple(records)))
        builder = self._loop.next_turn(self._builder, result, records)
        unforced = None if self.keep_tool_choice else _unforced(builder._fields.get("tool_choice"))
        if unforced is not None:
            # A choice that forces a call on every turn leaves the model no way to answer:
            # once a tool has run, the model decides, as most agent frameworks do.
            builder = builder.tool_choice(unforced)
        self._builder = builder
        return True


@final
class ToolRun(Generic[R]):
    """A tool loop, ready to run: `await run` returns the final result (the model's answer);
    `run.steps` then lists every turn. `run.stream()` streams the events of every turn.

    A forced `tool_choice` (`"required"`, a named tool, `allowed_tools` in `required` mode)
    applies to the first turn only: once a tool has run, the next turns send `"auto"` (the
    allowed set in `auto` mode), so the model can answer. With `keep_tool_choice=True` every
    turn sends the choice as set."""

    __slots__ = ("_builder", "_loop", "keep_tool_choice", "max_steps", "steps")

    def __init__(
        self,
        builder: Any,
        loop: LoopSteps[Any, R],
        *,
        max_steps: int,
        keep_tool_choice: bool = False,
    ) -> None:
        check_int("max_steps", max_steps, 1)
        check_bool("keep_tool_choice", keep_tool_choice)
        if not builder.function_tools:
            raise InvalidRequestError("run() needs @tool functions: add them with .tools(...)")
        self._builder = builder
        self._loop = loop
        self.max_steps = max_steps
        self.keep_tool_choice = keep_tool_choice
        #: Every turn taken so far, oldest first.
        self.steps: list[ToolStep[R]] = []

    def __await__(self) -> Generator[Any, None, R]:
        return self._run().__await__()

    async def _run(self) -> R:
        state = _Loop(self)
        # The same list as the state's: a loop that raises still shows the turns it took.
        self.steps = state.steps
        try:
            with state._traced():
                while True:
                    result: R = await state._builder.create()
                    if not await state._take_turn(result):
                        break
        except BaseException as exc:
            state._end_spans(exc)
            raise
        state._end_spans(None)
        return result

    def stream(self) -> ToolRunStream[R]:
        """The loop as one stream of events across every turn (`text()` across turns too)."""
        return ToolRunStream(self)

    def __repr__(self) -> str:
        return f"<ToolRun steps={len(self.steps)} max_steps={self.max_steps}>"


@final
class ToolRunStream(_Loop[R], AsyncResource):
    """The events of every turn of a tool loop, in order, as one async iterator.

    Between turns the tools run; `steps` grows as turns finish; `final()` is the last turn's
    result. Use it as `async with run.stream() as stream:`; leaving the block closes the turn's
    connection."""

    __slots__ = ("_current", "_done")

    def __init__(self, run: ToolRun[R]) -> None:
        super().__init__(run)
        self._current: _TypedStream[Any, R] | None = None
        self._done = False

    async def aclose(self) -> None:
        """Close the current turn's stream (shielded); idempotent."""
        current = self._current
        if current is not None:
            await current.aclose()
        self._end_spans(None)

    def _turn(self) -> _TypedStream[Any, R]:
        if self._current is None:
            self._current = self._builder.stream()
        return self._current

    async def _advance(self) -> bool:
        """The current turn ended: run its tools and open the next. False when it answered."""
        if not await self._take_turn(self._turn().final()):
            self._done = True
            return False
        self._current = self._builder.stream()
        return True

    def __aiter__(self) -> ToolRunStream[R]:
        return self

    async def __anext__(self) -> Any:
        if self._done:
            raise StopAsyncIteration
        try:
            with self._traced():
                while True:
                    try:
                        return await self._turn().__anext__()
                    except StopAsyncIteration:
                        if not await self._advance():
                            raise
        except StopAsyncIteration:
            self._end_spans(None)
            raise
        except BaseException as exc:
            self._end_spans(exc)
            raise

    def text(self) -> _RunText:
        """The text deltas of every turn, as one async iterator of `str`."""
        return _RunText(self)

    def final(self) -> R:
        """The last turn's result (the answer), once the stream has ended."""
        if not self._done:
            return self._turn().final()  # raises the turn's error, or that it is not finished
        return self.steps[-1].result

    def __repr__(self) -> str:
        return f"<ToolRunStream steps={len(self.steps)} done={self._done}>"


@final
class _RunText:
    __slots__ = ("_run", "_text")

    def __init__(self, run: ToolRunStream[Any]) -> None:
        self._run = run
        self._text: Any = None

    def __aiter__(self) -> _RunText:
        return self

    async def __anext__(self) -> str:
        run = self._run
        try:
            with run._traced():
                return await self._next()
        except StopAsyncIteration:
            run._end_spans(None)
            raise
        except BaseException as exc:
            run._end_spans(exc)
            raise

    async def _next(self) -> str:
        run = self._run
        while not run._done:
            turn = run._turn()
            text = self._text
            if text is None or text._stream is not turn:
                text = self._text = turn.text()
            try:
                result: str = await text.__anext__()
                return result
            except StopAsyncIteration:
                if not await run._advance():
                    break
        raise StopAsyncIteration
