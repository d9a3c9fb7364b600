"""What a realtime session works on: its default settings, the checks its client events pass,
and the record of one answer (what it says, and what has been sent of it, for a cancel)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openai_ergo.mock._audio import RATE
from openai_ergo.mock._replies import Completion
from openai_ergo.mock._wire import new_id, now

__all__ = ["Answer", "EventError", "default_session", "merged"]

_SESSION_FIELDS = frozenset(
    {
        "type",
        "output_modalities",
        "model",
        "instructions",
        "audio",
        "include",
        "tracing",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "truncation",
        "prompt",
        "reasoning",
    }
)
_RESPONSE_FIELDS = frozenset(
    {
        "conversation",
        "input",
        "instructions",
        "output_modalities",
        "audio",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "metadata",
        "prompt",
        "reasoning",
    }
)
_ITEM_TYPES = ("message", "function_call", "function_call_output")
_ROLES = ("user", "assistant", "system")
_MODALITIES = (["text"], ["audio"])
#: Audio shorter than this cannot be committed, as on the API.
_MIN_COMMIT_MS = 100
_BYTES_PER_MS = 2 * RATE // 1000


class EventError(Exception):
    """A client event the session refuses: answered with the API's `error` event."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param


def default_session(model: str) -> dict[str, Any]:
    pcm = {"type": "audio/pcm", "rate": RATE}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess_"),
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": now() + 3600,
        "include": None,
        "audio": {
            "input": {
                "format": pcm,
                "transcription": None,
                "noise_reduction": None,
                # The mock detects no speech: the client commits, then asks for a response.
                "turn_detection": None,
            },
            "output": {"format": pcm, "voice": "alloy", "speed": 1.0},
        },
    }


def merged(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`update` laid over `base`, nested objects (`audio.input`...) field by field."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def _transcription(session: Mapping[str, Any]) -> Any:
    """The session's input transcription settings (None: the session transcribes nothing)."""
    audio = session.get("audio")
    source = audio.get("input") if isinstance(audio, dict) else None
    return source.get("transcription") if isinstance(source, dict) else None


def _object(event: Mapping[str, Any], name: str, *, required: bool = True) -> dict[str, Any]:
    value = event.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        kind = "missing" if value is None else f"not an object: {value!r}"
        raise EventError(
            f"The '{name}' field is {kind}.",
            code="missing_required_parameter" if value is None else "invalid_type",
            param=name,
        )
    return value


def _string(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise EventError(
            f"Missing required parameter: '{name}'."
            if value is None
            else f"Invalid type for '{name}': expected a non-empty string.",
            code="missing_required_parameter" if value is None else "invalid_type",
            param=name,
        )
    return value


def _check_fields(given: Mapping[str, Any], known: frozenset[str], prefix: str) -> None:
    for key in given:
        if key not in known:
            raise EventError(
                f"Unknown parameter: '{prefix}.{key}'.",
                code="unknown_parameter",
                param=f"{prefix}.{key}",
            )
    modalities = given.get("output_modalities")
    if modalities is not None and modalities not in _MODALITIES:
        raise EventError(
            f"Invalid value for '{prefix}.output_modalities': {modalities!r}. Supported values "
            "are: ['text'] and ['audio'].",
            code="invalid_value",
            param=f"{prefix}.output_modalities",
        )


def _item_text(item: Mapping[str, Any], heard: Mapping[str, str]) -> str | None:
    """What a user message says: its text parts and the transcripts of its audio."""
    if item.get("type") != "message" or item.get("role") != "user":
        return None
    said = []
    for index, part in enumerate(item.get("content") or ()):
        if not isinstance(part, dict):
            continue
        if part.get("type") == "input_text" and isinstance(part.get("text"), str):
            said.append(part["text"])
        elif part.get("type") == "input_audio":
            said.append(heard.get(f"{item.get('id')}:{index}") or part.get("transcript") or "")
    return " ".join(s for s in said if s)


@dataclass
class Answer:
    """One response: what it says, and what has been sent of it so far (for a cancel)."""

    id: str
    body: dict[str, Any]
    completion: Completion
    audio: bool
    input_tokens: int
    #: Into the conversation (False for `conversation: "none"`).
    in_conversation: bool
    output: list[dict[str, Any]] = field(default_factory=list)
    #: The message item being streamed and the text of it sent so far.
    open_item: dict[str, Any] | None = None
    said: list[str] = field(default_factory=list)
    audio_bytes: int = 0

    def response(self, status: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
        final = status != "in_progress"
        # What was said (the text or the transcript, and any call) counted as the client
        # counts it, plus the audio that spoke it: a token each 50 ms.
        text_tokens = self.completion.output_tokens if final else 0
        audio_tokens = self.audio_bytes // (_BYTES_PER_MS * 50) if final else 0
        output_tokens = text_tokens + audio_tokens
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": details,
            "output": list(self.output) if final else [],
            "conversation_id": "conv_mock" if self.in_conversation else None,
            "output_modalities": ["audio"] if self.audio else ["text"],
            "max_output_tokens": self.body.get("max_output_tokens", "inf"),
            "audio": {
                "output": {
                    "format": {"type": "audio/pcm", "rate": RATE},
                    "voice": self.body.get("voice", "alloy"),
                }
            },
            "metadata": self.body.get("metadata"),
            "usage": {
                "total_tokens": self.input_tokens + output_tokens,
                "input_tokens": self.input_tokens,
                "output_tokens": output_tokens,
                "input_token_details": {
                    "text_tokens": self.input_tokens,
                    "audio_tokens": 0,
                    "cached_tokens": 0,
                },
                "output_token_details": {
                    "text_tokens": text_tokens,
                    "audio_tokens": audio_tokens,
                },
            }
            if final
            else None,
        }
