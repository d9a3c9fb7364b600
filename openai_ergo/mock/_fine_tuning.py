"""Fine-tuning jobs from an uploaded training file, progressing on the mock's clock.

The training (and validation) file is read when the job is created: every line must be a JSON
object in one of the service's formats (chat `messages`, `prompt`/`completion`, or preference
`input`/`preferred_output`/`non_preferred_output`), and there must be at least 10 examples.
Everything the job will do (its events, checkpoints, trained tokens) is planned then; what a
client sees is read off the app's `MockClock` over `fine_tuning_seconds` (T), not counting the
time it spent paused:

    validating_files ─(0.1 T)─▶ queued ─(0.2 T)─▶ running ─(T)─▶ succeeded (model added)
           └─(0.1 T, a malformed file)─▶ failed (with `error`)
    running ──pause──▶ paused ──resume──▶ running (the clock it spent paused does not count)
    any unfinished status ──cancel──▶ cancelled

A succeeded job's `fine_tuned_model` (`ft:<base>:<org>:<suffix>:<id>`) joins the models list,
and its `result_files` hold a step metrics CSV (purpose `fine-tune-results`). Projects are given
permission to use a checkpoint (or the model) through the checkpoint permission routes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from openai_ergo.mock._endpoints import BadRequest, invalid, missing_parameter, unsupported
from openai_ergo.mock._replies import estimate_tokens
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import Collection, metadata_param, page
from openai_ergo.mock._wire import new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI
    from openai_ergo.mock._files import StoredFile

__all__ = ["StoredJob", "new_jobs"]

#: The organization the mock's jobs (and their models) belong to.
ORGANIZATION = "org-mock"
_ORG_NAME = "mock-org"
#: The service's floor on training examples.
MIN_EXAMPLES = 10
#: What `auto` hyperparameters resolve to.
AUTO_EPOCHS, AUTO_BATCH, AUTO_LEARNING_RATE = 3, 1, 1.8
_VALIDATING, _QUEUED = 0.1, 0.2
_METHODS = ("supervised", "dpo", "reinforcement")
_UNFINISHED = ("validating_files", "queued", "running", "paused")
#: At most this many metrics events per job, spread over its steps.
_METRICS_EVENTS = 10


@dataclass
class Planned:
    """An event planned at `offset` seconds of the job's (unpaused) time."""

    offset: float
    id: str
    message: str
    level: str = "info"
    type: str = "message"
    data: dict[str, Any] | None = None


@dataclass
class Checkpoint:
    """A checkpoint planned at the end of an epoch."""

    offset: float
    id: str
    step: int
    metrics: dict[str, float]


