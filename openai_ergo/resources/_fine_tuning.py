"""Fine-tuning as one workflow: training examples in, a model you can use out.

`client.fine_tuning_job("gpt-4o-mini").examples(...)` is an immutable builder. Awaiting it
writes the examples as JSONL (one `{"messages": [...]}` line each, from chat builders or message
lists) and uploads them with purpose `fine-tune` (or uses a JSONL file or file id you give),
creates the job and returns a `TuningJob` handle: `await job.wait()` follows it to the end on
the client's clock with a deadline, `async for event in job.events()` streams what happens, and
`job.model` is the fine-tuned model's name for `client.chat(job.model)`. Every request is a
typed method (`client.files.create`, `client.fine_tuning.jobs...`), and every object the
generated type (`FineTuningJob`, `FineTuningJobEvent`).
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

import msgspec

from openai_ergo._errors import InvalidRequestError, OpenAIErgoError
from openai_ergo._multipart import FileUpload
from openai_ergo.resources._builder import (
    RequestBuilder,
    check_int,
    check_number,
    check_str,
    merged_metadata,
)
from openai_ergo.resources._polling import Poll, client_clock
from openai_ergo.resources._workflow import WorkflowBuilder

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._pagination import Paginator
    from openai_ergo.types import FineTuningJob, FineTuningJobCheckpoint, FineTuningJobEvent

__all__ = ["FineTuningError", "FineTuningJobBuilder", "TuningEvents", "TuningJob"]

#: The states a job does not leave.
FINISHED = frozenset({"succeeded", "failed", "cancelled"})

#: The service refuses a training file with fewer examples than this.
MIN_EXAMPLES = 10

#: A training example: a chat builder with the assistant's answer, a list of messages, or a
#: line of the service's JSONL as a mapping (`{"messages": ...}`, preference or prompt pairs).
Example = RequestBuilder | Sequence[Mapping[str, Any]] | Mapping[str, Any]

_encode = msgspec.json.Encoder().encode


class FineTuningError(OpenAIErgoError):
    """A fine-tuning job ended without a model (failed or cancelled), or has no model yet.

    `job` is the last `FineTuningJob` read; `status` its status; `code` and `param` the
    service's error (`invalid_file_format`, `training_file`) when it failed."""

    def __init__(self, message: str, *, job: FineTuningJob | None) -> None:
        super().__init__(message)
        self.job = job
        error = job.error if job is not None else None
        self.status = (job.status if job is not None else None) or "unknown"
        self.code = error.code if error is not None else None
        self.param = error.param if error is not None else None


def _example_line(example: object, param: str) -> dict[str, Any]:
    """One JSONL line of training data, checked: chat examples must end in what the model
    should learn, so they need an assistant message."""
    if isinstance(example, RequestBuilder):
        body = example.request_body()
        if "messages" not in body:
            raise InvalidRequestError(
                f"{param}: a training example is a chat builder, not {type(example).__name__}",
                param=param,
            )
        line: dict[str, Any] = {
            k: body[k] for k in ("messages", "tools", "parallel_tool_calls") if k in body
        }
    elif isinstance(example, Mapping):
        line = dict(example)
    elif isinstance(example, Sequence) and not isinstance(example, str | bytes):
        line = {"messages": [dict(m) for m in example]}
    else:
        raise InvalidRequestError(
            f"{param}: a training example is a chat builder, a list of messages or a JSONL "
            f"line as a dict, not {example!r}",
            param=param,
        )
    messages = line.get("messages")
    if messages is not None:
        if not isinstance(messages, list) or not all(isinstance(m, Mapping) for m in messages):
            raise InvalidRequestError(f"{param}: messages must be a list of dicts", param=param)
        if not any(m.get("role") == "assistant" for m in messages):
            raise InvalidRequestError(
                f"{param}: a chat example needs an assistant message (what the model should "
                "answer): add .assistant(...)",
                param=param,
            )
    elif not ({"prompt", "completion"} <= line.keys() or "preferred_output" in line):
        raise InvalidRequestError(
            f"{param}: a JSONL line needs messages, prompt and completion, or preferred_output",
            param=param,
        )
    return line


