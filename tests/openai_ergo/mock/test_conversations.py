"""Conversations and their items: create with items, retrieve, update, delete; items listed
with the shared pagination, added, retrieved and deleted; a Responses request naming a
conversation reads its items and appends its own; OpenAI's 404/400 for unknown ids and bad
parameters; and the official SDK's own calls.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo.mock import MockOpenAI, MockServer


@pytest.fixture
def app() -> MockOpenAI:
    return MockOpenAI(seed=3)


def _message(text: str, role: str = "user") -> dict[str, Any]:
    return {"type": "message", "role": role, "content": text}


async def _create(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    answer = await http.post("/conversations", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _items(http: httpx.AsyncClient, conversation_id: str, **params: Any) -> dict[str, Any]:
    answer = await http.get(f"/conversations/{conversation_id}/items", params=params)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _texts(items: list[dict[str, Any]]) -> list[str]:
    return [part["text"] for item in items for part in item["content"]]


async def test_a_conversation_is_created_read_updated_and_deleted(
    http: httpx.AsyncClient,
) -> None:
    created = await _create(http, metadata={"topic": "rivers"}, items=[_message("Hello")])
    assert created["id"].startswith("conv_")
    assert created["object"] == "conversation"
    assert created["metadata"] == {"topic": "rivers"}
    assert isinstance(created["created_at"], int)
    path = f"/conversations/{created['id']}"
    assert (await http.get(path)).json() == created
    updated = (await http.post(path, json={"metadata": {"topic": "seas"}})).json()
    assert updated == created | {"metadata": {"topic": "seas"}}
    deleted = (await http.delete(path)).json()
    assert deleted == {"id": created["id"], "object": "conversation.deleted", "deleted": True}
    gone = await http.get(path)
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == f"Conversation with id '{created['id']}' not found."
    assert (await http.get(f"{path}/items")).status_code == 404


async def test_items_are_added_listed_with_the_shared_pagination_and_deleted(
    http: httpx.AsyncClient,
) -> None:
    conversation = await _create(http, items=[_message("one"), _message("two", "assistant")])
    cid = conversation["id"]
    added = await http.post(
        f"/conversations/{cid}/items", json={"items": [_message("three"), _message("four")]}
    )
    assert added.status_code == 200, added.text
    assert _texts(added.json()["data"]) == ["three", "four"]
    assert added.json()["object"] == "list"
    newest = await _items(http, cid, limit=3)
    assert _texts(newest["data"]) == ["four", "three", "two"]
    assert newest["has_more"] is True
    rest = await _items(http, cid, after=newest["last_id"])
    assert _texts(rest["data"]) == ["one"]
    assert rest["has_more"] is False
    oldest = await _items(http, cid, order="asc")
    assert _texts(oldest["data"]) == ["one", "two", "three", "four"]
    second = oldest["data"][1]
    assert second["content"] == [{"type": "output_text", "text": "two"}]
    assert second["status"] == "completed"
    item_path = f"/conversations/{cid}/items/{second['id']}"
    assert (await http.get(item_path)).json() == second
    after_delete = (await http.delete(item_path)).json()
    assert after_delete["id"] == cid
    assert after_delete["object"] == "conversation"
    assert _texts((await _items(http, cid, order="asc"))["data"]) == ["one", "three", "four"]
    missing = await http.get(item_path)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"Item with id '{second['id']}' not found."


async def test_a_response_in_a_conversation_reads_and_extends_its_items(
    http: httpx.AsyncClient,
) -> None:
    conversation = await _create(http, items=[_message("My name is Ada.")])
    cid = conversation["id"]
    first = await http.post(
        "/responses", json={"model": "gpt-5", "input": "What is my name?", "conversation": cid}
    )
    assert first.status_code == 200, first.text
    items = (await _items(http, cid, order="asc"))["data"]
    assert [i["type"] for i in items] == ["message", "message", "message"]
    assert _texts(items[:2]) == ["My name is Ada.", "What is my name?"]
    output = first.json()["output"]
    assert items[2]["id"] == output[0]["id"]
    assert items[2]["role"] == "assistant"
    # The reply depends on the items before it: the same input in a fresh conversation differs
    # from one whose history was changed.
    other = await _create(http, items=[_message("My name is Bob.")])
    second = await http.post(
        "/responses",
        json={"model": "gpt-5", "input": "What is my name?", "conversation": {"id": other["id"]}},
    )
    assert second.json()["output"][0]["content"] != output[0]["content"]


async def test_unknown_ids_and_bad_parameters_are_openai_errors(http: httpx.AsyncClient) -> None:
    not_found: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/conversations/conv_nope", None),
        ("POST", "/conversations/conv_nope", {"metadata": {}}),
        ("DELETE", "/conversations/conv_nope", None),
        ("POST", "/conversations/conv_nope/items", {"items": []}),
        ("GET", "/conversations/conv_nope/items/msg_1", None),
    ]
    for method, path, body in not_found:
        answer = await http.request(method, path, json=body)
        assert answer.status_code == 404, (method, path)
        assert answer.json()["error"]["message"] == "Conversation with id 'conv_nope' not found."
    cid = (await _create(http))["id"]
    bad: list[tuple[str, dict[str, Any], str, str]] = [
        ("/conversations", {"items": "hi"}, "items", "invalid_type"),
        ("/conversations", {"items": [_message("x")] * 21}, "items", "array_above_max_length"),
        ("/conversations", {"items": [3]}, "items[0]", "invalid_type"),
        ("/conversations", {"metadata": {"a": 1}}, "metadata", "invalid_type"),
        (f"/conversations/{cid}", {}, "metadata", "missing_required_parameter"),
        (f"/conversations/{cid}/items", {}, "items", "missing_required_parameter"),
        (f"/conversations/{cid}/items", {"items": None}, "items", "missing_required_parameter"),
    ]
    for path, payload, param, code in bad:
        answer = await http.post(path, json=payload)
        assert answer.status_code == 400, (path, payload)
        error = answer.json()["error"]
        assert (error["param"], error["code"]) == (param, code)
    bad_page = await http.get(f"/conversations/{cid}/items", params={"limit": 0})
    assert bad_page.status_code == 400
    assert bad_page.json()["error"]["param"] == "limit"
    assert (await _items(http, cid))["data"] == []  # nothing was added by the bad requests


async def test_faults_and_the_log_reach_the_conversation_routes(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.fail_next("rate_limit", path="/v1/conversations")
    assert (await http.post("/conversations", json={})).status_code == 429
    cid = (await _create(http))["id"]
    app.fail_next("server_error", path=f"/v1/conversations/{cid}/items")
    assert (await http.get(f"/conversations/{cid}/items")).status_code == 500
    assert [r.path for r in app.requests] == [
        "/v1/conversations",
        "/v1/conversations",
        f"/v1/conversations/{cid}/items",
    ]


async def test_reset_forgets_conversations(app: MockOpenAI, http: httpx.AsyncClient) -> None:
    cid = (await _create(http))["id"]
    app.reset()
    assert (await http.get(f"/conversations/{cid}")).status_code == 404


async def test_the_sdk_runs_conversations_and_items(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    conversation = await sdk.conversations.create(
        metadata={"k": "v"}, items=[{"type": "message", "role": "user", "content": "Hello"}]
    )
    assert conversation.metadata == {"k": "v"}
    assert (await sdk.conversations.retrieve(conversation.id)).id == conversation.id
    updated = await sdk.conversations.update(conversation.id, metadata={"k": "w"})
    assert updated.metadata == {"k": "w"}
    response = await sdk.responses.create(
        model="gpt-5", input="And then?", conversation=conversation.id
    )
    added = await sdk.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user", "content": "Thanks"}]
    )
    assert len(added.data) == 1
    listed = [item async for item in sdk.conversations.items.list(conversation.id, order="asc")]
    assert [item.type for item in listed] == ["message"] * 4
    assert listed[2].id == response.output[0].id
    first_id = listed[0].id
    assert first_id is not None
    one = await sdk.conversations.items.retrieve(first_id, conversation_id=conversation.id)
    assert one.id == first_id
    after = await sdk.conversations.items.delete(first_id, conversation_id=conversation.id)
    assert after.id == conversation.id
    deleted = await sdk.conversations.delete(conversation.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        await sdk.conversations.retrieve(conversation.id)


async def test_a_responses_request_naming_an_unknown_conversation_is_a_404(
    http: httpx.AsyncClient,
) -> None:
    for conversation in ("conv_nope", {"id": "conv_nope"}):
        body = {"model": "gpt-5", "input": "Hi", "conversation": conversation}
        answer = await http.post("/responses", json=body)
        assert answer.status_code == 404
        error = answer.json()["error"]
        assert error["message"] == "Conversation with id 'conv_nope' not found."
        assert (error["type"], error["param"]) == ("invalid_request_error", "conversation")
    # Nothing was started on the way.
    assert (await http.get("/conversations/conv_nope")).status_code == 404
    cid = (await _create(http))["id"]
    assert (await http.delete(f"/conversations/{cid}")).status_code == 200
    gone = await http.post(
        "/responses", json={"model": "gpt-5", "input": "Hi", "conversation": cid}
    )
    assert gone.status_code == 404
