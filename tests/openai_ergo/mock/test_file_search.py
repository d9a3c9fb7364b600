"""The Responses `file_search` tool answers from the mock's vector stores: the tool rule, the
`file_search_call` item with its queries and (when included) results, the reply quoting the
files it found with `file_citation` annotations, the streamed events in the API's order, 404 and
400 for a bad tool; the official SDK and our client both judge.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client, count_tokens
from openai_ergo.mock import MockOpenAI, MockServer
from openai_ergo.types import (
    FileCitation,
    FileSearchCall,
    FileSearchTool,
    OutputMessage,
    OutputText,
    Response,
)
from tests.openai_ergo.mock.answers import ok

RIVERS = "The Nile is a long river. Rivers carry water to the sea."
DESERTS = "Deserts are dry. The Sahara is a desert with little water."
MOUNTAINS = "Mountains are tall and cold."
QUESTION = "Which river carries water?"


@pytest.fixture
def app() -> MockOpenAI:
    mock = MockOpenAI(seed=5)
    mock.clock.speed = 0  # time moves only when a test says so
    return mock


async def _store(
    app: MockOpenAI, http: httpx.AsyncClient, texts: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """A vector store holding one indexed file per text, with a `name` attribute each."""
    store = (await ok(http.post("/vector_stores", json={"name": "docs"})))["id"]
    ids = {}
    for name, text in texts.items():
        upload = {"file": (name, text.encode())}
        ids[name] = (await ok(http.post("/files", data={"purpose": "assistants"},
                                         files=upload)))["id"]  # fmt: skip
        body = {"file_id": ids[name], "attributes": {"name": name}}
        await ok(http.post(f"/vector_stores/{store}/files", json=body))
    app.clock.advance(app.indexing_seconds)
    return str(store), ids


def _request(store: str, **extra: Any) -> dict[str, Any]:
    tool = {"type": "file_search", "vector_store_ids": [store]}
    return {"model": "gpt-5", "input": QUESTION, "tools": [tool]} | extra


async def test_file_search_answers_from_the_store_with_citations(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    store, ids = await _store(app, http, {
        "rivers.txt": RIVERS, "deserts.txt": DESERTS, "mountains.txt": MOUNTAINS,
    })  # fmt: skip
    body = _request(store, include=["file_search_call.results"])
    response = await ok(http.post("/responses", json=body))
    search, message = response["output"]
    assert search["id"].startswith("fs_")
    assert (search["type"], search["status"], search["queries"]) == (
        "file_search_call", "completed", [QUESTION],
    )  # fmt: skip
    # The same ranking as the store's own search endpoint.
    direct = await ok(http.post(f"/vector_stores/{store}/search", json={"query": QUESTION}))
    assert [(r["file_id"], r["filename"], r["score"], r["text"], r["attributes"])
            for r in search["results"]] == [
        (d["file_id"], d["filename"], d["score"], d["content"][0]["text"], d["attributes"])
        for d in direct["data"]
    ]  # fmt: skip
    assert [r["filename"] for r in search["results"]] == ["rivers.txt", "deserts.txt"]
    [part] = message["content"]
    rivers, deserts = RIVERS.replace(".", ""), DESERTS.replace(".", "")
    assert part["text"] == f"{rivers}. {deserts}."
    assert part["annotations"] == [
        {"type": "file_citation", "file_id": ids["rivers.txt"], "filename": "rivers.txt",
         "index": len(rivers) + 1},
        {"type": "file_citation", "file_id": ids["deserts.txt"], "filename": "deserts.txt",
         "index": len(part["text"])},
    ]  # fmt: skip
    # Without `include`, the call says what it searched for, not what it found.
    plain = await ok(http.post("/responses", json=_request(store)))
    assert plain["output"][0]["results"] is None
    assert plain["output"][1]["content"][0] == part
    # The stored response reads back the same.
    assert (await ok(http.get(f"/responses/{response['id']}")))["output"] == response["output"]


async def test_the_tool_rule_decides_when_the_model_searches(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    store, _ = await _store(app, http, {"rivers.txt": RIVERS})
    search = {"type": "file_search", "vector_store_ids": [store]}
    function = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}

    async def kinds(**body: Any) -> list[str]:
        answer = await ok(http.post("/responses", json={"model": "gpt-5", "input": QUESTION,
                                                         "tools": [search]} | body))  # fmt: skip
        return [item["type"] for item in answer["output"]]

    assert await kinds() == ["file_search_call", "message"]  # the only tool, under auto
    assert await kinds(tool_choice="none") == ["message"]
    assert await kinds(tools=[search, function]) == ["message"]  # not named, not the only one
    named = "Use file_search: which river carries water?"
    assert await kinds(tools=[search, function], input=named) == ["file_search_call", "message"]
    assert await kinds(tools=[function, search], tool_choice={"type": "file_search"}) == [
        "file_search_call", "message",
    ]  # fmt: skip
    assert await kinds(tool_choice="required") == ["file_search_call", "message"]
    assert await kinds(tools=[search, function], tool_choice="required") == ["function_call"]
    after_a_tool = [
        {"role": "user", "content": QUESTION},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
    ]
    assert await kinds(input=after_a_tool) == ["message"]


async def test_filters_limits_scripts_and_token_limits_shape_the_search(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    store, ids = await _store(app, http, {"rivers.txt": RIVERS, "deserts.txt": DESERTS})
    tool = {"type": "file_search", "vector_store_ids": [store],
            "filters": {"type": "eq", "key": "name", "value": "deserts.txt"}}  # fmt: skip
    body = {"model": "gpt-5", "input": QUESTION, "tools": [tool],
            "include": ["file_search_call.results"]}  # fmt: skip
    filtered = await ok(http.post("/responses", json=body))
    assert [r["file_id"] for r in filtered["output"][0]["results"]] == [ids["deserts.txt"]]
    one = await ok(
        http.post(
            "/responses",
            json=_request(
                store,
                include=["file_search_call.results"],
                tools=[{"type": "file_search", "vector_store_ids": [store], "max_num_results": 1}],
            ),
        )
    )
    assert [r["filename"] for r in one["output"][0]["results"]] == ["rivers.txt"]  # fmt: skip
    nothing = await ok(http.post("/responses", json=_request(store, input="zebra")))
    assert nothing["output"][1]["content"][0]["text"] == "I found nothing about that in the files."
    assert nothing["output"][1]["content"][0]["annotations"] == []

    app.reply_with("A scripted answer.")
    scripted = await ok(http.post("/responses", json=_request(store)))
    assert scripted["output"][0]["queries"] == [QUESTION]  # the search still ran
    assert scripted["output"][1]["content"][0] == {
        "type": "output_text", "annotations": [], "logprobs": [], "text": "A scripted answer.",
    }  # fmt: skip

    cut = await ok(http.post("/responses", json=_request(store, max_output_tokens=16)))
    text = cut["output"][1]["content"][0]["text"]
    assert cut["status"] == "incomplete"
    assert cut["usage"]["output_tokens"] == 16
    whole = await ok(http.post("/responses", json=_request(store)))
    whole_text = whole["output"][1]["content"][0]["text"]
    assert whole_text.startswith(text)
    assert count_tokens(text, "gpt-5") == 16 < count_tokens(whole_text, "gpt-5")
    # The first quote fits in 16 tokens, so its citation stays; the second is cut, so its goes.
    assert [a["filename"] for a in cut["output"][1]["content"][0]["annotations"]] == ["rivers.txt"]


async def test_a_bad_tool_is_a_404_or_400_before_anything_is_kept(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    store, _ = await _store(app, http, {"rivers.txt": RIVERS})
    unknown = await http.post("/responses", json=_request("vs_nope"))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Vector store with id 'vs_nope' not found."
    bad: list[tuple[dict[str, Any], str]] = [
        ({"type": "file_search"}, "tools[0].vector_store_ids"),
        ({"type": "file_search", "vector_store_ids": store}, "tools[0].vector_store_ids"),
        ({"type": "file_search", "vector_store_ids": [store], "max_num_results": 51},
         "tools[0].max_num_results"),
        ({"type": "file_search", "vector_store_ids": [store],
          "filters": {"type": "like", "key": "a", "value": 1}}, "tools[0].filters.type"),
        ({"type": "file_search", "vector_store_ids": [store],
          "ranking_options": {"score_threshold": 2}}, "ranking_options.score_threshold"),
    ]  # fmt: skip
    for tool, param in bad:
        answer = await http.post("/responses", json=_request(store, tools=[tool]))
        assert answer.status_code == 400, (tool, answer.text)
        assert answer.json()["error"]["param"] == param
    assert [r.path for r in app.requests].count("/v1/responses") == 6
    assert len(app.store.responses) == 0


async def test_the_stream_sends_the_search_events_in_the_apis_order(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    store, ids = await _store(app, http, {"rivers.txt": RIVERS, "deserts.txt": DESERTS})
    body = _request(store, include=["file_search_call.results"])
    whole = await ok(http.post("/responses", json=body))
    streamed = await http.post("/responses", json=body | {"stream": True})
    events = [json.loads(line[6:]) for line in streamed.text.splitlines()
              if line.startswith("data: ")]  # fmt: skip
    kinds = [e["type"] for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert kinds == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.file_search_call.in_progress",
        "response.file_search_call.searching", "response.file_search_call.completed",
        "response.output_item.done",
        "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.annotation.added", "response.output_text.annotation.added",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]  # fmt: skip
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    added, *progress, done = events[2:7]
    assert added["item"] == {"id": added["item"]["id"], "type": "file_search_call",
                             "status": "in_progress", "queries": [], "results": None}  # fmt: skip
    assert {(e["output_index"], e["item_id"]) for e in progress} == {(0, added["item"]["id"])}
    assert done["item"] == whole["output"][0] | {"id": added["item"]["id"]}
    message = events[7]
    assert message["output_index"] == 1
    annotations = [e for e in events if e["type"] == "response.output_text.annotation.added"]
    assert [(a["annotation_index"], a["annotation"]["file_id"]) for a in annotations] == [
        (0, ids["rivers.txt"]), (1, ids["deserts.txt"]),
    ]  # fmt: skip
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == whole["output"][1]["content"][0]["text"]
    final = events[-1]["response"]
    assert final["output"][1]["content"][0]["annotations"] == [a["annotation"] for a in annotations]


async def test_the_sdk_reads_the_search_and_its_citations(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    app = mock_openai.app
    app.clock.speed = 0
    file = await sdk.files.create(file=("rivers.txt", RIVERS.encode()), purpose="assistants")
    store = await sdk.vector_stores.create(name="docs", file_ids=[file.id])
    app.clock.advance(app.indexing_seconds)
    tools: Any = [{"type": "file_search", "vector_store_ids": [store.id]}]
    response = await sdk.responses.create(
        model="gpt-5", input=QUESTION, tools=tools, include=["file_search_call.results"]
    )
    search, message = response.output
    assert search.type == "file_search_call"
    assert search.queries == [QUESTION]
    assert search.results is not None
    assert [r.file_id for r in search.results] == [file.id]
    assert message.type == "message"
    assert response.output_text == RIVERS.replace(".", "") + "."
    [citation] = message.content[0].annotations  # type: ignore[union-attr]
    assert (citation.type, citation.file_id, citation.filename) == (  # type: ignore[union-attr]
        "file_citation", file.id, "rivers.txt",
    )  # fmt: skip
    async with sdk.responses.stream(model="gpt-5", input=QUESTION, tools=tools) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert "response.file_search_call.searching" in kinds
    assert "response.output_text.annotation.added" in kinds
    assert final.output_text == response.output_text
    unknown: Any = [{"type": "file_search", "vector_store_ids": ["vs_nope"]}]
    with pytest.raises(openai.NotFoundError):
        await sdk.responses.create(model="gpt-5", input=QUESTION, tools=unknown)


async def test_our_client_reads_the_search_and_its_citations(
    mock_openai: MockServer, client: Client
) -> None:
    app = mock_openai.app
    app.clock.speed = 0
    async with httpx.AsyncClient(base_url=mock_openai.url) as http:
        store, ids = await _store(app, http, {"rivers.txt": RIVERS, "deserts.txt": DESERTS})
    tool = {"type": "file_search", "vector_store_ids": [store]}
    typed = await client.responses.create(
        model="gpt-5",
        input=QUESTION,
        tools=[FileSearchTool(vector_store_ids=[store])],
        include=["file_search_call.results"],
    )
    assert isinstance(typed, Response)
    builder = (
        client.responses("gpt-5").input(QUESTION).tools(tool).include("file_search_call.results")
    )
    awaited = await builder
    async with builder.stream() as stream:
        async for _ in stream.text():
            pass
    for response in (awaited, stream.final()):
        search, message = response.output
        assert isinstance(search, FileSearchCall)
        assert search.queries == [QUESTION]
        assert [r["file_id"] for r in search.results or []] == [
            ids["rivers.txt"], ids["deserts.txt"],
        ]  # fmt: skip
        assert isinstance(message, OutputMessage)
        assert isinstance(message.content[0], OutputText)
        citations = message.content[0].annotations
        assert [c.filename for c in citations if isinstance(c, FileCitation)] == [
            "rivers.txt", "deserts.txt",
        ]  # fmt: skip
        assert len(citations) == 2
        assert response.output_text == typed.output_text