@dataclass
class StoredJob:
    """One fine-tuning job: its request, its plan, and what happened to it on the clock."""

    id: str
    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int
    metadata: dict[str, str] | None
    method: str
    hyperparameters: dict[str, Any]
    started: float
    seconds: float
    trained_tokens: int
    error: dict[str, Any] | None
    events: list[Planned]
    checkpoints: list[Checkpoint]
    created_at: int = field(default_factory=now)
    #: Pauses as (clock at pause, clock at resume or None, job time at pause).
    pauses: list[tuple[float, float | None, float]] = field(default_factory=list)
    cancelled: float | None = None
    #: Events that happened when a client asked (pause, resume, cancel), on the clock.
    happened: list[tuple[float, Planned]] = field(default_factory=list)
    result_files: list[str] = field(default_factory=list)
    settled: bool = False
    #: Checkpoint permissions, by checkpoint (or model) name.
    permissions: dict[str, list[Permission]] = field(default_factory=dict)

    @property
    def fine_tuned_model(self) -> str:
        """The model a successful job makes."""
        return f"ft:{self.model}:{_ORG_NAME}:{self.suffix or ''}:{self.id[-8:]}"

    def elapsed(self, clock_now: float) -> float:
        """The job's own time: clock seconds since it started, less the time spent paused."""
        end = clock_now if self.cancelled is None else min(clock_now, self.cancelled)
        paused = sum(
            (end if resumed is None else min(resumed, end)) - at
            for at, resumed, _ in self.pauses
            if at <= end
        )
        return end - self.started - paused

    def clock_at(self, offset: float) -> float:
        """When, on the clock, the job reached `offset` of its own time."""
        paused = sum(
            (resumed if resumed is not None else math.inf) - at
            for at, resumed, job_time in self.pauses
            # An event due at the very moment of a pause happened before it.
            if job_time < offset
        )
        return self.started + offset + paused

    def end_pause(self, clock_now: float) -> None:
        """End the pause the job is in, if it is in one."""
        if self.pauses and self.pauses[-1][1] is None:
            at, _, job_time = self.pauses[-1]
            self.pauses[-1] = (at, clock_now, job_time)

    def status(self, clock_now: float) -> str:
        """The status now."""
        if self.cancelled is not None and clock_now >= self.cancelled:
            return "cancelled"
        elapsed = self.elapsed(clock_now)
        if elapsed < _VALIDATING * self.seconds:
            return "validating_files"
        if self.error is not None:
            return "failed"
        if self.pauses and self.pauses[-1][1] is None:
            return "paused"
        if elapsed < _QUEUED * self.seconds:
            return "queued"
        return "running" if elapsed < self.seconds else "succeeded"

    def _at(self, clock: float) -> int:
        return self.created_at + round(clock - self.started)

    def visible_events(self, clock_now: float) -> list[tuple[float, Planned]]:
        """The events so far, oldest first, with when they happened on the clock."""
        elapsed = self.elapsed(clock_now)
        planned = [(self.clock_at(e.offset), e) for e in self.events if e.offset <= elapsed]
        return sorted(planned + self.happened, key=lambda pair: pair[0])

    def render_event(self, clock: float, event: Planned) -> dict[str, Any]:
        """A `fine_tuning.job.event` object."""
        return {
            "object": "fine_tuning.job.event",
            "id": event.id,
            "created_at": self._at(clock),
            "level": event.level,
            "message": event.message,
            "data": event.data,
            "type": event.type,
        }

    def visible_checkpoints(self, clock_now: float) -> list[Checkpoint]:
        """The checkpoints made so far, oldest first."""
        elapsed = self.elapsed(clock_now)
        return [c for c in self.checkpoints if c.offset <= elapsed]

    def render_checkpoint(self, checkpoint: Checkpoint) -> dict[str, Any]:
        """A `fine_tuning.job.checkpoint` object."""
        return {
            "object": "fine_tuning.job.checkpoint",
            "id": checkpoint.id,
            "created_at": self._at(self.clock_at(checkpoint.offset)),
            "fine_tuned_model_checkpoint": f"{self.fine_tuned_model}:ckpt-step-{checkpoint.step}",
            "fine_tuning_job_id": self.id,
            "metrics": checkpoint.metrics,
            "step_number": checkpoint.step,
        }

    def settle(self, app: MockOpenAI) -> str:
        """The status now; a job seen succeeded for the first time adds its model and its
        result file."""
        status = self.status(app.clock.time())
        if status == "succeeded" and not self.settled:
            self.settled = True
            app.add_model(self.fine_tuned_model)
            self.result_files.append(_result_file(app, self).id)
        return status

    def render(self, app: MockOpenAI) -> dict[str, Any]:
        """The `fine_tuning.job` object as it reads now."""
        status = self.settle(app)
        clock_now = app.clock.time()
        finished_at = None
        if status == "succeeded":
            finished_at = self._at(self.clock_at(self.seconds))
        elif status == "failed":
            finished_at = self._at(self.clock_at(_VALIDATING * self.seconds))
        elif status == "cancelled" and self.cancelled is not None:
            finished_at = self._at(self.cancelled)
        hyperparameters = self.hyperparameters
        estimated = None
        if status in ("queued", "running"):
            estimated = self._at(clock_now + self.seconds - self.elapsed(clock_now))
        return {
            "object": "fine_tuning.job",
            "id": self.id,
            "model": self.model,
            "created_at": self.created_at,
            "error": self.error if status == "failed" else None,
            "fine_tuned_model": self.fine_tuned_model if status == "succeeded" else None,
            "finished_at": finished_at,
            "hyperparameters": hyperparameters,
            "organization_id": ORGANIZATION,
            "result_files": self.result_files,
            "status": status,
            "trained_tokens": self.trained_tokens if status == "succeeded" else None,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "integrations": [],
            "seed": self.seed,
            "estimated_finish": estimated,
            "method": {
                "type": self.method,
                self.method: {"hyperparameters": hyperparameters},
            },
            "metadata": self.metadata,
        }


