"""Cursor pagination over a scripted list endpoint."""

from __future__ import annotations

import msgspec

from openai_ergo import Client
from tests.openai_ergo.pipeline.scripted import Recorded, Reply, scripted_server

KEY = "sk-test-SECRET"
FILES = [{"id": f"file-{n:03d}", "bytes": n} for n in range(7)]


class FileObject(msgspec.Struct):
    id: str
    bytes: int


async def _pages_of_three(request: Recorded) -> Reply:
    after = dict(p.split("=") for p in request.target.partition("?")[2].split("&") if p).get(
        "after"
    )
    start = 0 if after is None else next(i for i, f in enumerate(FILES) if f["id"] == after) + 1
    page = FILES[start : start + 3]
    return Reply(json={"object": "list", "data": page, "has_more": start + 3 < len(FILES)})


async def test_items_across_every_page_typed() -> None:
    async with scripted_server() as server, Client(KEY, base_url=server.url) as client:
        server.handler = _pages_of_three
        files = [
            f async for f in client.paginate("/files", query={"limit": 3}, item_type=FileObject)
        ]
    assert [f.id for f in files] == [f["id"] for f in FILES]
    assert isinstance(files[0], FileObject)
    targets = [r.target for r in server.requests]
    assert targets == [
        "/v1/files?limit=3",
        "/v1/files?limit=3&after=file-002",
        "/v1/files?limit=3&after=file-005",
    ]


async def test_pages_hand_out_whole_pages_as_dicts() -> None:
    async with scripted_server() as server, Client(KEY, base_url=server.url) as client:
        server.handler = _pages_of_three
        pages = [page async for page in client.paginate("/files").pages()]
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert [p.has_more for p in pages] == [True, True, False]
    assert pages[0].items[0] == FILES[0]
    assert pages[0].next_after == "file-002"
    assert pages[-1].next_after is None


async def test_a_walk_can_start_after_a_cursor_and_be_repeated() -> None:
    async with scripted_server() as server, Client(KEY, base_url=server.url) as client:
        server.handler = _pages_of_three
        paginator = client.paginate("/files", query={"after": "file-004"})
        first = [f["id"] async for f in paginator]
        second = [f["id"] async for f in paginator]
    assert first == second == ["file-005", "file-006"]


async def test_an_empty_list_ends_at_once() -> None:
    empty = Reply(json={"object": "list", "data": [], "has_more": False})
    async with scripted_server(empty) as server, Client(KEY, base_url=server.url) as client:
        items = [item async for item in client.paginate("/batches")]
    assert items == []
    assert len(server.requests) == 1
