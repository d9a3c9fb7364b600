"""The mock's memory: stored Responses (retrieve, streamed replay, delete, cancel, input items,
compact, background mode on the mock's clock, follow-ups that carry state) and stored chat
completions (list by model and metadata, retrieve, update, delete, messages), with one
pagination, faults and the request log on every route, and a reset that forgets it all.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import BadRequestError, Client
from openai_ergo.mock import MockOpenAI, MockServer
from tests.openai_ergo.mock.sse import frames

USER = [{"role": "user", "content": "Tell me about rivers."}]


@pytest.fixture
def app() -> MockOpenAI:
    return MockOpenAI(seed=5, background_seconds=10.0)


async def _respond(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    answer = await http.post("/responses", json={"model": "gpt-5", **body})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _chat(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    answer = await http.post("/chat/completions", json={"model": "gpt-4o", **body})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


# -- stored responses -----------------------------------------------------------------------------


async def test_a_stored_response_reads_back_and_deletes(http: httpx.AsyncClient) -> None:
    created = await _respond(http, input="Hi", metadata={"run": "1"})
    again = (await http.get(f"/responses/{created['id']}")).json()
    assert again == created
    deleted = await http.delete(f"/responses/{created['id']}")
    assert deleted.json() == {"id": created["id"], "object": "response.deleted", "deleted": True}
    gone = await http.get(f"/responses/{created['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == f"Response with id '{created['id']}' not found."
    assert (await http.delete(f"/responses/{created['id']}")).status_code == 404


async def test_store_false_keeps_nothing(http: httpx.AsyncClient) -> None:
    created = await _respond(http, input="Hi", store=False)
    assert created["store"] is False
    assert (await http.get(f"/responses/{created['id']}")).status_code == 404


async def test_a_streamed_retrieve_replays_the_stream_from_where_asked(
    http: httpx.AsyncClient,
) -> None:
    body = {"model": "gpt-5", "input": "Hi", "stream": True}
    events = [f.json() for f in frames((await http.post("/responses", json=body)).text)]
    response_id = events[0]["response"]["id"]
    replay = await http.get(f"/responses/{response_id}", params={"stream": "true"})
    assert replay.headers["content-type"].startswith("text/event-stream")
    assert [f.json() for f in frames(replay.text)] == events
    later = await http.get(
        f"/responses/{response_id}", params={"stream": "true", "starting_after": "3"}
    )
    tail = [f.json() for f in frames(later.text)]
    assert tail == events[4:]
    assert tail[0]["sequence_number"] == 4


async def test_input_items_are_listed_with_ids_newest_first(http: httpx.AsyncClient) -> None:
    conversation = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "3"}]},
    ]
    created = await _respond(http, input=conversation)
    listed = (await http.get(f"/responses/{created['id']}/input_items")).json()
    texts = [item["content"][0]["text"] for item in listed["data"]]
    assert texts == ["3", "two", "one"]
    assert listed["data"][1]["content"][0]["type"] == "output_text"
    assert all(item["id"].startswith("msg_") for item in listed["data"])
    assert listed["first_id"] == listed["data"][0]["id"]
    assert listed["has_more"] is False
    first = (await http.get(f"/responses/{created['id']}/input_items?order=asc&limit=1")).json()
    assert [item["content"][0]["text"] for item in first["data"]] == ["one"]
    assert first["has_more"] is True


async def test_background_mode_runs_on_the_mock_clock(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.clock.speed = 0  # only advance() moves it: no real time passes for the state machine
    created = await _respond(http, input="Hi", background=True)
    assert created["status"] == "queued"
    assert created["background"] is True
    assert created["output"] == []

    async def status() -> str:
        return str((await http.get(f"/responses/{created['id']}")).json()["status"])

    app.clock.advance(4.9)
    assert await status() == "queued"
    app.clock.advance(0.2)
    assert await status() == "in_progress"
    app.clock.advance(5)
    done = (await http.get(f"/responses/{created['id']}")).json()
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["text"]
    # Cancelling a finished response leaves it as it is.
    assert (await http.post(f"/responses/{created['id']}/cancel")).json()["status"] == "completed"


async def test_a_background_response_can_be_cancelled_only(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.clock.speed = 0
    created = await _respond(http, input="Hi", background=True)
    cancelled = await http.post(f"/responses/{created['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    app.clock.advance(60)
    assert (await http.get(f"/responses/{created['id']}")).json()["status"] == "cancelled"
    foreground = await _respond(http, input="Hi")
    refused = await http.post(f"/responses/{foreground['id']}/cancel")
    assert refused.status_code == 400
    assert "background" in refused.json()["error"]["message"]
    unstored = await http.post(
        "/responses", json={"model": "gpt-5", "input": "x", "background": True, "store": False}
    )
    assert unstored.status_code == 400
    assert unstored.json()["error"]["param"] == "background"


async def test_a_follow_up_carries_the_previous_response_into_its_reply(
    http: httpx.AsyncClient,
) -> None:
    first = await _respond(http, input="Hi")
    fresh = await _respond(http, input="And then?")
    follow = await _respond(http, input="And then?", previous_response_id=first["id"])
    assert follow["previous_response_id"] == first["id"]
    assert follow["output"][0]["content"] != fresh["output"][0]["content"]
    again = await _respond(http, input="And then?", previous_response_id=first["id"])
    assert again["output"][0]["content"] == follow["output"][0]["content"]
    missing = await http.post(
        "/responses",
        json={"model": "gpt-5", "input": "x", "previous_response_id": "resp_nope"},
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["param"] == "previous_response_id"
    both = await http.post(
        "/responses",
        json={"model": "gpt-5", "input": "x", "previous_response_id": first["id"],
              "conversation": "conv_1"},
    )  # fmt: skip
    assert both.status_code == 400


async def test_a_conversation_accumulates_its_turns(http: httpx.AsyncClient) -> None:
    first = (await http.post("/conversations", json={})).json()["id"]
    second = (await http.post("/conversations", json={})).json()["id"]
    one = await _respond(http, input="Same words", conversation=first)
    two = await _respond(http, input="Same words", conversation=first)
    other = await _respond(http, input="Same words", conversation={"id": second})
    text = [r["output"][0]["content"][0]["text"] for r in (one, two, other)]
    assert text[0] != text[1]  # the second turn sees the first
    assert text[0] == text[2]  # a new conversation starts afresh


async def test_compact_keeps_the_user_items_and_one_opaque_item(http: httpx.AsyncClient) -> None:
    first = await _respond(http, input="Summarize the plan")
    compacted = await http.post(
        "/responses/compact",
        json={"model": "gpt-5", "previous_response_id": first["id"], "input": "and more"},
    )
    body = compacted.json()
    assert body["object"] == "response.compaction"
    kinds = [item["type"] for item in body["output"]]
    assert kinds == ["message", "message", "compaction"]
    assert body["usage"]["total_tokens"] > 0
    missing = await http.post("/responses/compact", json={"model": "gpt-5"})
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "input"


async def test_input_tokens_count_what_the_answer_reports(app: MockOpenAI) -> None:
    body: dict[str, Any] = {
        "model": "gpt-5",
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": "Tell me about rivers and their deltas."}],
    }
    transport = httpx.ASGITransport(app=app)
    async with Client(base_url="http://mock/v1", api_key="sk-mock", transport=transport) as client:
        counted = await client.responses.input_tokens.count(**body)
        short = await client.responses.input_tokens.count(model="gpt-5", input="Hi")
        answered = await client.request("POST", "/responses", body=body)
        app.strict_models = True
        with pytest.raises(BadRequestError) as refused:
            await client.responses.input_tokens.count(model="no-such-model", input="Hi")
    assert counted.object == "response.input_tokens"
    assert counted.input_tokens == answered.json()["usage"]["input_tokens"]
    assert short.input_tokens is not None
    assert counted.input_tokens is not None
    assert short.input_tokens < counted.input_tokens
    assert refused.value.param == "model"
    app.reset()


# -- stored chat completions ----------------------------------------------------------------------


async def test_stored_chat_completions_list_by_model_and_metadata(http: httpx.AsyncClient) -> None:
    a = await _chat(http, messages=USER, store=True, metadata={"team": "red"})
    b = await _chat(http, messages=USER, store=True, metadata={"team": "blue"})
    c = await _chat(http, messages=USER, store=True, model="gpt-4o-mini", metadata={"team": "red"})
    await _chat(http, messages=USER)  # not stored
    listed = (await http.get("/chat/completions")).json()
    assert [item["id"] for item in listed["data"]] == [a["id"], b["id"], c["id"]]
    by_model = (await http.get("/chat/completions", params={"model": "gpt-4o"})).json()
    assert [item["id"] for item in by_model["data"]] == [a["id"], b["id"]]
    red = (await http.get("/chat/completions", params={"metadata[team]": "red"})).json()
    assert [item["id"] for item in red["data"]] == [a["id"], c["id"]]
    assert red["data"][0]["metadata"] == {"team": "red"}
    assert red["data"][0]["choices"] == a["choices"]


async def test_one_pagination_for_every_list(http: httpx.AsyncClient) -> None:
    ids = [(await _chat(http, messages=USER, store=True))["id"] for _ in range(5)]

    async def page(**params: Any) -> dict[str, Any]:
        answer = await http.get("/chat/completions", params=params)
        result: dict[str, Any] = answer.json()
        return result

    first = await page(limit=2)
    assert [i["id"] for i in first["data"]] == ids[:2]
    assert (first["first_id"], first["last_id"], first["has_more"]) == (ids[0], ids[1], True)
    second = await page(limit=2, after=first["last_id"])
    assert [i["id"] for i in second["data"]] == ids[2:4]
    last = await page(limit=2, after=second["last_id"])
    assert [i["id"] for i in last["data"]] == ids[4:]
    assert last["has_more"] is False
    newest = await page(order="desc", limit=3)
    assert [i["id"] for i in newest["data"]] == ids[::-1][:3]
    before = await page(before=ids[4], limit=2)
    assert [i["id"] for i in before["data"]] == ids[2:4]
    assert before["has_more"] is True
    for params, param in (({"limit": 0}, "limit"), ({"limit": "x"}, "limit"),
                          ({"order": "up"}, "order"), ({"after": "nope"}, "after")):  # fmt: skip
        bad = await http.get("/chat/completions", params=params)
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == param


async def test_a_stored_chat_completion_is_retrieved_updated_and_deleted(
    http: httpx.AsyncClient,
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
    ]
    created = await _chat(http, messages=messages, store=True)
    path = f"/chat/completions/{created['id']}"
    assert (await http.get(path)).json()["choices"] == created["choices"]
    updated = await http.post(path, json={"metadata": {"k": "v"}})
    assert updated.json()["metadata"] == {"k": "v"}
    assert (await http.get(path)).json()["metadata"] == {"k": "v"}
    bad = await http.post(path, json={"metadata": {"k": 1}})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "metadata"
    listed = (await http.get(f"{path}/messages")).json()
    assert [m["role"] for m in listed["data"]] == ["system", "user"]
    assert listed["data"][1]["content"] == "Hi"
    assert listed["data"][1]["content_parts"] == [{"type": "text", "text": "Hi"}]
    assert listed["data"][0]["id"] == f"{created['id']}-0"
    deleted = (await http.delete(path)).json()
    assert deleted == {"id": created["id"], "object": "chat.completion.deleted", "deleted": True}
    assert (await http.get(path)).status_code == 404
    assert (await http.get(f"{path}/messages")).status_code == 404


async def test_a_streamed_stored_chat_completion_reads_back_whole(
    http: httpx.AsyncClient,
) -> None:
    streamed = await http.post(
        "/chat/completions",
        json={"model": "gpt-4o", "messages": USER, "stream": True, "store": True},
    )
    chunks = [f.json() for f in frames(streamed.text) if f.data != "[DONE]"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    stored = (await http.get(f"/chat/completions/{chunks[0]['id']}")).json()
    assert stored["choices"][0]["message"]["content"] == text


# -- every route: faults, the log, reset -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status"),
    [("rate_limit", 429), ("server_error; status=503", 503), ("html", 502),
     ("error_event", 500), ("malformed", 200)],
)  # fmt: skip
async def test_faults_and_the_log_reach_the_stored_routes(
    app: MockOpenAI, http: httpx.AsyncClient, fault: str, status: int
) -> None:
    created = await _respond(http, input="Hi")
    path = f"/v1/responses/{created['id']}"
    app.fail_next(fault, path=path)
    hit = await http.get(f"/responses/{created['id']}")
    assert hit.status_code == status
    if fault == "malformed":
        assert hit.content != (await http.get(f"/responses/{created['id']}")).content
    else:
        assert (await http.get(f"/responses/{created['id']}")).status_code == 200
    assert [(r.method, r.path) for r in app.requests][-2:] == [("GET", path), ("GET", path)]


async def test_reset_forgets_every_stored_object(app: MockOpenAI, http: httpx.AsyncClient) -> None:
    response = await _respond(http, input="Hi")
    chat = await _chat(http, messages=USER, store=True)
    app.reset()
    assert (await http.get(f"/responses/{response['id']}")).status_code == 404
    assert (await http.get(f"/chat/completions/{chat['id']}")).status_code == 404
    assert (await http.get("/chat/completions")).json()["data"] == []


# -- the official SDK ---------------------------------------------------------------------------


async def test_the_sdk_manages_stored_responses(mock_openai: MockServer, sdk: AsyncOpenAI) -> None:
    mock_openai.app.clock.speed = 0
    created = await sdk.responses.create(model="gpt-5", input="Hi")
    assert (await sdk.responses.retrieve(created.id)).output_text == created.output_text
    items = [item async for item in sdk.responses.input_items.list(created.id)]
    assert len(items) == 1
    assert items[0].type == "message"
    background = await sdk.responses.create(model="gpt-5", input="Hi", background=True)
    assert background.status == "queued"
    assert (await sdk.responses.cancel(background.id)).status == "cancelled"
    compacted = await sdk.responses.compact(model="gpt-5", previous_response_id=created.id)
    assert compacted.object == "response.compaction"
    await sdk.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        await sdk.responses.retrieve(created.id)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDK's stream leaves a generator
async def test_the_sdk_replays_a_stored_stream(sdk: AsyncOpenAI, anyio_backend: str) -> None:
    created = await sdk.responses.create(model="gpt-5", input="Hi")
    stream = await sdk.responses.retrieve(created.id, stream=True, starting_after=1)
    async with stream:
        events = [event async for event in stream]
    assert events[0].sequence_number == 2
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == created.output_text


async def test_the_sdk_manages_stored_chat_completions(sdk: AsyncOpenAI) -> None:
    created = await sdk.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Tell me about rivers."}],
        store=True,
        metadata={"topic": "rivers"},
    )
    listed = [c.id async for c in sdk.chat.completions.list(metadata={"topic": "rivers"})]
    assert listed == [created.id]
    retrieved = await sdk.chat.completions.retrieve(created.id)
    assert retrieved.choices[0].message.content == created.choices[0].message.content
    updated = await sdk.chat.completions.update(created.id, metadata={"topic": "lakes"})
    assert updated.metadata == {"topic": "lakes"}
    messages = [m async for m in sdk.chat.completions.messages.list(created.id)]
    assert [m.content for m in messages] == ["Tell me about rivers."]
    deleted = await sdk.chat.completions.delete(created.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        await sdk.chat.completions.retrieve(created.id)
