"""Audio: speech is real 24 kHz 16-bit mono audio (read back with the stdlib `wave` module),
streamed in chunks, as WAV, PCM or SSE events; transcriptions and translations read multipart
audio as a stream and recover the text of the mock's own speech (with its real timings), in
json, text, srt, vtt, verbose_json and streamed events; bad parameters are OpenAI's 400s; and
the official SDK and our typed methods both round-trip them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import struct
import wave
from collections.abc import MutableMapping
from typing import Any

import httpx
import msgspec
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client
from openai_ergo.mock import MockOpenAI, MockServer
from openai_ergo.types._generated.audio import (
    CreateTranscriptionResponseDiarizedJson,
    CreateTranscriptionResponseJson,
    CreateTranscriptionResponseVerboseJson,
    SpeechAudioDoneEvent,
    TranscriptTextDoneEvent,
)
from tests.openai_ergo.mock.sse import frames

TEXT = "Hello there. How are you today?"
UNICODE = "Grüße aus Köln! Ça va? 你好。"
SPEECH = {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": TEXT}


@pytest.fixture
def app() -> MockOpenAI:
    return MockOpenAI()


async def _speech(http: httpx.AsyncClient, **change: Any) -> httpx.Response:
    response = await http.post("/audio/speech", json={**SPEECH, **change})
    assert response.status_code == 200, response.text
    return response


def _wav(data: bytes) -> tuple[wave._wave_params, bytes]:
    with wave.open(io.BytesIO(data)) as reader:
        return reader.getparams(), reader.readframes(reader.getnframes())


async def _error(answer: Any, status: int = 400) -> dict[str, Any]:
    response: httpx.Response = await answer
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def _transcribe(
    http: httpx.AsyncClient,
    audio: bytes,
    *,
    filename: str = "speech.wav",
    path: str = "/audio/transcriptions",
    arrays: dict[str, list[str]] | None = None,
    **fields: str,
) -> httpx.Response:
    data: dict[str, Any] = {"model": "whisper-1", **fields, **(arrays or {})}
    return await http.post(path, files={"file": (filename, audio, "audio/wav")}, data=data)


async def test_speech_is_a_wav_file_of_24_khz_16_bit_mono_audio(http: httpx.AsyncClient) -> None:
    response = await _speech(http, response_format="wav")
    assert response.headers["content-type"] == "audio/wav"
    params, samples = _wav(response.content)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 24_000)
    assert params.nframes * 2 == len(samples) == len(response.content) - 44
    # 8 header bytes, then the text's, each two 20 ms tones.
    assert params.nframes == (8 + len(TEXT)) * 2 * 480
    # Audible: the first tone is a loud sine between 400 and 1150 Hz.
    first = struct.unpack("<480h", samples[:960])
    assert max(first) > 5_000
    crossings = sum(1 for a, b in itertools.pairwise(first) if (a < 0) != (b < 0))
    assert 400 <= crossings / 2 * 50 <= 1150
    again = await _speech(http, response_format="wav")
    assert again.content == response.content
    pcm = await _speech(http, response_format="pcm")
    assert pcm.headers["content-type"] == "audio/pcm"
    assert pcm.content == samples
    default = await _speech(http)  # the service's default, mp3, the mock cannot make: WAV
    assert default.content == response.content


def _crc(data: bytes, poly: int, width: int) -> int:
    """A CRC the slow, obvious way (MSB first, from 0), to check the mock's table-driven one."""
    top, mask, crc = 1 << (width - 1), (1 << width) - 1, 0
    for byte in data:
        crc ^= byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
    return crc


def _coded_number(data: bytes, at: int) -> tuple[int, int]:
    """A FLAC coded number (UTF-8 style, up to 7 bytes) at `at`: its value and its length."""
    first, ones = data[at], 0
    while first & (0x80 >> ones):
        ones += 1
    assert ones != 1
    length, value = max(1, ones), first & (0xFF >> (ones + 1))
    for byte in data[at + 1 : at + length]:
        assert byte >> 6 == 0b10
        value = value << 6 | byte & 0x3F
    return value, length


