"""Custom voices and the consent recordings that authorize them.

A consent recording (`cons_...`) is uploaded as multipart (`name`, `language`, `recording`, read
as it arrives and not kept: the mock only checks it is audio of at most 10 MiB), then listed,
retrieved, renamed and deleted; a custom voice (`voice_...`) is made from an audio sample and
an existing consent. Speech takes any voice id, as it takes any model name.

    consent: created ──POST {name}──▶ renamed ──DELETE──▶ deleted (404 from then on)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from openai_ergo.mock._audio import is_audio
from openai_ergo.mock._endpoints import BadRequest, missing_parameter, text_parameter
from openai_ergo.mock._multipart import Form, boundary_of, read_form
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import Collection, page
from openai_ergo.mock._wire import new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["Voices"]

#: The service's limit on a consent recording or a voice sample.
MAX_RECORDING = 10 * 1024 * 1024
#: The MIME types the service takes for a recording or a sample.
AUDIO_TYPES = (
    "audio/mpeg",
    "audio/wav",
    "audio/x-wav",
    "audio/ogg",
    "audio/aac",
    "audio/flac",
    "audio/webm",
    "audio/mp4",
)


@dataclass
class Consent:
    """A consent recording: its label and language (the recording itself is not kept)."""

    id: str
    name: str
    language: str
    created_at: int = field(default_factory=now)

    def render(self) -> dict[str, Any]:
        """The VoiceConsentResource."""
        return {"object": "audio.voice_consent", **asdict(self)}


@dataclass
class Voice:
    """A custom voice (made under a consent that existed then)."""

    id: str
    name: str
    created_at: int = field(default_factory=now)

    def render(self) -> dict[str, Any]:
        """The VoiceResource."""
        return {"object": "audio.voice", **asdict(self)}


@dataclass
class Voices:
    """The consent recordings and custom voices of one mock server."""

    consents: Collection[Consent] = field(default_factory=lambda: Collection("Voice consent"))
    voices: Collection[Voice] = field(default_factory=lambda: Collection("Voice"))

    def clear(self) -> None:
        """Forget every consent and voice."""
        self.consents.clear()
        self.voices.clear()


class _Head:
    """A recording's sink: keeps its first bytes (to tell audio by them), nothing more."""

    def __init__(self) -> None:
        self.head = b""

    def write(self, data: bytes, /) -> None:
        if len(self.head) < 12:
            self.head += data[: 12 - len(self.head)]


async def _form(call: Call, file_field: str) -> Form:
    boundary = boundary_of(call.request.headers.get("content-type", ""))
    form = await read_form(
        call.body_chunks(), boundary, lambda _n, _f: _Head(), max_file_bytes=MAX_RECORDING
    )
    part = next((f for f in form.files if f.name == file_field), None)
    if part is None:
        raise missing_parameter(file_field)
    kind = part.content_type.split(";")[0].strip().lower()
    head = part.sink.head if isinstance(part.sink, _Head) else b""
    # Sent without an audio type (bytes from a typed client), audio is known by its first bytes.
    if part.size == 0 or (kind not in AUDIO_TYPES and not is_audio(head)):
        raise BadRequest(
            f"Invalid '{file_field}': '{part.filename}' is {kind or 'no type'}, not one of "
            + ", ".join(AUDIO_TYPES)
            + ".",
            param=file_field,
            code="invalid_value",
        )
    return form


async def create_consent(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/audio/voice_consents`: multipart `name`, `language` and `recording`."""
    form = await _form(call, "recording")
    name = text_parameter(form.fields, "name", required=True, limit=256)
    language = text_parameter(form.fields, "language", required=True, limit=35)
    consent = Consent(new_id("cons_"), name, language)
    return app.voices.consents.put(consent.id, consent).render()


async def list_consents(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/audio/voice_consents`: newest first, the shared pagination."""
    return page(
        app.voices.consents.values(), call.queried(), render=Consent.render, key=lambda c: c.id
    )


async def retrieve_consent(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/audio/voice_consents/{consent_id}`."""
    return app.voices.consents.get(call.params["consent_id"]).render()


async def update_consent(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/audio/voice_consents/{consent_id}`: a new `name`."""
    consent = app.voices.consents.get(call.params["consent_id"])
    consent.name = text_parameter(call.request.json, "name", required=True, limit=256)
    return consent.render()


async def delete_consent(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/audio/voice_consents/{consent_id}`."""
    consent = app.voices.consents.delete(call.params["consent_id"])
    return {"id": consent.id, "object": "audio.voice_consent", "deleted": True}


async def create_voice(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/audio/voices`: multipart `name`, `audio_sample` and an existing `consent`."""
    form = await _form(call, "audio_sample")
    name = text_parameter(form.fields, "name", required=True, limit=256)
    consent = text_parameter(form.fields, "consent", required=True, limit=256)
    if app.voices.consents.find(consent) is None:
        raise BadRequest(
            f"Invalid 'consent': no voice consent with id '{consent}'.",
            param="consent",
            code="invalid_value",
        )
    voice = Voice(new_id("voice_"), name)
    return app.voices.voices.put(voice.id, voice).render()
