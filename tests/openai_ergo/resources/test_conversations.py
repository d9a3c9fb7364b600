"""Conversations: a handle whose Responses turns the server chains, awaited or streamed."""

from __future__ import annotations

from typing import Any

import pytest

from openai_ergo import Client, Conversation, InvalidRequestError, NotFoundError
from openai_ergo.mock import MockServer
from openai_ergo.types import Response


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False)


def _roles(items: list[Any]) -> list[str]:
    return [getattr(item, "role", None) or item.type for item in items]


async def test_turns_chain_on_the_server_and_the_items_say_so(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        template = client.responses("gpt-5-mini").instructions("Be brief.")
        conv = await client.conversations.start(
            template, items=["My name is Ada."], metadata={"topic": "intro"}
        )
        assert isinstance(conv, Conversation)
        assert conv.id.startswith("conv_")
        reply = await conv.say("What is my name?")
        second = await conv.say("And my name again?")
        fresh = await template.input("And my name again?")
        items = [item async for item in conv.items(order="asc")]
    create, first_turn = mock_openai.requests[0].json, mock_openai.requests[1].json
    assert "conversation" not in mock_openai.requests[3].json
    assert create == {
        "items": [{"type": "message", "role": "user", "content": "My name is Ada."}],
        "metadata": {"topic": "intro"},
    }
    assert first_turn == {
        "model": "gpt-5-mini",
        "instructions": "Be brief.",
        "conversation": conv.id,
        "input": "What is my name?",
    }
    assert isinstance(reply, Response)
    assert reply.output_text
    # The same question outside the conversation gets another answer: the turn saw the items.
    assert second.output_text != fresh.output_text
    assert _roles(items) == ["user", "user", "assistant", "user", "assistant"]
    assert conv.resource.metadata == {"topic": "intro"}
    assert "conversation" not in template.request_body(input="x")  # the template is untouched


async def test_a_turn_streams_and_lands_in_the_conversation(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        conv = await client.conversations.start("gpt-5-mini")
        async with conv.stream("Tell me a story") as stream:
            text = "".join([piece async for piece in stream.text()])
        final = stream.final()
        items = [item async for item in conv.items()]  # newest first
    assert mock_openai.requests[1].json["stream"] is True
    assert mock_openai.requests[1].json["conversation"] == conv.id
    assert text == final.output_text
    assert _roles(items) == ["assistant", "user"]


async def test_a_turn_is_a_builder_that_can_change_per_turn(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        conv = await client.conversations.start("gpt-5-mini")
        turn = conv.turn("Think hard").with_model("gpt-5").max_output_tokens(64)
        await turn
        await conv.say("Thanks")
    sent = [r.json for r in mock_openai.requests[1:]]
    assert (sent[0]["model"], sent[0]["max_output_tokens"]) == ("gpt-5", 64)
    assert sent[1]["model"] == "gpt-5-mini"  # the handle's template did not change
    assert "max_output_tokens" not in sent[1]
    assert all(body["conversation"] == conv.id for body in sent)


async def test_items_are_added_without_a_reply_and_the_conversation_deleted(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        conv = await client.conversations.start("gpt-5-mini")
        added = await conv.add("Remember: blue", {"role": "assistant", "content": "Noted."})
        items = [item async for item in conv.items(order="asc")]
        resumed = await client.conversations.resume(conv.id, "gpt-5-mini")
        deleted = await conv.delete()
        with pytest.raises(NotFoundError):
            await client.conversations.resume(conv.id, "gpt-5-mini")
    assert added.data is not None
    assert len(added.data) == 2
    assert _roles(items) == ["user", "assistant"]
    assert resumed.id == conv.id
    assert deleted.deleted is True
    assert not any(r.path.startswith("/v1/responses") for r in mock_openai.requests)


@pytest.mark.parametrize(
    ("start", "param"),
    [
        (lambda c: c.conversations.start(42), "model"),
        (lambda c: c.conversations.start("m", items=[""]), "items"),
        (lambda c: c.conversations.start("m", items=[3]), "items"),
        (lambda c: c.conversations.start("m", items=["x"] * 21), "items"),
        (lambda c: c.conversations.start("m", metadata={"k": "v" * 513}), "metadata"),
        (
            lambda c: c.conversations.start(c.responses("m").previous_response("resp_1")),
            "previous_response_id",
        ),
        (lambda c: c.conversations.resume("", "m"), "conversation_id"),
    ],
)
async def test_bad_values_are_refused_before_anything_is_sent(
    mock_openai: MockServer, start: Any, param: str
) -> None:
    async with _client(mock_openai) as client:
        with pytest.raises(InvalidRequestError) as caught:
            await start(client)
    assert caught.value.param == param
    assert mock_openai.requests == []


async def test_adding_nothing_is_refused(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        conv = await client.conversations.start("gpt-5-mini")
        with pytest.raises(InvalidRequestError) as caught:
            await conv.add()
    assert caught.value.param == "items"
    assert len(mock_openai.requests) == 1
    assert repr(conv) == f"<Conversation {conv.id} model='gpt-5-mini'>"