def decode_flac(data: bytes) -> tuple[dict[str, int], bytes]:
    """STREAMINFO's fields and the samples (as little-endian PCM) of a FLAC file made of
    VERBATIM frames, checking every field a decoder reads and every CRC."""
    assert data[:4] == b"fLaC"
    assert data[4] == 0x80  # STREAMINFO, the last metadata block
    assert int.from_bytes(data[5:8], "big") == 34
    info = data[8:42]
    (packed,) = struct.unpack(">Q", info[10:18])
    fields = {
        "min_block": int.from_bytes(info[0:2], "big"),
        "max_block": int.from_bytes(info[2:4], "big"),
        "rate": packed >> 44,
        "channels": (packed >> 41 & 7) + 1,
        "bits": (packed >> 36 & 31) + 1,
        "samples": packed & ((1 << 36) - 1),
    }
    at, pcm = 42, bytearray()
    while at < len(data):
        assert data[at] == 0xFF
        assert data[at + 1] >> 1 == 0b1111100  # sync code, reserved 0
        assert data[at + 1] & 1 == 1  # variable block size: the header names its first sample
        assert (data[at + 2] >> 4, data[at + 2] & 15) == (0b0111, 0b0111)  # 16-bit size; 24 kHz
        assert data[at + 3] == 0b0000_100_0  # mono, 16 bits a sample
        first, length = _coded_number(data, at + 4)
        assert first == len(pcm) // 2
        end = at + 4 + length + 2
        count = int.from_bytes(data[end - 2 : end], "big") + 1
        assert fields["min_block"] <= count <= fields["max_block"]
        assert data[end] == _crc(data[at:end], 0x07, 8)
        assert data[end + 1] == 0b0_000001_0  # VERBATIM, no wasted bits
        samples = data[end + 2 : end + 2 + 2 * count]
        stop = end + 2 + 2 * count
        assert int.from_bytes(data[stop : stop + 2], "big") == _crc(data[at:stop], 0x8005, 16)
        pcm += struct.pack(f"<{count}h", *struct.unpack(f">{count}h", samples))
        at = stop + 2
    return fields, bytes(pcm)


def test_the_slow_crcs_give_published_check_values() -> None:
    assert _crc(b"123456789", 0x8005, 16) == 0xFEE8  # CRC-16/BUYPASS, FLAC's frame CRC
    assert _crc(bytes([0xFF, 0xF8, 0x69, 0x08, 0x00, 0x13]), 0x07, 8) == 0x64  # a FLAC header


async def test_speech_as_flac_holds_the_same_samples_in_verbatim_frames(
    http: httpx.AsyncClient,
) -> None:
    for speed in (1.0, 2.0):
        flac = await _speech(http, input="Hi. 你好", response_format="flac", speed=speed)
        assert flac.headers["content-type"] == "audio/flac"
        fields, pcm = decode_flac(flac.content)
        wav = await _speech(http, input="Hi. 你好", response_format="wav", speed=speed)
        assert pcm == _wav(wav.content)[1]
        assert (fields["rate"], fields["channels"], fields["bits"]) == (24_000, 1, 16)
        assert fields["samples"] == len(pcm) // 2
        assert (fields["min_block"], fields["max_block"]) == (round(480 / speed), 480)
        assert flac.content[26:42] == hashlib.md5(pcm, usedforsecurity=False).digest()
        heard = (await _transcribe(http, flac.content, filename="s.flac")).json()
        assert heard["text"] == "Hi. 你好"


async def test_speed_changes_how_long_the_text_takes(http: httpx.AsyncClient) -> None:
    slow = _wav((await _speech(http, speed=0.5)).content)[0].nframes
    fast = _wav((await _speech(http, speed=2.0)).content)[0].nframes
    header = 8 * 2 * 480
    assert slow - header == 4 * (fast - header) == 4 * len(TEXT) * 2 * 240


