"""Vector stores: create, list, retrieve, update, delete; files and file batches indexed on the
mock's clock with file counts and chunking; search with deterministic lexical scores and
attribute filters; OpenAI's 404/400; faults and the log; and the official SDK's own calls.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo.mock import MockOpenAI, MockServer

RIVERS = "The Nile is a long river. Rivers carry water to the sea."
DESERTS = "Deserts are dry. The Sahara is a desert with little water."
MOUNTAINS = "Mountains are tall and cold."


@pytest.fixture
def app() -> MockOpenAI:
    mock = MockOpenAI(indexing_seconds=4.0)
    mock.clock.speed = 0  # time moves only when a test says so
    return mock


async def _file(http: httpx.AsyncClient, name: str, data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    answer = await http.post("/files", data={"purpose": "assistants"}, files={"file": (name, raw)})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


async def _ok(answer: Any) -> dict[str, Any]:
    response: httpx.Response = await answer
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _store_with(
    app: MockOpenAI, http: httpx.AsyncClient, texts: dict[str, tuple[str, dict[str, Any]]]
) -> tuple[str, dict[str, str]]:
    """A store holding one file per text (with its attributes), indexed."""
    store = await _ok(http.post("/vector_stores", json={"name": "docs"}))
    ids = {}
    for name, (text, attributes) in texts.items():
        ids[name] = await _file(http, name, text)
        body = {"file_id": ids[name], "attributes": attributes}
        await _ok(http.post(f"/vector_stores/{store['id']}/files", json=body))
    app.clock.advance(4)
    return str(store["id"]), ids


def _cosine(query: str, text: str) -> float:
    def counts(words: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for word in words.lower().replace(".", " ").split():
            found[word] = found.get(word, 0) + 1
        return found

    q, t = counts(query), counts(text)
    dot = sum(n * t.get(w, 0) for w, n in q.items())
    norm = math.sqrt(sum(n * n for n in q.values())) * math.sqrt(sum(n * n for n in t.values()))
    return round(dot / norm, 6)


async def test_a_vector_store_is_created_listed_updated_and_deleted(
    http: httpx.AsyncClient,
) -> None:
    created = await _ok(http.post("/vector_stores", json={"name": "a", "metadata": {"k": "v"}}))
    assert created["id"].startswith("vs_")
    assert created["object"] == "vector_store"
    assert created["status"] == "completed"
    assert created["file_counts"] == {
        "in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0,
    }  # fmt: skip
    assert created["expires_after"] is None
    second = await _ok(http.post("/vector_stores", json={}))
    listed = await _ok(http.get("/vector_stores", params={"limit": 1}))
    assert [s["id"] for s in listed["data"]] == [second["id"]]
    assert listed["has_more"] is True
    path = f"/vector_stores/{created['id']}"
    assert await _ok(http.get(path)) == created
    expiry = {"anchor": "last_active_at", "days": 2}
    updated = await _ok(http.post(path, json={"name": "b", "expires_after": expiry}))
    assert (updated["name"], updated["metadata"]) == ("b", {"k": "v"})
    assert updated["expires_after"] == expiry
    assert updated["expires_at"] == updated["last_active_at"] + 2 * 86_400
    deleted = await _ok(http.delete(path))
    assert deleted == {"id": created["id"], "object": "vector_store.deleted", "deleted": True}
    gone = await http.get(path)
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == f"Vector store with id '{created['id']}' not found."


async def test_a_store_expires_after_its_idle_days_on_the_clock(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    expiry = {"anchor": "last_active_at", "days": 1}
    store = await _ok(http.post("/vector_stores", json={"expires_after": expiry}))
    app.clock.advance(86_399)
    assert (await _ok(http.get(f"/vector_stores/{store['id']}")))["status"] == "completed"
    app.clock.advance(1)
    assert (await _ok(http.get(f"/vector_stores/{store['id']}")))["status"] == "expired"


async def test_a_file_is_indexed_on_the_clock_with_its_chunking(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    words = " ".join(f"w{i}" for i in range(250))
    file_id = await _file(http, "words.txt", words)
    bad_id = await _file(http, "image.bin", b"\xff\xfe\x00binary")
    store = await _ok(http.post("/vector_stores", json={}))
    files = f"/vector_stores/{store['id']}/files"
    static = {"type": "static", "static": {"max_chunk_size_tokens": 100,
                                           "chunk_overlap_tokens": 50}}  # fmt: skip
    added = await _ok(http.post(files, json={"file_id": file_id, "chunking_strategy": static}))
    assert (added["id"], added["object"], added["status"]) == (
        file_id, "vector_store.file", "in_progress"
    )  # fmt: skip
    assert added["chunking_strategy"] == static
    await _ok(http.post(files, json={"file_id": bad_id}))
    busy = await _ok(http.get(f"/vector_stores/{store['id']}"))
    assert (busy["status"], busy["file_counts"]["in_progress"]) == ("in_progress", 2)
    assert (await _ok(http.get(f"{files}/{file_id}/content")))["data"] == []
    app.clock.advance(3.9)
    assert (await _ok(http.get(f"{files}/{file_id}")))["status"] == "in_progress"
    app.clock.advance(0.1)
    done = await _ok(http.get(f"{files}/{file_id}"))
    assert (done["status"], done["usage_bytes"]) == ("completed", len(words))
    failed = await _ok(http.get(f"{files}/{bad_id}"))
    assert failed["status"] == "failed"
    assert failed["last_error"]["code"] == "unsupported_file"
    now = await _ok(http.get(f"/vector_stores/{store['id']}"))
    assert now["status"] == "completed"
    assert now["file_counts"] == {
        "in_progress": 0, "completed": 1, "failed": 1, "cancelled": 0, "total": 2,
    }  # fmt: skip
    assert now["usage_bytes"] == len(words)
    # 250 words in chunks of 100 overlapping by 50: starts 0, 50, 100, 150.
    chunks = [c["text"] for c in (await _ok(http.get(f"{files}/{file_id}/content")))["data"]]
    assert [c.split()[0] for c in chunks] == ["w0", "w50", "w100", "w150"]
    assert chunks[-1].split()[-1] == "w249"
    assert [f["id"] for f in (await _ok(http.get(files, params={"filter": "failed"})))["data"]] == [
        bad_id
    ]
    updated = await _ok(http.post(f"{files}/{file_id}", json={"attributes": {"year": 2024}}))
    assert updated["attributes"] == {"year": 2024}
    deleted = await _ok(http.delete(f"{files}/{file_id}"))
    assert deleted == {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}
    assert (await http.get(f"/files/{file_id}")).status_code == 200  # the File stays
    assert (await http.get(f"{files}/{file_id}")).status_code == 404


async def test_a_file_batch_completes_or_is_cancelled(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    ids = [await _file(http, f"{n}.txt", text) for n, text in enumerate([RIVERS, DESERTS])]
    store = await _ok(http.post("/vector_stores", json={}))
    batches = f"/vector_stores/{store['id']}/file_batches"
    batch = await _ok(http.post(batches, json={"file_ids": ids, "attributes": {"t": "x"}}))
    assert (batch["object"], batch["status"]) == ("vector_store.files_batch", "in_progress")
    assert batch["id"].startswith("vsfb_")
    assert batch["file_counts"]["in_progress"] == 2
    app.clock.advance(4)
    done = await _ok(http.get(f"{batches}/{batch['id']}"))
    assert (done["status"], done["file_counts"]["completed"]) == ("completed", 2)
    listed = await _ok(http.get(f"{batches}/{batch['id']}/files", params={"order": "asc"}))
    assert [f["id"] for f in listed["data"]] == ids
    assert all(f["attributes"] == {"t": "x"} for f in listed["data"])
    late = await http.post(f"{batches}/{batch['id']}/cancel")
    assert late.status_code == 400
    assert "completed" in late.json()["error"]["message"]

    third = await _file(http, "m.txt", MOUNTAINS)
    files = [{"file_id": third, "attributes": {"t": "y"}}]
    other = await _ok(http.post(batches, json={"files": files}))
    cancelled = await _ok(http.post(f"{batches}/{other['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["file_counts"]["cancelled"] == 1
    app.clock.advance(10)
    again = await _ok(http.get(f"/vector_stores/{store['id']}/files/{third}"))
    assert (again["status"], again["attributes"]) == ("cancelled", {"t": "y"})


async def test_search_ranks_by_lexical_score_and_applies_filters(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    store, ids = await _store_with(app, http, {
        "rivers.txt": (RIVERS, {"kind": "geo", "year": 2020}),
        "deserts.txt": (DESERTS, {"kind": "geo", "year": 2024}),
        "mountains.txt": (MOUNTAINS, {"kind": "other", "year": 2024}),
    })  # fmt: skip
    search = f"/vector_stores/{store}/search"
    found = await _ok(http.post(search, json={"query": "water in the river"}))
    assert found["object"] == "vector_store.search_results.page"
    assert found["search_query"] == ["water in the river"]
    assert [r["filename"] for r in found["data"]] == ["rivers.txt", "deserts.txt"]
    assert [r["score"] for r in found["data"]] == [
        _cosine("water in the river", RIVERS), _cosine("water in the river", DESERTS),
    ]  # fmt: skip
    first = found["data"][0]
    assert first["file_id"] == ids["rivers.txt"]
    assert first["content"] == [{"type": "text", "text": RIVERS.replace(".", "")}]
    assert first["attributes"] == {"kind": "geo", "year": 2020}
    assert await _ok(http.post(search, json={"query": "water in the river"})) == found

    async def names(**body: Any) -> list[str]:
        answer = await _ok(http.post(search, json={"query": "water the are", **body}))
        return [r["filename"] for r in answer["data"]]

    assert await names(max_num_results=1) == ["deserts.txt"]
    assert await names(filters={"type": "eq", "key": "kind", "value": "other"}) == ["mountains.txt"]
    assert await names(filters={"type": "gte", "key": "year", "value": 2024}) == [
        "deserts.txt", "mountains.txt",
    ]  # fmt: skip
    assert await names(filters={"type": "nin", "key": "year", "value": [2024]}) == ["rivers.txt"]
    compound = {"type": "and", "filters": [
        {"type": "eq", "key": "kind", "value": "geo"},
        {"type": "or", "filters": [{"type": "lt", "key": "year", "value": 2021},
                                   {"type": "ne", "key": "kind", "value": "geo"}]},
    ]}  # fmt: skip
    assert await names(filters=compound) == ["rivers.txt"]
    assert await names(filters={"type": "eq", "key": "missing", "value": 1}) == []
    best = _cosine("water the are", DESERTS)
    assert await names(ranking_options={"score_threshold": best}) == ["deserts.txt"]
    # A file still being indexed is not searched.
    late = await _file(http, "late.txt", "water water water")
    await _ok(http.post(f"/vector_stores/{store}/files", json={"file_id": late}))
    assert "late.txt" not in await names()
    app.clock.advance(4)
    assert (await names())[0] == "late.txt"


async def test_unknown_ids_and_bad_parameters_are_openai_errors(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    store, ids = await _store_with(app, http, {"a.txt": (RIVERS, {})})
    base = f"/vector_stores/{store}"
    unknown = [
        ("GET", "/vector_stores/vs_nope"),
        ("POST", "/vector_stores/vs_nope/search"),
        ("GET", f"{base}/files/file-nope"),
        ("GET", f"{base}/file_batches/vsfb_nope"),
    ]
    for method, path in unknown:
        answer = await http.request(method, path, json={"query": "x"})
        assert answer.status_code == 404, (method, path)
        assert "nope" in answer.json()["error"]["message"]
    missing_file = await http.post(f"{base}/files", json={"file_id": "file-nope"})
    assert missing_file.status_code == 404
    assert missing_file.json()["error"]["message"] == "File with id 'file-nope' not found."
    static = {"type": "static", "static": {"max_chunk_size_tokens": 100,
                                           "chunk_overlap_tokens": 60}}  # fmt: skip
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("/vector_stores", {"name": 3}, "name"),
        ("/vector_stores", {"file_ids": "x"}, "file_ids"),
        ("/vector_stores", {"file_ids": ["file-nope"]}, ""),
        ("/vector_stores", {"expires_after": {"anchor": "created_at", "days": 1}},
         "expires_after"),
        ("/vector_stores", {"chunking_strategy": static},
         "chunking_strategy.static.chunk_overlap_tokens"),
        (f"{base}/files", {}, "file_id"),
        (f"{base}/files", {"file_id": ids["a.txt"], "attributes": {"a": [1]}}, "attributes"),
        (f"{base}/files/{ids['a.txt']}", {}, "attributes"),
        (f"{base}/file_batches", {}, "file_ids"),
        (f"{base}/file_batches", {"file_ids": []}, "file_ids"),
        (f"{base}/file_batches", {"files": [{}]}, "files[0].file_id"),
        (f"{base}/search", {}, "query"),
        (f"{base}/search", {"query": []}, "query"),
        (f"{base}/search", {"query": "x", "max_num_results": 51}, "max_num_results"),
        (f"{base}/search", {"query": "x", "filters": {"type": "like", "key": "a", "value": 1}},
         "filters.type"),
        (f"{base}/search", {"query": "x", "filters": {"type": "in", "key": "a", "value": 1}},
         "filters.value"),
        (f"{base}/search", {"query": "x", "filters": {"type": "or", "filters": [{"type": "eq"}]}},
         "filters.filters[0].key"),
        (f"{base}/search", {"query": "x", "ranking_options": {"score_threshold": 2}},
         "ranking_options.score_threshold"),
    ]  # fmt: skip
    for path, body, param in bad:
        answer = await http.post(path, json=body)
        assert answer.status_code in (400, 404), (path, body)
        if param:
            assert answer.status_code == 400, (path, body)
            assert answer.json()["error"]["param"] == param, (path, body)
    stores = await _ok(http.get("/vector_stores"))
    assert [s["id"] for s in stores["data"]] == [store]  # no bad request kept anything
    bad_filter = await http.get(f"{base}/files", params={"filter": "done"})
    assert bad_filter.status_code == 400
    assert bad_filter.json()["error"]["param"] == "filter"


async def test_faults_the_log_and_reset_reach_the_vector_store_routes(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.fail_next("rate_limit", path="/v1/vector_stores")
    assert (await http.post("/vector_stores", json={})).status_code == 429
    store = await _ok(http.post("/vector_stores", json={}))
    search = f"/vector_stores/{store['id']}/search"
    app.fail_next("server_error", path=search)
    assert (await http.post(search, json={"query": "x"})).status_code == 500
    assert [r.path for r in app.requests] == [
        "/v1/vector_stores", "/v1/vector_stores", "/v1" + search,
    ]  # fmt: skip
    app.reset()
    assert (await http.get(f"/vector_stores/{store['id']}")).status_code == 404


async def test_the_sdk_runs_vector_stores_files_batches_and_search(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    mock_openai.app.clock.speed = 0
    file = await sdk.files.create(file=("rivers.txt", RIVERS.encode()), purpose="assistants")
    other = await sdk.files.create(file=("deserts.txt", DESERTS.encode()), purpose="assistants")
    store = await sdk.vector_stores.create(name="docs", metadata={"k": "v"})
    added = await sdk.vector_stores.files.create(
        vector_store_id=store.id, file_id=file.id, attributes={"kind": "river"}
    )
    assert added.status == "in_progress"
    batch = await sdk.vector_stores.file_batches.create(
        vector_store_id=store.id, file_ids=[other.id]
    )
    assert batch.file_counts.in_progress == 1
    mock_openai.app.clock.advance(mock_openai.app.indexing_seconds)
    done = await sdk.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
    assert done.status == "completed"
    batch_files = sdk.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert [f.id async for f in batch_files] == [other.id]
    assert (await sdk.vector_stores.retrieve(store.id)).file_counts.completed == 2
    assert [s.id async for s in sdk.vector_stores.list()] == [store.id]
    assert [f.id async for f in sdk.vector_stores.files.list(store.id, order="asc")] == [
        file.id, other.id,
    ]  # fmt: skip
    results = [r async for r in sdk.vector_stores.search(store.id, query="river water")]
    assert [r.filename for r in results] == ["rivers.txt", "deserts.txt"]
    assert results[0].score > results[1].score
    filtered = sdk.vector_stores.search(
        store.id, query="water", filters={"type": "eq", "key": "kind", "value": "river"}
    )
    assert [r.file_id async for r in filtered] == [file.id]
    content = sdk.vector_stores.files.content(file.id, vector_store_id=store.id)
    assert [c.text async for c in content] == [RIVERS.replace(".", "")]
    updated = await sdk.vector_stores.update(store.id, name="renamed")
    assert updated.name == "renamed"
    await sdk.vector_stores.files.delete(file.id, vector_store_id=store.id)
    assert (await sdk.vector_stores.delete(store.id)).deleted is True
    with pytest.raises(openai.NotFoundError):
        await sdk.vector_stores.retrieve(store.id)
