"""Image, file and audio inputs: what the bytes are beats what a name guesses; URL schemes are
case-insensitive."""

from __future__ import annotations

from pathlib import Path

import pytest

from openai_ergo import Client, audio, file, image
from openai_ergo.mock import MockServer

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n%%EOF\n"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False)


async def test_a_png_under_any_name_is_sent_as_a_png(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    upload = tmp_path / "upload.bin"
    upload.write_bytes(PNG)
    misnamed = tmp_path / "photo.jpg"
    misnamed.write_bytes(PNG)
    document = tmp_path / "scan.bin"
    document.write_bytes(PDF)
    clip = tmp_path / "clip.bin"
    clip.write_bytes(WAV)
    async with _client(mock_openai) as client:
        await client.chat("gpt-4o").user("What?", image(upload), image(misnamed), file(document))
        await client.responses("gpt-5").input("Hear this", audio(clip))
    parts = mock_openai.requests[0].json["messages"][0]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[2]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[3]["file"]["file_data"].startswith("data:application/pdf;base64,")
    [heard] = mock_openai.requests[1].json["input"][0]["content"][1:]
    assert heard["input_audio"]["format"] == "wav"


@pytest.mark.parametrize(
    "url", ["HTTPS://example.com/cat.png", "Http://example.com/cat.png", "DATA:image/png;base64,AA"]
)
async def test_url_schemes_are_case_insensitive(mock_openai: MockServer, url: str) -> None:
    async with _client(mock_openai) as client:
        await client.responses("gpt-5").input("What?", image(url), file(url))
    parts = mock_openai.requests[0].json["input"][0]["content"]
    assert parts[1]["image_url"] == url
    sent_file = parts[2]
    assert url in (sent_file.get("file_url"), sent_file.get("file_data"))


def test_audio_refuses_a_url_in_any_case() -> None:
    from openai_ergo import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="inline only"):
        audio("HTTPS://example.com/a.wav")