def _jsonl(lines: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(_encode(line) + b"\n" for line in lines)


#: Where training (or validation) data comes from: examples, a local JSONL file, or a file id.
_Source = tuple[str, Any]


@final
class FineTuningJobBuilder(WorkflowBuilder):
    """A fine-tuning job, built a step at a time; every setter returns a new builder.

    Give the training data with `examples(...)` (at least 10), `training_file(path)` or
    `training_file_id(id)`, and optionally validation data the same ways. `await builder`
    uploads what needs uploading, creates the job and returns its `TuningJob` handle."""

    __slots__ = ("_training", "_validation")

    def __init__(self, client: Client, model: str) -> None:
        super().__init__(client, {"model": check_str("model", model)})
        self._training: _Source | None = None
        self._validation: _Source | None = None

    def _with(self, slot: str, value: _Source) -> FineTuningJobBuilder:
        clone = self._clone()
        object.__setattr__(clone, slot, value)
        return clone

    def examples(self, *examples: Example) -> FineTuningJobBuilder:
        """Training examples: chat builders ending in the assistant's answer
        (`client.chat(m).system(...).user(...).assistant(...)`), lists of messages, or JSONL
        lines as dicts. Replaces training data set before."""
        return self._with("_training", ("examples", _checked_examples(examples, "examples")))

    def training_file(self, path: str | os.PathLike[str]) -> FineTuningJobBuilder:
        """A local JSONL file of training examples, uploaded when the job is created."""
        return self._with("_training", ("path", _checked_path(path, "training_file")))

    def training_file_id(self, file_id: str) -> FineTuningJobBuilder:
        """A JSONL file uploaded before with purpose `fine-tune` (`file-...`)."""
        return self._with("_training", ("id", check_str("training_file", file_id)))

    def validation_examples(self, *examples: Example) -> FineTuningJobBuilder:
        """Examples held out to measure the model while it trains (the service reports their
        loss in the job's events)."""
        checked = _checked_examples(examples, "validation_examples", minimum=1)
        return self._with("_validation", ("examples", checked))

    def validation_file(self, path: str | os.PathLike[str]) -> FineTuningJobBuilder:
        """A local JSONL file of validation examples."""
        return self._with("_validation", ("path", _checked_path(path, "validation_file")))

    def validation_file_id(self, file_id: str) -> FineTuningJobBuilder:
        """A validation JSONL file uploaded before (`file-...`)."""
        return self._with("_validation", ("id", check_str("validation_file", file_id)))

    def hyperparameters(
        self,
        *,
        n_epochs: int | None = None,
        batch_size: int | None = None,
        learning_rate_multiplier: float | None = None,
    ) -> FineTuningJobBuilder:
        """Training settings (each left to the service, `auto`, when not given): epochs
        (1 to 50), batch size (1 to 256) and the learning rate multiplier (above 0, up to 10)."""
        values: dict[str, Any] = {}
        if n_epochs is not None:
            values["n_epochs"] = check_int("n_epochs", n_epochs, 1, 50)
        if batch_size is not None:
            values["batch_size"] = check_int("batch_size", batch_size, 1, 256)
        if learning_rate_multiplier is not None:
            rate = check_number("learning_rate_multiplier", learning_rate_multiplier, 0, 10)
            if rate == 0:
                raise InvalidRequestError(
                    "learning_rate_multiplier must be above 0", param="learning_rate_multiplier"
                )
            values["learning_rate_multiplier"] = rate
        method = {"type": "supervised", "supervised": {"hyperparameters": values}}
        return self._set("method", method if values else None)

    def suffix(self, text: str | None) -> FineTuningJobBuilder:
        """Up to 64 characters added to the model's name (`ft:gpt-4o-mini:org:SUFFIX:id`)."""
        return self._set(
            "suffix", None if text is None else check_str("suffix", text, max_length=64)
        )

    def seed(self, value: int | None) -> FineTuningJobBuilder:
        """Makes a rerun of the job reproducible (as far as the service allows)."""
        return self._set("seed", None if value is None else check_int("seed", value, 0))

    def metadata(
        self, value: Mapping[str, str] | None = None, /, **pairs: str
    ) -> FineTuningJobBuilder:
        """Up to 16 string pairs stored with the job (jobs can be listed by them)."""
        return self._set("metadata", merged_metadata(value, pairs))

    async def _upload(self, source: _Source, name: str) -> str:
        kind, value = source
        if kind == "id":
            return str(value)
        upload = (
            FileUpload(_jsonl(value), filename=f"{name}.jsonl")
            if kind == "examples"
            else FileUpload(value)
        )
        made = await self._client.files.create(file=upload, purpose="fine-tune")
        return made.id or ""

    async def create(self) -> TuningJob:
        """Upload the data, create the job (what `await builder` does)."""
        if self._training is None:
            raise InvalidRequestError(
                "the job needs training data: .examples(...), .training_file(path) or "
                ".training_file_id(id)",
                param="training_file",
            )
        fields = dict(self._fields)
        fields["training_file"] = await self._upload(self._training, "training")
        if self._validation is not None:
            fields["validation_file"] = await self._upload(self._validation, "validation")
        info = await self._client.fine_tuning.jobs.create(**fields)
        return TuningJob(self._client, info.id or "", info)

    def __await__(self) -> Generator[Any, None, TuningJob]:
        return self.create().__await__()

    def __repr__(self) -> str:
        training = None if self._training is None else self._training[0]
        return f"FineTuningJobBuilder({self._fields!r}, training={training})"


def _checked_examples(
    examples: Sequence[Example], param: str, *, minimum: int = MIN_EXAMPLES
) -> tuple[dict[str, Any], ...]:
    lines = tuple(_example_line(e, f"{param}[{n}]") for n, e in enumerate(examples))
    if len(lines) < minimum:
        raise InvalidRequestError(
            f"fine-tuning needs at least {minimum} examples, not {len(lines)}", param=param
        )
    return lines


def _checked_path(path: str | os.PathLike[str], param: str) -> str:
    if not isinstance(path, str | os.PathLike):
        raise InvalidRequestError(f"{param} is a path, not {path!r}", param=param)
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise InvalidRequestError(f"no file at {name!r}", param=param)
    return name


def _describe(job: FineTuningJob) -> str:
    parts = [f"model {job.model}"]
    if job.trained_tokens:
        parts.append(f"{job.trained_tokens} tokens trained")
    if job.error is not None and job.error.message:
        parts.append(f"error: {job.error.message}")
    return ", ".join(parts)


@final
class TuningJob:
    """A fine-tuning job on the service, by id: wait for it, follow its events, read its
    checkpoints, cancel it, and use its model. Made by awaiting `client.fine_tuning_job(...)`,
    or `TuningJob(client, "ftjob-...")` for a job that exists. `info` is the last
    `FineTuningJob` read."""

    __slots__ = ("_client", "id", "info")

    def __init__(self, client: Client, job_id: str, /, info: FineTuningJob | None = None):
        self._client = client
        #: The job's id (`ftjob-...`).
        self.id: str = check_str("fine_tuning_job_id", job_id)
        #: The last state of the job this handle read (`None` before any).
        self.info: FineTuningJob | None = info

    def __repr__(self) -> str:
        status = self.info.status if self.info is not None else None
        return f"<TuningJob {self.id} status={status}>"

    @property
    def status(self) -> str | None:
        """The status last read: `validating_files`, `queued`, `running`, `paused`,
        `succeeded`, `failed` or `cancelled`."""
        return self.info.status if self.info is not None else None

    @property
    def model(self) -> str:
        """The fine-tuned model's name, for `client.chat(job.model)`; raises
        `FineTuningError` (with the status and the service's error) unless the job succeeded."""
        info = self.info
        if info is not None and info.status == "succeeded" and info.fine_tuned_model:
            return info.fine_tuned_model
        if info is None:
            raise FineTuningError(
                f"fine-tuning job {self.id} has no model yet: await job.wait() first", job=None
            )
        why = f": {info.error.message}" if info.error is not None and info.error.message else ""
        raise FineTuningError(
            f"fine-tuning job {self.id} has no model: it is {info.status}{why}", job=info
        )

    async def retrieve(self) -> FineTuningJob:
        """Read the job's state now (also kept in `info`)."""
        self.info = await self._client.fine_tuning.jobs.retrieve(self.id)
        return self.info

    async def wait(
        self,
        *,
        # On the client's clock (a fake one in tests), and running out must name the state.
        timeout: float = 6 * 3600.0,
        progress: Callable[[FineTuningJob], object] | None = None,
        interval: float = 2.0,
        max_interval: float = 60.0,
    ) -> FineTuningJob:
        """Wait until the job succeeds and return it; `progress` gets each reading.

        Raises `FineTuningError` when it failed (its `code`/`param` say why) or was
        cancelled, and `WaitTimeoutError` (with the state it was in) past `timeout` seconds."""
        poll = Poll(timeout=timeout, interval=interval, max_interval=max_interval)
        self.info = await poll.until(
            client_clock(self._client),
            self.retrieve,
            lambda job: job.status in FINISHED,
            what=f"fine-tuning job {self.id}",
            state=lambda job: job.status or "unknown",
            detail=_describe,
            progress=progress,
        )
        if self.info.status != "succeeded":
            error = self.info.error
            why = f": {error.message}" if error is not None and error.message else ""
            raise FineTuningError(
                f"fine-tuning job {self.id} {self.info.status}{why}", job=self.info
            )
        return self.info

    def events(
        self, *, timeout: float = 6 * 3600.0, interval: float = 2.0, max_interval: float = 60.0
    ) -> TuningEvents:
        """The job's events, oldest first, as they happen, each once; the iteration ends once
        the job has finished and its last events were read. Raises `WaitTimeoutError` past
        `timeout` seconds with the job unfinished."""
        return TuningEvents(
            self, Poll(timeout=timeout, interval=interval, max_interval=max_interval)
        )

    def checkpoints(self) -> Paginator[FineTuningJobCheckpoint]:
        """The checkpoints made so far (typed, newest first): each a usable model name
        (`fine_tuned_model_checkpoint`) with its step's metrics."""
        return self._client.fine_tuning.jobs.checkpoints.list(self.id)

    async def cancel(self) -> FineTuningJob:
        """Cancel the job (a finished one is a 400 naming its status)."""
        self.info = await self._client.fine_tuning.jobs.cancel(self.id)
        return self.info


@final
class TuningEvents:
    """`async for event in job.events()`: a fine-tuning job's events, oldest first, none twice,
    until the job has finished. Reads the job, then its new events, and sleeps (on the client's
    clock, backing off while nothing happens) only when there was nothing new."""

    __slots__ = ("_buffer", "_delay", "_finished", "_job", "_newest", "_poll", "_start")

    def __init__(self, job: TuningJob, poll: Poll) -> None:
        self._job = job
        self._poll = poll
        self._buffer: collections.deque[FineTuningJobEvent] = collections.deque()
        self._newest: str | None = None
        self._finished = False
        self._start: float | None = None
        self._delay = poll.interval

    def __aiter__(self) -> TuningEvents:
        return self

    async def __anext__(self) -> FineTuningJobEvent:
        clock = client_clock(self._job._client)
        if self._start is None:
            self._start = clock.now()
        while not self._buffer:
            if self._finished:
                raise StopAsyncIteration
            # The job first, then the events: a job read as finished has all its events listed.
            info = await self._job.retrieve()
            self._finished = info.status in FINISHED
            fresh = await self._fresh()
            self._buffer.extend(fresh)
            if fresh or self._finished:
                self._delay = self._poll.interval
                continue
            what = f"fine-tuning job {self._job.id}"
            state = info.status or "unknown"
            poll = self._poll
            remaining = poll.remaining(clock, self._start, what, state, _describe(info), info)
            await clock.sleep(min(self._delay, remaining))
            self._delay = poll.next_interval(self._delay)
        return self._buffer.popleft()

    async def _fresh(self) -> list[FineTuningJobEvent]:
        """The events newer than the newest seen, oldest first (the API lists newest first)."""
        newer: list[FineTuningJobEvent] = []
        listing = self._job._client.fine_tuning.jobs.list_events(self._job.id, limit=100)
        async for page in listing.pages():
            for event in page.items:
                if event.id == self._newest:
                    break
                newer.append(event)
            else:
                continue
            break
        if newer:
            self._newest = newer[0].id
        newer.reverse()
        return newer
