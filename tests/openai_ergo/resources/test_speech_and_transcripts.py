"""The audio builders against the mock: speech awaited, saved and streamed (raw and SSE), spoken
text transcribed back in every format and streamed, translations, and bad values refused
naming the parameter."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import pytest

from openai_ergo import (
    BadRequestError,
    Client,
    InvalidRequestError,
    SpeechBuilder,
    Transcript,
    TranscriptionBuilder,
)
from openai_ergo.mock import MockServer
from openai_ergo.types._generated.audio import (
    CreateTranslationResponseVerboseJson,
    TranscriptTextDeltaEvent,
    TranscriptTextDoneEvent,
)

SENTENCE = "Hello there. How are you?"


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-test-secret-value", base_url=server.url, rate_limiter=False)


async def test_speech_awaited_saved_and_streamed_is_the_same_audio(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    async with _client(mock_openai) as client:
        speech = client.speech("gpt-4o-mini-tts").voice("alloy").input(SENTENCE).format("wav")
        audio = await speech
        written = await speech.save(tmp_path / "hello.wav")
        async with speech.stream() as stream:
            chunks = [chunk async for chunk in stream]
        async with speech.stream_format("sse").stream() as events:
            decoded = b"".join([chunk async for chunk in events])
        slower = await speech.speed(0.5)
    with wave.open(io.BytesIO(audio)) as clip:
        assert (clip.getframerate(), clip.getsampwidth(), clip.getnchannels()) == (24000, 2, 1)
    assert written == len(audio)
    assert (tmp_path / "hello.wav").read_bytes() == audio
    assert len(chunks) > 1
    assert b"".join(chunks) == audio
    assert decoded == audio
    assert events.usage is not None
    assert events.usage.total_tokens
    assert stream.usage is None  # a raw audio stream carries no usage
    assert len(slower) > len(audio)


async def test_spoken_text_is_transcribed_back_with_segments_and_words(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    path = tmp_path / "hello.wav"
    async with _client(mock_openai) as client:
        await client.speech("gpt-4o-mini-tts").voice("alloy").input(SENTENCE).save(path)
        heard = await (
            client.transcription("whisper-1")
            .file(path)
            .language("en")
            .format("verbose_json")
            .timestamp_granularities("word", "segment")
        )
        plain = await client.transcription("whisper-1").file(path.read_bytes())
    assert isinstance(heard, Transcript)
    assert heard.text == plain.text == SENTENCE
    assert [s.text.strip() for s in heard.segments if s.text] == ["Hello there.", "How are you?"]
    assert [w.word for w in heard.words] == SENTENCE.split()
    starts = [w.start or 0 for w in heard.words]
    assert starts == sorted(starts)
    assert starts[0] == pytest.approx(0.32)
    assert heard.duration == heard.words[-1].end  # the last word ends the audio
    assert plain.segments == []
    assert plain.words == []


@pytest.mark.parametrize(("form", "marker"), [("text", None), ("srt", "-->"), ("vtt", "WEBVTT")])
async def test_text_and_subtitle_formats_keep_the_body_and_read_the_words(
    mock_openai: MockServer, form: str, marker: str | None
) -> None:
    async with _client(mock_openai) as client:
        audio = await client.speech("tts-1").voice("nova").input(SENTENCE).format("wav")
        heard = await client.transcription("whisper-1").file(audio).format(form)
    assert heard.text == SENTENCE
    assert heard.format == form
    assert heard.response is None
    assert heard.body is not None
    assert marker is None or marker in heard.body


async def test_a_streamed_transcript_yields_typed_deltas_then_the_text(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        audio = await client.speech("tts-1").voice("nova").input(SENTENCE).format("wav")
        request = client.transcription("gpt-4o-mini-transcribe").file(audio)
        async with request.stream() as stream:
            events = [event async for event in stream]
        async with request.stream() as again:
            deltas = [delta async for delta in again.text()]
        with pytest.raises(BadRequestError) as whisper:
            async with client.transcription("whisper-1").file(audio).stream() as refused:
                await refused.__anext__()
    assert all(isinstance(e, TranscriptTextDeltaEvent) for e in events[:-1])
    assert isinstance(events[-1], TranscriptTextDoneEvent)
    assert "".join(deltas) == stream.final().text == again.final().text == SENTENCE
    assert whisper.value.param == "stream"


async def test_a_translation_reads_the_speech_into_english(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        audio = await client.speech("tts-1").voice("nova").input(SENTENCE).format("wav")
        translated = await client.translation("whisper-1").file(audio).format("verbose_json")
    assert isinstance(translated.response, CreateTranslationResponseVerboseJson)
    assert translated.text == SENTENCE
    assert translated.segments


def _speech() -> SpeechBuilder:
    return Client(api_key="sk-test", base_url="http://unused.test/v1").speech("tts-1")


def _transcription(translate: bool = False) -> TranscriptionBuilder:
    client = Client(api_key="sk-test", base_url="http://unused.test/v1")
    return client.translation("whisper-1") if translate else client.transcription("whisper-1")


@pytest.mark.parametrize(
    ("make", "setter", "value", "param"),
    [
        (_speech, "speed", 5, "speed"),
        (_speech, "speed", "fast", "speed"),
        (_speech, "format", "ogg", "format"),
        (_speech, "voice", "", "voice"),
        (_speech, "voice", {"name": "mine"}, "voice"),
        (_speech, "input", "x" * 4097, "input"),
        (_speech, "stream_format", "chunks", "stream_format"),
        (_transcription, "file", "/no/such/clip.wav", "file"),
        (_transcription, "format", "xml", "format"),
        (_transcription, "temperature", 1.5, "temperature"),
        (_transcription, "timestamp_granularities", "letter", "timestamp_granularities"),
        (_transcription, "include", "everything", "include"),
        (lambda: _transcription(True), "language", "fr", "language"),
        (lambda: _transcription(True), "format", "diarized_json", "format"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(
    make: Any, setter: str, value: Any, param: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        getattr(make(), setter)(value)
    assert caught.value.param == param


async def test_what_is_missing_is_named_before_anything_is_sent(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        speech = client.speech("tts-1").voice("alloy")
        with pytest.raises(InvalidRequestError) as no_input:
            await speech
        with pytest.raises(InvalidRequestError) as no_voice:
            speech.with_model("tts-1-hd")._set("voice", None).input("Hi").stream()
        with pytest.raises(InvalidRequestError) as no_file:
            await client.transcription("whisper-1").format("json")
        with pytest.raises(InvalidRequestError) as granularity:
            await client.transcription("whisper-1").file(b"RIFF").timestamp_granularities("word")
        with pytest.raises(InvalidRequestError) as streamed_translation:
            client.translation("whisper-1").file(b"RIFF").stream()
    assert [
        e.value.param for e in (no_input, no_voice, no_file, granularity, streamed_translation)
    ] == ["input", "voice", "file", "timestamp_granularities", "stream"]
    assert mock_openai.requests == []
