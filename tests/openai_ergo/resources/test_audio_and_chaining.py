"""Audio inputs in both wire shapes, and Responses conversations chained by id."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from openai_ergo import Client, InvalidRequestError, audio
from openai_ergo.types import Response

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(16)


def _client() -> Client:
    return Client(api_key="sk-test-secret-value", base_url="http://builders.test/v1")


async def test_audio_from_bytes_or_a_path_is_sent_inline_in_both_shapes(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp3"
    path.write_bytes(MP3)
    async with _client() as client:
        responses = client.responses("gpt-4o-audio").input("What is said?", audio(WAV))
        chat = client.chat("gpt-4o-audio").user("And here?", audio(path))
        sent = responses.request_body()["input"][0]["content"][1]
        sent_chat = chat.request_body()["messages"][0]["content"][1]
    assert sent == {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(WAV).decode(), "format": "wav"},
    }
    assert sent_chat["input_audio"]["format"] == "mp3"
    assert base64.b64decode(sent_chat["input_audio"]["data"]) == MP3
    assert "base64 chars" in repr(audio(WAV))  # the clip itself never fills a repr


def test_audio_that_cannot_be_sent_is_refused_naming_why(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="inline only"):
        audio("https://example.com/clip.wav")
    with pytest.raises(InvalidRequestError, match="format"):
        audio(b"not audio at all")
    with pytest.raises(InvalidRequestError, match="cannot read"):
        audio(tmp_path / "missing.wav")
    assert audio(b"raw pcm?", format="wav").format == "wav"


async def test_a_follow_up_chains_on_the_previous_response_id() -> None:
    first = Response(id="resp_first", status="completed")
    async with _client() as client:
        base = client.responses("gpt-5-mini").instructions("Be brief.")
        body = base.follow_up(first, "And in French?").request_body()
        by_id = base.previous_response("resp_first").input("Again").request_body()
        plain = base.input("Hi").request_body()
    assert body["previous_response_id"] == "resp_first"
    assert body["input"] == "And in French?"
    assert by_id["previous_response_id"] == "resp_first"
    assert "previous_response_id" not in plain  # the template itself never changed
