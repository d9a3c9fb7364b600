"""Every typed method against the real mock, under asyncio and trio: the request goes to the
mock (in-process, through `httpx.ASGITransport`), which answers it (a hand-written handler,
or the generic one with the spec's example made fresh), and the answer decodes into the
method's typed result.

The arguments are those of the conformance test (the spec's request example, or samples of the
required parameters). An operation on objects a hand-written handler keeps gets real ones first
(`_prepare`: a stored response, a file, a vector store with a file in it, a run waiting for
a tool's output, a fine-tuning job with checkpoints, a container file, a voice consent, ...),
with the arguments that name them; the media operations get the mock's own speech (a WAV) and
generated image (a PNG), which its handlers read. What the spec-example double of the
conformance test still proves and the mock cannot: the exact body a request example encodes to
(the mock answers any body its schema accepts).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import httpx
import pytest

from openai_ergo import (
    APIResponseValidationError,
    BinaryResponse,
    Client,
    FileUpload,
    Paginator,
)
from openai_ergo.codegen._model import Operation
from openai_ergo.mock import MockOpenAI
from openai_ergo.resources import TypedEventStream
from openai_ergo.types import APIObject, SpeechAudioDeltaEvent, SpeechAudioDoneEvent
from tests.openai_ergo.namespaces.test_conformance import (
    FILE_BYTES,
    OPERATIONS,
    REQUEST_EXCEPTIONS,
    _arguments,
    _body_struct,
    _file_fields,
    _method,
)

#: Operations whose spec example contradicts the schema their typed result follows: the mock
#: answers the example (as the service would answer its own), and the typed method refuses it.
#: A fixed schema or type makes the test fail, so this list cannot go stale.
ANSWER_EXCEPTIONS = {
    "runGrader": "the example's `metadata.token_usage` is an object; the schema says an integer",
}


_GRADER = {"type": "string_check", "name": "g", "input": "a", "reference": "a", "operation": "eq"}
_COMPACT = {"model": "gpt-5", "input": "Hi"}
#: Bodies for the operations whose spec example does not fit its own schema.
_BODIES: dict[str, dict[str, Any]] = {
    "CreateChatSessionMethod": {"user": "user-1", "workflow": {"id": "wf_1"}},
    "create-realtime-session": {"client_secret": {"value": "ek_1", "expires_at": 1}},
    "Compactconversation": _COMPACT,
    "beta_Compactconversation": _COMPACT,
    "createEval": {
        "name": "e",
        "data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
        "testing_criteria": [_GRADER],
    },
    "runGrader": {"grader": _GRADER, "model_sample": "a"},
    "createEvalRun": {
        "data_source": {"type": "jsonl", "source": {"type": "file_id", "id": "file-1"}}
    },
}
assert set(_BODIES) == set(REQUEST_EXCEPTIONS)


@pytest.fixture(scope="module")
def app() -> MockOpenAI:
    mock = MockOpenAI()
    mock.clock.speed = 0  # runs and jobs move only when `_prepare` moves them
    return mock


@pytest.fixture
async def client(app: MockOpenAI) -> AsyncIterator[Client]:
    # In-process: the mock's own code answers; the socket is what tests/openai_ergo/mock and
    # the typed tier's loopback tests (test_typed_methods.py) exercise.
    transport = httpx.ASGITransport(app=app)
    async with Client(api_key="sk-mock", base_url=_BASE, transport=transport) as client:
        yield client
    app.reset()


@pytest.fixture
async def http(app: MockOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=_BASE) as http:
        yield http


_BASE = "http://127.0.0.1:9/v1"


async def _post(http: httpx.AsyncClient, path: str, **kwargs: Any) -> dict[str, Any]:
    answer = await http.post(path, **kwargs)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _file(http: httpx.AsyncClient, purpose: str = "assistants") -> str:
    name, content = ("in.jsonl", _BATCH_LINE) if purpose == "batch" else ("a.txt", b"a river")
    upload = {"file": (name, content)}
    return str((await _post(http, "/files", data={"purpose": purpose}, files=upload))["id"])


_BATCH_LINE = (
    b'{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": '
    b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}}\n'
)


async def _prepare(
    op: Operation, http: httpx.AsyncClient, app: MockOpenAI, kwargs: dict[str, Any]
) -> list[str]:
    """Real objects for an operation on what a hand-written handler keeps: the path values,
    and `kwargs` changed to name them."""
    names = [p.name for p in op.parameters if p.location == "path"]
    values: dict[str, str] = {}
    path = op.path.split("?")[0]
    if "response_id" in names:
        body = {"model": "gpt-5", "input": "Hi", "background": True}
        values["response_id"] = (await _post(http, "/responses", json=body))["id"]
    if "completion_id" in names:
        body = {"model": "gpt-4o", "store": True, "messages": [{"role": "user", "content": "Hi"}]}
        values["completion_id"] = (await _post(http, "/chat/completions", json=body))["id"]
    if path == "/models/{model}":
        values["model"] = "ft:gpt-4o-mini:org::round-trip"
        app.add_model(values["model"])
    if path.startswith(("/files", "/batches", "/vector_stores")) or op.sdk_name == "files.create":
        kwargs.update({"purpose": "assistants"} if op.sdk_name == "files.create" else {})
        file_id = await _file(http)
        values["file_id"] = file_id
        if "file_ids" in kwargs:
            kwargs["file_ids"] = [file_id]
        if "file_id" in kwargs:
            kwargs["file_id"] = file_id
        kwargs.pop("files", None)
    if op.operation_id == "createVectorStoreFileBatch":
        # The spec's example writes a static strategy flat; its schema (and the service)
        # nest it under `static`.
        kwargs["body"] = {"file_ids": [values["file_id"]]}
    if path.startswith("/batches"):
        batch_file = await _file(http, "batch")
        if "input_file_id" in kwargs:
            kwargs["input_file_id"] = batch_file
        if "batch_id" in names:
            body = {"input_file_id": batch_file, "endpoint": "/v1/chat/completions",
                    "completion_window": "24h"}  # fmt: skip
            values["batch_id"] = (await _post(http, "/batches", json=body))["id"]
    if path.startswith("/uploads/"):
        body = {"filename": "a.txt", "purpose": "assistants", "bytes": len(FILE_BYTES),
                "mime_type": "text/plain"}  # fmt: skip
        upload = values["upload_id"] = (await _post(http, "/uploads", json=body))["id"]
        if op.sdk_name == "uploads.complete":
            part = await _post(http, f"/uploads/{upload}/parts", files={"data": ("p", FILE_BYTES)})
            kwargs["part_ids"] = [part["id"]]
            kwargs.pop("md5", None)
    if "conversation_id" in names:
        item = {"type": "message", "role": "user", "content": "Hi"}
        conversation = await _post(http, "/conversations", json={"items": [item]})
        values["conversation_id"] = conversation["id"]
        items = await http.get(f"/conversations/{conversation['id']}/items")
        values["item_id"] = items.json()["data"][0]["id"]
    if "vector_store_id" in names:
        store = values["vector_store_id"] = (await _post(http, "/vector_stores", json={}))["id"]
        await _post(http, f"/vector_stores/{store}/files", json={"file_id": values["file_id"]})
        if "batch_id" in names:
            body = {"file_ids": [values["file_id"]]}
            batch = await _post(http, f"/vector_stores/{store}/file_batches", json=body)
            values["batch_id"] = batch["id"]
    setup = _Setup(op, http, app, kwargs, values)
    if path.startswith(("/assistants", "/threads")):
        await _prepare_threads(setup)
    if path.startswith("/containers"):
        await _prepare_containers(setup)
    if path.startswith("/fine_tuning"):
        await _prepare_fine_tuning(setup)
    if path.startswith(("/audio/transcriptions", "/audio/translations", "/audio/voice")):
        await _prepare_voices(setup)
    if path in ("/images/edits", "/images/variations"):
        kwargs["image"] = await _png(http)
    return [values.get(name, f"{name}-1") for name in names]


class _Setup(NamedTuple):
    """What a family's setup works with: the operation, the mock, the method's arguments (to
    change) and the path values (to fill)."""

    op: Operation
    http: httpx.AsyncClient
    app: MockOpenAI
    kwargs: dict[str, Any]
    values: dict[str, str]


async def _prepare_threads(setup: _Setup) -> None:
    """An assistant with a tool, a thread asking for it, its message, and a run with its steps."""
    op, http, app, kwargs, values = setup
    assistant = await _post(http, "/assistants", json={"model": "gpt-4o", "tools": [_FORECAST]})
    values["assistant_id"] = assistant["id"]
    if "assistant_id" in kwargs:
        kwargs["assistant_id"] = assistant["id"]
    ask = {"role": "user", "content": "Please forecast the weather in Paris."}
    thread = values["thread_id"] = (await _post(http, "/threads", json={"messages": [ask]}))["id"]
    messages = await http.get(f"/threads/{thread}/messages")
    values["message_id"] = messages.json()["data"][0]["id"]
    if "/runs/{run_id}" not in op.path:
        return
    run = values["run_id"] = (
        await _post(http, f"/threads/{thread}/runs", json={"assistant_id": assistant["id"]})
    )["id"]
    if op.sdk_name == "beta.threads.runs.cancel":
        return  # still queued: a run is cancelled while it is active
    # The run calls the tool the user asked for, and waits for its output.
    app.clock.advance(app.background_seconds)
    waiting = (await http.get(f"/threads/{thread}/runs/{run}")).json()
    [call] = waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    if op.sdk_name == "beta.threads.runs.submit_tool_outputs":
        kwargs["tool_outputs"] = [{"tool_call_id": call["id"], "output": "Sunny"}]
    steps = await http.get(f"/threads/{thread}/runs/{run}/steps")
    values["step_id"] = steps.json()["data"][0]["id"]


#: A function tool the mock's assistant calls when the user names it.
_FORECAST: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "forecast",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def _prepare_containers(setup: _Setup) -> None:
    """A container holding a copy of an uploaded File."""
    op, http, _, kwargs, values = setup
    container = values["container_id"] = (await _post(http, "/containers", json={"name": "c"}))[
        "id"
    ]
    uploaded = await _file(http)
    copied = await _post(http, f"/containers/{container}/files", json={"file_id": uploaded})
    values["file_id"] = copied["id"]
    if op.sdk_name == "containers.files.create":
        # Without a file the typed method sends JSON: the File to copy.
        kwargs["file_id"] = uploaded


#: A training file the mock's fine-tuning validation accepts (it needs ten examples).
_TRAINING = b"".join(
    b'{"messages": [{"role": "user", "content": "Capital of France?"}, '
    b'{"role": "assistant", "content": "Paris."}]}\n'
    for _ in range(12)
)


async def _prepare_fine_tuning(setup: _Setup) -> None:
    """A job from a valid training file, moved on the clock to where the operation needs it."""
    op, http, app, kwargs, values = setup
    upload = {"file": ("train.jsonl", _TRAINING)}
    training = await _post(http, "/files", data={"purpose": "fine-tune"}, files=upload)
    if "training_file" in kwargs:
        kwargs["training_file"] = training["id"]
    body = {"model": "gpt-4o-mini-2024-07-18", "training_file": training["id"]}
    job = values["fine_tuning_job_id"] = (await _post(http, "/fine_tuning/jobs", json=body))["id"]
    if op.sdk_name in ("fine_tuning.jobs.pause", "fine_tuning.jobs.resume"):
        app.clock.advance(0.5 * app.fine_tuning_seconds)  # running
        if op.sdk_name == "fine_tuning.jobs.resume":
            await _post(http, f"/fine_tuning/jobs/{job}/pause")
    elif "checkpoint" in op.path:
        app.clock.advance(app.fine_tuning_seconds)  # succeeded, with its checkpoints
        checkpoints = await http.get(f"/fine_tuning/jobs/{job}/checkpoints")
        checkpoint = checkpoints.json()["data"][0]["fine_tuned_model_checkpoint"]
        values["fine_tuned_model_checkpoint"] = checkpoint
        permissions = f"/fine_tuning/checkpoints/{checkpoint}/permissions"
        granted = await _post(http, permissions, json={"project_ids": ["proj_a"]})
        values["permission_id"] = granted["data"][0]["id"]


async def _speech(http: httpx.AsyncClient) -> bytes:
    """The mock's own speech, as a WAV file its transcription hears."""
    body = {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "Hi", "response_format": "wav"}
    answer = await http.post("/audio/speech", json=body)
    assert answer.status_code == 200, answer.text
    return answer.content


