"""Containers and container files: create, list, retrieve, delete; idle expiry and
`last_active_at` on the mock's clock; files uploaded as multipart or copied from a File, their
content streamed; OpenAI's 404/400; faults and the log; the official SDK's own calls and our
typed methods.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client, FileUpload, NotFoundError
from openai_ergo.mock import MockOpenAI, MockServer
from openai_ergo.types import (
    ContainerFileResource,
    ContainerResource,
    CreateContainerBodyExpiresAfter,
)
from tests.openai_ergo.mock.answers import ok

NOTES = b"first line\nsecond line\n"


@pytest.fixture
def app() -> MockOpenAI:
    mock = MockOpenAI()
    mock.clock.speed = 0  # time moves only when a test says so
    return mock


async def _file(http: httpx.AsyncClient, name: str, data: bytes) -> str:
    answer = await http.post("/files", data={"purpose": "user_data"}, files={"file": (name, data)})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


async def test_a_container_is_created_listed_retrieved_and_deleted(
    http: httpx.AsyncClient,
) -> None:
    policy = {"type": "allowlist", "allowed_domains": ["example.com"]}
    created = await ok(
        http.post("/containers", json={"name": "a", "memory_limit": "4g", "network_policy": policy})
    )
    assert created["id"].startswith("cntr_")
    assert (created["object"], created["status"], created["name"]) == ("container", "running", "a")
    assert created["expires_after"] == {"anchor": "last_active_at", "minutes": 20}
    assert created["last_active_at"] == created["created_at"]
    assert (created["memory_limit"], created["network_policy"]) == ("4g", policy)
    second = await ok(http.post("/containers", json={"name": "b"}))
    assert second["memory_limit"] == "1g"
    assert "network_policy" not in second
    third = await ok(http.post("/containers", json={"name": "b"}))
    newest = await ok(http.get("/containers", params={"limit": 2}))
    assert [c["id"] for c in newest["data"]] == [third["id"], second["id"]]
    assert (newest["has_more"], newest["first_id"], newest["last_id"]) == (
        True, third["id"], second["id"],
    )  # fmt: skip
    rest = await ok(http.get("/containers", params={"limit": 2, "after": second["id"]}))
    assert ([c["id"] for c in rest["data"]], rest["has_more"]) == ([created["id"]], False)
    oldest = await ok(http.get("/containers", params={"order": "asc", "before": third["id"]}))
    assert [c["id"] for c in oldest["data"]] == [created["id"], second["id"]]
    named = await ok(http.get("/containers", params={"name": "b"}))
    assert [c["id"] for c in named["data"]] == [third["id"], second["id"]]
    path = f"/containers/{created['id']}"
    assert await ok(http.get(path)) == created
    deleted = await ok(http.delete(path))
    assert deleted == {"id": created["id"], "object": "container.deleted", "deleted": True}
    for method, gone in [("GET", path), ("DELETE", path), ("GET", f"{path}/files")]:
        answer = await http.request(method, gone)
        assert answer.status_code == 404
        message = answer.json()["error"]["message"]
        assert message == f"Container with id '{created['id']}' not found."


async def test_a_container_expires_when_idle_and_using_its_files_keeps_it_running(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    expiry = {"anchor": "last_active_at", "minutes": 2}
    container = await ok(http.post("/containers", json={"name": "c", "expires_after": expiry}))
    path = f"/containers/{container['id']}"
    app.clock.advance(100)
    # Reading the container is not using it; listing its files is.
    assert (await ok(http.get(path)))["last_active_at"] == container["created_at"]
    await ok(http.get(f"{path}/files"))
    used = await ok(http.get(path))
    assert used["last_active_at"] == container["created_at"] + 100
    app.clock.advance(119)
    assert (await ok(http.get(path)))["status"] == "running"
    app.clock.advance(1)
    expired = await ok(http.get(path))
    assert expired["status"] == "expired"
    assert expired["last_active_at"] == container["created_at"] + 100
    refused = await http.post(f"{path}/files", files={"file": ("a.txt", b"x")})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "container_id"
    assert "expired" in refused.json()["error"]["message"]
    assert (await ok(http.get(path)))["status"] == "expired"  # a refused use is no use


async def test_container_files_come_from_uploads_or_files_and_stream_back(
    http: httpx.AsyncClient,
) -> None:
    file_id = await _file(http, "notes.txt", NOTES)
    container = await ok(http.post("/containers", json={"name": "c", "file_ids": [file_id]}))
    files = f"/containers/{container['id']}/files"
    copied = (await ok(http.get(files)))["data"]
    assert [(f["path"], f["bytes"], f["source"]) for f in copied] == [
        ("/mnt/data/notes.txt", len(NOTES), "user"),
    ]  # fmt: skip
    big = bytes(range(256)) * 1024  # 256 KiB: several download chunks
    uploaded = await ok(http.post(files, files={"file": ("data.bin", big)}))
    assert uploaded["id"].startswith("cfile_")
    assert uploaded == {
        "id": uploaded["id"], "object": "container.file", "created_at": uploaded["created_at"],
        "bytes": len(big), "container_id": container["id"], "path": "/mnt/data/data.bin",
        "source": "user",
    }  # fmt: skip
    by_id = await ok(http.post(files, json={"file_id": file_id}))
    assert (by_id["path"], by_id["bytes"]) == ("/mnt/data/notes.txt", len(NOTES))
    await ok(http.delete(f"/files/{file_id}"))  # the container keeps its copy
    download = await http.get(f"{files}/{uploaded['id']}/content")
    assert download.status_code == 200
    assert download.content == big
    assert download.headers["content-disposition"] == 'attachment; filename="data.bin"'
    assert (await http.get(f"{files}/{by_id['id']}/content")).content == NOTES
    listed = await ok(http.get(files, params={"limit": 2}))
    assert [f["id"] for f in listed["data"]] == [by_id["id"], uploaded["id"]]
    assert listed["has_more"] is True
    assert await ok(http.get(f"{files}/{uploaded['id']}")) == uploaded
    deleted = await ok(http.delete(f"{files}/{uploaded['id']}"))
    assert deleted == {"id": uploaded["id"], "object": "container.file.deleted", "deleted": True}
    for method, gone in [("GET", f"{files}/{uploaded['id']}"),
                         ("GET", f"{files}/{uploaded['id']}/content")]:  # fmt: skip
        answer = await http.request(method, gone)
        assert answer.status_code == 404
        assert answer.json()["error"]["param"] == "file_id"
    assert len((await ok(http.get(files)))["data"]) == 2


async def test_unknown_ids_and_bad_parameters_are_openai_errors(http: httpx.AsyncClient) -> None:
    container = await ok(http.post("/containers", json={"name": "c"}))
    files = f"/containers/{container['id']}/files"
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("/containers", {}, "name"),
        ("/containers", {"name": 3}, "name"),
        ("/containers", {"name": "x", "memory_limit": "2g"}, "memory_limit"),
        ("/containers", {"name": "x", "expires_after": {"anchor": "created_at", "minutes": 1}},
         "expires_after.anchor"),
        ("/containers", {"name": "x", "expires_after": {"anchor": "last_active_at",
                                                        "minutes": 0}}, "expires_after.minutes"),
        ("/containers", {"name": "x", "network_policy": {"type": "open"}}, "network_policy.type"),
        ("/containers", {"name": "x", "network_policy": {"type": "allowlist"}},
         "network_policy.allowed_domains"),
        ("/containers", {"name": "x", "file_ids": "file-1"}, "file_ids"),
        (files, {}, "file_id"),
        (files, {"file_id": 7}, "file_id"),
    ]  # fmt: skip
    for path, body, param in bad:
        answer = await http.post(path, json=body)
        assert answer.status_code == 400, (path, body, answer.text)
        assert answer.json()["error"]["param"] == param, (path, body)
    unknown = [
        ("POST", "/containers", {"name": "x", "file_ids": ["file-nope"]}),
        ("GET", "/containers/cntr_nope", None),
        ("GET", "/containers/cntr_nope/files/cfile_nope/content", None),
        ("POST", files, {"file_id": "file-nope"}),
        ("GET", f"{files}/cfile_nope", None),
        ("DELETE", f"{files}/cfile_nope", None),
    ]
    for method, path, json_body in unknown:
        answer = await http.request(method, path, json=json_body)
        assert answer.status_code == 404, (method, path)
        assert "nope" in answer.json()["error"]["message"]
    not_json = await http.post(files, content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    no_file = await http.post(files, files={"other": ("a.txt", b"x")})
    assert no_file.status_code == 400
    assert no_file.json()["error"]["param"] == "file"
    bad_limit = await http.get("/containers", params={"limit": 0})
    assert bad_limit.json()["error"]["param"] == "limit"
    assert [c["id"] for c in (await ok(http.get("/containers")))["data"]] == [container["id"]]
    assert (await ok(http.get(files)))["data"] == []  # no bad request kept anything


async def test_faults_the_log_and_reset_reach_the_container_routes(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.fail_next("rate_limit", path="/v1/containers")
    assert (await http.post("/containers", json={"name": "c"})).status_code == 429
    container = await ok(http.post("/containers", json={"name": "c"}))
    files = f"/containers/{container['id']}/files"
    app.fail_next("server_error", path=files)
    assert (await http.post(files, files={"file": ("a.txt", b"x")})).status_code == 500
    assert [(r.method, r.path) for r in app.requests] == [
        ("POST", "/v1/containers"), ("POST", "/v1/containers"), ("POST", "/v1" + files),
    ]  # fmt: skip
    assert app.requests[1].body == {"name": "c"}
    app.reset()
    assert (await http.get(f"/containers/{container['id']}")).status_code == 404


async def test_the_sdk_runs_containers_and_their_files(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    mock_openai.app.clock.speed = 0
    file = await sdk.files.create(file=("notes.txt", NOTES), purpose="user_data")
    container = await sdk.containers.create(
        name="sdk", file_ids=[file.id], expires_after={"anchor": "last_active_at", "minutes": 5}
    )
    assert (container.status, container.expires_after and container.expires_after.minutes) == (
        "running", 5,
    )  # fmt: skip
    uploaded = await sdk.containers.files.create(container.id, file=("up.txt", b"uploaded"))
    assert (uploaded.path, uploaded.bytes) == ("/mnt/data/up.txt", 8)
    by_id = await sdk.containers.files.create(container.id, file_id=file.id)
    assert by_id.container_id == container.id
    listed = [f.id async for f in sdk.containers.files.list(container.id, order="asc")]
    assert len(listed) == 3
    assert listed[1:] == [uploaded.id, by_id.id]
    content = await sdk.containers.files.content.retrieve(uploaded.id, container_id=container.id)
    assert content.content == b"uploaded"
    retrieved = await sdk.containers.files.retrieve(by_id.id, container_id=container.id)
    assert retrieved.bytes == len(NOTES)
    await sdk.containers.files.delete(by_id.id, container_id=container.id)
    assert [c.id async for c in sdk.containers.list(name="sdk")] == [container.id]
    mock_openai.app.clock.advance(300)
    assert (await sdk.containers.retrieve(container.id)).status == "expired"
    await sdk.containers.delete(container.id)
    with pytest.raises(openai.NotFoundError):
        await sdk.containers.retrieve(container.id)


async def test_our_typed_methods_run_containers_and_their_files(
    mock_openai: MockServer, client: Client
) -> None:
    mock_openai.app.clock.speed = 0
    file_id = await _upload(mock_openai, "notes.txt", NOTES)
    container = await client.containers.create(
        name="typed",
        expires_after=CreateContainerBodyExpiresAfter(anchor="last_active_at", minutes=1),
    )
    assert isinstance(container, ContainerResource)
    assert (container.status, container.name) == ("running", "typed")
    assert container.expires_after is not None
    assert container.expires_after.minutes == 1
    added = await client.containers.files.create(container.id or "", file_id=file_id)
    assert isinstance(added, ContainerFileResource)
    assert (added.path, added.bytes) == ("/mnt/data/notes.txt", len(NOTES))
    # A file given goes as multipart, streamed from its source; a file id alone goes as JSON.
    streamed = await client.containers.files.create(
        container.id or "", file=FileUpload(b"from our client", filename="ours.txt")
    )
    assert (streamed.path, streamed.bytes) == ("/mnt/data/ours.txt", len(b"from our client"))
    body = await client.containers.files.content(container.id or "", streamed.id or "")
    assert await body.read() == b"from our client"
    await client.containers.files.delete(container.id or "", streamed.id or "")
    files = [f async for f in client.containers.files.list(container.id or "")]
    assert [f.id for f in files] == [added.id]
    assert await client.containers.files.retrieve(container.id or "", added.id or "") == added
    content = await client.containers.files.content(container.id or "", added.id or "")
    assert await content.read() == NOTES
    assert [c.id async for c in client.containers.list(name="typed")] == [container.id]
    mock_openai.app.clock.advance(60)
    assert (await client.containers.retrieve(container.id or "")).status == "expired"
    await client.containers.delete(container.id or "")
    with pytest.raises(NotFoundError):
        await client.containers.retrieve(container.id or "")


async def _upload(server: MockServer, name: str, data: bytes) -> str:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await _file(http, name, data)
