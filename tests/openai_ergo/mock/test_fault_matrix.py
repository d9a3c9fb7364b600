"""Every fault, chosen both ways: per request by the `x-mock-fault` header, and ahead of time on
the server (`fail_next`). Raw HTTP over loopback, so each fault shows on the wire as it is
documented; what our client makes of each is in test_builder_faults.py.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import get_args

import httpx
import pytest

from openai_ergo.mock import Fault, FaultKind, MockServer

CHAT = "/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
STREAM = {**BODY, "stream": True}
#: A read timeout short enough for a fast file, long enough for a busy 2-core machine.
SILENCE = 0.25

Probe = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[None]]


async def _status(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await http.post(CHAT, json=BODY, headers=headers)


async def _events(http: httpx.AsyncClient, headers: dict[str, str], into: list[str]) -> None:
    """Every `data:` payload of a chat stream, until it ends or breaks (the caller sees how)."""
    timeout = httpx.Timeout(5.0, read=SILENCE)
    request = http.build_request("POST", CHAT, json=STREAM, headers=headers, timeout=timeout)
    response = await http.send(request, stream=True)
    try:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                into.append(line.removeprefix("data: "))
    finally:
        await response.aclose()


async def rate_limit(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _status(http, headers)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert int(response.headers["x-ratelimit-limit-requests"]) > 0
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


async def server_error(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _status(http, headers)
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "server_error"


async def html(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _status(http, headers)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def hang(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await http.post(CHAT, json=BODY, headers=headers, timeout=httpx.Timeout(5, read=SILENCE))


async def idle(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    received: list[str] = []
    with pytest.raises(httpx.ReadTimeout):
        await _events(http, headers, received)
    assert len(received) == 2


async def disconnect(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        await _events(http, headers, received)
    assert len(received) == 2
    assert all(json.loads(data)["object"] == "chat.completion.chunk" for data in received)


async def malformed(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    received: list[str] = []
    await _events(http, headers, received)
    with pytest.raises(json.JSONDecodeError):
        json.loads(received[2])
    assert [json.loads(data)["object"] for data in received[:2]] == ["chat.completion.chunk"] * 2
    assert received[-1] == "[DONE]"


async def error_event(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    received: list[str] = []
    await _events(http, headers, received)
    assert len(received) == 3
    assert json.loads(received[-1])["error"]["code"] == "server_error"


#: Each fault: its header form, the same fault built in code, and what the wire shows.
FAULTS: dict[str, tuple[str, Fault, Probe]] = {
    "rate_limit": ("rate_limit", Fault.rate_limit(), rate_limit),
    "server_error": ("server_error; status=503", Fault.server_error(503), server_error),
    "html": ("html", Fault.html(), html),
    "hang": ("hang", Fault.hang(), hang),
    "idle": ("idle; after=2", Fault.idle(after=2), idle),
    "disconnect": ("disconnect; after=2", Fault.disconnect(after=2), disconnect),
    "malformed": ("malformed; after=2", Fault.malformed(after=2), malformed),
    "error_event": ("error_event; after=2", Fault.error_event(after=2), error_event),
}


def test_the_table_covers_every_fault_kind() -> None:
    assert set(FAULTS) == set(get_args(FaultKind))
    for header, fault, _ in FAULTS.values():
        assert Fault.parse(header).kind == fault.kind


@pytest.fixture
async def http(mock_openai: MockServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mock_openai.url, timeout=5.0) as client:
        yield client


@pytest.mark.parametrize("kind", list(FAULTS))
async def test_a_fault_chosen_by_header_strikes_that_request_only(
    mock_openai: MockServer, http: httpx.AsyncClient, kind: str
) -> None:
    header, _, probe = FAULTS[kind]
    await probe(http, {"x-mock-fault": header})
    assert (await _status(http, {})).status_code == 200
    assert len(mock_openai.requests) == 2


@pytest.mark.parametrize("kind", list(FAULTS))
async def test_a_fault_armed_on_the_server_strikes_the_next_request_only(
    mock_openai: MockServer, http: httpx.AsyncClient, kind: str
) -> None:
    _, fault, probe = FAULTS[kind]
    mock_openai.fail_next(fault, path=CHAT)
    assert (await http.get("/models")).status_code == 200  # another path: not struck
    await probe(http, {})
    assert (await _status(http, {})).status_code == 200
    assert len(mock_openai.requests) == 3


# -- every route, not only the model endpoints ------------------------------------------------


async def _whole_body_fault(
    http: httpx.AsyncClient, method: str, path: str, kind: str, body: dict[str, object] | None
) -> None:
    """What each fault looks like on a route that answers a whole JSON (or file) body."""
    timeout = httpx.Timeout(5.0, read=SILENCE)
    send = http.request(method, path, json=body, timeout=timeout)
    if kind in ("hang", "idle"):
        with pytest.raises(httpx.ReadTimeout):
            await send
        return
    if kind == "disconnect":
        with pytest.raises(httpx.RemoteProtocolError):
            await send
        return
    response = await send
    expected = {"rate_limit": 429, "server_error": 503, "html": 502, "error_event": 500}
    assert response.status_code == expected.get(kind, 200)
    if kind == "malformed" and response.headers["content-type"] == "image/png":
        assert not response.content.endswith(b"IEND\xaeB`\x82")  # a PNG cut short
    elif kind == "malformed" and response.headers["content-type"] == "audio/wav":
        (declared,) = struct.unpack("<I", response.content[4:8])  # a WAV cut short
        assert len(response.content) < declared + 8
    elif kind == "malformed":
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)


Target = tuple[str, str, "dict[str, object] | None"]


async def _stored_response(http: httpx.AsyncClient) -> str:
    return str((await http.post("/responses", json={"model": "gpt-5", "input": "Hi"})).json()["id"])


async def _file(http: httpx.AsyncClient, data: bytes) -> str:
    files = {"file": ("in.jsonl", data)}
    return str((await http.post("/files", data={"purpose": "batch"}, files=files)).json()["id"])


async def _target(route: str, http: httpx.AsyncClient, server: MockServer) -> Target:
    """The request a route's fault strikes, after making what it needs."""
    if route in ("GET response", "DELETE response"):
        return route.split()[0], f"/responses/{await _stored_response(http)}", None
    if route == "POST chat update":
        chat = (await http.post(CHAT, json={**BODY, "store": True})).json()
        return "POST", f"{CHAT}/{chat['id']}", {"metadata": {"a": "b"}}
    if route == "GET file content":
        return "GET", f"/files/{await _file(http, b'{}' * 10)}/content", None
    if route == "GET batch":
        line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": BODY}
        created = await http.post(
            "/batches",
            json={"input_file_id": await _file(http, json.dumps(line).encode()),
                  "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        )  # fmt: skip
        return "GET", f"/batches/{created.json()['id']}", None
    if route.startswith("conversation"):
        item = {"type": "message", "role": "user", "content": "Hi"}
        created = (await http.post("/conversations", json={"items": [item]})).json()
        conversation = f"/conversations/{created['id']}"
        if route == "conversation items":
            return "GET", f"{conversation}/items", None
        return "POST", conversation, {"metadata": {"a": "b"}}
    if route.startswith("vector store"):
        store = (await http.post("/vector_stores", json={})).json()["id"]
        if route == "vector store search":
            return "POST", f"/vector_stores/{store}/search", {"query": "hi"}
        body = {"file_ids": [await _file(http, b"words")]}
        batch = (await http.post(f"/vector_stores/{store}/file_batches", json=body)).json()
        return "GET", f"/vector_stores/{store}/file_batches/{batch['id']}", None
    if route == "assistant update":
        assistant = (await http.post("/assistants", json={"model": "gpt-4o"})).json()
        return "POST", f"/assistants/{assistant['id']}", {"name": "Tutor"}
    if route == "thread messages":
        thread = (await http.post("/threads", json={"messages": [BODY["messages"][0]]})).json()
        return "GET", f"/threads/{thread['id']}/messages", None
    if route.startswith("run"):
        assistant = (await http.post("/assistants", json={"model": "gpt-4o"})).json()
        run = (await http.post("/threads/runs", json={"assistant_id": assistant["id"]})).json()
        path = f"/threads/{run['thread_id']}/runs/{run['id']}"
        return "GET", path + ("/steps" if route == "run steps" else ""), None
    if route.startswith("container"):
        files = {"file": ("notes.txt", b"some notes")}
        container = (await http.post("/containers", json={"name": "c"})).json()["id"]
        made = (await http.post(f"/containers/{container}/files", files=files)).json()["id"]
        if route == "container file content":
            return "GET", f"/containers/{container}/files/{made}/content", None
        return "DELETE", f"/containers/{container}/files/{made}", None
    if route.startswith("fine-tuning"):
        example = {"messages": [{"role": "user", "content": "Hi"},
                                {"role": "assistant", "content": "Hello"}]}  # fmt: skip
        files = {"file": ("train.jsonl", (json.dumps(example) + "\n").encode() * 10)}
        uploaded = await http.post("/files", data={"purpose": "fine-tune"}, files=files)
        create = {"model": "gpt-4o-mini", "training_file": uploaded.json()["id"]}
        job = (await http.post("/fine_tuning/jobs", json=create)).json()["id"]
        if route == "fine-tuning events":
            return "GET", f"/fine_tuning/jobs/{job}/events", None
        return "GET", f"/fine_tuning/jobs/{job}", None
    if route == "file search response":
        store = (await http.post("/vector_stores", json={})).json()["id"]
        tool = {"type": "file_search", "vector_store_ids": [store]}
        return "POST", "/responses", {"model": "gpt-5", "input": "Hi", "tools": [tool]}
    if route == "POST image generation":
        return "POST", "/images/generations", {"prompt": "An otter", "model": "gpt-image-1"}
    if route == "GET image url":
        made = await http.post("/images/generations", json={"prompt": "An otter"})
        return "GET", made.json()["data"][0]["url"].split("/v1", 1)[1], None
    if route == "GET voice consents":
        return "GET", "/audio/voice_consents", None
    if route == "POST speech":
        return "POST", "/audio/speech", {"model": "tts-1", "voice": "alloy", "input": "Hi"}
    if route == "DELETE model":
        server.app.add_model("ft:gpt-4o:acme::x1")
        return "DELETE", "/models/ft:gpt-4o:acme::x1", None
    upload: dict[str, object] = {
        "filename": "x.txt", "purpose": "assistants", "bytes": 3, "mime_type": "text/plain"
    }  # fmt: skip
    project: dict[str, object] = {"name": "Project X"}
    return {"GET chat list": ("GET", CHAT, None), "GET files": ("GET", "/files", None),
            "POST upload": ("POST", "/uploads", upload),
            # A sample of the routes the generic handler answers from the spec's examples.
            "generic retrieve": ("GET", "/evals/eval_1", None),
            "generic create": ("POST", "/organization/projects", project),
            "generic binary": ("GET", "/videos/video_1/content", None)}[route]  # fmt: skip


ROUTES = ["GET response", "DELETE response", "GET chat list", "POST chat update",
          "GET files", "GET file content", "POST upload", "GET batch", "DELETE model",
          "conversation update", "conversation items", "vector store search",
          "vector store file batch", "assistant update", "thread messages", "run retrieve",
          "run steps", "container file content", "container file delete",
          "fine-tuning job", "fine-tuning events", "file search response",
          "POST image generation", "GET image url",
          "POST speech", "GET voice consents", "generic retrieve", "generic create",
          "generic binary"]  # fmt: skip


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("kind", list(FAULTS))
async def test_every_fault_reaches_the_stored_resource_routes(
    mock_openai: MockServer, http: httpx.AsyncClient, route: str, kind: str
) -> None:
    method, path, body = await _target(route, http, mock_openai)
    _, fault, _ = FAULTS[kind]
    mock_openai.fail_next(fault, path=path)
    before = len(mock_openai.requests)
    await _whole_body_fault(http, method, path, kind, body)
    assert mock_openai.requests[before].path == "/v1" + path
    assert mock_openai.requests[before].method == method
    # Struck once: the same request now goes through. A fault that acts on the body came
    # after the handler ran, so a delete was done then and the second one finds nothing.
    again = await http.request(method, path, json=body)
    ran = kind in ("idle", "disconnect", "malformed", "error_event")
    assert again.status_code == (404 if method == "DELETE" and ran else 200)
