"""Vector stores as a workflow against the mock: create with files, wait for indexing on the
mock's clock, search with typed results, and the Responses `file_search` tool."""

from __future__ import annotations

from pathlib import Path

import pytest

from openai_ergo import InvalidRequestError, WaitTimeoutError
from openai_ergo.mock import MockServer
from openai_ergo.resources import VectorStore, file_search
from openai_ergo.types import FileCitation, FileSearchCall, VectorStoreObject

from .clocks import client_on


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, Path]:
    texts = {
        "nile.txt": "The Nile is the longest river in Africa.",
        "sahara.txt": "The Sahara is the largest hot desert.",
        "amazon.txt": "The Amazon river carries the most water.",
    }
    paths = {}
    for name, text in texts.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


async def test_create_upload_wait_and_search(
    mock_openai: MockServer, corpus: dict[str, Path]
) -> None:
    client, time = client_on(mock_openai)
    mock_openai.app.indexing_seconds = 3
    uploads: dict[str, tuple[int, int | None]] = {}
    readings: list[VectorStoreObject] = []
    async with client:
        store = await (
            client.vector_store("geo")
            .file(corpus["nile.txt"], attributes={"year": 2020})
            .file(corpus["sahara.txt"], attributes={"year": 2024})
            .file(corpus["amazon.txt"], attributes={"year": 2022})
            .upload_progress(lambda name, sent, total: uploads.__setitem__(name, (sent, total)))
        )
        assert isinstance(store, VectorStore)
        assert store.id.startswith("vs_")
        info = await store.wait(timeout=60, progress=readings.append, interval=1, max_interval=1)
        # Indexing takes 3 clock seconds: readings at 0, 1, 2 still in progress, done at 3.
        assert time.sleeps == [1, 1, 1]
        assert [r.file_counts.in_progress for r in readings if r.file_counts] == [3, 3, 3, 0]
        assert info.status == "completed"
        assert info.file_counts is not None
        assert (info.file_counts.completed, info.file_counts.total) == (3, 3)
        sizes = {name: len(path.read_bytes()) for name, path in corpus.items()}
        assert uploads == {name: (size, size) for name, size in sizes.items()}

        page = await store.search("which river").max_results(5)
        assert page.data is not None
        # Cosine of word counts: the shorter text mentioning "river" ranks first.
        assert [hit.filename for hit in page.data] == ["amazon.txt", "nile.txt"]
        best = page.data[0]
        assert best.content is not None
        assert corpus["amazon.txt"].read_text().startswith(best.content[0].text or "-")
        assert best.score is not None
        assert 0 < best.score <= 1

        older = {"type": "lt", "key": "year", "value": 2022}
        filtered = await store.search("which river").filters(older)
        assert [hit.filename for hit in filtered.data or []] == ["nile.txt"]
        assert await store.delete() is True


async def test_wait_times_out_naming_state_and_counts(
    mock_openai: MockServer, corpus: dict[str, Path]
) -> None:
    client, time = client_on(mock_openai)
    mock_openai.app.indexing_seconds = 100
    async with client:
        store = await client.vector_store().files(corpus["nile.txt"], corpus["sahara.txt"])
        with pytest.raises(WaitTimeoutError) as caught:
            await store.wait(timeout=5, interval=1, max_interval=2)
    error = caught.value
    # Waits 1, 1.5, 2, then the 0.5 left: the deadline is met exactly, never overshot.
    assert time.sleeps == [1, 1.5, 2, 0.5]
    assert error.waited == 5
    assert error.state == "in_progress"
    assert error.what == f"vector store {store.id}"
    assert "0 of 2 files indexed, 2 in progress" in str(error)
    assert isinstance(error.last, VectorStoreObject)


async def test_failed_files_are_counted_not_waited_for(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    client, _ = client_on(mock_openai)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 10)
    async with client:
        store = await client.vector_store().files(binary)
        info = await store.wait(timeout=30)
    assert info.file_counts is not None
    assert (info.file_counts.failed, info.file_counts.in_progress) == (1, 0)


async def test_add_and_attach_to_an_existing_store(
    mock_openai: MockServer, corpus: dict[str, Path]
) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        made = await client.vector_stores.create(name="later")
        store = VectorStore(client, made.id or "")
        batch = await store.add_files(corpus["nile.txt"], attributes={"lang": "en"})
        assert batch.file_counts is not None
        assert batch.file_counts.total == 1
        uploaded = await client.files.create(file=corpus["sahara.txt"], purpose="assistants")
        await store.attach(uploaded.id or "")
        info = await store.wait(timeout=30)
        assert info.file_counts is not None
        assert info.file_counts.completed == 2
        english = await store.search("river").filters({"type": "eq", "key": "lang", "value": "en"})
        assert [hit.attributes for hit in english.data or []] == [{"lang": "en"}]


