"""Fine-tuning jobs: created from an uploaded training file, validated as the service does,
progressing validating_files → queued → running → succeeded on the mock's clock with events,
checkpoints, trained tokens and a result file; cancel, pause and resume; the succeeded job's
model in the models list; OpenAI's 404/400; faults and the log; the official SDK's own calls and
our typed methods.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client, NotFoundError, count_tokens
from openai_ergo.mock import MockOpenAI, MockServer
from openai_ergo.types import FineTuningJob, FineTuningJobCheckpoint, FineTuningJobEvent
from tests.openai_ergo.mock.answers import ok

T = 10.0  # the app's fine_tuning_seconds
EXAMPLE = {
    "messages": [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
    ]
}
TRAINING = b"".join(json.dumps(EXAMPLE).encode() + b"\n" for _ in range(12))


@pytest.fixture
def app() -> MockOpenAI:
    mock = MockOpenAI(fine_tuning_seconds=T)
    mock.clock.speed = 0  # time moves only when a test says so
    return mock


async def _file(
    http: httpx.AsyncClient, data: bytes, purpose: str = "fine-tune", name: str = "train.jsonl"
) -> str:
    files = {"file": (name, data)}
    answer = await http.post("/files", data={"purpose": purpose}, files=files)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


async def _job(http: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    body = {"model": "gpt-4o-mini-2024-07-18", "training_file": await _file(http, TRAINING)}
    return await ok(http.post("/fine_tuning/jobs", json=body | extra))


async def _events(http: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    answer = await ok(http.get(f"/fine_tuning/jobs/{job_id}/events", params={"limit": 100}))
    return list(reversed(answer["data"]))  # oldest first


async def test_a_job_runs_on_the_clock_to_a_model_with_events_and_checkpoints(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    job = await _job(http, suffix="capitals", metadata={"team": "geo"})
    assert job["id"].startswith("ftjob-")
    assert (job["object"], job["status"], job["fine_tuned_model"]) == (
        "fine_tuning.job", "validating_files", None,
    )  # fmt: skip
    assert job["hyperparameters"] == {
        "batch_size": 1, "learning_rate_multiplier": 1.8, "n_epochs": 3,
    }  # fmt: skip
    assert job["method"] == {"type": "supervised", "supervised": {
        "hyperparameters": job["hyperparameters"]}}  # fmt: skip
    assert (job["trained_tokens"], job["result_files"], job["metadata"]) == (
        None, [], {"team": "geo"},
    )  # fmt: skip
    path = f"/fine_tuning/jobs/{job['id']}"
    statuses = []
    for advance in (0.1 * T, 0.1 * T, 0.7 * T):
        app.clock.advance(advance)
        statuses.append((await ok(http.get(path)))["status"])
    assert statuses == ["queued", "running", "running"]
    running = await ok(http.get(f"{path}/checkpoints"))
    assert len(running["data"]) == 2  # epochs 1 and 2 are done, 3 is not
    app.clock.advance(0.1 * T)
    done = await ok(http.get(path))
    model = f"ft:gpt-4o-mini-2024-07-18:mock-org:capitals:{job['id'][-8:]}"
    assert (done["status"], done["fine_tuned_model"]) == ("succeeded", model)
    assert done["finished_at"] == job["created_at"] + T
    # The client's own count of each line (exact with tiktoken, else four characters a token).
    per_example = count_tokens(json.dumps(EXAMPLE))
    assert done["trained_tokens"] == 12 * per_example * 3
    [result] = done["result_files"]
    result_file = await ok(http.get(f"/files/{result}"))
    assert (result_file["purpose"], result_file["filename"]) == (
        "fine-tune-results", "step_metrics.csv",
    )  # fmt: skip
    csv = (await http.get(f"/files/{result}/content")).text.splitlines()
    assert csv[0] == "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
    assert csv[-1].startswith("36,")  # 12 examples × 3 epochs, batch size 1

    events = await _events(http, job["id"])
    messages = [e["message"] for e in events if e["type"] == "message"]
    assert messages[:4] == [
        "Created fine-tuning job",
        f"Validating training file: {job['training_file']}",
        "Files validated, moving job to queued state",
        "Fine-tuning job started",
    ]
    assert messages[-2:] == [
        f"New fine-tuned model created: {model}", "The job has successfully completed",
    ]  # fmt: skip
    assert [m for m in messages if m.startswith("Checkpoint")] == [
        "Checkpoint created at step 12", "Checkpoint created at step 24",
        "Checkpoint created at step 36",
    ]  # fmt: skip
    metrics = [e["data"] for e in events if e["type"] == "metrics"]
    assert metrics[-1]["step"] == metrics[-1]["total_steps"] == 36
    assert all(e["object"] == "fine_tuning.job.event" for e in events)
    times = [e["created_at"] for e in events]
    assert times == sorted(times)
    assert (times[0], times[-1]) == (job["created_at"], job["created_at"] + T)
    checkpoints = (await ok(http.get(f"{path}/checkpoints")))["data"]
    assert [c["step_number"] for c in checkpoints] == [36, 24, 12]  # newest first
    assert checkpoints[0]["fine_tuned_model_checkpoint"] == f"{model}:ckpt-step-36"
    assert checkpoints[0]["fine_tuning_job_id"] == job["id"]
    assert set(checkpoints[0]["metrics"]) >= {"step", "train_loss", "full_valid_loss"}

    # The model is served, listed, and deletable through the model routes.
    listed = [m["id"] for m in (await ok(http.get("/models")))["data"]]
    assert model in listed
    assert (await ok(http.get(f"/models/{model}")))["id"] == model
    deleted = await ok(http.delete(f"/models/{model}"))
    assert deleted == {"id": model, "object": "model", "deleted": True}
    assert (await http.get(f"/models/{model}")).status_code == 404
    await ok(http.get(path))  # reading the job again does not bring the model back
    assert model not in [m["id"] for m in (await ok(http.get("/models")))["data"]]


async def test_a_succeeded_job_lists_its_model_before_anyone_reads_the_job(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    job = await _job(http)
    app.clock.advance(T)
    listed = [m["id"] for m in (await ok(http.get("/models")))["data"]]
    assert f"ft:gpt-4o-mini-2024-07-18:mock-org::{job['id'][-8:]}" in listed


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (b"not json\n", "invalid_file_format", "Line 1: the line is not valid JSON"),
        (json.dumps({"text": "hi"}).encode(), "invalid_file_format", "Line 1: expected"),
        (TRAINING + b'{"messages": [{"role": "user", "content": "x"}]}\n',
         "invalid_file_format", "Line 13: the example has no 'assistant' message"),
        (TRAINING[: len(TRAINING) // 2], "invalid_n_examples", "has 6 example(s)"),
    ],
)  # fmt: skip
async def test_a_malformed_training_file_fails_the_job_with_an_error(
    app: MockOpenAI, http: httpx.AsyncClient, data: bytes, code: str, says: str
) -> None:
    body = {"model": "gpt-4o-mini", "training_file": await _file(http, data)}
    job = await ok(http.post("/fine_tuning/jobs", json=body))
    assert (job["status"], job["error"]) == ("validating_files", None)
    app.clock.advance(0.1 * T)
    failed = await ok(http.get(f"/fine_tuning/jobs/{job['id']}"))
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == code
    assert says in failed["error"]["message"]
    assert failed["error"]["param"] == "training_file"
    assert failed["finished_at"] == job["created_at"] + round(0.1 * T)
    app.clock.advance(T)
    assert (await ok(http.get(f"/fine_tuning/jobs/{job['id']}")))["fine_tuned_model"] is None
    assert (await _events(http, job["id"]))[-1]["level"] == "error"
    late = await http.post(f"/fine_tuning/jobs/{job['id']}/cancel")
    assert late.status_code == 400
    assert "'failed'" in late.json()["error"]["message"]


async def test_a_malformed_validation_file_fails_the_job_naming_it(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    small = json.dumps(EXAMPLE).encode() + b"\n"  # a validation file may hold few examples
    good = await _job(http, validation_file=await _file(http, small, name="valid.jsonl"))
    bad = await _job(http, validation_file=await _file(http, b"[1]\n", name="bad.jsonl"))
    app.clock.advance(T)
    assert (await ok(http.get(f"/fine_tuning/jobs/{good['id']}")))["status"] == "succeeded"
    failed = await ok(http.get(f"/fine_tuning/jobs/{bad['id']}"))
    assert failed["status"] == "failed"
    assert (failed["error"]["code"], failed["error"]["param"]) == (
        "invalid_file_format", "validation_file",
    )  # fmt: skip
    assert failed["validation_file"] == bad["validation_file"]


async def test_pause_stops_the_jobs_clock_resume_goes_on_and_cancel_ends_it(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    job = await _job(http)
    path = f"/fine_tuning/jobs/{job['id']}"
    early = await http.post(f"{path}/pause")
    assert early.status_code == 400  # only a running job pauses
    assert "'validating_files'" in early.json()["error"]["message"]
    app.clock.advance(0.5 * T)
    paused = await ok(http.post(f"{path}/pause"))
    assert paused["status"] == "paused"
    steps = len((await ok(http.get(f"{path}/checkpoints")))["data"])
    app.clock.advance(10 * T)  # paused: nothing moves
    assert (await ok(http.get(path)))["status"] == "paused"
    assert len((await ok(http.get(f"{path}/checkpoints")))["data"]) == steps
    assert (await http.post(f"{path}/pause")).status_code == 400
    resumed = await ok(http.post(f"{path}/resume"))
    assert resumed["status"] == "running"
    assert (await http.post(f"{path}/resume")).status_code == 400
    app.clock.advance(0.49 * T)
    assert (await ok(http.get(path)))["status"] == "running"
    app.clock.advance(0.01 * T)
    done = await ok(http.get(path))
    assert done["status"] == "succeeded"
    assert done["finished_at"] == job["created_at"] + 11 * T  # the pause counted on the clock
    messages = [e["message"] for e in await _events(http, job["id"])]
    assert messages.index("Fine-tuning job paused") < messages.index("Fine-tuning job resumed")
    assert messages[-1] == "The job has successfully completed"

    other = await _job(http)
    other_path = f"/fine_tuning/jobs/{other['id']}"
    app.clock.advance(0.5 * T)
    await ok(http.post(f"{other_path}/pause"))
    cancelled = await ok(http.post(f"{other_path}/cancel"))
    assert (cancelled["status"], cancelled["fine_tuned_model"]) == ("cancelled", None)
    app.clock.advance(T)
    still = await ok(http.get(other_path))
    assert (still["status"], still["trained_tokens"]) == ("cancelled", None)
    assert (await _events(http, other["id"]))[-1]["message"] == "Fine-tuning job cancelled"
    assert (await http.post(f"{other_path}/cancel")).status_code == 400
    assert (await http.post(f"{other_path}/resume")).status_code == 400


async def test_jobs_list_newest_first_by_metadata_and_events_page(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    first = await _job(http, metadata={"team": "a"})
    second = await _job(http, metadata={"team": "b"})
    third = await _job(http)
    listed = await ok(http.get("/fine_tuning/jobs", params={"limit": 2}))
    assert [j["id"] for j in listed["data"]] == [third["id"], second["id"]]
    assert (listed["has_more"], listed["last_id"]) == (True, second["id"])
    rest = await ok(http.get("/fine_tuning/jobs", params={"after": second["id"]}))
    assert [j["id"] for j in rest["data"]] == [first["id"]]
    by_team = await ok(http.get("/fine_tuning/jobs", params={"metadata[team]": "b"}))
    assert [j["id"] for j in by_team["data"]] == [second["id"]]
    app.clock.advance(T)
    events = f"/fine_tuning/jobs/{first['id']}/events"
    newest = await ok(http.get(events, params={"limit": 3}))
    assert newest["has_more"] is True
    assert newest["data"][0]["message"] == "The job has successfully completed"
    older = await ok(http.get(events, params={"limit": 3, "after": newest["last_id"]}))
    everything = (await ok(http.get(events, params={"limit": 100})))["data"]
    assert [e["id"] for e in newest["data"] + older["data"]] == [e["id"] for e in everything[:6]]


async def test_projects_get_permissions_on_checkpoints_and_models(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    job = await _job(http)
    model = f"ft:gpt-4o-mini-2024-07-18:mock-org::{job['id'][-8:]}"
    first = f"{model}:ckpt-step-12"
    path = f"/fine_tuning/checkpoints/{first}/permissions"
    early = await http.post(path, json={"project_ids": ["proj_a"]})
    assert early.status_code == 404  # the checkpoint is not made yet
    assert early.json()["error"]["param"] == "fine_tuned_model_checkpoint"
    app.clock.advance(0.5 * T)
    created = await ok(http.post(path, json={"project_ids": ["proj_a", "proj_b", "proj_c"]}))
    assert [(p["object"], p["project_id"]) for p in created["data"]] == [
        ("checkpoint.permission", "proj_a"), ("checkpoint.permission", "proj_b"),
        ("checkpoint.permission", "proj_c"),
    ]  # fmt: skip
    assert (created["first_id"], created["last_id"], created["has_more"]) == (
        created["data"][0]["id"], created["data"][2]["id"], False,
    )  # fmt: skip
    ids = [p["id"] for p in created["data"]]
    assert all(i.startswith("cp_") for i in ids)
    newest = await ok(http.get(path, params={"limit": 2}))
    assert ([p["id"] for p in newest["data"]], newest["has_more"]) == (ids[:0:-1], True)
    oldest = await ok(http.get(path, params={"order": "ascending", "after": ids[0]}))
    assert [p["id"] for p in oldest["data"]] == ids[1:]
    only_b = await ok(http.get(path, params={"project_id": "proj_b"}))
    assert [p["id"] for p in only_b["data"]] == [ids[1]]
    bad_order = await http.get(path, params={"order": "asc"})
    assert bad_order.json()["error"]["param"] == "order"
    deleted = await ok(http.delete(f"{path}/{ids[1]}"))
    assert deleted == {"object": "checkpoint.permission", "id": ids[1], "deleted": True}
    again = await http.delete(f"{path}/{ids[1]}")
    assert (again.status_code, again.json()["error"]["param"]) == (404, "permission_id")
    assert [p["id"] for p in (await ok(http.get(path)))["data"]] == [ids[2], ids[0]]
    bodies: list[tuple[dict[str, Any], str]] = [
        ({}, "project_ids"), ({"project_ids": []}, "project_ids"),
        ({"project_ids": [3]}, "project_ids[0]"),
    ]  # fmt: skip
    for body, param in bodies:
        refused = await http.post(path, json=body)
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == param
    # The model itself takes permissions once the job has made it.
    model_path = f"/fine_tuning/checkpoints/{model}/permissions"
    assert (await http.get(model_path)).status_code == 404
    app.clock.advance(0.5 * T)
    await ok(http.post(model_path, json={"project_ids": ["proj_a"]}))
    assert [p["project_id"] for p in (await ok(http.get(model_path)))["data"]] == ["proj_a"]


async def test_unknown_ids_and_bad_parameters_are_openai_errors(http: httpx.AsyncClient) -> None:
    training = await _file(http, TRAINING)
    batch_file = await _file(http, TRAINING, purpose="batch")
    good = {"model": "gpt-4o-mini", "training_file": training}
    bad: list[tuple[dict[str, Any], str]] = [
        ({"training_file": training}, "model"),
        ({"model": "gpt-4o-mini"}, "training_file"),
        ({"model": 3, "training_file": training}, "model"),
        (good | {"training_file": "file-nope"}, "training_file"),
        (good | {"training_file": batch_file}, "training_file"),
        (good | {"validation_file": "file-nope"}, "validation_file"),
        (good | {"suffix": "x" * 65}, "suffix"),
        (good | {"seed": -1}, "seed"),
        (good | {"metadata": {"a": 1}}, "metadata"),
        (good | {"hyperparameters": {"n_epochs": 51}}, "hyperparameters.n_epochs"),
        (good | {"method": {"type": "magic"}}, "method.type"),
        (good | {"method": {"type": "supervised", "supervised": {"hyperparameters": {
            "batch_size": 0}}}}, "method.supervised.hyperparameters.batch_size"),
        (good | {"method": {"type": "dpo", "dpo": {"hyperparameters": {
            "learning_rate_multiplier": 0}}}},
         "method.dpo.hyperparameters.learning_rate_multiplier"),
    ]  # fmt: skip
    for body, param in bad:
        answer = await http.post("/fine_tuning/jobs", json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"]["param"] == param, body
    assert (await ok(http.get("/fine_tuning/jobs")))["data"] == []  # nothing was kept
    for method, path in [
        ("GET", "/fine_tuning/jobs/ftjob-nope"),
        ("POST", "/fine_tuning/jobs/ftjob-nope/cancel"),
        ("POST", "/fine_tuning/jobs/ftjob-nope/pause"),
        ("POST", "/fine_tuning/jobs/ftjob-nope/resume"),
        ("GET", "/fine_tuning/jobs/ftjob-nope/events"),
        ("GET", "/fine_tuning/jobs/ftjob-nope/checkpoints"),
    ]:
        answer = await http.request(method, path)
        assert answer.status_code == 404, path
        message = answer.json()["error"]["message"]
        assert message == "Fine-tuning job with id 'ftjob-nope' not found."
    bad_limit = await http.get("/fine_tuning/jobs", params={"limit": 101})
    assert bad_limit.json()["error"]["param"] == "limit"


async def test_faults_the_log_and_reset_reach_the_fine_tuning_routes(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    training = await _file(http, TRAINING)
    body = {"model": "gpt-4o-mini", "training_file": training}
    app.fail_next("rate_limit", path="/v1/fine_tuning/jobs")
    assert (await http.post("/fine_tuning/jobs", json=body)).status_code == 429
    job = await ok(http.post("/fine_tuning/jobs", json=body))
    events = f"/fine_tuning/jobs/{job['id']}/events"
    app.fail_next("server_error", path=events)
    assert (await http.get(events)).status_code == 500
    assert [(r.method, r.path, r.body) for r in app.requests[1:]] == [
        ("POST", "/v1/fine_tuning/jobs", body), ("POST", "/v1/fine_tuning/jobs", body),
        ("GET", "/v1" + events, None),
    ]  # fmt: skip
    app.reset()
    assert (await http.get(f"/fine_tuning/jobs/{job['id']}")).status_code == 404


async def test_the_sdk_runs_a_fine_tuning_job_to_its_model(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    app = mock_openai.app
    app.clock.speed = 0
    file = await sdk.files.create(file=("train.jsonl", TRAINING), purpose="fine-tune")
    job = await sdk.fine_tuning.jobs.create(
        model="gpt-4o-mini", training_file=file.id, suffix="sdk", metadata={"k": "v"},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )  # fmt: skip
    assert job.status == "validating_files"
    app.clock.advance(0.5 * app.fine_tuning_seconds)
    paused = await sdk.fine_tuning.jobs.pause(job.id)
    assert str(paused.status) == "paused"  # the SDK's Literal lags behind the service
    assert (await sdk.fine_tuning.jobs.resume(job.id)).status == "running"
    app.clock.advance(0.5 * app.fine_tuning_seconds)
    done = await sdk.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded"
    assert done.fine_tuned_model == f"ft:gpt-4o-mini:mock-org:sdk:{job.id[-8:]}"
    assert done.method is not None
    assert done.method.supervised is not None
    assert [j.id async for j in sdk.fine_tuning.jobs.list(metadata={"k": "v"})] == [job.id]
    events = [e async for e in sdk.fine_tuning.jobs.list_events(job.id, limit=5)]
    assert events[0].message == "The job has successfully completed"
    assert len(events) == len({e.id for e in events}) > 5  # the SDK paged through them
    checkpoints = [c async for c in sdk.fine_tuning.jobs.checkpoints.list(job.id)]
    assert [c.step_number for c in checkpoints] == [24, 12]
    model = await sdk.models.retrieve(done.fine_tuned_model)
    assert model.id == done.fine_tuned_model
    assert (await sdk.models.delete(done.fine_tuned_model)).deleted is True
    checkpoint = checkpoints[0].fine_tuned_model_checkpoint
    granted = await sdk.fine_tuning.checkpoints.permissions.create(
        checkpoint, project_ids=["proj_a", "proj_b"]
    )
    assert [p.project_id async for p in granted] == ["proj_a", "proj_b"]
    listed = sdk.fine_tuning.checkpoints.permissions.list(checkpoint, order="ascending")
    permissions = [p async for p in listed]
    assert [p.project_id for p in permissions] == ["proj_a", "proj_b"]
    removed = await sdk.fine_tuning.checkpoints.permissions.delete(
        permissions[0].id, fine_tuned_model_checkpoint=checkpoint
    )
    assert removed.deleted is True
    other = await sdk.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file.id)
    assert (await sdk.fine_tuning.jobs.cancel(other.id)).status == "cancelled"
    with pytest.raises(openai.NotFoundError):
        await sdk.fine_tuning.jobs.retrieve("ftjob-nope")


async def test_our_typed_methods_run_a_fine_tuning_job(
    mock_openai: MockServer, client: Client
) -> None:
    app = mock_openai.app
    app.clock.speed = 0
    async with httpx.AsyncClient(base_url=mock_openai.url) as http:
        training = await _file(http, TRAINING)
    job = await client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training)
    assert isinstance(job, FineTuningJob)
    assert job.status == "validating_files"
    app.clock.advance(0.5 * app.fine_tuning_seconds)
    assert (await client.fine_tuning.jobs.pause(job.id or "")).status == "paused"
    assert (await client.fine_tuning.jobs.resume(job.id or "")).status == "running"
    app.clock.advance(0.5 * app.fine_tuning_seconds)
    done = await client.fine_tuning.jobs.retrieve(job.id or "")
    assert (done.status, done.trained_tokens is not None) == ("succeeded", True)
    assert [j.id async for j in client.fine_tuning.jobs.list()] == [job.id]
    events = [e async for e in client.fine_tuning.jobs.list_events(job.id or "", limit=4)]
    assert all(isinstance(e, FineTuningJobEvent) for e in events)
    assert events[0].message == "The job has successfully completed"
    checkpoints = [c async for c in client.fine_tuning.jobs.checkpoints.list(job.id or "")]
    assert all(isinstance(c, FineTuningJobCheckpoint) for c in checkpoints)
    assert [c.step_number for c in checkpoints] == [36, 24, 12]
    checkpoint = checkpoints[0].fine_tuned_model_checkpoint or ""
    permissions = client.fine_tuning.checkpoints.permissions
    granted = await permissions.create(checkpoint, project_ids=["proj_a"])
    assert [p.project_id for p in granted.data or []] == ["proj_a"]
    assert [p.project_id async for p in permissions.list(checkpoint)] == ["proj_a"]
    removed = await permissions.delete(checkpoint, (granted.data or [])[0].id or "")
    assert removed.deleted is True
    assert done.fine_tuned_model in [m.id async for m in client.models.list()]
    await client.models.delete(done.fine_tuned_model or "")
    with pytest.raises(NotFoundError):
        await client.fine_tuning.jobs.cancel("ftjob-nope")
