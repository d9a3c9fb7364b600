"""The audio builders: speech from text, and transcripts (or English translations) of audio.

`client.speech("gpt-4o-mini-tts").voice("alloy").input("Hello")` is a request: awaiting it gives
the audio bytes, `await ....save(path)` writes them to a file as they arrive, and `.stream()`
yields them chunk by chunk. `client.transcription("whisper-1").file(path)` awaited gives a
`Transcript` (text, and segments and words with `verbose_json`); `.stream()` yields the typed
transcript events. `client.translation(model).file(path)` is the same for a translation.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, final

from openai_ergo._errors import InvalidRequestError
from openai_ergo._metadata import RawResponse
from openai_ergo._multipart import FileInput
from openai_ergo.resources._builder import check_number, check_str
from openai_ergo.resources._media import MediaBuilder, StreamHandle, check_choice, upload_of
from openai_ergo.types._generated.audio import (
    CreateTranscriptionResponseDiarizedJson,
    CreateTranscriptionResponseStreamEvent,
    CreateTranscriptionResponseVerboseJson,
    CreateTranslationResponseVerboseJson,
    SpeechAudioDeltaEvent,
    SpeechAudioDoneEvent,
    SpeechAudioDoneEventUsage,
    TranscriptionSegment,
    TranscriptionWord,
    TranscriptTextDeltaEvent,
    TranscriptTextDoneEvent,
)

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._response import BinaryResponse
    from openai_ergo.resources._event_streams import TypedEventStream

__all__ = [
    "SpeechBuilder",
    "SpeechStream",
    "Transcript",
    "TranscriptStream",
    "TranscriptionBuilder",
]

_SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
_TRANSCRIPT_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
_PLAIN_FORMATS = ("text", "srt", "vtt")
#: A subtitle cue's timing line (`00:00:01,000 --> 00:00:02,500`, `.` in WebVTT).
_CUE_TIMING = re.compile(r"^\d{2}:\d{2}(:\d{2})?[.,]\d{3} --> ")

Voice: TypeAlias = "str | Mapping[str, str]"


@final
class SpeechStream(StreamHandle["BinaryResponse | TypedEventStream[Any]", bytes]):
    """Speech audio as it arrives: `async with builder.stream() as audio:` then `async for
    chunk in audio:` yields bytes (decoded from the `speech.audio.delta` events when the
    request asked for `stream_format("sse")`). `usage` is the service's count once an SSE
    stream ended."""

    __slots__ = ("usage",)

    def __init__(self, factory: Any) -> None:
        super().__init__(factory)
        #: The tokens billed (`speech.audio.done`), for an SSE stream that ended; else None.
        self.usage: SpeechAudioDoneEventUsage | None = None

    async def __anext__(self) -> bytes:
        handle = await self._opened()
        while True:
            item: Any = await handle.__anext__()
            if isinstance(item, bytes):
                return item
            if isinstance(item, SpeechAudioDeltaEvent) and item.audio:
                return base64.b64decode(item.audio)
            if isinstance(item, SpeechAudioDoneEvent):
                self.usage = item.usage


@final
class SpeechBuilder(MediaBuilder):
    """A text-to-speech request: `client.speech(model).voice("alloy").input("Hello")`, with
    `.format(...)`, `.speed(...)` and `.instructions(...)`.

    `await builder` gives the audio bytes, `await builder.save(path)` writes them to a file as
    they arrive, `builder.stream()` yields them chunk by chunk, and
    `builder.with_raw_response()` is the audio body still unread, with the response's request
    id, headers and rate limits. Bad values raise `InvalidRequestError` naming the parameter.
    """

    __slots__ = ()

    def voice(self, value: Voice) -> SpeechBuilder:
        """A built-in voice (`alloy`, `ash`, `coral`, `marin`, ...) or a custom voice as
        `{"id": "voice_..."}`."""
        if isinstance(value, Mapping):
            if not isinstance(value.get("id"), str) or not value["id"]:
                raise InvalidRequestError(
                    f"a custom voice is {{'id': 'voice_...'}}, not {dict(value)!r}", param="voice"
                )
            return self._set("voice", dict(value))
        return self._set("voice", check_str("voice", value))

    def input(self, text: str) -> SpeechBuilder:
        """The text to speak, at most 4,096 characters."""
        return self._set("input", check_str("input", text, max_length=4096))

    def instructions(self, text: str) -> SpeechBuilder:
        """How to speak (tone, accent, pace); not for `tts-1` and `tts-1-hd`."""
        return self._set("instructions", check_str("instructions", text, max_length=4096))

    def format(self, value: str) -> SpeechBuilder:
        """The audio format: `mp3` (the service's default), `opus`, `aac`, `flac`, `wav` or
        `pcm` (raw 24 kHz 16-bit mono samples)."""
        return self._set("response_format", check_choice("format", value, _SPEECH_FORMATS))

    def speed(self, value: float) -> SpeechBuilder:
        """How fast to speak, 0.25 to 4 (1 is normal)."""
        return self._set("speed", check_number("speed", value, 0.25, 4))

    def stream_format(self, value: Literal["audio", "sse"]) -> SpeechBuilder:
        """How `.stream()` receives the audio: `audio` (the raw bytes, the default) or `sse`
        (server-sent events carrying it, and the usage; not for `tts-1` and `tts-1-hd`)."""
        checked = check_choice("stream_format", value, ("audio", "sse"))
        return self._set("stream_format", None if checked == "audio" else checked)

    def _checked_args(self) -> dict[str, Any]:
        args = self._call_args()
        for name in ("voice", "input"):
            if name not in args:
                raise InvalidRequestError(f"speech needs a {name}: set .{name}(...)", param=name)
        return args

    async def _open(self, *, sse: bool = False) -> BinaryResponse | TypedEventStream[Any]:
        args = self._checked_args()
        if not sse:
            args.pop("stream_format", None)
        body: BinaryResponse | TypedEventStream[Any] = await self._client.audio.speech.create(
            **args
        )
        return body

    async def _read(self) -> bytes:
        return await _binary(await self._open()).read()

    def __await__(self) -> Generator[Any, None, bytes]:
        return self._read().__await__()

    async def with_raw_response(self) -> BinaryResponse:
        """Send the request and return the audio body still on the wire: the
        `BinaryResponse` the typed method's `with_raw_response` twin returns. Its
        `request_id`, `headers`, `status_code` and `rate_limit` are there at once;
        `await body.read()` gives the bytes `await builder` gives, `await body.write_to(path)`
        does what `save(path)` does. It owns its connection: `async with` it, or read it
        whole."""
        return _binary(await self._open())

    async def save(self, path: str | os.PathLike[str]) -> int:
        """Write the audio to the file at `path` as it arrives (never held whole); returns the
        number of bytes written."""
        return await _binary(await self._open()).write_to(path)

    def stream(self) -> SpeechStream:
        """The audio chunk by chunk as it arrives. The request is checked now and sent on
        `async with` (or the first `async for`)."""
        sse = "stream_format" in self._checked_args()

        async def open_stream() -> BinaryResponse | TypedEventStream[Any]:
            return await self._open(sse=sse)

        return SpeechStream(open_stream)


def _binary(body: BinaryResponse | TypedEventStream[Any]) -> BinaryResponse:
    from openai_ergo._response import BinaryResponse

    if not isinstance(body, BinaryResponse):  # only a stream asks for `sse`
        raise InvalidRequestError(
            "stream_format('sse') is for .stream(): awaiting or saving reads the audio itself",
            param="stream_format",
        )
    return body


@final
class Transcript:
    """What a transcription (or translation) gave: the `text`, and with `verbose_json` the
    `language`, `duration`, `segments` and `words` (with `timestamp_granularities("word")`).

    `response` is the typed answer of a JSON format; `body` the answer as sent for `text`,
    `srt` and `vtt` (whose `text` is the subtitles' words, their timings dropped).
    """

    __slots__ = ("body", "format", "response", "text")

    def __init__(
        self, text: str, *, format: str, response: Any = None, body: str | None = None
    ) -> None:
        #: The transcribed (or translated) text.
        self.text = text
        #: The `response_format` it came in.
        self.format = format
        #: The typed answer (`CreateTranscriptionResponseJson`, `...VerboseJson`, ...) of a
        #: JSON format, else None.
        self.response = response
        #: The body as sent for `text`, `srt` and `vtt`, else None.
        self.body = body

    @property
    def language(self) -> str | None:
        """The audio's language (`verbose_json`)."""
        return getattr(self.response, "language", None)

    @property
    def duration(self) -> float | None:
        """The audio's length in seconds (`verbose_json`, `diarized_json`)."""
        return getattr(self.response, "duration", None)

    @property
    def segments(self) -> list[TranscriptionSegment]:
        """The timed segments (`verbose_json`; empty for other formats)."""
        response = self.response
        verbose = (CreateTranscriptionResponseVerboseJson, CreateTranslationResponseVerboseJson)
        return list(response.segments or []) if isinstance(response, verbose) else []

    @property
    def words(self) -> list[TranscriptionWord]:
        """The timed words (`verbose_json` with `timestamp_granularities("word")`)."""
        response = self.response
        if isinstance(response, CreateTranscriptionResponseVerboseJson):
            return list(response.words or [])
        return []

    @property
    def usage(self) -> Any:
        """What the service billed (seconds or tokens), when it says."""
        return getattr(self.response, "usage", None)

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:59] + "…"
        return f"<Transcript {self.format} {text!r}>"


def _cue_text(body: str) -> str:
    """The words of SRT or WebVTT subtitles: every line but the header, cue numbers and
    timings."""
    lines = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line == "WEBVTT" or line.isdigit() or _CUE_TIMING.match(line):
            continue
        lines.append(line)
    return " ".join(lines)


def _transcript_of(raw: RawResponse[Any], form: str) -> Transcript:
    """The `Transcript` of a transcription's (or translation's) answer in format `form`."""
    if form in _PLAIN_FORMATS:
        # Not JSON: the body is the transcript (or its subtitles) as sent.
        body = raw.response.content.decode()
        text = body.strip() if form == "text" else _cue_text(body)
        return Transcript(text, format=form, body=body)
    response = raw.parse()
    if isinstance(response, CreateTranscriptionResponseDiarizedJson):
        form = "diarized_json"
    return Transcript(response.text or "", format=form, response=response)


@final
class TranscriptStream(
    StreamHandle["TypedEventStream[Any]", CreateTranscriptionResponseStreamEvent]
):
    """A streamed transcription: `async with builder.stream() as stream:` then `async for
    event in stream:` yields the typed events (`transcript.text.delta` as the words come,
    then `transcript.text.done`); `text()` only the text deltas; `final()` the `Transcript`
    once the stream ended."""

    __slots__ = ()

    def text(self) -> _TextDeltas:
        """The text deltas, as they arrive."""
        return _TextDeltas(self)

    def final(self) -> Transcript:
        """The whole transcript (`transcript.text.done`), once the stream ended."""
        events = self._opened_handle().final()
        done = next(e for e in events if isinstance(e, TranscriptTextDoneEvent))
        return Transcript(done.text or "", format="json", response=done)


@final
class _TextDeltas:
    """The text deltas of a transcript stream (a class, not an async generator, so that
    leaving the loop early leaves nothing for trio to report)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: TranscriptStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _TextDeltas:
        return self

    async def __anext__(self) -> str:
        while True:
            event = await self._stream.__anext__()
            if isinstance(event, TranscriptTextDeltaEvent) and event.delta:
                return event.delta


@final
class TranscriptionBuilder(MediaBuilder):
    """A transcription (`client.transcription(model)`) or English translation
    (`client.translation(model)`) of an audio file: `.file(path)`, with `.language(...)`,
    `.prompt(...)`, `.format(...)`, `.timestamp_granularities(...)`, `.temperature(...)`.

    `await builder` gives a `Transcript`; `with_raw_response()` the same with the response's
    request id, headers and rate limits; `.stream()` (transcriptions by the `gpt-4o-*`
    models) the typed transcript events. Bad values raise `InvalidRequestError` naming the
    parameter.
    """

    __slots__ = ("_translate",)

    def __init__(self, client: Client, model: str, *, translate: bool = False) -> None:
        super().__init__(client, model)
        self._translate = translate

    @property
    def task(self) -> Literal["transcribe", "translate"]:
        """`transcribe` or `translate` (into English)."""
        return "translate" if self._translate else "transcribe"

    def _transcription_only(self, param: str) -> None:
        if self._translate:
            raise InvalidRequestError(f"a translation takes no {param}", param=param)

    def file(self, source: FileInput | str) -> TranscriptionBuilder:
        """The audio (flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav or webm, at most 25 MB):
        a path, bytes, a binary file or a `FileUpload`."""
        return self._set("file", upload_of("file", source, stem="audio"))

    def language(self, code: str) -> TranscriptionBuilder:
        """The audio's language as an ISO-639-1 code (`en`, `fr`): better and faster."""
        self._transcription_only("language")
        return self._set("language", check_str("language", code, max_length=16))

    def prompt(self, text: str) -> TranscriptionBuilder:
        """Text that guides the style or carries on from a previous part (in the audio's
        language; English for a translation)."""
        return self._set("prompt", check_str("prompt", text))

    def format(self, value: str) -> TranscriptionBuilder:
        """`json` (the default), `text`, `srt`, `vtt`, `verbose_json` (segments and words) or
        `diarized_json` (speakers, transcriptions only)."""
        choices = _TRANSCRIPT_FORMATS[:-1] if self._translate else _TRANSCRIPT_FORMATS
        return self._set("response_format", check_choice("format", value, choices))

    def temperature(self, value: float) -> TranscriptionBuilder:
        """Sampling temperature, 0 to 1."""
        return self._set("temperature", check_number("temperature", value, 0, 1))

    def timestamp_granularities(
        self, *granularities: Literal["word", "segment"]
    ) -> TranscriptionBuilder:
        """Which timings `verbose_json` gives: `word`, `segment` or both."""
        self._transcription_only("timestamp_granularities")
        for item in granularities:
            check_choice("timestamp_granularities", item, ("word", "segment"))
        return self._set("timestamp_granularities", list(granularities) or None)

    def include(self, *items: Literal["logprobs"]) -> TranscriptionBuilder:
        """Extra information in the answer: `logprobs` (`json` from the `gpt-4o-*` models)."""
        self._transcription_only("include")
        for item in items:
            check_choice("include", item, ("logprobs",))
        return self._set("include", list(items) or None)

    def _checked_args(self) -> dict[str, Any]:
        args = self._call_args()
        if "file" not in args:
            raise InvalidRequestError(
                f"a {'translation' if self._translate else 'transcription'} needs the audio: "
                "set .file(...)",
                param="file",
            )
        if "timestamp_granularities" in args and args.get("response_format") != "verbose_json":
            raise InvalidRequestError(
                "timestamp_granularities needs format('verbose_json')",
                param="timestamp_granularities",
            )
        return args

    async def _create(self) -> Transcript:
        return (await self.with_raw_response()).parse()

    async def with_raw_response(self) -> RawResponse[Transcript]:
        """Send the request and return the response as it came: `request_id`, `headers`,
        `rate_limit`, `status_code`, and `parse()`, the `Transcript` that `await` gives
        (whichever `format`: JSON or `text`/`srt`/`vtt`)."""
        args = self._checked_args()
        audio = self._client.audio
        method: Any = audio.translations if self._translate else audio.transcriptions
        raw: RawResponse[Any] = await method.with_raw_response.create(**args)
        form: str = args.get("response_format", "json")

        def parse(_: Any) -> Transcript:
            return _transcript_of(raw, form)

        return RawResponse(raw.response, parse)

    def __await__(self) -> Generator[Any, None, Transcript]:
        return self._create().__await__()

    def stream(self) -> TranscriptStream:
        """Stream the transcript as it is made (the `gpt-4o-*transcribe` models; not
        `whisper-1`, nor translations). The request is checked now and sent on `async with`."""
        self._transcription_only("stream")
        args = self._checked_args()
        transcriptions = self._client.audio.transcriptions

        async def open_stream() -> TypedEventStream[Any]:
            stream: TypedEventStream[Any] = await transcriptions.create(**args, stream=True)
            return stream

        return TranscriptStream(open_stream)