def _result_file(app: MockOpenAI, job: StoredJob) -> StoredFile:
    lines = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
    for event in job.events:
        if event.type == "metrics" and event.data is not None:
            d = event.data
            lines.append(
                f"{d['step']},{d['train_loss']},{d['train_mean_token_accuracy']},"
                f"{d['valid_loss']},{d['valid_mean_token_accuracy']}"
            )
    data = ("\n".join(lines) + "\n").encode()
    return app.files.add_bytes("step_metrics.csv", "fine-tune-results", data)


# -- the training file ------------------------------------------------------------------------


def _example_problem(line: Any) -> str | None:
    """What is wrong with one training example, or None."""
    if not isinstance(line, dict):
        return "each line must be a JSON object"
    if "messages" in line:
        messages = line["messages"]
        if not isinstance(messages, list) or not messages:
            return "'messages' must be a non-empty array"
        if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
            return "every message needs a 'role'"
        if not any(m.get("role") == "assistant" for m in messages):
            return "the example has no 'assistant' message to learn from"
        return None
    if "prompt" in line and "completion" in line:
        return None
    if "input" in line and "preferred_output" in line and "non_preferred_output" in line:
        return None
    return (
        "expected 'messages', 'prompt' and 'completion', or 'input', 'preferred_output' and "
        "'non_preferred_output'"
    )


def _read_examples(stored: StoredFile, param: str) -> tuple[int, int, dict[str, Any] | None]:
    """The examples' count and tokens, or the job's `error` for a malformed file."""
    count = tokens = 0
    for number, raw in enumerate(stored.lines(), start=1):
        if not raw.strip():
            continue
        try:
            line = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            problem: str | None = "the line is not valid JSON"
        else:
            problem = _example_problem(line)
        if problem is not None:
            message = f"Invalid file format. Line {number}: {problem}."
            return 0, 0, {"code": "invalid_file_format", "message": message, "param": param}
        count += 1
        tokens += estimate_tokens(raw.decode("utf-8", "replace"))
    if count < MIN_EXAMPLES:
        message = (
            f"Training file has {count} example(s), but must have at least {MIN_EXAMPLES} examples."
        )
        return count, tokens, {"code": "invalid_n_examples", "message": message, "param": param}
    return count, tokens, None


# -- parameters -----------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hyperparameters(value: Any, param: str) -> dict[str, Any]:
    """The hyperparameters, `auto` resolved, or a 400 naming the bad one."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise invalid(param, f"Invalid type for '{param}': expected an object.", "invalid_type")
    epochs = value.get("n_epochs", "auto")
    batch = value.get("batch_size", "auto")
    rate = value.get("learning_rate_multiplier", "auto")
    if epochs != "auto" and not (_is_int(epochs) and 1 <= epochs <= 50):
        raise invalid(
            f"{param}.n_epochs",
            f"Invalid 'n_epochs': expected 'auto' or an integer from 1 to 50, got {epochs!r}.",
        )
    if batch != "auto" and not (_is_int(batch) and 1 <= batch <= 256):
        raise invalid(
            f"{param}.batch_size",
            f"Invalid 'batch_size': expected 'auto' or an integer from 1 to 256, got {batch!r}.",
        )
    if rate != "auto" and not (
        isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0
    ):
        raise invalid(
            f"{param}.learning_rate_multiplier",
            f"Invalid 'learning_rate_multiplier': expected 'auto' or a positive number, got "
            f"{rate!r}.",
        )
    return {
        "batch_size": AUTO_BATCH if batch == "auto" else batch,
        "learning_rate_multiplier": AUTO_LEARNING_RATE if rate == "auto" else rate,
        "n_epochs": AUTO_EPOCHS if epochs == "auto" else epochs,
    }


def _method(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The method's type and its hyperparameters (the deprecated top-level ones as well)."""
    method = body.get("method")
    if method is None:
        return "supervised", _hyperparameters(body.get("hyperparameters"), "hyperparameters")
    kind = method.get("type") if isinstance(method, dict) else None
    if kind not in _METHODS:
        raise unsupported("method.type", kind, _METHODS)
    assert isinstance(method, dict)
    inner = method.get(kind) or {}
    if not isinstance(inner, dict):
        raise invalid(
            f"method.{kind}",
            f"Invalid type for 'method.{kind}': expected an object.",
            "invalid_type",
        )
    param = f"method.{kind}.hyperparameters"
    return str(kind), _hyperparameters(inner.get("hyperparameters"), param)