async def test_speech_streams_in_chunks(app: MockOpenAI) -> None:
    sent: list[MutableMapping[str, Any]] = []
    body = json.dumps({**SPEECH, "input": TEXT * 40, "response_format": "pcm"}).encode()

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/audio/speech",
             "headers": [(b"content-type", b"application/json")], "query_string": b""}  # fmt: skip
    await app(scope, receive, send)
    chunks = [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]
    assert len(chunks) > 10
    assert max(map(len, chunks)) <= 32 * 1024
    assert sum(map(len, chunks)) == (8 + len(TEXT) * 40) * 2 * 480 * 2


async def test_speech_as_sse_sends_the_same_audio_in_delta_events(http: httpx.AsyncClient) -> None:
    whole = (await _speech(http, response_format="wav")).content
    response = await _speech(http, response_format="wav", stream_format="sse")
    assert response.headers["content-type"].startswith("text/event-stream")
    events = frames(response.content)
    assert {e.event for e in events[:-1]} == {"speech.audio.delta"}
    audio = b"".join(base64.b64decode(e.json()["audio"]) for e in events[:-1])
    assert audio == whole
    done = msgspec.json.decode(events[-1].data, type=SpeechAudioDoneEvent)
    assert done.usage is not None
    assert done.usage.total_tokens == (done.usage.input_tokens or 0) + (
        done.usage.output_tokens or 0
    )
    assert done.usage.output_tokens == (8 + len(TEXT)) * 2


@pytest.mark.parametrize(
    ("change", "param", "says"),
    [
        ({"response_format": "mp3"}, "response_format", "cannot make response_format 'mp3'"),
        ({"response_format": "opus"}, "response_format", "it makes 'wav', 'pcm' and 'flac'"),
        ({"response_format": "ogg"}, "response_format", "Invalid value: 'ogg'"),
        ({"speed": 5}, "speed", "expected a value from 0.25 to 4.0"),
        ({"speed": "fast"}, "speed", "expected a decimal, but got a string"),
        ({"input": None}, "input", "Missing required parameter: 'input'."),
        ({"input": "x" * 4097}, "input", "maximum length 4096"),
        ({"voice": None}, "voice", "Missing required parameter: 'voice'."),
        ({"voice": 3}, "voice", "expected one of a string or an object, but got an integer"),
        ({"stream_format": "chunks"}, "stream_format", "Invalid value: 'chunks'"),
        ({"model": "tts-1", "stream_format": "sse"}, "stream_format", "not supported for model"),
    ],
)
async def test_bad_speech_parameters_are_400s_naming_them(
    http: httpx.AsyncClient, change: dict[str, Any], param: str, says: str
) -> None:
    error = await _error(http.post("/audio/speech", json={**SPEECH, **change}))
    assert error["param"] == param
    assert says in error["message"]