async def test_file_search_tool_answers_with_citations(
    mock_openai: MockServer, corpus: dict[str, Path]
) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        store = await client.vector_store().files(corpus["nile.txt"], corpus["sahara.txt"])
        await store.wait(timeout=30)
        builder = (
            client.responses("gpt-5")
            .tools(store.file_search(max_num_results=3))
            .include("file_search_call.results")
        )
        reply = await builder.input("Which river is the longest?")
        search, message = reply.output
        assert isinstance(search, FileSearchCall)
        assert search.queries == ["Which river is the longest?"]
        assert "longest river in Africa" in reply.output_text
        citations = [
            a
            for part in getattr(message, "content", [])
            for a in getattr(part, "annotations", None) or []
        ]
        # Best first; "the" is enough for the Sahara to be cited second.
        assert [c.filename for c in citations if isinstance(c, FileCitation)] == [
            "nile.txt",
            "sahara.txt",
        ]

        async with builder.input("Which river is the longest?").stream() as stream:
            async for _ in stream:
                pass
        assert stream.final().output_text == reply.output_text


def test_file_search_tool_json(mock_openai: MockServer) -> None:
    client, _ = client_on(mock_openai)
    store = VectorStore(client, "vs_1")
    tool = file_search(
        store,
        "vs_2",
        max_num_results=4,
        filters={"type": "and", "filters": [{"type": "in", "key": "k", "value": ("a", "b")}]},
        score_threshold=0.25,
    )
    assert tool == {
        "type": "file_search",
        "vector_store_ids": ["vs_1", "vs_2"],
        "max_num_results": 4,
        "filters": {"type": "and", "filters": [{"type": "in", "key": "k", "value": ["a", "b"]}]},
        "ranking_options": {"score_threshold": 0.25},
    }


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda c, p: c.vector_store("").name, "name"),
        (lambda c, p: c.vector_store().file(p / "missing.txt"), "file"),
        (lambda c, p: c.vector_store().expires_after(0), "expires_after"),
        (lambda c, p: c.vector_store().chunking(800, 500), "chunk_overlap_tokens"),
        (lambda c, p: c.vector_store().chunking(50), "max_chunk_size_tokens"),
        (lambda c, p: c.vector_store().file(__file__, attributes={"k": [1]}), "attributes"),
        (lambda c, p: VectorStore(c, "vs_1").search(""), "query"),
        (lambda c, p: VectorStore(c, "vs_1").search("q").max_results(51), "max_num_results"),
        (lambda c, p: VectorStore(c, "vs_1").search("q").score_threshold(2), "score_threshold"),
        (
            lambda c, p: VectorStore(c, "vs_1").search("q").filters({"type": "like"}),
            "filters.type",
        ),
        (
            lambda c, p: (
                VectorStore(c, "vs_1")
                .search("q")
                .filters({"type": "or", "filters": [{"type": "eq", "value": 1}]})
            ),
            "filters.filters[0].key",
        ),
        (
            lambda c, p: (
                VectorStore(c, "vs_1").search("q").filters({"type": "in", "key": "k", "value": 3})
            ),
            "filters.value",
        ),
        (lambda c, p: file_search(), "stores"),
        (lambda c, p: file_search("vs_1", max_num_results=0), "max_num_results"),
    ],
)
def test_bad_values_name_the_parameter(
    mock_openai: MockServer, tmp_path: Path, make: object, param: str
) -> None:
    client, _ = client_on(mock_openai)
    with pytest.raises(InvalidRequestError) as caught:
        make(client, tmp_path)  # type: ignore[operator]
    assert caught.value.param == param


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan"), True])
async def test_every_wait_has_a_finite_deadline(mock_openai: MockServer, timeout: float) -> None:
    client, _ = client_on(mock_openai)
    async with client:
        with pytest.raises(InvalidRequestError) as caught:
            await VectorStore(client, "vs_1").wait(timeout=timeout)
    assert caught.value.param == "timeout"


def test_builders_are_immutable(mock_openai: MockServer, corpus: dict[str, Path]) -> None:
    client, _ = client_on(mock_openai)
    base = client.vector_store("a")
    derived = base.file(corpus["nile.txt"]).metadata(team="x")
    assert "nile.txt" not in repr(base)
    assert "nile.txt" in repr(derived)
    search = VectorStore(client, "vs_1").search("q")
    assert search.max_results(3).request_body() == {"query": "q", "max_num_results": 3}
    assert search.request_body() == {"query": "q"}
