"""Audio: speech the mock can play back, and transcripts that recover what it said.

Speech is 24 kHz, 16-bit mono PCM, as the service makes it: the input text's UTF-8 bytes, each
as two tones of 20 ms (one per half-byte, sixteen pitches from 400 to 1150 Hz, slower or faster
with `speed`), after a 320 ms header of the same tones that names the pace and the length, as
PCM, WAV or FLAC (`_flac.py`). It is audible, plays in any player, and is exact: a
transcription of audio the mock made reads the tones back into the text it spoke, with each
word's real place in time, so a round trip (`speech` → `transcriptions`) means something. Audio
the mock did not make gets a transcript drawn from its bytes (the same file, the same words),
about 150 words a minute.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import itertools
import math
import re
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from openai_ergo.mock._endpoints import (
    BadRequest,
    bounded,
    choice,
    missing_parameter,
    text_parameter,
    unsupported,
)
from openai_ergo.mock._exchange import Frame
from openai_ergo.mock._flac import MAGIC as FLAC_MAGIC
from openai_ergo.mock._flac import flac_frames, flac_head, read_flac
from openai_ergo.mock._multipart import boundary_of, read_form
from openai_ergo.mock._replies import estimate_tokens, generated_tokens, request_key
from openai_ergo.mock._routes import Call
from openai_ergo.mock._wire import encode_json, error_event_frames, sse_frame

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["RATE", "hear_pcm", "is_audio", "speech_samples", "spoken_pieces", "wav_header"]

#: Samples a second, as the service's `pcm` and `wav` speech.
RATE = 24_000
#: Samples a tone lasts at speed 1 (20 ms).
_WINDOW = 480
_MAGIC = b"MT"
_HEADER_BYTES = 8  # magic, window (2 bytes), text length (4 bytes)
_AMPLITUDE = 9_000
_EDGE = 24  # samples of fade in and out, so tones do not click
#: Bytes a speech response streams at a time.
_CHUNK = 32 * 1024
#: Formats the mock makes, and those it knows the service makes but it cannot.
_SPEECH_FORMATS = {"wav": b"audio/wav", "pcm": b"audio/pcm", "flac": b"audio/flac"}
_SERVICE_SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
_MAX_INPUT = 4096
#: The service's limit on an audio file, and the formats it reads.
_MAX_AUDIO = 25 * 1024 * 1024
_AUDIO_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
#: How the mock reads the length of audio it cannot parse: 128 kbit/s.
_BYTES_A_SECOND = 16_000
_WORDS_A_SECOND = 2.5
_MAX_WORDS = 5_000
#: Audio up to this size is read in memory, longer audio from a temporary file.
_SPOOL = 1024 * 1024
_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
_TRANSLATION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
_SENTENCE = re.compile(r"\S[^.!?]*(?:[.!?]+|$)")
_WORD = re.compile(r"\S+")


# -- speech -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _tones(window: int) -> tuple[bytes, ...]:
    """The sixteen tones of `window` samples: tone k holds 8 + k whole cycles."""
    tones = []
    for k in range(16):
        cycles = 8 + k
        samples = []
        for i in range(window):
            fade = min(1.0, (i + 0.5) / _EDGE, (window - i - 0.5) / _EDGE)
            value = math.sin(2 * math.pi * cycles * (i + 0.5) / window) * fade * _AMPLITUDE
            samples.append(round(value))
        tones.append(struct.pack(f"<{window}h", *samples))
    return tuple(tones)


@functools.lru_cache(maxsize=16)
def _reader(window: int) -> dict[bytes, int]:
    return {tone: k for k, tone in enumerate(_tones(window))}


def _window(speed: float) -> int:
    return max(_EDGE * 3, round(_WINDOW / speed))


def _tone_blocks(text: str, speed: float) -> Iterator[bytes]:
    """The tones that speak `text`, one at a time (16-bit little-endian samples each)."""
    window = _window(speed)
    data = text.encode("utf-8")
    header = _MAGIC + struct.pack(">HI", window, len(data))
    for tones, spoken in ((_tones(_WINDOW), header), (_tones(window), data)):
        for byte in spoken:
            yield tones[byte >> 4]
            yield tones[byte & 15]


def speech_samples(text: str, speed: float = 1.0) -> Iterator[bytes]:
    """The PCM samples (16-bit little-endian) that speak `text`, a few tones at a time."""
    blocks = _tone_blocks(text, speed)
    while batch := b"".join(itertools.islice(blocks, 32)):
        yield batch


def spoken_pieces(pieces: list[str]) -> Iterator[bytes]:
    """The PCM of `speech_samples("".join(pieces))`, cut where the pieces meet: first the
    header, then one chunk per piece (how a realtime answer's audio keeps pace with its
    transcript's deltas)."""
    data = "".join(pieces).encode("utf-8")
    tones = _tones(_WINDOW)
    header = _MAGIC + struct.pack(">HI", _WINDOW, len(data))
    yield b"".join(tones[byte >> 4] + tones[byte & 15] for byte in header)
    for piece in pieces:
        yield b"".join(tones[byte >> 4] + tones[byte & 15] for byte in piece.encode("utf-8"))


def hear_pcm(pcm: bytes) -> str:
    """The transcript of raw 24 kHz 16-bit mono PCM (a realtime session's input audio): the
    text the mock spoke in it, else words drawn from its bytes, about 150 a minute."""
    spoken = _spoken_text(io.BytesIO(pcm), 0, len(pcm)) if pcm else None
    if spoken is not None:
        return spoken.text
    key = int.from_bytes(hashlib.blake2b(pcm, digest_size=8).digest(), "big")
    words = min(_MAX_WORDS, max(1, round(len(pcm) / (2 * RATE) * _WORDS_A_SECOND)))
    return "".join(generated_tokens(key, words)).strip()


def _speech_length(text: str, speed: float) -> int:
    """The bytes of PCM `speech_samples` makes."""
    return 2 * 2 * (_HEADER_BYTES * _WINDOW + len(text.encode("utf-8")) * _window(speed))


def wav_header(pcm_bytes: int) -> bytes:
    """The 44-byte header of a 24 kHz 16-bit mono WAV file holding `pcm_bytes` of samples."""
    return (
        b"RIFF"
        + struct.pack("<I", 36 + pcm_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
        + b"data"
        + struct.pack("<I", pcm_bytes)
    )


def _audio(text: str, speed: float, response_format: str) -> Iterator[bytes]:
    """The whole file, in chunks of about `_CHUNK` bytes."""
    if response_format == "flac":
        digest = hashlib.md5(usedforsecurity=False)
        for block in _tone_blocks(text, speed):
            digest.update(block)
        sizes = sorted((_WINDOW, _window(speed)))
        samples = _speech_length(text, speed) // 2
        yield flac_head(samples, (sizes[0], sizes[1]), digest.digest(), RATE)
        pieces = flac_frames(_tone_blocks(text, speed))
    else:
        if response_format == "wav":
            yield wav_header(_speech_length(text, speed))
        pieces = speech_samples(text, speed)
    pending = bytearray()
    for piece in pieces:
        pending += piece
        while len(pending) >= _CHUNK:
            yield bytes(pending[:_CHUNK])
            del pending[:_CHUNK]
    if pending:
        yield bytes(pending)


async def speech(app: MockOpenAI, call: Call) -> None:
    """`POST /v1/audio/speech`: the text spoken, streamed as WAV, PCM or FLAC (or as SSE
    events)."""
    body = call.request.json
    model = text_parameter(body, "model", required=True, limit=256)
    text = text_parameter(body, "input", required=True, limit=_MAX_INPUT)
    text_parameter(body, "instructions", required=False, limit=_MAX_INPUT)
    voice = body.get("voice")
    if voice is None:
        raise missing_parameter("voice")
    # Any voice name is taken (the spec allows any string, and voices come and go), or a
    # custom voice's {"id": ...}.
    if not (
        isinstance(voice, str) or (isinstance(voice, dict) and isinstance(voice.get("id"), str))
    ):
        raise BadRequest(
            "Invalid 'voice': expected a voice name such as "
            + ", ".join(f"'{v}'" for v in _VOICES[:3])
            + ", or an object with an 'id'.",
            param="voice",
            code="invalid_type",
        )
    speed = float(bounded(body, "speed", 0.25, 4.0, 1.0, integer=False))
    # The service's default is mp3, which the mock cannot make: a request naming no format
    # gets WAV (and says so in its content type); one naming mp3, opus or aac gets a 400.
    response_format = choice(body, "response_format", _SERVICE_SPEECH_FORMATS, "wav")
    if response_format not in _SPEECH_FORMATS:
        raise BadRequest(
            f"The mock cannot make response_format '{response_format}': it makes 'wav', "
            "'pcm' and 'flac' (24 kHz 16-bit mono).",
            param="response_format",
            code="unsupported_value",
        )
    stream_format = choice(body, "stream_format", ("sse", "audio"), "audio")
    tokens = estimate_tokens(text)
    if stream_format == "sse":
        if model in ("tts-1", "tts-1-hd"):
            raise BadRequest(
                f"stream_format 'sse' is not supported for model '{model}'.",
                param="stream_format",
                code="unsupported_value",
            )
        frames = _speech_events(text, speed, response_format, tokens)
        await app._stream(call.reply, frames, call.fault, error_event_frames, tokens=tokens)
        return
    content_type = _SPEECH_FORMATS[response_format]
    if call.fault is not None:
        # A fault acts on a whole body; speech a test faults is short.
        data = b"".join(_audio(text, speed, response_format))
        await call.reply.raw(200, data, call.fault, tokens=tokens, content_type=content_type)
        return
    await call.reply.start(200, call.reply.headers(content_type, call.reply.window.record(tokens)))
    for chunk in _audio(text, speed, response_format):
        await call.reply.body(chunk, more=True)
    await call.reply.body(b"")


def _speech_events(text: str, speed: float, response_format: str, tokens: int) -> Iterator[Frame]:
    for chunk in _audio(text, speed, response_format):
        delta = {"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode("ascii")}
        yield sse_frame(delta, "speech.audio.delta"), True
    output = _speech_length(text, speed) // (2 * _WINDOW)  # one audio token a 20 ms tone
    usage = {"input_tokens": tokens, "output_tokens": output, "total_tokens": tokens + output}
    yield sse_frame({"type": "speech.audio.done", "usage": usage}, "speech.audio.done"), False


# -- reading audio ------------------------------------------------------------------------------


def is_flac(audio: IO[bytes]) -> bool:
    """Whether a file is FLAC, by its first bytes."""
    audio.seek(0)
    return audio.read(4) == FLAC_MAGIC


@dataclass(frozen=True)
class Heard:
    """What the mock hears in an audio file: its text, how long it lasts, and when each
    character of the text is said."""

    text: str
    duration: float
    at: Callable[[int], float]


def _wav(audio: IO[bytes], size: int) -> tuple[tuple[int, int, int], int, int] | None:
    """A PCM WAV file's (rate, channels, bits), and where its samples start and how many
    bytes they hold; None when it is not one."""
    audio.seek(0)
    head = audio.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    form: tuple[int, int, int] | None = None
    at = 12
    while at + 8 <= size:
        audio.seek(at)
        tag, length = struct.unpack("<4sI", audio.read(8))
        if tag == b"fmt " and length >= 16 and at + 24 <= size:
            kind, channels, rate, _, _, bits = struct.unpack("<HHIIHH", audio.read(16))
            if kind != 1 or not channels or not rate or bits not in (8, 16, 24, 32):
                return None
            form = (rate, channels, bits)
        elif tag == b"data" and form is not None:
            # A streamed WAV may declare more (0xFFFFFFFF) than it holds.
            return form, at + 8, min(length, size - at - 8)
        at += 8 + length + (length & 1)
    return None


def hear(audio: IO[bytes], size: int, key: int) -> Heard:
    """The transcript of `size` bytes of audio: the text the mock spoke in it, or words
    drawn from `key` (the file's digest) for about its length."""
    flac = read_flac(audio, size) if is_flac(audio) else None
    wav = _wav(audio, size) if flac is None else None
    if flac is not None:
        (rate, channels, bits, total), pcm = flac
        duration = total / rate if rate else size / _BYTES_A_SECOND
        if (rate, channels, bits) == (RATE, 1, 16) and pcm is not None:
            spoken = _spoken_text(io.BytesIO(pcm), 0, len(pcm))
            if spoken is not None:
                return spoken
    elif wav is not None:
        (rate, channels, bits), start, length = wav
        duration = length / (rate * channels * bits // 8)
        if (rate, channels, bits) == (RATE, 1, 16):
            spoken = _spoken_text(audio, start, length)
            if spoken is not None:
                return spoken
    else:
        duration = size / _BYTES_A_SECOND
    words = min(_MAX_WORDS, max(1, round(duration * _WORDS_A_SECOND)))
    text = "".join(generated_tokens(key, words))
    return Heard(text, duration, lambda i: duration * i / max(1, len(text)))


def _spoken_text(audio: IO[bytes], start: int, length: int) -> Heard | None:
    def read(at: int, count: int, window: int) -> bytes | None:
        audio.seek(start + at)
        raw = audio.read(count * 4 * window)
        if len(raw) < count * 4 * window:
            return None
        reader, size = _reader(window), 2 * window
        out = bytearray()
        for i in range(0, len(raw), 2 * size):
            high, low = reader.get(raw[i : i + size]), reader.get(raw[i + size : i + 2 * size])
            if high is None or low is None:
                return None
            out.append(high << 4 | low)
        return bytes(out)

    header = read(0, _HEADER_BYTES, _WINDOW)
    if header is None or header[:2] != _MAGIC:
        return None
    window, count = (int(n) for n in struct.unpack(">HI", header[2:]))
    first = _HEADER_BYTES * 4 * _WINDOW
    if not _window(4.0) <= window <= _window(0.25) or first + count * 4 * window > length:
        return None
    data = read(first, count, window)
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.encode("utf-8")))
    lead = _HEADER_BYTES * 2 * _WINDOW  # samples before the text

    def at(index: int) -> float:
        return (lead + offsets[index] * 2 * window) / RATE

    return Heard(text, length / (2 * RATE), at)


# -- transcriptions and translations ------------------------------------------------------------


def is_audio(head: bytes) -> bool:
    """Whether a file's first bytes are those of an audio format the service reads (for a file
    sent without a telling name)."""
    return (
        (head[:4] == b"RIFF" and head[8:12] == b"WAVE")
        or head[:4] in (b"fLaC", b"OggS", b"\x1aE\xdf\xa3")
        or head[:3] == b"ID3"
        or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")
        or head[4:8] == b"ftyp"
    )


@dataclass(frozen=True)
class _Words:
    """The transcript cut into words and sentences, each with its start and end in seconds."""

    words: list[tuple[str, float, float]]
    segments: list[tuple[str, float, float]]

    @classmethod
    def of(cls, heard: Heard) -> _Words:
        def span(match: re.Match[str]) -> tuple[str, float, float]:
            return match.group(), round(heard.at(match.start()), 3), round(heard.at(match.end()), 3)

        return cls(
            [span(m) for m in _WORD.finditer(heard.text)],
            [span(m) for m in _SENTENCE.finditer(heard.text)],
        )


def _segment(index: int, text: str, start: float, end: float, temperature: float) -> dict[str, Any]:
    tokens = [
        int.from_bytes(hashlib.blake2b(w.encode(), digest_size=2).digest(), "big")
        for w in text.split()
    ]
    return {
        "id": index,
        "seek": round(start * 100),
        "start": start,
        "end": end,
        "text": " " + text,
        "tokens": tokens,
        "temperature": temperature,
        "avg_logprob": -0.25,
        "compression_ratio": 1.2,
        "no_speech_prob": 0.01,
    }


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02}:{minutes:02}:{secs:02}{separator}{millis:03}"


def _subtitles(words: _Words, vtt: bool) -> str:
    if vtt:
        cues = [f"{_clock(s, '.')} --> {_clock(e, '.')}\n{t}\n" for t, s, e in words.segments]
        return "WEBVTT\n\n" + "\n".join(cues)
    return "\n".join(
        f"{i}\n{_clock(s, ',')} --> {_clock(e, ',')}\n{t}\n"
        for i, (t, s, e) in enumerate(words.segments, 1)
    )


def _token_usage(heard: Heard, prompt: str) -> dict[str, Any]:
    audio = math.ceil(heard.duration * 10)  # the service bills about ten audio tokens a second
    text = estimate_tokens(prompt) if prompt else 0
    output = estimate_tokens(heard.text)
    return {
        "type": "tokens",
        "input_tokens": audio + text,
        "input_token_details": {"text_tokens": text, "audio_tokens": audio},
        "output_tokens": output,
        "total_tokens": audio + text + output,
    }


def _models_formats(model: str) -> tuple[str, ...]:
    if "diarize" in model:
        return ("json", "text", "diarized_json")
    if "transcribe" in model:
        return ("json", "text")
    return ("json", "text", "srt", "verbose_json", "vtt")


@dataclass(frozen=True)
class _Request:
    """A transcription or translation request, read and checked."""

    task: str  # transcribe or translate
    model: str
    response_format: str
    language: str
    prompt: str
    temperature: float
    granularities: tuple[str, ...]
    logprobs: bool
    stream: bool
    heard: Heard


async def _read(app: MockOpenAI, call: Call, task: str) -> _Request:
    boundary = boundary_of(call.request.headers.get("content-type", ""))
    digest = hashlib.blake2b(digest_size=8)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:

        class _Sink:
            def write(self, data: bytes, /) -> None:
                spool.write(data)
                digest.update(data)

        form = await read_form(
            call.body_chunks(), boundary, lambda _n, _f: _Sink(), max_file_bytes=_MAX_AUDIO
        )
        body = form.as_json(
            numbers=("temperature",),
            flags=("stream",),
            arrays=("include", "timestamp_granularities"),
        )
        file = next((f for f in form.files if f.name == "file"), None)
        if file is None:
            raise missing_parameter("file")
        model = text_parameter(body, "model", required=True, limit=256)
        extension = file.filename.rpartition(".")[2].lower()
        spool.seek(0)
        if file.size == 0 or (extension not in _AUDIO_EXTENSIONS and not is_audio(spool.read(12))):
            raise BadRequest(
                "Invalid file format. Supported formats: "
                + str(list(_AUDIO_EXTENSIONS)).replace('"', "'"),
                param="file",
                code="invalid_value",
            )
        formats = _FORMATS if task == "transcribe" else _TRANSLATION_FORMATS
        response_format = choice(body, "response_format", formats, "json")
        if response_format not in _models_formats(model):
            raise BadRequest(
                f"response_format '{response_format}' is not compatible with model '{model}'. "
                "Use " + " or ".join(f"'{f}'" for f in _models_formats(model)) + ".",
                param="response_format",
                code="unsupported_value",
            )
        granularities = tuple(body.get("timestamp_granularities") or ("segment",))
        for granularity in granularities:
            if granularity not in ("word", "segment"):
                raise unsupported("timestamp_granularities", granularity, ("word", "segment"))
        if "timestamp_granularities" in body and response_format != "verbose_json":
            raise BadRequest(
                "timestamp_granularities requires response_format 'verbose_json'.",
                param="timestamp_granularities",
                code="invalid_value",
            )
        include = body.get("include") or []
        for item in include:
            if item != "logprobs":
                raise unsupported("include", item, ("logprobs",))
        stream = bool(body.get("stream"))
        if stream and (model == "whisper-1" or response_format not in ("json", "text")):
            raise BadRequest(
                f"Streaming is not supported for model '{model}' with response_format "
                f"'{response_format}'.",
                param="stream",
                code="unsupported_value",
            )
        seed, _ = app._limits(call.request.headers)
        key = request_key(model, digest.hexdigest(), seed, 0)
        heard = hear(spool, file.size, key)
    language = text_parameter(body, "language", required=False, limit=16) or "en"
    return _Request(
        task=task,
        model=model,
        response_format=response_format,
        language="english" if task == "translate" or language == "en" else language,
        prompt=text_parameter(body, "prompt", required=False, limit=_MAX_INPUT),
        temperature=float(bounded(body, "temperature", 0.0, 1.0, 0.0, integer=False)),
        granularities=granularities,
        logprobs="logprobs" in include,
        stream=stream,
        heard=heard,
    )


def _logprobs(text: str) -> list[dict[str, Any]]:
    return [
        {"token": token, "logprob": -0.01, "bytes": list(token.encode())}
        for token in re.findall(r"\s*\S+", text)
    ]


def _answer(request: _Request) -> tuple[bytes, bytes]:
    """The body and its content type, in the request's format."""
    heard, kind = request.heard, request.response_format
    if kind == "text":
        return heard.text.encode() + b"\n", b"text/plain; charset=utf-8"
    if kind in ("srt", "vtt"):
        return _subtitles(_Words.of(heard), kind == "vtt").encode(), b"text/plain; charset=utf-8"
    duration_usage = {"type": "duration", "seconds": math.ceil(heard.duration)}
    answer: dict[str, Any] = {"text": heard.text}
    if kind == "json":
        if request.task == "transcribe":
            whisper = "transcribe" not in request.model
            answer["usage"] = duration_usage if whisper else _token_usage(heard, request.prompt)
            if request.logprobs:
                answer["logprobs"] = _logprobs(heard.text)
        return encode_json(answer), b"application/json"
    words = _Words.of(heard)
    answer = {
        "task": request.task,
        "language": request.language,
        "duration": round(heard.duration, 3),
        "text": heard.text,
    }
    if kind == "diarized_json":
        answer["segments"] = [
            {
                "type": "transcript.text.segment",
                "id": f"seg_{i}",
                "start": s,
                "end": e,
                "text": t,
                "speaker": "A",
            }
            for i, (t, s, e) in enumerate(words.segments)
        ]
        answer["usage"] = _token_usage(heard, request.prompt)
        return encode_json(answer), b"application/json"
    if "segment" in request.granularities:
        answer["segments"] = [
            _segment(i, t, s, e, request.temperature) for i, (t, s, e) in enumerate(words.segments)
        ]
    if "word" in request.granularities:
        answer["words"] = [{"word": w, "start": s, "end": e} for w, s, e in words.words]
    if request.task == "transcribe":
        answer["usage"] = duration_usage
    return encode_json(answer), b"application/json"


def _transcript_events(request: _Request) -> Iterator[Frame]:
    tokens = re.findall(r"\s*\S+", request.heard.text)
    for token in tokens:
        delta: dict[str, Any] = {"type": "transcript.text.delta", "delta": token}
        if request.logprobs:
            delta["logprobs"] = _logprobs(token)
        yield sse_frame(delta, "transcript.text.delta"), True
    done: dict[str, Any] = {
        "type": "transcript.text.done",
        "text": request.heard.text,
        "usage": _token_usage(request.heard, request.prompt),
    }
    if request.logprobs:
        done["logprobs"] = _logprobs(request.heard.text)
    yield sse_frame(done, "transcript.text.done"), False


async def _respond(app: MockOpenAI, call: Call, task: str) -> None:
    request = await _read(app, call, task)
    tokens = estimate_tokens(request.prompt)
    if request.stream:
        frames = _transcript_events(request)
        await app._stream(call.reply, frames, call.fault, error_event_frames, tokens=tokens)
        return
    body, content_type = _answer(request)
    await call.reply.raw(200, body, call.fault, tokens=tokens, content_type=content_type)


async def transcription(app: MockOpenAI, call: Call) -> None:
    """`POST /v1/audio/transcriptions`: multipart audio, read as it arrives."""
    await _respond(app, call, "transcribe")


async def translation(app: MockOpenAI, call: Call) -> None:
    """`POST /v1/audio/translations`: multipart audio, answered in English."""
    await _respond(app, call, "translate")