async def test_a_transcription_of_the_mocks_speech_recovers_its_text(
    http: httpx.AsyncClient,
) -> None:
    for text, speed in ((TEXT, 1.0), (UNICODE, 2.5), (UNICODE, 0.25)):
        audio = (await _speech(http, input=text, speed=speed)).content
        answer = (await _transcribe(http, audio)).json()
        assert answer["text"] == text
        duration = _wav(audio)[0].nframes / 24_000
        assert answer["usage"] == {"type": "duration", "seconds": -(-duration // 1)}
    plain = await _transcribe(http, audio, response_format="text")
    assert plain.headers["content-type"].startswith("text/plain")
    assert plain.text == UNICODE + "\n"


async def test_verbose_json_gives_segments_and_words_at_their_place_in_the_audio(
    http: httpx.AsyncClient,
) -> None:
    audio = (await _speech(http)).content
    response = await _transcribe(
        http,
        audio,
        response_format="verbose_json",
        arrays={"timestamp_granularities[]": ["word", "segment"]},
    )
    answer = response.json()
    verbose = msgspec.json.decode(response.content, type=CreateTranscriptionResponseVerboseJson)
    assert verbose.text == TEXT
    assert (answer["task"], answer["language"]) == ("transcribe", "english")
    assert answer["duration"] == _wav(audio)[0].nframes / 24_000
    # Each character is 40 ms after 320 ms of header: "How" starts at character 13.
    assert [w["word"] for w in answer["words"]] == TEXT.split()
    assert answer["words"][2] == {"word": "How", "start": 0.84, "end": 0.96}
    assert [(s["text"], s["start"], s["end"]) for s in answer["segments"]] == [
        (" Hello there.", 0.32, 0.8), (" How are you today?", 0.84, 1.56),
    ]  # fmt: skip
    assert answer["segments"][1]["id"] == 1
    only_segments = (await _transcribe(http, audio, response_format="verbose_json")).json()
    assert "words" not in only_segments
    assert only_segments["segments"] == answer["segments"]


async def test_srt_and_vtt_cue_each_sentence(http: httpx.AsyncClient) -> None:
    audio = (await _speech(http)).content
    srt = (await _transcribe(http, audio, response_format="srt")).text
    assert srt == (
        "1\n00:00:00,320 --> 00:00:00,800\nHello there.\n\n"
        "2\n00:00:00,840 --> 00:00:01,560\nHow are you today?\n"
    )
    vtt = (await _transcribe(http, audio, response_format="vtt")).text
    assert vtt == (
        "WEBVTT\n\n00:00:00.320 --> 00:00:00.800\nHello there.\n\n"
        "00:00:00.840 --> 00:00:01.560\nHow are you today?\n"
    )


async def test_other_audio_gets_a_transcript_drawn_from_its_bytes(
    http: httpx.AsyncClient,
) -> None:
    mp3 = bytes(range(256)) * 250  # 64,000 bytes: four seconds at 128 kbit/s
    first = (await _transcribe(http, mp3, filename="a.mp3", response_format="verbose_json")).json()
    again = (await _transcribe(http, mp3, filename="a.mp3", response_format="verbose_json")).json()
    other = (await _transcribe(http, mp3[::-1], filename="a.mp3")).json()
    assert first == again
    assert first["text"] != other["text"]
    assert first["duration"] == 4.0
    assert len(first["text"].split()) == 10  # 2.5 words a second
    assert first["segments"][-1]["end"] == 4.0
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:  # 16 kHz stereo: not the mock's, but its length
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\x01\x00" * 2 * 16_000 * 3)
    heard = (await _transcribe(http, buffer.getvalue(), response_format="verbose_json")).json()
    assert heard["duration"] == 3.0


async def test_a_streamed_transcription_sends_deltas_then_the_text(
    http: httpx.AsyncClient,
) -> None:
    audio = (await _speech(http)).content
    response = await _transcribe(
        http, audio, model="gpt-4o-transcribe", stream="true", arrays={"include[]": ["logprobs"]}
    )
    events = frames(response.content)
    assert {e.event for e in events[:-1]} == {"transcript.text.delta"}
    assert "".join(e.json()["delta"] for e in events[:-1]) == TEXT
    assert all(e.json()["logprobs"] for e in events[:-1])
    done = msgspec.json.decode(events[-1].data, type=TranscriptTextDoneEvent)
    assert done.text == TEXT
    assert done.usage is not None
    assert done.usage.output_tokens == 8  # about four characters a token
    plain_response = await _transcribe(http, audio, model="gpt-4o-transcribe")
    plain = plain_response.json()
    assert plain["text"] == TEXT
    decoded = msgspec.json.decode(plain_response.content, type=CreateTranscriptionResponseJson)
    assert decoded.usage is not None
    assert decoded.logprobs is None
    assert plain["usage"]["type"] == "tokens"
    assert plain["usage"]["input_token_details"]["audio_tokens"] == 16  # ten a second


async def test_a_translation_answers_in_english(http: httpx.AsyncClient) -> None:
    audio = (await _speech(http)).content
    path = "/audio/translations"
    assert (await _transcribe(http, audio, path=path)).json() == {"text": TEXT}
    verbose = (await _transcribe(http, audio, path=path, response_format="verbose_json")).json()
    assert (verbose["task"], verbose["language"], verbose["text"]) == ("translate", "english", TEXT)
    assert "usage" not in verbose
    error = await _error(_transcribe(http, audio, path=path, response_format="diarized_json"))
    assert error["param"] == "response_format"


async def test_a_diarized_transcription_names_its_speaker(http: httpx.AsyncClient) -> None:
    audio = (await _speech(http)).content
    answer = (
        await _transcribe(
            http, audio, model="gpt-4o-transcribe-diarize", response_format="diarized_json"
        )
    ).json()
    decoded = msgspec.json.decode(json.dumps(answer), type=CreateTranscriptionResponseDiarizedJson)
    assert decoded.segments is not None
    assert decoded.segments[0].end == 0.8
    assert [(s["text"], s["speaker"]) for s in answer["segments"]] == [
        ("Hello there.", "A"), ("How are you today?", "A"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("filename", "fields", "param", "says"),
    [
        ("notes.txt", {}, "file", "Invalid file format. Supported formats: ['flac', 'm4a'"),
        ("a.wav", {"model": None}, "model", "Missing required parameter: 'model'."),
        ("a.wav", {"response_format": "xml"}, "response_format", "Invalid value: 'xml'"),
        ("a.wav", {"model": "gpt-4o-transcribe", "response_format": "srt"}, "response_format",
         "not compatible with model 'gpt-4o-transcribe'. Use 'json' or 'text'."),
        ("a.wav", {"timestamp_granularities[]": "word"}, "timestamp_granularities",
         "requires response_format 'verbose_json'"),
        ("a.wav", {"stream": "true"}, "stream", "not supported for model 'whisper-1'"),
        ("a.wav", {"stream": "yes"}, "stream", "expected a boolean"),
        ("a.wav", {"temperature": "2"}, "temperature", "expected a value from 0.0 to 1.0"),
        ("a.wav", {"include[]": "everything"}, "include", "Invalid value: 'everything'"),
    ],
)  # fmt: skip
async def test_bad_transcription_parameters_are_400s_naming_them(
    http: httpx.AsyncClient, filename: str, fields: dict[str, Any], param: str, says: str
) -> None:
    data = {k: v for k, v in {"model": "whisper-1", **fields}.items() if v is not None}
    files = {"file": (filename, b"RIFF0000", "audio/wav")}
    error = await _error(http.post("/audio/transcriptions", files=files, data=data))
    assert error["param"] == param
    assert says in error["message"]


async def test_a_file_without_a_telling_name_is_known_by_its_first_bytes(
    http: httpx.AsyncClient,
) -> None:
    audio = (await _speech(http)).content
    assert (await _transcribe(http, audio, filename="recording")).json()["text"] == TEXT
    error = await _error(_transcribe(http, b"plain text, not audio", filename="recording"))
    assert error["message"].startswith("Invalid file format.")


async def test_a_transcription_without_a_file_is_a_400_naming_it(http: httpx.AsyncClient) -> None:
    form = {"x": ("a.wav", b"RIFF", "audio/wav")}
    data = {"model": "whisper-1"}
    missing = await _error(http.post("/audio/transcriptions", files=form, data=data))
    assert (missing["param"], missing["message"]) == ("file", "Missing required parameter: 'file'.")


async def test_faults_and_the_log_reach_the_audio_routes(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.fail_next("rate_limit", path="/v1/audio/speech")
    assert (await http.post("/audio/speech", json=SPEECH)).status_code == 429
    app.fail_next("server_error", path="/v1/audio/transcriptions")
    assert (await _transcribe(http, b"RIFF")).status_code == 500
    truncated = await http.post("/audio/speech", json=SPEECH, headers={"x-mock-fault": "malformed"})
    assert 0 < len(truncated.content) < len((await _speech(http)).content)
    assert [r.path for r in app.requests] == ["/v1/audio/speech", "/v1/audio/transcriptions"] + [
        "/v1/audio/speech"
    ] * 2


# -- the official SDK and our typed methods --------------------------------------------------


async def test_the_sdk_speaks_and_transcribes_what_it_said(sdk: AsyncOpenAI) -> None:
    speech = await sdk.audio.speech.create(
        model="gpt-4o-mini-tts", voice="coral", input=UNICODE, response_format="wav"
    )
    audio = speech.read()
    assert _wav(audio)[0].framerate == 24_000
    async with sdk.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="coral", input=UNICODE, response_format="pcm"
    ) as streamed:
        pcm = b"".join([chunk async for chunk in streamed.iter_bytes()])
    assert pcm == _wav(audio)[1]
    heard = await sdk.audio.transcriptions.create(file=("s.wav", audio), model="whisper-1")
    assert heard.text == UNICODE
    flac = await sdk.audio.speech.create(
        model="gpt-4o-mini-tts", voice="coral", input=UNICODE, response_format="flac"
    )
    assert decode_flac(flac.read())[1] == _wav(audio)[1]
    from_flac = await sdk.audio.transcriptions.create(
        file=("s.flac", flac.read()), model="whisper-1"
    )
    assert from_flac.text == UNICODE
    verbose = await sdk.audio.transcriptions.create(
        file=("s.wav", audio),
        model="whisper-1",
        response_format="verbose_json",
        timestamp_granularities=["word"],
    )
    assert verbose.words is not None
    assert [w.word for w in verbose.words] == UNICODE.split()
    text = await sdk.audio.transcriptions.create(
        file=("s.wav", audio), model="whisper-1", response_format="srt"
    )
    assert text.startswith("1\n00:00:00,320 --> ")
    stream = await sdk.audio.transcriptions.create(
        file=("s.wav", audio), model="gpt-4o-mini-transcribe", stream=True
    )
    events = [event async for event in stream]
    assert events[-1].type == "transcript.text.done"
    assert events[-1].text == UNICODE
    with pytest.warns(DeprecationWarning, match="deprecated"):  # the SDK's own notice
        translated = await sdk.audio.translations.create(file=("s.wav", audio), model="whisper-1")
    assert translated.text == UNICODE
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk.audio.speech.create(
            model="tts-1", voice="alloy", input="Hi", response_format="aac"
        )
    assert raised.value.param == "response_format"


async def test_the_sdk_streams_speech_events(sdk: AsyncOpenAI) -> None:
    async with sdk.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts",
        voice="alloy",
        input=TEXT,
        response_format="pcm",
        stream_format="sse",
    ) as response:
        body = await response.read()
    events = frames(body)
    assert events[-1].json()["type"] == "speech.audio.done"
    pcm = b"".join(base64.b64decode(e.json()["audio"]) for e in events[:-1])
    assert len(pcm) == (8 + len(TEXT)) * 2 * 480 * 2


async def test_our_typed_methods_speak_and_transcribe(mock_openai: MockServer) -> None:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        speech = await client.audio.speech.create(
            model="gpt-4o-mini-tts", voice="alloy", input=TEXT, response_format="wav"
        )
        audio = await speech.read()
        assert _wav(audio)[0].nframes == (8 + len(TEXT)) * 2 * 480
        heard = await client.audio.transcriptions.create(file=audio, model="whisper-1")
        assert heard.text == TEXT
        verbose = await client.audio.transcriptions.create(
            file=audio, model="whisper-1", response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )  # fmt: skip
        assert isinstance(verbose, CreateTranscriptionResponseVerboseJson)
        assert verbose.words is not None
        assert [w.word for w in verbose.words] == TEXT.split()
        translated = await client.audio.translations.create(file=audio, model="whisper-1")
        assert translated.text == TEXT
