"""Batches from an uploaded JSONL file, answered line by line by the mock's own handlers.

The input is validated and every line answered when the batch is created (deterministic, so
nothing needs to run later); what a client sees is then read off the app's `MockClock`, over
`batch_seconds` (T):

    validating ─(0.1 T)─▶ in_progress ─(0.8 T, lines finishing evenly)─▶ finalizing ─(T)─▶ completed
        │                      │
        │                      └─cancel─▶ cancelling ─(+0.1 T)─▶ cancelled (the finished lines kept)
        └─(0.1 T, the input is malformed)─▶ failed (with `errors`)

Output and error files appear (purpose `batch_output`) once the batch is completed or
cancelled, in the service's line format: `{"id", "custom_id", "response": {"status_code",
"request_id", "body"}, "error"}`. A line the handler refuses (a 4xx) goes to the error file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from openai_ergo.mock._chat import chat_body
from openai_ergo.mock._endpoints import (
    BadRequest,
    ReplyPolicy,
    chat_turn,
    embeddings_answer,
    missing_parameter,
    moderations_answer,
    responses_turn,
)
from openai_ergo.mock._replies import RecordedRequest
from openai_ergo.mock._responses import response_body
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import Collection, page
from openai_ergo.mock._wire import decode_json, encode_json, error_body, new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["StoredBatch"]

#: The most lines one batch may hold, as on the service.
MAX_LINES = 50_000
_VALIDATING, _RUNNING, _CANCELLING = 0.1, 0.8, 0.1


def _chat_line(policy: ReplyPolicy, request: RecordedRequest, seed: int) -> Any:
    turn, _ = chat_turn(policy, request, seed=seed, reply_tokens=None)
    return decode_json(chat_body(turn))


def _responses_line(policy: ReplyPolicy, request: RecordedRequest, seed: int) -> Any:
    turn, _ = responses_turn(policy, request, seed=seed, reply_tokens=None)
    return decode_json(response_body(turn))


_Answer = Callable[[ReplyPolicy, RecordedRequest, int], Any]
#: The endpoints a batch may target, answered by the same code as a live request.
ENDPOINTS: dict[str, _Answer] = {
    "/v1/chat/completions": _chat_line,
    "/v1/responses": _responses_line,
    "/v1/embeddings": lambda policy, request, _seed: embeddings_answer(policy, request),
    "/v1/moderations": lambda policy, request, _seed: moderations_answer(policy, request),
}


@dataclass
class StoredBatch:
    """One batch: its request, its precomputed answers, and when things happened."""

    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, Any] | None
    started: float
    seconds: float
    #: (succeeded, output line) per input line, in input order.
    answers: list[tuple[bool, dict[str, Any]]]
    errors: list[dict[str, Any]] | None
    created_at: int = field(default_factory=now)
    cancel_requested: float | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    finished: bool = False

    def _done(self, elapsed: float) -> int:
        running = (elapsed - _VALIDATING * self.seconds) / (_RUNNING * self.seconds)
        return min(len(self.answers), max(0, math.floor(len(self.answers) * running)))

    def state(self, clock_now: float) -> tuple[str, int]:
        """The status now and how many lines are finished."""
        elapsed = clock_now - self.started
        if self.cancel_requested is not None:
            done = self._done(self.cancel_requested - self.started)
            ended = clock_now - self.cancel_requested >= _CANCELLING * self.seconds
            return ("cancelled" if ended else "cancelling"), done
        if elapsed < _VALIDATING * self.seconds:
            return "validating", 0
        if self.errors is not None:
            return "failed", 0
        if elapsed < (_VALIDATING + _RUNNING) * self.seconds:
            return "in_progress", self._done(elapsed)
        if elapsed < self.seconds:
            return "finalizing", len(self.answers)
        return "completed", len(self.answers)

    def _at(self, offset: float) -> int:
        return self.created_at + int(offset)

    def render(self, app: MockOpenAI) -> dict[str, Any]:
        """The Batch object as it reads now (its files made once it has ended)."""
        status, done = self.state(app.clock.time())
        if status in ("completed", "cancelled") and not self.finished:
            self._finish(app, done)
        finished = self.answers[:done]
        succeeded = sum(1 for ok, _ in finished if ok)
        t = self.seconds
        cancel = None if self.cancel_requested is None else self.cancel_requested - self.started
        reached = {
            "in_progress_at": status not in ("validating", "failed")
            and (cancel is None or cancel >= _VALIDATING * t),
            "finalizing_at": status in ("finalizing", "completed"),
            "completed_at": status == "completed",
        }
        offsets = {
            "in_progress_at": _VALIDATING * t,
            "finalizing_at": (_VALIDATING + _RUNNING) * t,
            "completed_at": t,
        }
        times = {k: (self._at(offsets[k]) if reached[k] else None) for k in offsets}
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": None,
            "errors": None if self.errors is None else {"object": "list", "data": self.errors},
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            **times,
            "expires_at": self.created_at + 24 * 3600,
            "failed_at": self._at(_VALIDATING * t) if status == "failed" else None,
            "expired_at": None,
            "cancelling_at": None if cancel is None else self._at(cancel),
            "cancelled_at": (
                self._at(cancel + _CANCELLING * t)
                if cancel is not None and status == "cancelled"
                else None
            ),
            "request_counts": {
                "total": len(self.answers),
                "completed": succeeded,
                "failed": len(finished) - succeeded,
            },
            "usage": None,
            "metadata": self.metadata,
        }

    def _finish(self, app: MockOpenAI, done: int) -> None:
        self.finished = True
        finished = self.answers[:done]
        good = b"".join(encode_json(line) + b"\n" for ok, line in finished if ok)
        bad = b"".join(encode_json(line) + b"\n" for ok, line in finished if not ok)
        if good:
            name = f"batch_{self.id}_output.jsonl"
            self.output_file_id = app.files.add_bytes(name, "batch_output", good).id
        if bad:
            name = f"batch_{self.id}_error.jsonl"
            self.error_file_id = app.files.add_bytes(name, "batch_output", bad).id


def _problems(raw: bytes, endpoint: str, seen: set[str]) -> tuple[Any, list[tuple[str, str, str]]]:
    """One input line, decoded, and what is wrong with it: (code, message, param) each."""
    try:
        line = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None, [("invalid_json_line", "This line is not parseable as valid JSON.", "")]
    if not isinstance(line, dict):
        return None, [("invalid_json_line", "A line must be a JSON object.", "")]
    problems = []
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        problems.append(
            ("missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id")
        )
    elif custom_id in seen:
        problems.append(
            ("duplicate_custom_id", f"The custom_id '{custom_id}' is repeated.", "custom_id")
        )
    else:
        seen.add(custom_id)
    if line.get("method") != "POST":
        problems.append(("invalid_method", "The method must be 'POST'.", "method"))
    if line.get("url") != endpoint:
        problems.append(
            ("mismatched_url", f"The url must be the batch's endpoint, '{endpoint}'.", "url")
        )
    if not isinstance(line.get("body"), dict):
        problems.append(
            ("missing_required_parameter", "Missing required parameter: 'body'.", "body")
        )
    return line, problems


def _read_lines(app: MockOpenAI, file_id: str, endpoint: str) -> tuple[list[Any], list[Any]]:
    """The input's requests, and the validation errors (the service fails the whole batch)."""
    stored = app.files.files.get(file_id)
    requests: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(stored.lines(), start=1):
        if not raw.strip():
            continue
        if len(requests) >= MAX_LINES:
            message = f"A batch holds at most {MAX_LINES} requests."
            errors.append(
                {"code": "too_many_requests", "message": message, "param": None, "line": number}
            )
            break
        line, problems = _problems(raw, endpoint, seen)
        for code, message, param in problems:
            errors.append(
                {"code": code, "message": message, "param": param or None, "line": number}
            )
        if not problems:
            requests.append(line)
    if not requests and not errors:
        message = "The input file has no requests."
        errors.append({"code": "empty_file", "message": message, "param": None, "line": None})
    return requests, errors


