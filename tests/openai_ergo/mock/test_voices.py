"""Voice consents and custom voices: multipart recordings read as a stream, the shared list
pagination, rename and delete with OpenAI's 404s, voices made only under an existing consent,
and the official SDK's and our typed methods' own calls.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client, FileUpload
from openai_ergo.mock import MockOpenAI, MockServer
from openai_ergo.mock._audio import speech_samples, wav_header

PCM = b"".join(speech_samples("I consent."))
WAV = wav_header(len(PCM)) + PCM


@pytest.fixture
def app() -> MockOpenAI:
    return MockOpenAI()


async def _ok(answer: Any) -> dict[str, Any]:
    response: httpx.Response = await answer
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _consent(http: httpx.AsyncClient, name: str, mime: str = "audio/wav") -> dict[str, Any]:
    files = {"recording": ("consent.wav", WAV, mime)}
    return await _ok(
        http.post("/audio/voice_consents", data={"name": name, "language": "en-US"}, files=files)
    )


async def test_a_consent_is_created_listed_renamed_and_deleted(http: httpx.AsyncClient) -> None:
    first = await _consent(http, "Ada")
    assert first["id"].startswith("cons_")
    assert (first["object"], first["name"], first["language"]) == (
        "audio.voice_consent", "Ada", "en-US",
    )  # fmt: skip
    second = await _consent(http, "Grace")
    third = await _consent(http, "Hedy")
    page = await _ok(http.get("/audio/voice_consents", params={"limit": 2}))
    assert [c["name"] for c in page["data"]] == ["Hedy", "Grace"]  # newest first
    assert (page["first_id"], page["last_id"], page["has_more"]) == (
        third["id"], second["id"], True,
    )  # fmt: skip
    rest = await _ok(http.get("/audio/voice_consents", params={"after": second["id"]}))
    assert [c["id"] for c in rest["data"]] == [first["id"]]
    assert rest["has_more"] is False
    path = f"/audio/voice_consents/{first['id']}"
    assert await _ok(http.get(path)) == first
    renamed = await _ok(http.post(path, json={"name": "Ada L."}))
    assert renamed == {**first, "name": "Ada L."}
    deleted = await _ok(http.delete(path))
    assert deleted == {"id": first["id"], "object": "audio.voice_consent", "deleted": True}
    gone = await http.get(path)
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == f"Voice consent with id '{first['id']}' not found."


async def test_bad_consents_are_400s_naming_the_problem(http: httpx.AsyncClient) -> None:
    form = {"name": "Ada", "language": "en-US"}
    text = {"recording": ("consent.txt", b"just words", "text/plain")}
    error = (await http.post("/audio/voice_consents", data=form, files=text)).json()["error"]
    assert (error["param"], error["code"]) == ("recording", "invalid_value")
    assert "text/plain" in error["message"]
    audio = {"recording": ("consent", WAV, "application/octet-stream")}  # known by its bytes
    assert (await http.post("/audio/voice_consents", data=form, files=audio)).status_code == 200
    error = (await http.post("/audio/voice_consents", data={"name": "Ada"}, files=audio)).json()[
        "error"
    ]
    assert error["message"] == "Missing required parameter: 'language'."
    error = (
        await http.post("/audio/voice_consents", data=form, files={"other": ("a.wav", WAV)})
    ).json()["error"]
    assert error["message"] == "Missing required parameter: 'recording'."
    error = (await http.get("/audio/voice_consents", params={"limit": 0})).json()["error"]
    assert error["param"] == "limit"
    missing = await http.post("/audio/voice_consents/cons_nope", json={"name": "x"})
    assert missing.status_code == 404


async def test_a_voice_is_made_only_under_an_existing_consent(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    consent = await _consent(http, "Ada")
    sample = {"audio_sample": ("sample.wav", WAV, "audio/wav")}
    voice = await _ok(
        http.post(
            "/audio/voices", data={"name": "Narrator", "consent": consent["id"]}, files=sample
        )
    )
    assert voice["id"].startswith("voice_")
    assert (voice["object"], voice["name"]) == ("audio.voice", "Narrator")
    refused = await http.post(
        "/audio/voices", data={"name": "Narrator", "consent": "cons_nope"}, files=sample
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "consent"
    speech = {"model": "gpt-4o-mini-tts", "input": "Hi", "voice": {"id": voice["id"]}}
    assert (await http.post("/audio/speech", json=speech)).status_code == 200
    app.reset()
    assert (await http.get(f"/audio/voice_consents/{consent['id']}")).status_code == 404


async def test_the_sdk_manages_consents_and_voices(sdk: AsyncOpenAI) -> None:
    consent = await sdk.audio.voice_consents.create(
        name="Ada", language="en-US", recording=("consent.wav", WAV, "audio/wav")
    )
    assert consent.id.startswith("cons_")
    listed = [c.id async for c in sdk.audio.voice_consents.list(limit=1)]
    assert listed == [consent.id]
    renamed = await sdk.audio.voice_consents.update(consent.id, name="Ada L.")
    assert renamed.name == "Ada L."
    assert (await sdk.audio.voice_consents.retrieve(consent.id)).name == "Ada L."
    voice = await sdk.audio.voices.create(
        name="Narrator", consent=consent.id, audio_sample=("sample.wav", WAV, "audio/wav")
    )
    assert voice.name == "Narrator"
    deleted = await sdk.audio.voice_consents.delete(consent.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        await sdk.audio.voice_consents.retrieve(consent.id)


async def test_our_typed_methods_manage_consents_and_voices(mock_openai: MockServer) -> None:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        recording = FileUpload(WAV, filename="consent.wav", content_type="audio/wav")
        consents = [
            await client.audio.voice_consents.create(
                name=name, language="en-US", recording=recording
            )
            for name in ("Ada", "Grace", "Hedy")
        ]
        listed = [c.name async for c in client.audio.voice_consents.list(limit=2)]
        assert listed == ["Hedy", "Grace", "Ada"]  # every page, two at a time
        first = consents[0].id or ""
        assert (await client.audio.voice_consents.update(first, name="A")).name == "A"
        voice = await client.audio.voices.create(name="Narrator", consent=first, audio_sample=WAV)
        assert (voice.name, voice.id is not None) == ("Narrator", True)
        assert (await client.audio.voice_consents.delete(first)).deleted is True
