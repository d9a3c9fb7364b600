"""The Moderations builder: texts and images in, `.flagged` and the categories out."""

from __future__ import annotations

from typing import Any

import pytest

from openai_ergo import Client, InvalidRequestError, Moderation, image
from openai_ergo.mock import MockServer
from openai_ergo.types import CreateModerationResponse

PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False)


async def test_texts_get_a_result_each_and_the_flagged_categories(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        moderation = await client.moderations().input("I will kill you, idiot", "Nice day")
    assert mock_openai.requests[0].json == {
        "model": "omni-moderation-latest",
        "input": ["I will kill you, idiot", "Nice day"],
    }
    assert isinstance(moderation, Moderation)
    assert isinstance(moderation.response, CreateModerationResponse)
    assert moderation.flagged
    assert moderation.categories == ["harassment", "violence"]
    assert [result.flagged for result in moderation.results] == [True, False]
    assert moderation.scores(0)["violence"] > 0.5
    assert moderation.scores(1)["violence"] < 0.01
    assert "violence/graphic" in moderation.scores(0)  # the API's names, not Python's
    assert moderation.model == "omni-moderation-latest"
    assert moderation.id.startswith("modr-")
    assert "flagged=True" in repr(moderation)


async def test_one_text_travels_as_a_string_and_clean_text_is_not_flagged(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        moderation = await client.moderations("text-moderation-latest").input("Hello there")
    assert mock_openai.requests[0].json["input"] == "Hello there"
    assert not moderation.flagged
    assert moderation.categories == []


async def test_text_with_images_is_one_input_with_one_result(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        moderation = await client.moderations().input(
            "Look at this gore",
            image("https://example.com/a.png"),
            image(PIXEL),
        )
    sent = mock_openai.requests[0].json["input"]
    assert sent[0] == {"type": "text", "text": "Look at this gore"}
    assert sent[1] == {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    assert sent[2]["image_url"]["url"].startswith("data:image/png;base64,")
    assert len(moderation.results) == 1
    assert moderation.categories == ["violence/graphic"]
    applied = moderation.results[0].category_applied_input_types
    assert applied is not None
    assert applied.violence_graphic == ["text", "image"]


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda b: b.input(), "input"),
        (lambda b: b.input(""), "input"),
        (lambda b: b.input("ok", 3), "input"),
        (lambda b: b.input(image(file_id="file-1")), "input"),
        (lambda b: b.with_model(""), "model"),
    ],
)
async def test_bad_values_are_refused_naming_the_parameter(make: Any, param: str) -> None:
    async with Client(api_key="sk-x", base_url="http://m.test/v1") as client:
        with pytest.raises(InvalidRequestError) as caught:
            make(client.moderations())
    assert caught.value.param == param


async def test_nothing_to_classify_is_refused_before_sending(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        base = client.moderations()
        with pytest.raises(InvalidRequestError) as caught:
            await base
        assert base.input("a").request_body() == {"model": "omni-moderation-latest", "input": "a"}
    assert caught.value.param == "input"
    assert mock_openai.requests == []


async def test_a_stored_body_decodes_to_the_same_result(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        live = await client.moderations().input("You idiot")
    stored = Moderation.from_json(live.response.to_json())
    assert stored.flagged
    assert stored.categories == live.categories == ["harassment"]
