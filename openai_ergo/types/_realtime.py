"""The Realtime API's events on the wire: server events decoded into their typed unions, client
events encoded into the JSON text messages a session sends.

Server events decode into the generated tagged unions (`RealtimeServerEvent` for the GA
protocol, `RealtimeBetaServerEvent` for the beta one, `OpenAI-Beta: realtime=v1`): one msgspec
decode on the fast path; an event of a `type` this version does not know becomes an
`UnknownTypeVariant` holding its raw payload, never an exception. A conversation item of type
`message` is one of three Structs told apart by its `role`, which msgspec cannot pick by tag:
an event carrying one (`conversation.item.added`, `response.done`...) is converted around its
message items, each as the Struct of its role.

Client events are pure functions from arguments to the text of one WebSocket message: nothing
is sent, so a session (or any WebSocket client) only has to send what they return. Each builds
the generated Struct of its event, so the JSON is the spec's; settings given as a mapping are
checked against the spec's fields first, and a wrong field or value raises a `ValueError` that
names it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, TypeVar, get_args

import msgspec

from openai_ergo.types._generated.realtime import RealtimeSessionCreateRequestGA
from openai_ergo.types._generated.standalone import (
    RealtimeBetaServerEvent,
    RealtimeClientEventConversationItemCreate,
    RealtimeClientEventConversationItemDelete,
    RealtimeClientEventConversationItemTruncate,
    RealtimeClientEventInputAudioBufferClear,
    RealtimeClientEventInputAudioBufferCommit,
    RealtimeClientEventResponseCancel,
    RealtimeClientEventResponseCreate,
    RealtimeClientEventSessionUpdate,
    RealtimeConversationItem,
    RealtimeConversationItemMessageAssistant,
    RealtimeConversationItemMessageSystem,
    RealtimeConversationItemMessageUser,
    RealtimeResponseCreateParams,
    RealtimeServerEvent,
)
from openai_ergo.types._variants import decode

__all__ = [
    "decode_realtime_beta_event",
    "decode_realtime_event",
    "realtime_append_audio",
    "realtime_cancel_response",
    "realtime_clear_audio",
    "realtime_commit_audio",
    "realtime_create_item",
    "realtime_create_response",
    "realtime_delete_item",
    "realtime_session_update",
    "realtime_truncate",
]

_T = TypeVar("_T")
_encoder = msgspec.json.Encoder()


# -- server events --------------------------------------------------------------------------------


_EVENT_DECODER = msgspec.json.Decoder(RealtimeServerEvent)
#: The GA events by their `type`, for the conversion around message items.
_EVENT_CLASSES: dict[str, type[msgspec.Struct]] = {
    member.__struct_config__.tag: member
    for member in get_args(RealtimeServerEvent)
    if isinstance(member.__struct_config__.tag, str)
}
_MESSAGE_BY_ROLE: dict[str, type[msgspec.Struct]] = {
    "system": RealtimeConversationItemMessageSystem,
    "user": RealtimeConversationItemMessageUser,
    "assistant": RealtimeConversationItemMessageAssistant,
}


def decode_realtime_event(data: str | bytes, /) -> RealtimeServerEvent:
    """Decode one server event of the Realtime API (a WebSocket text message) into its typed
    event: `RealtimeServerEventResponseTextDelta`, `RealtimeServerEventResponseAudioDelta`...

    An event of an unknown `type` (a newer API) decodes to an `UnknownTypeVariant` whose `raw`
    is the whole payload. Invalid JSON raises `msgspec.DecodeError`; a known event with a field
    of the wrong shape, or a payload without a `type`, `msgspec.ValidationError` naming it.
    """
    try:
        event: RealtimeServerEvent = _EVENT_DECODER.decode(data)
    except msgspec.ValidationError:
        converted: RealtimeServerEvent | None = _with_message_items(data)
        if converted is not None:
            return converted
        # Unknown types, and the errors that name what is wrong.
        event = decode(data, type=RealtimeServerEvent)
    return event


def _is_message(item: object) -> bool:
    return isinstance(item, dict) and item.get("type") == "message"


def _message_item(item: dict[str, Any]) -> Any:
    role = item.get("role")
    kind = _MESSAGE_BY_ROLE.get(role) if isinstance(role, str) else None
    if kind is None:
        raise msgspec.ValidationError(f"no message item of role {item.get('role')!r}")
    return msgspec.convert(item, kind)


def _with_message_items(data: str | bytes) -> Any:
    """The event `data` holds, when what the fast path refused is its message items (`item`,
    or `response.output`): converted without them, then given them, each by its role. None
    when that is not it."""
    raw = msgspec.json.decode(data)
    tag = raw.get("type") if isinstance(raw, dict) else None
    kind = _EVENT_CLASSES.get(tag) if isinstance(tag, str) else None
    if kind is None:
        return None
    try:
        item = raw.get("item")
        if _is_message(item):
            event = msgspec.convert({**raw, "item": None}, kind)
            return msgspec.structs.replace(event, item=_message_item(item))
        response = raw.get("response")
        output = response.get("output") if isinstance(response, dict) else None
        if isinstance(output, list) and any(_is_message(i) for i in output):
            event = msgspec.convert({**raw, "response": {**response, "output": None}}, kind)
            items = [
                _message_item(i) if _is_message(i) else msgspec.convert(i, RealtimeConversationItem)
                for i in output
            ]
            response_object = msgspec.structs.replace(event.response, output=items)  # type: ignore[attr-defined]
            return msgspec.structs.replace(event, response=response_object)
    except msgspec.ValidationError:
        pass  # something else is wrong too: the general path says what
    return None


def decode_realtime_beta_event(data: str | bytes, /) -> RealtimeBetaServerEvent:
    """`decode_realtime_event` for the beta protocol (`OpenAI-Beta: realtime=v1`), whose event
    names differ (`response.text.delta`, `response.audio.delta`...)."""
    event: RealtimeBetaServerEvent = decode(data, type=RealtimeBetaServerEvent)
    return event


# -- client events --------------------------------------------------------------------------------


def _message(event: msgspec.Struct) -> str:
    return _encoder.encode(event).decode()


def _typed(value: Any, cls: type[_T], what: str) -> _T:
    """`value` as a `cls`: itself, or a mapping of the spec's fields converted (names checked,
    since msgspec would drop an unknown one silently)."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} is a {cls.__name__} or a mapping, not {type(value).__name__}")
    known = {f.encode_name for f in msgspec.structs.fields(cls)}  # type: ignore[arg-type]
    known.add("type")
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise ValueError(
            f"{what} has no field {', '.join(map(repr, unknown))}; its fields are "
            f"{', '.join(sorted(known))}"
        )
    typed: _T = _decoded(value, cls, what)
    return typed