def _answer(app: MockOpenAI, line: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    url, body = line["url"], line["body"]
    request = RecordedRequest(method="POST", path=url, headers={}, body=body)
    status, answer = 200, None
    try:
        if body.get("stream") is True:
            raise BadRequest("Streaming is not supported in the Batch API.", param="stream")
        answer = ENDPOINTS[url](app._policy, request, app.seed)
    except BadRequest as exc:
        status = exc.status
        answer = error_body(exc.message, type=exc.type, param=exc.param, code=exc.code)
    response = {"status_code": status, "request_id": new_id("req_"), "body": answer}
    output = {
        "id": new_id("batch_req_"),
        "custom_id": line["custom_id"],
        "response": response,
        "error": None,
    }
    return status == 200, output


async def create_batch(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/batches`: validate the input file and answer every line."""
    body = call.request.json
    for name in ("input_file_id", "endpoint", "completion_window"):
        if body.get(name) is None:
            raise missing_parameter(name)
    endpoint = body["endpoint"]
    if endpoint not in ENDPOINTS:
        supported = ", ".join(f"'{e}'" for e in ENDPOINTS)
        raise BadRequest(
            f"Invalid value: '{endpoint}'. Supported values are: {supported}.",
            param="endpoint",
            code="invalid_value",
        )
    if body["completion_window"] != "24h":
        raise BadRequest(
            f"Invalid value: '{body['completion_window']}'. Supported values are: '24h'.",
            param="completion_window",
            code="invalid_value",
        )
    file_id = str(body["input_file_id"])
    stored = app.files.files.find(file_id)
    if stored is None or stored.purpose != "batch":
        reason = "does not exist" if stored is None else f"has purpose '{stored.purpose}'"
        raise BadRequest(
            f"The input file '{file_id}' {reason}: a batch needs a file uploaded with "
            "purpose 'batch'.",
            param="input_file_id",
            code="invalid_input_file",
        )
    requests, errors = _read_lines(app, file_id, endpoint)
    answers = [] if errors else [_answer(app, line) for line in requests]
    metadata = body.get("metadata")
    batch = StoredBatch(
        id=new_id("batch_"),
        endpoint=endpoint,
        input_file_id=file_id,
        completion_window="24h",
        metadata=metadata if isinstance(metadata, dict) else None,
        started=app.clock.time(),
        seconds=app.batch_seconds,
        answers=answers,
        errors=errors or None,
    )
    app.batches.put(batch.id, batch)
    return batch.render(app)


async def retrieve_batch(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/batches/{batch_id}`."""
    return app.batches.get(call.params["batch_id"]).render(app)


async def list_batches(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/batches`: newest first."""
    return page(
        app.batches.values(), call.queried(), render=lambda b: b.render(app), key=lambda b: b.id
    )


async def cancel_batch(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/batches/{batch_id}/cancel`: lines finished by now are kept."""
    batch = app.batches.get(call.params["batch_id"])
    clock_now = app.clock.time()
    status, _ = batch.state(clock_now)
    if status not in ("validating", "in_progress", "cancelling"):
        raise BadRequest(f"Cannot cancel a batch with status '{status}'.")
    if batch.cancel_requested is None:
        batch.cancel_requested = clock_now
    return batch.render(app)


def new_batches() -> Collection[StoredBatch]:
    """The batches of one mock server."""
    return Collection("Batch")