def _training_file(app: MockOpenAI, value: Any, param: str) -> StoredFile:
    if not isinstance(value, str) or not value:
        raise (
            missing_parameter(param)
            if value is None
            else invalid(param, f"Invalid type for '{param}': expected a string.", "invalid_type")
        )
    stored = app.files.files.find(value)
    if stored is None or stored.purpose != "fine-tune":
        reason = "does not exist" if stored is None else f"has purpose '{stored.purpose}'"
        raise BadRequest(
            f"Invalid {param}: the file '{value}' {reason}; a fine-tuning job needs a file "
            "uploaded with purpose 'fine-tune'.",
            param=param,
        )
    return stored


def _plan(
    seconds: float, examples: int, hyper: dict[str, Any], file_id: str, failed: bool
) -> tuple[list[Planned], list[Checkpoint]]:
    """The events and checkpoints a job will have, each at its offset of the job's time."""
    events = [
        Planned(0.0, new_id("ftevent-"), "Created fine-tuning job"),
        Planned(0.0, new_id("ftevent-"), f"Validating training file: {file_id}"),
    ]
    if failed:
        message = "Training file validation failed"
        events.append(Planned(_VALIDATING * seconds, new_id("ftevent-"), message, "error"))
        return events, []
    events += [
        Planned(_VALIDATING * seconds, new_id("ftevent-"),
                "Files validated, moving job to queued state"),
        Planned(_QUEUED * seconds, new_id("ftevent-"), "Fine-tuning job started"),
    ]  # fmt: skip
    epochs = int(hyper["n_epochs"])
    per_epoch = max(1, math.ceil(examples / int(hyper["batch_size"])))
    total = per_epoch * epochs
    running = (1 - _QUEUED) * seconds

    def at(step: int) -> float:
        # Strictly inside the running phase: the last step lands just before success.
        return _QUEUED * seconds + running * step / (total + 1)

    def metrics(step: int) -> dict[str, float]:
        loss = round(2.0 / (1 + step / per_epoch), 4)
        accuracy = round(1 - loss / 2.5, 4)
        return {
            "step": step,
            "train_loss": loss,
            "train_mean_token_accuracy": accuracy,
            "valid_loss": round(loss * 1.05, 4),
            "valid_mean_token_accuracy": round(accuracy * 0.98, 4),
            "full_valid_loss": round(loss * 1.05, 4),
            "full_valid_mean_token_accuracy": round(accuracy * 0.98, 4),
        }

    shown = sorted({max(1, round(total * i / _METRICS_EVENTS)) for i in range(1, 11)})
    for step in shown:
        data = metrics(step) | {"total_steps": total}
        message = f"Step {step}/{total}: training loss={data['train_loss']}"
        events.append(Planned(at(step), new_id("ftevent-"), message, type="metrics", data=data))
    # As on the service: a checkpoint at the end of each of the last three epochs.
    checkpoints = []
    for epoch in range(max(1, epochs - 2), epochs + 1):
        step = per_epoch * epoch
        checkpoints.append(Checkpoint(at(step), new_id("ftckpt_"), step, metrics(step)))
        events.append(Planned(at(step), new_id("ftevent-"), f"Checkpoint created at step {step}"))
    events.sort(key=lambda e: e.offset)
    return events, checkpoints


# -- routes -------------------------------------------------------------------------------------


def new_jobs() -> Collection[StoredJob]:
    """The fine-tuning jobs of one mock server."""
    return Collection("Fine-tuning job")