def _decoded(value: Mapping[str, Any], kind: Any, what: str) -> Any:
    # Through JSON and `decode`: unions whose members share a tag (the conversation items'
    # `message`) are told apart there, as in a server event.
    try:
        return decode(_encoder.encode(dict(value)), type=kind)
    except (msgspec.ValidationError, TypeError) as exc:
        raise ValueError(f"{what} is invalid: {exc}") from None


def _check_id(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    return value


def _check_count(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
    return value


def realtime_session_update(
    session: RealtimeSessionCreateRequestGA | Mapping[str, Any], /, *, event_id: str | None = None
) -> str:
    """`session.update`: change the session's settings (instructions, voice, tools, output
    modalities, audio formats, transcription...), given as the spec's
    `RealtimeSessionCreateRequestGA` or a mapping of its fields (`type` defaults to
    `"realtime"`)."""
    settings = _typed(session, RealtimeSessionCreateRequestGA, "session")
    return _message(RealtimeClientEventSessionUpdate(event_id=event_id, session=settings))


def realtime_append_audio(
    pcm: bytes | bytearray | memoryview, /, *, event_id: str | None = None
) -> str:
    """`input_audio_buffer.append`: PCM16 audio (16-bit little-endian mono samples at the
    session's rate, 24 kHz by default), base64-encoded as the API wants it.

    Written directly rather than through its Struct: audio is the bulk of what a session sends,
    and a base64 string needs no JSON escaping.
    """
    if not isinstance(pcm, bytes | bytearray | memoryview):
        raise TypeError(f"PCM16 audio is bytes, not {type(pcm).__name__}")
    size = memoryview(pcm).nbytes
    if size % 2:
        raise ValueError(f"PCM16 audio is whole 16-bit samples: {size} bytes is an odd count")
    audio = base64.b64encode(pcm).decode("ascii")
    head = "" if event_id is None else f'"event_id":{_encoder.encode(event_id).decode()},'
    return f'{{{head}"type":"input_audio_buffer.append","audio":"{audio}"}}'


def realtime_commit_audio(*, event_id: str | None = None) -> str:
    """`input_audio_buffer.commit`: the appended audio becomes a user message (at least 100 ms
    of it, or the server answers with an error event)."""
    return _message(RealtimeClientEventInputAudioBufferCommit(event_id=event_id))


def realtime_clear_audio(*, event_id: str | None = None) -> str:
    """`input_audio_buffer.clear`: drop the audio appended since the last commit."""
    return _message(RealtimeClientEventInputAudioBufferClear(event_id=event_id))


def realtime_create_item(
    item: RealtimeConversationItem | Mapping[str, Any],
    /,
    *,
    previous_item_id: str | None = None,
    event_id: str | None = None,
) -> str:
    """`conversation.item.create`: add a message, a function call or a function call's output
    (`{"type": "function_call_output", "call_id": ..., "output": ...}`) to the conversation,
    after `previous_item_id` (`"root"`: first) or at its end."""
    if isinstance(item, Mapping):
        if not isinstance(item.get("type"), str):
            raise ValueError("item needs a string 'type' (message, function_call, ...)")
        typed: RealtimeConversationItem = _decoded(item, RealtimeConversationItem, "item")
    else:
        typed = item
    event = RealtimeClientEventConversationItemCreate(
        event_id=event_id, previous_item_id=previous_item_id, item=typed
    )
    return _message(event)


def realtime_delete_item(item_id: str, /, *, event_id: str | None = None) -> str:
    """`conversation.item.delete`: remove an item from the conversation."""
    _check_id(item_id, "item_id")
    return _message(RealtimeClientEventConversationItemDelete(event_id=event_id, item_id=item_id))


def realtime_truncate(
    item_id: str,
    /,
    *,
    audio_end_ms: int,
    content_index: int = 0,
    event_id: str | None = None,
) -> str:
    """`conversation.item.truncate`: the user heard only the first `audio_end_ms` of an
    assistant message's audio (they interrupted it); the server cuts its audio and transcript
    there."""
    event = RealtimeClientEventConversationItemTruncate(
        event_id=event_id,
        item_id=_check_id(item_id, "item_id"),
        content_index=_check_count(content_index, "content_index"),
        audio_end_ms=_check_count(audio_end_ms, "audio_end_ms"),
    )
    return _message(event)


def realtime_create_response(
    response: RealtimeResponseCreateParams | Mapping[str, Any] | None = None,
    /,
    *,
    event_id: str | None = None,
) -> str:
    """`response.create`: ask the model to answer, with the session's settings or these
    (`instructions`, `output_modalities`, `tools`, `conversation: "none"` for an answer kept
    out of the conversation...)."""
    params = (
        None if response is None else _typed(response, RealtimeResponseCreateParams, "response")
    )
    return _message(RealtimeClientEventResponseCreate(event_id=event_id, response=params))


def realtime_cancel_response(
    response_id: str | None = None, /, *, event_id: str | None = None
) -> str:
    """`response.cancel`: stop the response in progress (or the one named); the server ends it
    with `response.done`, status `cancelled`."""
    if response_id is not None:
        _check_id(response_id, "response_id")
    return _message(RealtimeClientEventResponseCancel(event_id=event_id, response_id=response_id))
