"""Files (multipart uploads read as a stream, purposes, size limits, streamed downloads),
Uploads (parts in any order and concurrently, md5, cancel, expiry) and Batches (answered by the
mock's own handlers, on the mock's clock, with output and error files and cancellation).
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import anyio
import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo.mock import MockOpenAI, MockServer

USER = [{"role": "user", "content": "Tell me about rivers."}]


@pytest.fixture
def app() -> MockOpenAI:
    app = MockOpenAI(seed=2, batch_seconds=100.0)
    app.clock.speed = 0  # the state machines move only when a test advances the clock
    return app


async def _upload(
    http: httpx.AsyncClient, name: str, data: bytes, purpose: str = "batch"
) -> httpx.Response:
    return await http.post("/files", data={"purpose": purpose}, files={"file": (name, data)})


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _chat_line(custom_id: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o", "messages": USER, **body},
    }


# -- files --------------------------------------------------------------------------------------


async def test_a_file_is_uploaded_listed_downloaded_and_deleted(http: httpx.AsyncClient) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB: past the in-memory spool, onto disk
    created = await _upload(http, "blob.bin", data, purpose="assistants")
    assert created.status_code == 200
    file = created.json()
    assert file["object"] == "file"
    assert file["id"].startswith("file-")
    assert (file["bytes"], file["filename"], file["purpose"]) == (
        len(data),
        "blob.bin",
        "assistants",
    )
    other = (await _upload(http, "in.jsonl", b'{"a": 1}\n')).json()
    listed = (await http.get("/files")).json()
    assert [f["id"] for f in listed["data"]] == [other["id"], file["id"]]
    batch_only = (await http.get("/files", params={"purpose": "batch"})).json()
    assert [f["id"] for f in batch_only["data"]] == [other["id"]]
    assert (await http.get(f"/files/{file['id']}")).json() == file
    async with http.stream("GET", f"/files/{file['id']}/content") as download:
        assert download.headers["content-type"] == "application/octet-stream"
        received = b"".join([chunk async for chunk in download.aiter_raw()])
    assert received == data
    deleted = (await http.delete(f"/files/{file['id']}")).json()
    assert deleted == {"id": file["id"], "object": "file", "deleted": True}
    assert (await http.get(f"/files/{file['id']}/content")).status_code == 404


@pytest.mark.parametrize(
    ("name", "purpose", "data", "status", "param"),
    [
        ("x.txt", "batch", b"{}", 400, "file"),  # a batch input must be JSONL
        ("x.jsonl", "fine-tune", b"", 400, "file"),  # empty
        ("x.txt", "batch_output", b"x", 400, "purpose"),  # not a purpose one uploads for
        ("x.txt", "", b"x", 400, "purpose"),
    ],
)
async def test_bad_uploads_name_what_is_wrong(
    http: httpx.AsyncClient, name: str, purpose: str, data: bytes, status: int, param: str
) -> None:
    answer = await _upload(http, name, data, purpose=purpose)
    assert answer.status_code == status
    assert answer.json()["error"]["param"] == param
    assert (await http.get("/files")).json()["data"] == []


async def test_a_file_over_the_limit_is_413_and_not_kept(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.max_file_bytes = 1000
    answer = await _upload(http, "big.bin", b"x" * 1001, purpose="assistants")
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "file_too_large"
    assert (await http.get("/files")).json()["data"] == []
    assert (await _upload(http, "ok.bin", b"x" * 1000, purpose="assistants")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"", b"no boundary here", b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--",
     b"--B\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch"],
)  # fmt: skip
async def test_a_malformed_multipart_body_is_a_400(http: httpx.AsyncClient, body: bytes) -> None:
    answer = await http.post(
        "/files", content=body, headers={"content-type": "multipart/form-data; boundary=B"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"]
    not_form = await http.post("/files", json={"purpose": "batch"})
    assert not_form.status_code == 400
    assert "multipart/form-data" in not_form.json()["error"]["message"]


async def test_faults_and_the_log_reach_the_files_routes(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.fail_next("rate_limit", path="/v1/files")
    assert (await _upload(http, "in.jsonl", b"{}\n")).status_code == 429
    file = (await _upload(http, "in.jsonl", b"{}\n")).json()
    app.fail_next("malformed", path=f"/v1/files/{file['id']}/content")
    cut = await http.get(f"/files/{file['id']}/content")
    assert cut.content == b"{}"[:1] or len(cut.content) < 3
    assert [r.path for r in app.requests] == [
        "/v1/files",
        "/v1/files",
        f"/v1/files/{file['id']}/content",
    ]


# -- uploads ------------------------------------------------------------------------------------


async def _new_upload(http: httpx.AsyncClient, size: int, **extra: Any) -> dict[str, Any]:
    body = {"filename": "data.jsonl", "purpose": "batch", "bytes": size,
            "mime_type": "text/jsonl", **extra}  # fmt: skip
    answer = await http.post("/uploads", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _part(http: httpx.AsyncClient, upload_id: str, data: bytes) -> httpx.Response:
    return await http.post(f"/uploads/{upload_id}/parts", files={"data": ("blob", data)})


async def test_parts_sent_concurrently_complete_in_the_given_order(
    http: httpx.AsyncClient,
) -> None:
    pieces = [f"part {i};".encode() * 50 for i in range(6)]
    whole = b"".join(pieces)
    upload = await _new_upload(http, len(whole))
    assert upload["status"] == "pending"
    ids: dict[int, str] = {}

    async def send(index: int) -> None:
        answer = await _part(http, upload["id"], pieces[index])
        ids[index] = answer.json()["id"]

    async with anyio.create_task_group() as group:
        for index in reversed(range(6)):
            group.start_soon(send, index)
    order = [ids[i] for i in range(6)]
    wrong = await http.post(
        f"/uploads/{upload['id']}/complete", json={"part_ids": order, "md5": "0" * 32}
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["param"] == "md5"
    md5 = hashlib.md5(whole, usedforsecurity=False).hexdigest()
    done = await http.post(
        f"/uploads/{upload['id']}/complete", json={"part_ids": order, "md5": md5}
    )
    result = done.json()
    assert result["status"] == "completed"
    assert result["file"]["bytes"] == len(whole)
    assert (await http.get(f"/files/{result['file']['id']}/content")).content == whole
    late = await _part(http, upload["id"], b"more")
    assert late.status_code == 400
    assert "completed" in late.json()["error"]["message"]


async def test_an_upload_checks_its_size_and_can_be_cancelled(http: httpx.AsyncClient) -> None:
    upload = await _new_upload(http, 10)
    part = (await _part(http, upload["id"], b"12345")).json()
    short = await http.post(f"/uploads/{upload['id']}/complete", json={"part_ids": [part["id"]]})
    assert short.status_code == 400
    assert "declared 10" in short.json()["error"]["message"]
    cancelled = await http.post(f"/uploads/{upload['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert (await _part(http, upload["id"], b"12345")).status_code == 400
    bad = await http.post("/uploads", json={"filename": "x", "purpose": "assistants",
                                            "bytes": 0, "mime_type": "text/plain"})  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "bytes"


async def test_an_upload_expires_after_an_hour_on_the_clock(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    upload = await _new_upload(http, 4)
    assert upload["expires_at"] == upload["created_at"] + 3600
    app.clock.advance(3599)
    part = (await _part(http, upload["id"], b"abcd")).json()
    app.clock.advance(2)
    late = await http.post(f"/uploads/{upload['id']}/complete", json={"part_ids": [part["id"]]})
    assert late.status_code == 400
    assert "expired" in late.json()["error"]["message"]


# -- batches ------------------------------------------------------------------------------------


async def _batch(
    http: httpx.AsyncClient, data: bytes, endpoint: str = "/v1/chat/completions"
) -> Any:
    file = (await _upload(http, "input.jsonl", data)).json()
    answer = await http.post(
        "/batches",
        json={"input_file_id": file["id"], "endpoint": endpoint, "completion_window": "24h",
              "metadata": {"job": "nightly"}},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_batch_runs_through_its_states_and_writes_its_files(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    lines = [_chat_line(f"req-{i}") for i in range(8)] + [
        _chat_line("bad", messages=[])  # the handler refuses it: the error file
    ]
    batch = await _batch(http, _jsonl(lines))
    assert batch["status"] == "validating"
    assert batch["request_counts"] == {"total": 9, "completed": 0, "failed": 0}
    assert batch["metadata"] == {"job": "nightly"}

    async def read() -> dict[str, Any]:
        result: dict[str, Any] = (await http.get(f"/batches/{batch['id']}")).json()
        return result

    app.clock.advance(10)  # 0.1 T: validated
    running = await read()
    assert running["status"] == "in_progress"
    assert running["in_progress_at"] == batch["created_at"] + 10
    app.clock.advance(40)  # half way through the running phase: half the lines
    half = await read()
    assert half["request_counts"]["completed"] == 4
    assert half["output_file_id"] is None
    app.clock.advance(40)
    assert (await read())["status"] == "finalizing"
    app.clock.advance(10)
    done = await read()
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 9, "completed": 8, "failed": 1}
    assert done["completed_at"] == batch["created_at"] + 100
    output = (await http.get(f"/files/{done['output_file_id']}/content")).text.splitlines()
    outputs = [json.loads(line) for line in output]
    assert [o["custom_id"] for o in outputs] == [f"req-{i}" for i in range(8)]
    first = outputs[0]
    assert first["id"].startswith("batch_req_")
    assert first["error"] is None
    assert first["response"]["status_code"] == 200
    assert first["response"]["body"]["object"] == "chat.completion"
    assert first["response"]["body"]["choices"][0]["message"]["content"]
    errors = (await http.get(f"/files/{done['error_file_id']}/content")).text.splitlines()
    refused = json.loads(errors[0])
    assert refused["custom_id"] == "bad"
    assert refused["response"]["status_code"] == 400
    assert refused["response"]["body"]["error"]["param"] == "messages"
    meta = (await http.get(f"/files/{done['output_file_id']}")).json()
    assert meta["purpose"] == "batch_output"
    assert (await read())["output_file_id"] == done["output_file_id"]  # made once


@pytest.mark.parametrize(
    ("endpoint", "body", "kind"),
    [("/v1/embeddings", {"model": "text-embedding-3-small", "input": "x"}, "list"),
     ("/v1/moderations", {"input": "I will attack"}, None),
     ("/v1/responses", {"model": "gpt-5", "input": "Hi"}, "response")],
)  # fmt: skip
async def test_a_batch_answers_every_endpoint_with_its_handler(
    app: MockOpenAI, http: httpx.AsyncClient, endpoint: str, body: dict[str, Any], kind: str | None
) -> None:
    line = {"custom_id": "one", "method": "POST", "url": endpoint, "body": body}
    batch = await _batch(http, _jsonl([line]), endpoint=endpoint)
    app.clock.advance(100)
    done = (await http.get(f"/batches/{batch['id']}")).json()
    answer = json.loads((await http.get(f"/files/{done['output_file_id']}/content")).text)
    assert answer["response"]["status_code"] == 200
    assert answer["response"]["body"].get("object") == kind
    if endpoint == "/v1/moderations":
        assert answer["response"]["body"]["results"][0]["flagged"] is True


async def test_a_cancelled_batch_keeps_its_partial_output(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    batch = await _batch(http, _jsonl([_chat_line(f"r{i}") for i in range(10)]))
    app.clock.advance(10 + 24)  # 30% of the running phase: 3 lines done
    cancelling = (await http.post(f"/batches/{batch['id']}/cancel")).json()
    assert cancelling["status"] == "cancelling"
    assert cancelling["cancelling_at"] == batch["created_at"] + 34
    app.clock.advance(10)
    cancelled = (await http.get(f"/batches/{batch['id']}")).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["request_counts"] == {"total": 10, "completed": 3, "failed": 0}
    kept = (await http.get(f"/files/{cancelled['output_file_id']}/content")).text.splitlines()
    assert [json.loads(line)["custom_id"] for line in kept] == ["r0", "r1", "r2"]
    again = await http.post(f"/batches/{batch['id']}/cancel")
    assert again.status_code == 400


async def test_a_malformed_input_file_fails_the_batch_with_errors(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    good = _chat_line("a")
    data = (
        _jsonl([good, good]) + b"{not json\n" + _jsonl([{**good, "custom_id": "c", "url": "/v1/x"}])
    )
    batch = await _batch(http, data)
    assert batch["status"] == "validating"
    app.clock.advance(10)
    failed = (await http.get(f"/batches/{batch['id']}")).json()
    assert failed["status"] == "failed"
    assert failed["failed_at"] == batch["created_at"] + 10
    errors = failed["errors"]["data"]
    assert [(e["code"], e["line"]) for e in errors] == [
        ("duplicate_custom_id", 2),
        ("invalid_json_line", 3),
        ("mismatched_url", 4),
    ]
    assert failed["output_file_id"] is None
    assert failed["request_counts"]["total"] == 0


async def test_a_batch_needs_a_batch_file_and_a_known_endpoint(http: httpx.AsyncClient) -> None:
    other = (await _upload(http, "notes.txt", b"x", purpose="assistants")).json()
    body = {"input_file_id": other["id"], "endpoint": "/v1/chat/completions",
            "completion_window": "24h"}  # fmt: skip
    wrong_purpose = await http.post("/batches", json=body)
    assert wrong_purpose.status_code == 400
    assert wrong_purpose.json()["error"]["param"] == "input_file_id"
    unknown = await http.post("/batches", json=body | {"endpoint": "/v1/images"})
    assert unknown.json()["error"]["param"] == "endpoint"
    window = await http.post("/batches", json=body | {"completion_window": "1h"})
    assert window.json()["error"]["param"] == "completion_window"


async def test_batches_are_listed_newest_first(http: httpx.AsyncClient) -> None:
    ids = [(await _batch(http, _jsonl([_chat_line("x")])))["id"] for _ in range(3)]
    listed = (await http.get("/batches", params={"limit": 2})).json()
    assert [b["id"] for b in listed["data"]] == ids[::-1][:2]
    assert listed["has_more"] is True


# -- the official SDK ---------------------------------------------------------------------------


async def test_the_sdk_runs_files_uploads_and_a_batch(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    mock_openai.app.clock.speed = 0
    data = _jsonl([_chat_line(f"q{i}") for i in range(3)])
    file = await sdk.files.create(file=("input.jsonl", io.BytesIO(data)), purpose="batch")
    assert file.bytes == len(data)
    assert [f.id async for f in sdk.files.list(purpose="batch")] == [file.id]
    assert (await sdk.files.retrieve(file.id)).filename == "input.jsonl"
    assert (await sdk.files.content(file.id)).content == data
    batch = await sdk.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "validating"
    mock_openai.app.clock.advance(mock_openai.app.batch_seconds)
    done = await sdk.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert done.request_counts.completed == 3
    assert done.output_file_id is not None
    output = (await sdk.files.content(done.output_file_id)).text.splitlines()
    assert len(output) == 3
    assert [b.id async for b in sdk.batches.list()] == [batch.id]
    upload = await sdk.uploads.create(
        bytes=len(data), filename="again.jsonl", mime_type="text/jsonl", purpose="batch"
    )
    part = await sdk.uploads.parts.create(upload.id, data=data)
    completed = await sdk.uploads.complete(upload.id, part_ids=[part.id])
    assert completed.status == "completed"
    assert completed.file is not None
    assert (await sdk.files.content(completed.file.id)).content == data
    assert (await sdk.files.delete(file.id)).deleted is True
    with pytest.raises(openai.NotFoundError):
        await sdk.files.retrieve(file.id)
    other = await sdk.uploads.create(
        bytes=3, filename="x.txt", mime_type="text/plain", purpose="assistants"
    )
    assert (await sdk.uploads.cancel(other.id)).status == "cancelled"


async def test_a_bounded_hang_on_an_upload_leaves_its_body_to_the_upload(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.fail_next("hang; seconds=0.01", path="/v1/files")
    with anyio.fail_after(30):  # before the fix the upload waited for a body already eaten
        answer = await _upload(http, "in.jsonl", b'{"a": 1}\n' * 50)
    assert answer.status_code == 200
    assert answer.json()["bytes"] == 450
