"""Binary results of the typed methods (`client.files.content`, ...) are streamed handles, over
real loopback against the mock: the body is read chunk by chunk, written to a file, or read
whole on request; leaving early gives the connection back; a dropped handle warns."""

from __future__ import annotations

import gc
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest

from openai_ergo import (
    BinaryResponse,
    Client,
    HTTP11Transport,
    StreamInterruptedError,
    Timeouts,
)
from openai_ergo.mock import MockServer
from tests.openai_ergo.leaks import warnings_of_run

#: Many of the mock's download chunks, so that one chunk is far from the whole body.
DATA = bytes(range(256)) * 4096  # 1 MiB


def _pool() -> HTTP11Transport:
    return HTTP11Transport(limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))


def _client(server: MockServer, transport: HTTP11Transport | None = None) -> Client:
    return Client(
        api_key="sk-mock",
        base_url=server.url,
        rate_limiter=False,
        transport=transport,
        timeouts=Timeouts(pool=30),
    )


def _stored(server: MockServer, data: bytes = DATA) -> str:
    return server.app.files.add_bytes("blob.bin", "assistants", data).id


async def test_file_content_streams_in_chunks_and_reads_whole(mock_openai: MockServer) -> None:
    file_id = _stored(mock_openai)
    async with _client(mock_openai) as client:
        body = await client.files.content(file_id)
        assert isinstance(body, BinaryResponse)
        assert body.status_code == 200
        assert body.content_type == "application/octet-stream"
        async with body:
            chunks = [chunk async for chunk in body]
        assert body.closed
        assert len(chunks) > 1  # streamed, not one buffered block
        assert max(map(len, chunks)) < len(DATA)
        assert b"".join(chunks) == DATA
        again = await client.files.content(file_id)
        assert await again.read() == DATA
        assert again.closed
        raw = await client.files.with_raw_response.content(file_id)
        assert raw.request_id == raw.headers.get("x-request-id")
        assert await raw.read() == DATA


async def test_write_to_writes_the_body_to_a_file_with_progress(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    file_id = _stored(mock_openai)
    target = tmp_path / "out.bin"
    seen: list[int] = []
    async with _client(mock_openai) as client:
        body = await client.files.content(file_id)
        written = await body.write_to(target, on_progress=seen.append)
    assert body.closed
    assert written == len(DATA)
    assert target.read_bytes() == DATA
    assert len(seen) > 1
    assert seen == sorted(seen)
    assert seen[-1] == len(DATA)


async def test_breaking_out_early_gives_the_connection_back(mock_openai: MockServer) -> None:
    file_id = _stored(mock_openai)
    transport = _pool()
    async with _client(mock_openai, transport) as client:
        async with await client.files.content(file_id) as body:
            async for _chunk in body:
                busy_inside = transport.statistics()["busy"]
                break
        assert busy_inside == 1  # the measure sees the connection held by the open body
        assert transport.statistics()["busy"] == 0
        assert body.closed
        # The one connection of the pool is free: the next request goes through at once.
        assert (await client.files.retrieve(file_id)).id == file_id
        with anyio.CancelScope() as scope:
            async with await client.files.content(file_id) as body:
                async for _chunk in body:
                    scope.cancel()
                    await anyio.lowlevel.checkpoint()
        assert scope.cancelled_caught
        assert transport.statistics()["busy"] == 0


async def test_a_body_cut_off_mid_way_is_a_stream_error(mock_openai: MockServer) -> None:
    file_id = _stored(mock_openai)
    mock_openai.app.fail_next("disconnect", path=f"/v1/files/{file_id}/content")
    async with _client(mock_openai) as client:
        body = await client.files.content(file_id)
        with pytest.raises(StreamInterruptedError):
            await body.read()
        assert body.closed


async def test_a_missing_file_is_the_typed_not_found_error(mock_openai: MockServer) -> None:
    from openai_ergo import NotFoundError

    async with _client(mock_openai) as client:
        with pytest.raises(NotFoundError):
            await client.files.content("file-missing")


def test_a_body_dropped_unclosed_warns(anyio_backend: str, mock_openai: MockServer) -> None:
    file_id = _stored(mock_openai)

    async def drop_bodies() -> None:
        async with _client(mock_openai) as client:
            body = await client.files.content(file_id)
            async for _chunk in body:
                break
            del body  # dropped while open
            gc.collect()
            finished = await client.files.content(file_id)
            async for _chunk in finished:  # read to its end, which closes it
                pass
            del finished
            gc.collect()

    seen = warnings_of_run(drop_bodies, anyio_backend)
    ours = [message for _, message in seen if "binary body" in message]
    assert len(ours) == 1
    assert "never closed" in ours[0]
    assert f"/files/{file_id}/content" in ours[0]
    assert all(issubclass(category, ResourceWarning) for category, _ in seen)
