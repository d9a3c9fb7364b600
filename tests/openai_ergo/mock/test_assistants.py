"""Assistants, threads and messages (the Assistants API, beta): create, list, retrieve, update and
delete each; messages in the spec's content shape; OpenAI's 404/400; faults and the log; and
round trips through the official SDK and through our typed methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client
from openai_ergo.mock import MockOpenAI, MockServer
from openai_ergo.types import AssistantObject, MessageObject, ThreadObject

# The SDK marks the whole Assistants API deprecated (in favour of Responses): its calls warn.
pytestmark = pytest.mark.filterwarnings(
    "ignore:(The Assistants API is )?deprecated:DeprecationWarning"
)

LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {
            "type": "object",
            "properties": {"q": {"type": "string"}},
            "required": ["q"],
        },
    },
}


@pytest.fixture
def app() -> MockOpenAI:
    return MockOpenAI()


async def _ok(answer: Any) -> dict[str, Any]:
    response: httpx.Response = await answer
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_an_assistant_is_created_listed_updated_and_deleted(http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4o", "name": "Tutor", "instructions": "Be kind.", "tools": [LOOKUP],
            "metadata": {"k": "v"}, "temperature": 0.5}  # fmt: skip
    created = await _ok(http.post("/assistants", json=body))
    assert created["id"].startswith("asst_")
    assert (created["object"], created["model"], created["name"]) == (
        "assistant", "gpt-4o", "Tutor",
    )  # fmt: skip
    assert (created["instructions"], created["tools"], created["metadata"]) == (
        "Be kind.", [LOOKUP], {"k": "v"},
    )  # fmt: skip
    assert (created["description"], created["temperature"], created["top_p"]) == (None, 0.5, 1.0)
    assert created["response_format"] == "auto"
    second = await _ok(http.post("/assistants", json={"model": "gpt-5"}))
    page = await _ok(http.get("/assistants", params={"limit": 1}))
    assert [a["id"] for a in page["data"]] == [second["id"]]  # newest first
    assert (page["first_id"], page["last_id"], page["has_more"]) == (
        second["id"], second["id"], True,
    )  # fmt: skip
    rest = await _ok(http.get("/assistants", params={"after": second["id"]}))
    assert [a["id"] for a in rest["data"]] == [created["id"]]
    assert rest["has_more"] is False
    path = f"/assistants/{created['id']}"
    assert await _ok(http.get(path)) == created
    updated = await _ok(http.post(path, json={"name": "Coach", "tools": [], "model": "gpt-5"}))
    assert (updated["name"], updated["tools"], updated["model"]) == ("Coach", [], "gpt-5")
    assert (updated["instructions"], updated["metadata"]) == ("Be kind.", {"k": "v"})  # kept
    deleted = await _ok(http.delete(path))
    assert deleted == {"id": created["id"], "object": "assistant.deleted", "deleted": True}
    gone = await http.get(path)
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == f"Assistant with id '{created['id']}' not found."


async def test_a_thread_keeps_its_messages_in_the_specs_content_shape(
    http: httpx.AsyncClient,
) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    messages = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hi"}, image],
         "metadata": {"m": "1"}},
    ]  # fmt: skip
    thread = await _ok(http.post("/threads", json={"messages": messages, "metadata": {"t": "1"}}))
    assert thread["id"].startswith("thread_")
    assert (thread["object"], thread["metadata"], thread["tool_resources"]) == (
        "thread", {"t": "1"}, {},
    )  # fmt: skip
    base = f"/threads/{thread['id']}"
    listed = await _ok(http.get(f"{base}/messages", params={"order": "asc"}))
    first, second = listed["data"]
    assert first["content"] == [{"type": "text", "text": {"value": "Hello", "annotations": []}}]
    assert second["content"] == [
        {"type": "text", "text": {"value": "Hi", "annotations": []}}, image,
    ]  # fmt: skip
    assert (first["object"], first["thread_id"], first["role"], first["status"]) == (
        "thread.message", thread["id"], "user", "completed",
    )  # fmt: skip
    assert (first["run_id"], first["assistant_id"], first["attachments"]) == (None, None, [])
    assert second["metadata"] == {"m": "1"}

    added = await _ok(http.post(f"{base}/messages", json={"role": "user", "content": "More"}))
    newest = await _ok(http.get(f"{base}/messages", params={"limit": 2}))
    assert [m["id"] for m in newest["data"]] == [added["id"], second["id"]]
    older = await _ok(http.get(f"{base}/messages", params={"before": second["id"]}))
    assert [m["id"] for m in older["data"]] == [added["id"]]
    message = f"{base}/messages/{added['id']}"
    assert await _ok(http.get(message)) == added
    updated = await _ok(http.post(message, json={"metadata": {"seen": "yes"}}))
    assert updated["metadata"] == {"seen": "yes"}
    deleted = await _ok(http.delete(message))
    assert deleted == {"id": added["id"], "object": "thread.message.deleted", "deleted": True}
    assert (await http.get(message)).status_code == 404

    assert (await _ok(http.post(base, json={"metadata": {"t": "2"}})))["metadata"] == {"t": "2"}
    assert (await _ok(http.get(base)))["metadata"] == {"t": "2"}
    assert await _ok(http.delete(base)) == {
        "id": thread["id"], "object": "thread.deleted", "deleted": True,
    }  # fmt: skip
    for path in (base, f"{base}/messages", f"{base}/messages/{first['id']}"):
        gone = await http.get(path)
        assert gone.status_code == 404, path
        assert gone.json()["error"]["message"] == f"Thread with id '{thread['id']}' not found."


async def test_unknown_ids_and_bad_parameters_are_openai_errors(http: httpx.AsyncClient) -> None:
    thread = await _ok(http.post("/threads", json={}))
    base = f"/threads/{thread['id']}"
    for method, path in [("GET", "/assistants/asst_nope"), ("POST", "/assistants/asst_nope"),
                         ("DELETE", "/threads/thread_nope"), ("GET", f"{base}/messages/msg_nope"),
                         ("POST", "/threads/thread_nope/messages")]:  # fmt: skip
        answer = await http.request(method, path, json={"role": "user", "content": "x"})
        assert answer.status_code == 404, (method, path)
        assert "nope" in answer.json()["error"]["message"]
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("/assistants", {}, "model"),
        ("/assistants", {"model": 3}, "model"),
        ("/assistants", {"model": "gpt-4o", "name": "x" * 257}, "name"),
        ("/assistants", {"model": "gpt-4o", "tools": [{"type": "browser"}]}, "tools[0].type"),
        ("/assistants", {"model": "gpt-4o", "tools": [{"type": "function"}]},
         "tools[0].function.name"),
        ("/assistants", {"model": "gpt-4o", "temperature": 3}, "temperature"),
        ("/assistants", {"model": "gpt-4o", "response_format": {"type": "xml"}},
         "response_format.type"),
        ("/assistants", {"model": "gpt-4o", "metadata": {"k": 1}}, "metadata"),
        ("/assistants", {"model": "gpt-4o", "reasoning_effort": "huge"}, "reasoning_effort"),
        ("/threads", {"messages": "hi"}, "messages"),
        ("/threads", {"messages": [{"content": "hi"}]}, "messages[0].role"),
        ("/threads", {"messages": [{"role": "system", "content": "hi"}]}, "messages[0].role"),
        ("/threads", {"messages": [{"role": "user", "content": []}]}, "messages[0].content"),
        ("/threads", {"messages": [{"role": "user", "content": [{"type": "audio"}]}]},
         "messages[0].content[0].type"),
        (f"{base}/messages", {"role": "user"}, "content"),
        (f"{base}/messages", {"role": "user", "content": 5}, "content"),
        (f"{base}/messages", {"role": "user", "content": "x", "attachments": [{}]}, "attachments"),
        (base, {"metadata": "x"}, "metadata"),
    ]  # fmt: skip
    for path, body, param in bad:
        answer = await http.post(path, json=body)
        assert answer.status_code == 400, (path, body, answer.text)
        assert answer.json()["error"]["param"] == param, (path, body)
        assert answer.json()["error"]["message"]
    # No bad request kept anything.
    assert (await _ok(http.get("/assistants")))["data"] == []
    assert (await _ok(http.get(f"{base}/messages")))["data"] == []
    bad_page = await http.get(f"{base}/messages", params={"limit": 0})
    assert (bad_page.status_code, bad_page.json()["error"]["param"]) == (400, "limit")


async def test_faults_the_log_and_reset_reach_the_assistant_routes(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.fail_next("rate_limit", path="/v1/assistants")
    assert (await http.post("/assistants", json={"model": "gpt-4o"})).status_code == 429
    thread = await _ok(http.post("/threads", json={}))
    messages = f"/threads/{thread['id']}/messages"
    app.fail_next("server_error", path=messages)
    assert (await http.post(messages, json={"role": "user", "content": "x"})).status_code == 500
    assert [(r.method, r.path) for r in app.requests] == [
        ("POST", "/v1/assistants"), ("POST", "/v1/threads"), ("POST", "/v1" + messages),
    ]  # fmt: skip
    assert (await _ok(http.get(messages)))["data"] == []  # the struck create kept nothing
    app.reset()
    assert (await http.get(f"/threads/{thread['id']}")).status_code == 404


async def test_the_sdk_manages_assistants_threads_and_messages(sdk: AsyncOpenAI) -> None:
    assistant = await sdk.beta.assistants.create(
        model="gpt-4o",
        name="Tutor",
        tools=[LOOKUP],  # type: ignore[list-item]
        metadata={"k": "v"},
    )
    assert assistant.tools[0].type == "function"
    assert [a.id async for a in sdk.beta.assistants.list()] == [assistant.id]
    renamed = await sdk.beta.assistants.update(assistant.id, name="Coach")
    assert (renamed.name, renamed.metadata) == ("Coach", {"k": "v"})
    thread = await sdk.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    message = await sdk.beta.threads.messages.create(
        thread.id, role="user", content=[{"type": "text", "text": "More"}]
    )
    assert message.content[0].type == "text"
    assert message.content[0].text.value == "More"
    listed = [m async for m in sdk.beta.threads.messages.list(thread.id, order="asc")]
    assert [m.content[0].text.value for m in listed if m.content[0].type == "text"] == [
        "Hello", "More",
    ]  # fmt: skip
    updated = await sdk.beta.threads.messages.update(
        message.id, thread_id=thread.id, metadata={"a": "b"}
    )
    assert updated.metadata == {"a": "b"}
    assert (await sdk.beta.threads.messages.delete(message.id, thread_id=thread.id)).deleted
    assert (await sdk.beta.threads.update(thread.id, metadata={"t": "1"})).metadata == {"t": "1"}
    assert (await sdk.beta.threads.retrieve(thread.id)).id == thread.id
    assert (await sdk.beta.threads.delete(thread.id)).deleted is True
    assert (await sdk.beta.assistants.delete(assistant.id)).deleted is True
    with pytest.raises(openai.NotFoundError):
        await sdk.beta.assistants.retrieve(assistant.id)


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        yield client


async def test_our_typed_methods_manage_assistants_threads_and_messages(client: Client) -> None:
    assistant = await client.beta.assistants.create(model="gpt-4o", name="Tutor")
    assert isinstance(assistant, AssistantObject)
    assert (assistant.name, assistant.model) == ("Tutor", "gpt-4o")
    assistant_id = _id(assistant.id)
    assert [a.id async for a in client.beta.assistants.list()] == [assistant_id]
    updated = await client.beta.assistants.update(assistant_id, instructions="Be brief.")
    assert updated.instructions == "Be brief."
    thread = await client.beta.threads.create(metadata={"t": "1"})
    assert isinstance(thread, ThreadObject)
    thread_id = _id(thread.id)
    message = await client.beta.threads.messages.create(thread_id, role="user", content="Hi")
    assert isinstance(message, MessageObject)
    assert message.role == "user"
    message_id = _id(message.id)
    listed = [m async for m in client.beta.threads.messages.list(thread_id)]
    assert [m.id for m in listed] == [message_id]
    fetched = await client.beta.threads.messages.retrieve(thread_id, message_id)
    assert fetched.id == message_id
    assert (await client.beta.threads.messages.delete(thread_id, message_id)).deleted is True
    assert (await client.beta.threads.retrieve(thread_id)).metadata == {"t": "1"}
    assert (await client.beta.threads.delete(thread_id)).deleted is True
    assert (await client.beta.assistants.delete(assistant_id)).deleted is True


def _id(value: str | None) -> str:
    """An object's id, which the generated types leave optional (other servers omit it)."""
    assert value is not None
    return value