async def create_job(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/fine_tuning/jobs`: validate the request, read the training file, plan the job."""
    body = call.request.json
    model = body.get("model")
    if model is None:
        raise missing_parameter("model")
    if not isinstance(model, str) or not model:
        raise invalid("model", "Invalid type for 'model': expected a string.", "invalid_type")
    training = _training_file(app, body.get("training_file"), "training_file")
    validation = None
    if body.get("validation_file") is not None:
        validation = _training_file(app, body["validation_file"], "validation_file")
    suffix = body.get("suffix")
    if suffix is not None and not (isinstance(suffix, str) and 1 <= len(suffix) <= 64):
        raise invalid("suffix", "Invalid 'suffix': expected a string of 1 to 64 characters.")
    seed = body.get("seed")
    if seed is not None and not (_is_int(seed) and 0 <= seed <= 2_147_483_647):
        raise invalid(
            "seed", f"Invalid 'seed': expected an integer from 0 to 2147483647, got {seed!r}."
        )
    metadata = metadata_param(body.get("metadata")) if body.get("metadata") is not None else None
    method, hyperparameters = _method(body)
    examples, tokens, error = _read_examples(training, "training_file")
    if error is None and validation is not None:
        _, _, error = _read_examples(validation, "validation_file")
        if error is not None and error["code"] == "invalid_n_examples":
            error = None  # a validation file may be small
    job_id = new_id("ftjob-")
    events, checkpoints = _plan(
        app.fine_tuning_seconds, examples, hyperparameters, training.id, error is not None
    )
    if error is None:
        name = f"ft:{model}:{_ORG_NAME}:{suffix or ''}:{job_id[-8:]}"
        done = app.fine_tuning_seconds
        events += [
            Planned(done, new_id("ftevent-"), f"New fine-tuned model created: {name}"),
            Planned(done, new_id("ftevent-"), "The job has successfully completed"),
        ]
    job = StoredJob(
        id=job_id,
        model=model,
        training_file=training.id,
        validation_file=None if validation is None else validation.id,
        suffix=suffix,
        seed=seed if seed is not None else 0,
        metadata=metadata,
        method=method,
        hyperparameters=hyperparameters,
        started=app.clock.time(),
        seconds=app.fine_tuning_seconds,
        trained_tokens=tokens * int(hyperparameters["n_epochs"]),
        error=error,
        events=events,
        checkpoints=checkpoints,
    )
    app.fine_tuning_jobs.put(job.id, job)
    return job.render(app)


async def list_jobs(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/fine_tuning/jobs`: newest first, filtered by `metadata[key]=value`."""
    query = call.queried()
    wanted = query.prefixed("metadata")
    no_metadata = query.get("metadata") == "null"
    chosen = [
        job
        for job in app.fine_tuning_jobs
        if (not no_metadata or not job.metadata)
        and all((job.metadata or {}).get(k) == v for k, v in wanted.items())
    ]
    return page(chosen, query, render=lambda job: job.render(app), key=lambda job: job.id)


async def retrieve_job(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/fine_tuning/jobs/{fine_tuning_job_id}`."""
    return _job(app, call).render(app)


def _job(app: MockOpenAI, call: Call) -> StoredJob:
    return app.fine_tuning_jobs.get(call.params["fine_tuning_job_id"])


def _acting(
    app: MockOpenAI, call: Call, allowed: tuple[str, ...], action: str
) -> tuple[StoredJob, float]:
    """The path's job, if `action` applies to its status now (else a 400 naming it), and the
    clock's reading; the action is logged as an event."""
    job = _job(app, call)
    status = job.settle(app)
    if status not in allowed:
        raise BadRequest(f"Cannot {action} job {job.id} with status '{status}'.")
    clock_now = app.clock.time()
    job.happened.append((clock_now, Planned(0, new_id("ftevent-"), _ACTED[action])))
    return job, clock_now


_ACTED = {
    "cancel": "Fine-tuning job cancelled",
    "pause": "Fine-tuning job paused",
    "resume": "Fine-tuning job resumed",
}


async def cancel_job(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST .../{fine_tuning_job_id}/cancel`: an unfinished job stops at once."""
    job, clock_now = _acting(app, call, _UNFINISHED, "cancel")
    job.end_pause(clock_now)
    job.cancelled = clock_now
    return job.render(app)


async def pause_job(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST .../{fine_tuning_job_id}/pause`: a running job stops its clock."""
    job, clock_now = _acting(app, call, ("running",), "pause")
    job.pauses.append((clock_now, None, job.elapsed(clock_now)))
    return job.render(app)


async def resume_job(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST .../{fine_tuning_job_id}/resume`: a paused job runs on from where it stopped."""
    job, clock_now = _acting(app, call, ("paused",), "resume")
    job.end_pause(clock_now)
    return job.render(app)


async def list_events(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET .../{fine_tuning_job_id}/events`: newest first."""
    job = _job(app, call)
    job.settle(app)
    events = job.visible_events(app.clock.time())
    return page(
        events,
        call.queried(),
        render=lambda pair: job.render_event(*pair),
        key=lambda pair: pair[1].id,
    )


async def list_checkpoints(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET .../{fine_tuning_job_id}/checkpoints`: newest first, 10 a page by default."""
    job = _job(app, call)
    return page(
        job.visible_checkpoints(app.clock.time()),
        call.queried(),
        render=job.render_checkpoint,
        key=lambda c: c.id,
        default_limit=10,
    )


def settle_all(app: MockOpenAI) -> None:
    """Bring every job up to the clock, so a succeeded job's model is listed before anyone
    reads the job."""
    for job in app.fine_tuning_jobs:
        if not job.settled:
            job.settle(app)


# -- checkpoint permissions -------------------------------------------------------------------

_PERMISSION_ORDERS = {"ascending": "asc", "descending": "desc"}


@dataclass
class Permission:
    """A project's permission to use a checkpoint (or a fine-tuned model)."""

    id: str
    project_id: str
    created_at: int = field(default_factory=now)

    def render(self) -> dict[str, Any]:
        """The `checkpoint.permission` object."""
        return {
            "object": "checkpoint.permission",
            "id": self.id,
            "created_at": self.created_at,
            "project_id": self.project_id,
        }


def _permissions(app: MockOpenAI, call: Call) -> list[Permission]:
    """The permissions of the path's checkpoint: one a job has made by now (its
    `ft:...:ckpt-step-N` name, or a succeeded job's model), else OpenAI's 404."""
    name = call.params["fine_tuned_model_checkpoint"]
    clock_now = app.clock.time()
    for job in app.fine_tuning_jobs:
        if not name.startswith(job.fine_tuned_model):
            continue
        made = [
            job.render_checkpoint(c)["fine_tuned_model_checkpoint"]
            for c in job.visible_checkpoints(clock_now)
        ]
        if name in made or (name == job.fine_tuned_model and job.settle(app) == "succeeded"):
            return job.permissions.setdefault(name, [])
    raise BadRequest(
        f"Fine-tuned model checkpoint '{name}' not found.",
        status=404,
        param="fine_tuned_model_checkpoint",
    )


async def create_permissions(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/fine_tuning/checkpoints/{checkpoint}/permissions`: one per project id."""
    permissions = _permissions(app, call)
    projects = call.request.json.get("project_ids")
    if projects is None:
        raise missing_parameter("project_ids")
    if (
        not isinstance(projects, list)
        or not projects
        or not all(isinstance(p, str) and p for p in projects)
    ):
        raise invalid(
            "project_ids", "Invalid 'project_ids': expected a non-empty array of project ids."
        )
    added = [Permission(new_id("cp_"), project) for project in projects]
    permissions.extend(added)
    data = [p.render() for p in added]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"],
        "last_id": data[-1]["id"],
        "has_more": False,
    }


async def list_permissions(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET .../permissions`: newest first (`order` is `ascending` or `descending` here),
    10 a page by default, filtered by `project_id`."""
    permissions = _permissions(app, call)
    query = call.queried()
    order = query.get("order") or "descending"
    if order not in _PERMISSION_ORDERS:
        raise unsupported("order", order, _PERMISSION_ORDERS)
    query.values["order"] = _PERMISSION_ORDERS[order]
    project = query.get("project_id")
    chosen = [p for p in permissions if project is None or p.project_id == project]
    return page(chosen, query, render=Permission.render, key=lambda p: p.id, default_limit=10)


async def delete_permission(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE .../permissions/{permission_id}`."""
    permissions = _permissions(app, call)
    wanted = call.params["permission_id"]
    found = next((p for p in permissions if p.id == wanted), None)
    if found is None:
        raise BadRequest(
            f"Permission with id '{wanted}' not found.", status=404, param="permission_id"
        )
    permissions.remove(found)
    return {"object": "checkpoint.permission", "id": found.id, "deleted": True}
