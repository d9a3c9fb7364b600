"""Structured output against the mock: the format sent, the errors met, awaited and streamed."""

from __future__ import annotations

import msgspec
import pytest

from openai_ergo import (
    InvalidRequestError,
    ResponseIncompleteError,
    TruncatedOutputError,
    TruncatedResponseError,
)
from openai_ergo.mock import MockServer
from openai_ergo.types import Response
from tests.openai_ergo.resources._structured import WAYS, final_of, mock_client


class Tally(msgspec.Struct):
    counts: dict[str, int]


class Cat(msgspec.Struct, tag="cat"):
    name: str


class Dog(msgspec.Struct, tag="dog"):
    barks: bool


class Pet(msgspec.Struct):
    pet: Cat | Dog
    friends: list[Cat | Dog]


class Words(msgspec.Struct):
    words: list[str]


@WAYS
async def test_a_non_strict_format_goes_out_as_non_strict_on_both_endpoints(
    mock_openai: MockServer, streamed: bool
) -> None:
    text = '{"counts": {"a": 1}}'
    mock_openai.reply_with(text, text)
    async with mock_client(mock_openai) as client:
        responses = client.responses("gpt-5").input("Count").parse(Tally, strict=False)
        chat = client.chat("gpt-4o").user("Count").parse(Tally, strict=False)
        assert (await final_of(responses, streamed=streamed)).parsed == Tally({"a": 1})
        assert (await final_of(chat, streamed=streamed)).parsed == Tally({"a": 1})
    sent_format = mock_openai.requests[0].json["text"]["format"]
    assert sent_format["strict"] is False
    assert "additionalProperties" in sent_format["schema"]["properties"]["counts"]
    assert mock_openai.requests[1].json["response_format"]["json_schema"]["strict"] is False


@WAYS
async def test_a_tagged_union_is_sent_strict_and_decoded(
    mock_openai: MockServer, streamed: bool
) -> None:
    text = '{"pet": {"type": "dog", "barks": true}, "friends": [{"type": "cat", "name": "Tom"}]}'
    mock_openai.reply_with(text)
    async with mock_client(mock_openai) as client:
        parsed = await final_of(
            client.responses("gpt-5").input("Pet?").parse(Pet), streamed=streamed
        )
    assert parsed.parsed == Pet(Dog(True), [Cat("Tom")])
    sent = mock_openai.requests[0].json["text"]["format"]
    assert sent["strict"] is True
    assert "discriminator" not in msgspec.json.encode(sent).decode()
    cat = sent["schema"]["$defs"]["Cat"]
    assert cat["required"] == ["type", "name"]
    assert cat["properties"]["type"] == {"enum": ["cat"], "type": "string"}


async def test_a_schema_strict_mode_cannot_take_names_the_place_at_fault(
    mock_openai: MockServer,
) -> None:
    class Pair(msgspec.Struct):
        inner: Tally
        point: tuple[int, int]

    async with mock_client(mock_openai) as client:
        builder = client.chat("gpt-4o").user("Go")
        with pytest.raises(InvalidRequestError, match=r"\$\.point is a tuple"):
            builder.parse(Pair)
        with pytest.raises(InvalidRequestError) as caught:
            builder.parse(msgspec.defstruct("Nested", [("inner", Tally)]))
        assert "Tally.counts is a free-form mapping" in str(caught.value)
        assert "Any or tuples" not in str(caught.value)
    assert not mock_openai.requests


# The mock counts a token per word: spaces make the answer long enough to cut.
LONG = '{"words": [' + ", ".join(f'"word{i}"' for i in range(60)) + "]}"


CUT_SHORT = {
    "responses": lambda c: c.responses("gpt-5").input("Words").max_output_tokens(16),
    "chat": lambda c: c.chat("gpt-4o").user("Words").max_completion_tokens(4),
}


@pytest.mark.parametrize("endpoint", sorted(CUT_SHORT))
@WAYS
async def test_output_cut_short_is_a_truncated_output_error_both_ways(
    mock_openai: MockServer, endpoint: str, streamed: bool
) -> None:
    mock_openai.reply_with(LONG)
    async with mock_client(mock_openai) as client:
        request = CUT_SHORT[endpoint](client).parse(Words)
        with pytest.raises(TruncatedOutputError) as caught:
            await final_of(request, streamed=streamed)
    error = caught.value
    assert error.text
    assert LONG.startswith(error.text)
    if endpoint == "chat":
        assert error.result.choices[0].finish_reason == "length"
        return
    assert isinstance(error.result, Response)
    assert error.result.status == "incomplete"
    if streamed:
        # Still the stream error every Responses stream raises, with nothing lost.
        assert isinstance(error, TruncatedResponseError)
        assert isinstance(error, ResponseIncompleteError)
        assert error.reason == "max_output_tokens"
        assert error.partial is error.result
        assert error.events[-1].type == "response.incomplete"


async def test_extra_body_cannot_replace_the_format_parse_sets(mock_openai: MockServer) -> None:
    mine = {"type": "json_object"}
    async with mock_client(mock_openai) as client:
        responses = client.responses("gpt-5").input("Words")
        with pytest.raises(InvalidRequestError) as caught:
            responses.extra_body({"text": {"format": mine}}).parse(Words)
        assert caught.value.param == "text.format"
        chat = client.chat("gpt-4o").user("Words")
        with pytest.raises(InvalidRequestError) as refused:
            chat.extra_body({"response_format": mine}).parse(Words)
        assert refused.value.param == "response_format"
        # Other keys of the same object join the format instead of replacing it.
        mock_openai.reply_with('{"words": ["a"]}')
        request = responses.extra_body({"text": {"verbosity": "low"}}).parse(Words)
        assert (await request).parsed == Words(["a"])
    sent = mock_openai.requests[0].json["text"]
    assert sent["verbosity"] == "low"
    assert sent["format"]["name"] == "Words"