async def _png(http: httpx.AsyncClient) -> bytes:
    """The mock's own generated image, a PNG its edits and variations read."""
    body = {"model": "dall-e-2", "prompt": "a", "size": "256x256", "response_format": "b64_json"}
    made = await _post(http, "/images/generations", json=body)
    return base64.b64decode(made["data"][0]["b64_json"])


async def _prepare_voices(setup: _Setup) -> None:
    """Real audio, and a consent recorded with it."""
    op, http, _, kwargs, values = setup
    wav = await _speech(http)
    if "file" in kwargs:
        kwargs["file"] = wav
        return
    recording = FileUpload(wav, filename="consent.wav", content_type="audio/wav")
    if op.sdk_name == "audio.voice_consents.create":
        kwargs["recording"] = recording
        return
    form = {"name": "Ada", "language": "en-US"}
    files = {"recording": ("consent.wav", wav, "audio/wav")}
    consent = await _post(http, "/audio/voice_consents", data=form, files=files)
    values["consent_id"] = consent["id"]
    if op.sdk_name == "audio.voices.create":
        kwargs.update(consent=consent["id"], audio_sample=wav)


@pytest.mark.parametrize("op", OPERATIONS, ids=[o.sdk_name for o in OPERATIONS])
async def test_every_typed_method_round_trips_through_the_mock(
    op: Operation, client: Client, http: httpx.AsyncClient, app: MockOpenAI
) -> None:
    _, kwargs, _ = _arguments(op)
    struct = _body_struct(op)
    if op.operation_id in REQUEST_EXCEPTIONS:
        # The spec's example does not fit its own schema: a body that does.
        kwargs = dict(_BODIES[op.operation_id])
    path_values = await _prepare(op, http, app, kwargs)
    if op.body is not None and op.body.content_type.startswith("multipart/"):
        assert struct is not None
        file_fields = _file_fields(struct)
        for f in struct.fields:
            sample = kwargs.get(f.name)
            # A sample string stands for a file (`_prepare` has put a real one where it matters).
            if f.wire_name in file_fields and isinstance(sample, str | list):
                kwargs[f.name] = [FILE_BYTES] if isinstance(sample, list) else FILE_BYTES
    method = _method(client, op)
    if op.operation_id in ANSWER_EXCEPTIONS:
        with pytest.raises(APIResponseValidationError):
            await method(*path_values, **kwargs)
        return
    result: Any = method(*path_values, **kwargs)
    if isinstance(result, Paginator):
        items = [item async for item in result]
        assert all(isinstance(i, APIObject | dict | str) for i in items)
    else:
        result = await result
    if isinstance(result, TypedEventStream):
        # `stream_format="sse"` (speech): typed events, the last one saying it is done.
        async with result:
            events = [event async for event in result]
        assert isinstance(events[-1], SpeechAudioDoneEvent)
        assert events[:-1]
        assert all(isinstance(e, SpeechAudioDeltaEvent) for e in events[:-1])
        return
    request = app.requests[-1]
    assert request.method == op.method.upper()
    kinds = {r.kind for r in op.results}
    if kinds == {"empty"}:
        assert result is None
    elif "binary" in kinds:
        assert isinstance(result, BinaryResponse)
        assert await result.read()
    elif "json" in kinds and not isinstance(result, Paginator):
        assert isinstance(result, APIObject | list | dict | str | int | float)
