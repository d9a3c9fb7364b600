"""Fine-tuning as a workflow against the mock: examples written as JSONL and uploaded, the job
followed on the mock's clock (wait and events), its model used by the builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from openai_ergo import (
    Client,
    FileUpload,
    FineTuningError,
    InvalidRequestError,
    TuningJob,
    WaitTimeoutError,
)
from openai_ergo.mock import MockServer
from openai_ergo.types import FineTuningJob, FineTuningJobEvent

from .clocks import client_on

CAPITALS = [
    ("France", "Paris"),
    ("Spain", "Madrid"),
    ("Italy", "Rome"),
    ("Japan", "Tokyo"),
    ("Kenya", "Nairobi"),
    ("Peru", "Lima"),
    ("Egypt", "Cairo"),
    ("Chile", "Santiago"),
    ("Norway", "Oslo"),
    ("Canada", "Ottawa"),
]


def chat_examples(client: Client) -> list[Any]:
    base = client.chat("gpt-4o-mini").system("Answer with the capital only.")
    return [base.user(f"Capital of {land}?").assistant(city) for land, city in CAPITALS]


def message_examples() -> list[list[dict[str, str]]]:
    return [
        [
            {"role": "user", "content": f"Capital of {land}?"},
            {"role": "assistant", "content": city},
        ]
        for land, city in CAPITALS
    ]


async def test_examples_become_a_model_the_builders_use(mock_openai: MockServer) -> None:
    client, time = client_on(mock_openai)
    readings: list[str | None] = []
    async with client:
        job = await (
            client.fine_tuning_job("gpt-4o-mini")
            .examples(*chat_examples(client))
            .validation_examples(*message_examples()[:2])
            .hyperparameters(n_epochs=2)
            .suffix("capitals")
            .metadata(team="geo")
        )
        assert isinstance(job, TuningJob)
        assert job.status == "validating_files"
        done = await job.wait(
            timeout=600, interval=1, max_interval=4, progress=lambda j: readings.append(j.status)
        )
        # The mock's job (fine_tuning_seconds = 10): validating until 1 s, queued until 2 s,
        # running until 10 s; read at 0, 1, 2.5, 4.75, 8.125 and 12.125 s.
        assert time.sleeps == [1, 1.5, 2.25, 3.375, 4]
        assert time.time == 12.125
        assert readings == ["validating_files", "queued", "running", "running", "running",
                            "succeeded"]  # fmt: skip
        assert done.status == "succeeded"
        assert done.hyperparameters is not None
        assert done.hyperparameters.n_epochs == 2
        assert done.metadata == {"team": "geo"}
        assert job.model == done.fine_tuned_model
        assert job.model.startswith("ft:gpt-4o-mini:mock-org:capitals:")

        # The training file holds one line per builder: its messages, the assistant's last.
        content = await client.files.content(done.training_file or "")
        lines = [msgspec.json.decode(line) for line in (await content.read()).splitlines()]
        assert len(lines) == 10
        assert lines[0] == {
            "messages": [
                {"role": "system", "content": "Answer with the capital only."},
                {"role": "user", "content": "Capital of France?"},
                {"role": "assistant", "content": "Paris"},
            ]
        }
        assert done.validation_file is not None

        reply = await client.chat(job.model).user("Capital of Peru?")
        assert reply.model == job.model
        assert job.model in [m.id async for m in client.models.list()]


async def test_events_follow_the_job_once_each_until_it_ends(mock_openai: MockServer) -> None:
    client, time = client_on(mock_openai)
    async with client:
        job = await client.fine_tuning_job("gpt-4o-mini").examples(*message_examples())
        events: list[FineTuningJobEvent] = []
        async for event in job.events(timeout=600, interval=1, max_interval=2):
            events.append(event)
        assert job.status == "succeeded"
        # Every event the service lists, oldest first, none twice, none missed.
        listed = [e async for e in client.fine_tuning.jobs.list_events(job.id, limit=100)]
        assert [e.id for e in events] == [e.id for e in reversed(listed)]
        assert len({e.id for e in events}) == len(events) > 5
        assert [e.created_at for e in events] == sorted(e.created_at or 0 for e in events)
        messages = [e.message or "" for e in events]
        assert messages[0].startswith("Created fine-tuning job")
        assert any("completed" in m.lower() for m in messages[-2:])
        # It slept only while nothing happened, and never past the job's end.
        assert time.time <= 10 + 2


async def test_a_malformed_file_fails_the_job_with_the_services_error(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    client, _ = client_on(mock_openai)
    training = tmp_path / "few.jsonl"
    training.write_bytes(b"".join(msgspec.json.encode({"messages": m}) + b"\n"
                                  for m in message_examples()[:3]))  # fmt: skip
    async with client:
        job = await client.fine_tuning_job("gpt-4o-mini").training_file(training)
        with pytest.raises(FineTuningError) as caught:
            await job.wait(timeout=60)
        assert caught.value.status == "failed"
        assert caught.value.code == "invalid_n_examples"
        assert caught.value.param == "training_file"
        assert isinstance(caught.value.job, FineTuningJob)
        with pytest.raises(FineTuningError, match="no model: it is failed"):
            _ = job.model


async def test_a_cancelled_job_has_no_model(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        data = b"".join(msgspec.json.encode({"messages": m}) + b"\n" for m in message_examples())
        upload = FileUpload(data, filename="capitals.jsonl")
        uploaded = await client.files.create(file=upload, purpose="fine-tune")
        job = await client.fine_tuning_job("gpt-4o-mini").training_file_id(uploaded.id or "")
        cancelled = await job.cancel()
        assert cancelled.status == "cancelled"
        with pytest.raises(FineTuningError) as caught:
            await job.wait(timeout=60)
        assert caught.value.status == "cancelled"


async def test_wait_times_out_naming_the_state(mock_openai: MockServer) -> None:
    client, time = client_on(mock_openai)
    async with client:
        job = await client.fine_tuning_job("gpt-4o-mini").examples(*message_examples())
        with pytest.raises(WaitTimeoutError) as caught:
            await job.wait(timeout=5, interval=1, max_interval=10)
        assert time.sleeps == [1, 1.5, 2.25, 0.25]
        assert caught.value.waited == 5
        assert caught.value.state == "running"
        assert f"fine-tuning job {job.id} was still running after 5s" in str(caught.value)
        with pytest.raises(FineTuningError, match="no model: it is running"):
            _ = job.model

        events = job.events(timeout=4, interval=1, max_interval=1)
        seen: list[FineTuningJobEvent] = []
        with pytest.raises(WaitTimeoutError) as timed_out:
            await _collect(events, seen)
        assert timed_out.value.state == "running"
        assert seen  # the job's events so far came out before the deadline struck
        assert time.time == pytest.approx(5 + 4)


async def _collect(events: Any, into: list[FineTuningJobEvent]) -> None:
    async for event in events:
        into.append(event)


def test_a_job_not_read_has_no_model(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    with pytest.raises(FineTuningError, match=r"await job\.wait"):
        _ = TuningJob(client, "ftjob-1").model


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda c: c.fine_tuning_job("m").examples(*chat_examples(c)[:9]), "examples"),
        (
            lambda c: c.fine_tuning_job("m").examples(
                *chat_examples(c)[:3], c.chat("m").user("no answer"), *chat_examples(c)[4:]
            ),
            "examples[3]",
        ),
        (lambda c: c.fine_tuning_job("m").examples(*range(10)), "examples[0]"),
        (lambda c: c.fine_tuning_job("m").examples(*[{"x": 1}] * 10), "examples[0]"),
        (lambda c: c.fine_tuning_job("m").hyperparameters(n_epochs=0), "n_epochs"),
        (lambda c: c.fine_tuning_job("m").hyperparameters(batch_size=1.5), "batch_size"),
        (
            lambda c: c.fine_tuning_job("m").hyperparameters(learning_rate_multiplier=0),
            "learning_rate_multiplier",
        ),
        (lambda c: c.fine_tuning_job("m").suffix("x" * 65), "suffix"),
        (lambda c: c.fine_tuning_job("m").training_file("/no/such.jsonl"), "training_file"),
        (lambda c: c.fine_tuning_job("m").validation_file("/no/such.jsonl"), "validation_file"),
        (lambda c: c.fine_tuning_job(""), "model"),
        (lambda c: TuningJob(c, "ftjob-1").events(timeout=0), "timeout"),
    ],
)
def test_bad_values_name_the_parameter(mock_openai: MockServer, make: Any, param: str) -> None:
    client, _ = client_on(mock_openai)
    with pytest.raises(InvalidRequestError) as caught:
        make(client)
    assert caught.value.param == param


async def test_a_job_needs_training_data(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        with pytest.raises(InvalidRequestError) as caught:
            await client.fine_tuning_job("gpt-4o-mini").suffix("x")
    assert caught.value.param == "training_file"
    assert mock_openai.requests == []


def test_builders_are_immutable(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    base = client.fine_tuning_job("gpt-4o-mini").suffix("a")
    derived = base.examples(*message_examples()).seed(3)
    assert "training=None" in repr(base)
    assert "training=examples" in repr(derived)
    assert "seed" not in repr(base)
