"""`client.files.upload(...)` against the mock over loopback: one request under the limit, the
Uploads API above it (parts, bounded concurrency, md5, progress), a part that keeps failing,
and resumption that sends only the missing parts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import httpx
import pytest

from openai_ergo import (
    Client,
    InternalServerError,
    InvalidRequestError,
    Middleware,
    RetryPolicy,
)
from openai_ergo._pipeline._middleware import RequestState
from openai_ergo.mock import MockServer
from openai_ergo.resources import UploadHandle, UploadPartError

DATA = bytes(range(256)) * 1000  # 256,000 bytes: 4 parts of 64,000 in these tests
PART = 64_000


def _client(server: MockServer, *, attempts: int = 2) -> Client:
    return Client(
        api_key="sk-mock",
        base_url=server.url,
        retry=RetryPolicy(max_attempts=attempts, initial_backoff=0.0, max_backoff=0.0),
    )


def _paths(server: MockServer) -> list[str]:
    return [request.path for request in server.app.requests]


@pytest.fixture
def blob(tmp_path: Path) -> Path:
    path = tmp_path / "blob.jsonl"
    path.write_bytes(DATA)
    return path


async def test_a_small_file_is_one_request_with_progress(
    mock_openai: MockServer, blob: Path
) -> None:
    seen: list[tuple[int, int]] = []
    async with _client(mock_openai) as client:
        file = await client.files.upload(
            blob, purpose="batch", on_progress=lambda sent, total: seen.append((sent, total))
        )
        assert file.bytes == len(DATA)
        assert file.filename == "blob.jsonl"
        assert await (await client.files.content(file.id or "")).read() == DATA
    assert _paths(mock_openai)[0] == "/v1/files"
    assert seen[-1] == (len(DATA), len(DATA))
    assert [sent for sent, _ in seen] == sorted(sent for sent, _ in seen)


async def test_a_large_file_goes_through_uploads_in_parts(
    mock_openai: MockServer, blob: Path
) -> None:
    seen: list[int] = []
    async with _client(mock_openai) as client:
        file = await client.files.upload(
            blob,
            purpose="batch",
            single_request_limit=100_000,
            part_size=PART,
            concurrency=2,
            on_progress=lambda sent, total: seen.append(sent),
        )
        assert await (await client.files.content(file.id or "")).read() == DATA
    paths = _paths(mock_openai)
    assert paths[0] == "/v1/uploads"
    assert sum(path.endswith("/parts") for path in paths) == 4
    assert paths[-2].endswith("/complete")
    complete = next(r for r in mock_openai.app.requests if r.path.endswith("/complete"))
    assert complete.body is not None
    assert complete.body["md5"] == hashlib.md5(DATA).hexdigest()
    assert len(complete.body["part_ids"]) == 4
    assert max(seen) == len(DATA)


class PartsInFlight(Middleware):
    """Counts the part requests in flight. The first part waits for a second to start, so a
    client sending parts one at a time fails here, and the count shows the bound held."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.second = anyio.Event()

    async def on_request(self, request: httpx.Request, state: RequestState) -> None:
        if not request.url.path.endswith("/parts"):
            return
        self.now += 1
        self.most = max(self.most, self.now)
        if self.now >= 2:
            self.second.set()
        with anyio.fail_after(10):  # a guard against hanging, not a measurement
            await self.second.wait()

    async def on_response(self, response: httpx.Response, state: RequestState) -> None:
        if response.request.url.path.endswith("/parts"):
            self.now -= 1


async def test_parts_go_concurrently_within_the_bound(mock_openai: MockServer, blob: Path) -> None:
    counter = PartsInFlight()
    async with Client(api_key="sk-mock", base_url=mock_openai.url, middleware=[counter]) as client:
        file = await client.files.upload(
            blob, purpose="batch", single_request_limit=0, part_size=PART, concurrency=2
        )
        assert await (await client.files.content(file.id or "")).read() == DATA
    assert counter.most == 2


async def test_a_failed_part_is_retried_on_its_own(mock_openai: MockServer, blob: Path) -> None:
    async with _client(mock_openai, attempts=3) as client:
        handle = await client.files.start_upload(blob, purpose="batch", part_size=PART)
        mock_openai.app.fail_next(
            "server_error", times=2, path=f"/v1/uploads/{handle.upload_id}/parts"
        )
        file = await client.files.upload(blob, purpose="batch", resume=handle)
        assert await (await client.files.content(file.id or "")).read() == DATA
    parts = [p for p in _paths(mock_openai) if p.endswith("/parts")]
    assert len(parts) == 4 + 2  # the two failed attempts, then each part once


async def test_a_part_that_keeps_failing_names_it_and_the_upload_resumes(
    mock_openai: MockServer, blob: Path
) -> None:
    async with _client(mock_openai, attempts=2) as client:
        handle = await client.files.start_upload(blob, purpose="batch", part_size=PART)
        parts_path = f"/v1/uploads/{handle.upload_id}/parts"
        # Part 1 was sent before the failure (the handle records it); with one part in
        # flight, part 2 then fails both its attempts and the upload stops there.
        first = await client.uploads.parts.create(handle.upload_id, data=DATA[:PART])
        handle.parts[1] = first.id or ""
        mock_openai.app.fail_next("server_error", times=2, path=parts_path)
        with pytest.raises(UploadPartError) as caught:
            await client.files.upload(blob, purpose="batch", resume=handle, concurrency=1)
        error = caught.value
        assert error.part_number == 2
        assert error.upload_id == handle.upload_id
        assert isinstance(error.__cause__, InternalServerError)
        assert f"part 2 of 4 of upload {handle.upload_id}" in str(error)
        assert sorted(error.handle.parts) == [1]

        saved = UploadHandle.from_json(error.handle.to_json())
        before = len(mock_openai.app.requests)
        seen: list[int] = []
        file = await client.files.upload(
            blob, purpose="batch", resume=saved, on_progress=lambda sent, _: seen.append(sent)
        )
        assert seen[0] > PART
        assert seen[-1] == len(DATA)
        assert await (await client.files.content(file.id or "")).read() == DATA
    resent = [r.path for r in mock_openai.app.requests[before:] if r.path.endswith("/parts")]
    assert len(resent) == 3  # parts 2, 3 and 4: part 1 is not sent again


async def test_bad_arguments_name_the_parameter(mock_openai: MockServer, blob: Path) -> None:
    async with _client(mock_openai) as client:
        with pytest.raises(InvalidRequestError) as caught:
            await client.files.upload(blob, purpose="batch", part_size=64 * 1024 * 1024 + 1)
        assert caught.value.param == "part_size"
        with pytest.raises(InvalidRequestError) as caught:
            await client.files.upload(blob.parent / "missing.jsonl", purpose="batch")
        assert caught.value.param == "path"
        with pytest.raises(InvalidRequestError) as caught:
            await client.files.upload(blob, purpose="")
        assert caught.value.param == "purpose"
        handle = await client.files.start_upload(blob, purpose="batch", part_size=PART)
        blob.write_bytes(DATA + b"more")  # noqa: ASYNC240 - a small file, in a test
        with pytest.raises(InvalidRequestError) as caught:
            await client.files.upload(blob, purpose="batch", resume=handle)
        assert caught.value.param == "resume"
