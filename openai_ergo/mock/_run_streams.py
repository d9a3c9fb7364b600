"""Streamed runs: the events the service sends for a run, in its order, ending with `done`.

A streamed turn takes no clock time (`_runs.py`), so every snapshot is read at the turn's end
and carries the status its event reports: `thread.created` (for a thread the run made),
`thread.run.created`, `thread.run.queued`, `thread.run.in_progress`, then per step
`thread.run.step.created`, `thread.run.step.in_progress` and either the message
(`thread.message.created`, `thread.message.in_progress`, `thread.message.delta`...,
`thread.message.completed`, `thread.run.step.completed`) or the tool calls
(`thread.run.step.delta`... carrying each call's name and then its arguments a few characters
at a time), and the run's end: `thread.run.completed` (or `incomplete`, or
`thread.run.requires_action`, its tool calls step still in progress). After tool outputs the
stream opens with that step's `thread.run.step.completed` and `thread.run.queued`. Text and
argument deltas are paced like tokens; faults strike the stream like any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from openai_ergo.mock._wire import sse_frame

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI
    from openai_ergo.mock._assistants import StoredThread
    from openai_ergo.mock._exchange import Frame
    from openai_ergo.mock._routes import Call
    from openai_ergo.mock._runs import StoredRun, StoredStep, Turn

__all__ = ["resumed_events", "run_events", "send"]

_DONE_FRAME = b"event: done\ndata: [DONE]\n\n"


async def send(app: MockOpenAI, call: Call, frames: Iterator[Frame]) -> None:
    """Stream a run's events to the caller, paced and faulted like every stream."""
    await app._stream(call.reply, frames, call.fault, _error_frames, tokens=0)


def _error_frames(_sequence: int, code: str, message: str) -> list[bytes]:
    """An `error` event: the spec's `Error` fields, and nested under `error` as readers of
    the other streams expect."""
    error = {"code": code, "message": message, "param": None, "type": "server_error"}
    return [sse_frame(error | {"error": error}, "error")]


def _event(event: str, payload: dict[str, Any]) -> Frame:
    return sse_frame(payload, event), False


def run_events(run: StoredRun, thread: StoredThread | None) -> Iterator[Frame]:
    """A new run's stream (with `thread.created` first when the run made its thread)."""
    clock_now = run.turns[-1].ends
    if thread is not None:
        yield _event("thread.created", thread.render())
    yield _event("thread.run.created", run.render(clock_now, "queued"))
    yield _event("thread.run.queued", run.render(clock_now, "queued"))
    yield from _turn_events(run, run.turns[-1], clock_now)


def resumed_events(run: StoredRun, calls: StoredStep) -> Iterator[Frame]:
    """The stream after tool outputs: the calls' step completes and the next turn runs."""
    clock_now = run.turns[-1].ends
    yield _event("thread.run.step.completed", run.render_step(calls, clock_now))
    yield _event("thread.run.queued", run.render(clock_now, "queued"))
    yield from _turn_events(run, run.turns[-1], clock_now)


def _turn_events(run: StoredRun, turn: Turn, clock_now: float) -> Iterator[Frame]:
    yield _event("thread.run.in_progress", run.render(clock_now, "in_progress"))
    steps = [s for s in run.steps.values() if s.turn is turn]
    for step in steps:
        opened = run.render_step(step, clock_now, "in_progress")
        if step.type == "tool_calls":
            # The calls arrive as step deltas, which a reader adds to what the step held.
            opened["step_details"] = {"type": "tool_calls", "tool_calls": []}
        yield _event("thread.run.step.created", opened)
        yield _event("thread.run.step.in_progress", opened)
        if step.type == "message_creation":
            yield from _message_events(turn, clock_now)
            yield _event("thread.run.step.completed", run.render_step(step, clock_now))
        else:
            yield from _call_deltas(step, turn)
    yield _event(f"thread.run.{run.state(clock_now)}", run.render(clock_now))
    yield _DONE_FRAME, False


def _message_events(turn: Turn, clock_now: float) -> Iterator[Frame]:
    message = turn.message
    assert message is not None
    done = message.render(clock_now)
    opened = done | {"status": "in_progress", "content": [], "completed_at": None,
                     "incomplete_at": None, "incomplete_details": None}  # fmt: skip
    yield _event("thread.message.created", opened)
    yield _event("thread.message.in_progress", opened)
    completion = turn.completion
    refusing = completion.refusal is not None
    for index, token in enumerate(completion.refusal or completion.tokens):
        part: dict[str, Any] = {"index": 0, "type": "refusal" if refusing else "text"}
        if refusing:
            part["refusal"] = token
        else:
            part["text"] = {"value": token, "annotations": []} if index == 0 else {"value": token}
        delta = {"id": message.id, "object": "thread.message.delta",
                 "delta": {"content": [part]}}  # fmt: skip
        yield sse_frame(delta, "thread.message.delta"), True
    yield _event(f"thread.message.{done['status']}", done)


def _call_deltas(step: StoredStep, turn: Turn) -> Iterator[Frame]:
    """A tool call's name, then its arguments a few characters at a time, as step deltas."""
    for index, planned in enumerate(turn.completion.calls):
        fragments = planned.fragments
        for number, fragment in enumerate(fragments):
            call: dict[str, Any] = {"index": index, "type": "function"}
            function: dict[str, Any] = {"arguments": fragment}
            if number == 0:
                call["id"] = planned.call_id
                function |= {"name": planned.name, "output": None}
            call["function"] = function
            details = {"type": "tool_calls", "tool_calls": [call]}
            delta = {"id": step.id, "object": "thread.run.step.delta",
                     "delta": {"step_details": details}}  # fmt: skip
            yield sse_frame(delta, "thread.run.step.delta"), True
