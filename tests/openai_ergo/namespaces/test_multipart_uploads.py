"""Multipart request bodies of the typed methods (`client.files.create`,
`client.uploads.parts.create`, ...), over real loopback against the mock, which reads the form
as a stream: a file streams from a path, bytes, a binary file object or an async iterable, with
its filename and content type, reports progress, and is replayed on a retry when it can be."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openai_ergo import (
    Client,
    FileInput,
    FileUpload,
    InternalServerError,
    InvalidRequestError,
    MultipartBody,
    RetryPolicy,
)
from openai_ergo.mock import MockServer
from tests.streaming.loopback import Exchange, sse_server

DATA = bytes(range(256)) * 4096  # 1 MiB: several chunks of every source


def _client(server: MockServer, *, retries: int = 1) -> Client:
    return Client(
        api_key="sk-mock",
        base_url=server.url,
        retry=RetryPolicy(max_attempts=retries, initial_backoff=0.0, max_backoff=0.0),
    )


async def _chunks(data: bytes, size: int = 100_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _downloaded(client: Client, file_id: str) -> bytes:
    return await (await client.files.content(file_id)).read()


@pytest.mark.parametrize("source", ["path", "bytes", "file", "async"])
async def test_files_create_streams_every_kind_of_source(
    mock_openai: MockServer, tmp_path: Path, source: str
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(DATA)
    with path.open("rb") as opened:
        sources: dict[str, FileInput] = {
            "path": path,
            "bytes": DATA,
            "file": opened,
            "async": FileUpload(_chunks(DATA), filename="blob.bin"),
        }
        upload = sources[source]
        async with _client(mock_openai) as client:
            created = await client.files.create(file=upload, purpose="assistants")
            assert created.bytes == len(DATA)
            assert created.filename == ("blob.bin" if source != "bytes" else "upload")
            assert created.purpose == "assistants"
            assert await _downloaded(client, created.id or "") == DATA


async def test_filename_content_type_and_fields_reach_the_server(
    mock_openai: MockServer,
) -> None:
    lines = b'{"custom_id": "1"}\n' * 10
    async with _client(mock_openai) as client:
        created = await client.files.create(
            file=FileUpload(lines, filename="in.jsonl", content_type="application/jsonl"),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
    assert (created.filename, created.purpose, created.bytes) == ("in.jsonl", "batch", len(lines))
    assert created.expires_at == (created.created_at or 0) + 3600
    request = mock_openai.requests[-1]
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")


async def test_progress_is_reported_per_chunk_up_to_the_size(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(DATA)
    seen: list[tuple[int, int | None]] = []
    unsized: list[tuple[int, int | None]] = []
    async with _client(mock_openai) as client:
        await client.files.create(
            file=FileUpload(path, on_progress=lambda sent, total: seen.append((sent, total))),
            purpose="assistants",
        )
        await client.files.create(
            file=FileUpload(
                _chunks(DATA),
                filename="blob.bin",
                on_progress=lambda sent, total: unsized.append((sent, total)),
            ),
            purpose="assistants",
        )
    assert len(seen) > 1
    assert [sent for sent, _ in seen] == sorted(sent for sent, _ in seen)
    assert seen[-1] == (len(DATA), len(DATA))
    assert unsized[-1] == (len(DATA), None)


async def test_upload_parts_round_trip_into_one_file(mock_openai: MockServer) -> None:
    first, second = DATA[:300_000], DATA[300_000:]
    async with _client(mock_openai) as client:
        upload = await client.uploads.create(
            filename="big.bin", purpose="assistants", bytes=len(DATA), mime_type="text/plain"
        )
        upload_id = upload.id or ""
        one = await client.uploads.parts.create(upload_id, data=first)
        two = await client.uploads.parts.create(upload_id, data=FileUpload(_chunks(second)))
        done = await client.uploads.complete(
            upload_id,
            part_ids=[one.id or "", two.id or ""],
            md5=hashlib.md5(DATA).hexdigest(),
        )
        assert isinstance(done.file, dict)  # the spec leaves `Upload.file` untyped
        assert done.file["bytes"] == len(DATA)
        assert await _downloaded(client, done.file["id"]) == DATA


async def test_a_replayable_upload_is_sent_again_on_a_retry(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(DATA)
    async with _client(mock_openai, retries=2) as client:
        for upload in (path, DATA, io.BytesIO(DATA)):
            mock_openai.app.fail_next("server_error", path="/v1/files")
            created = await client.files.create(file=upload, purpose="assistants")
            assert created.bytes == len(DATA)
            assert await _downloaded(client, created.id or "") == DATA
    assert [r.path for r in mock_openai.requests].count("/v1/files") == 6


async def test_a_one_shot_upload_is_not_retried_and_the_error_says_why(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai, retries=3) as client:
        mock_openai.app.fail_next("server_error", path="/v1/files")
        with pytest.raises(InternalServerError, match="one-shot source") as caught:
            await client.files.create(file=FileUpload(_chunks(DATA)), purpose="assistants")
    assert "pass a path, bytes or a seekable file" in str(caught.value)
    assert [r.path for r in mock_openai.requests] == ["/v1/files"]


async def test_bad_file_arguments_are_refused_before_sending(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        with pytest.raises(InvalidRequestError, match="no file to upload") as missing:
            await client.files.create(file=Path("/nonexistent/x.bin"), purpose="batch")
        assert missing.value.param == "file"
        with pytest.raises(InvalidRequestError, match="not int") as wrong:
            await client.files.create(file=42, purpose="batch")  # type: ignore[arg-type]
        assert wrong.value.param == "file"
        with pytest.raises(InvalidRequestError, match="one header value") as injected:
            FileUpload(b"x", content_type="text/plain\r\nX-Evil: 1")
        assert injected.value.param == "content_type"
        with pytest.raises(InvalidRequestError) as no_purpose:
            await client.files.create(file=b"x")  # type: ignore[call-arg]
        assert no_purpose.value.param == "purpose"
    assert mock_openai.requests == []


async def test_a_multipart_body_goes_through_the_raw_request_too(
    mock_openai: MockServer,
) -> None:
    body = MultipartBody({"purpose": "assistants"}, [("file", FileUpload(DATA, filename="r.bin"))])
    assert body.content_length is not None
    assert body.replayable
    async with _client(mock_openai) as client:
        created = (await client.request("POST", "/files", body=body)).json()
    assert (created["filename"], created["bytes"]) == ("r.bin", len(DATA))


async def test_a_multipart_request_names_its_host() -> None:
    # HTTP/1.1 requires Host; a body given to httpx as a stream skips the headers httpx adds,
    # and a strict server (h11 here, as most behind a proxy) refuses the request without it.
    async def handler(exchange: Exchange) -> None:
        await exchange.respond(200, b'{"id": "file-1", "object": "file"}')

    async with (
        sse_server(handler) as server,
        Client(api_key="sk-local", base_url=f"{server.url}/v1", retry=RetryPolicy.never()) as c,
    ):
        uploaded = await c.files.create(file=b"data", purpose="assistants")
    assert uploaded.id == "file-1"
    assert server.requests[-1].headers["host"] == server.url.removeprefix("http://")
