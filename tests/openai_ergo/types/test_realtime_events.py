"""Realtime server events off the wire: the beta protocol's own event names, and conversation
items of type `message` told apart by their role."""

from __future__ import annotations

import base64
import json

from openai_ergo.types import (
    RealtimeBetaServerEventResponseAudioDelta,
    RealtimeBetaServerEventResponseAudioDone,
    RealtimeBetaServerEventResponseAudioTranscriptDelta,
    RealtimeBetaServerEventResponseAudioTranscriptDone,
    RealtimeBetaServerEventResponseTextDelta,
    RealtimeBetaServerEventResponseTextDone,
    RealtimeConversationItemFunctionCall,
    RealtimeConversationItemMessageAssistant,
    RealtimeConversationItemMessageSystem,
    RealtimeConversationItemMessageUser,
    RealtimeServerEventConversationItemAdded,
    RealtimeServerEventResponseDone,
    UnknownTypeVariant,
    decode_realtime_beta_event,
    decode_realtime_event,
)
from streaming import connect_websocket
from tests.streaming.ws_loopback import Peer, ws_server

_WHERE = {"response_id": "resp_1", "item_id": "item_1", "output_index": 0, "content_index": 0}
_PCM = base64.b64encode(b"\x01\x00\xff\x7f").decode()
#: A beta session's answer (`OpenAI-Beta: realtime=v1`), with the names the beta API sends.
_BETA_FRAMES = [
    {"type": "response.text.delta", **_WHERE, "delta": "Hel"},
    {"type": "response.text.delta", **_WHERE, "delta": "lo"},
    {"type": "response.text.done", **_WHERE, "text": "Hello"},
    {"type": "response.audio.delta", **_WHERE, "delta": _PCM},
    {"type": "response.audio.done", **_WHERE},
    {"type": "response.audio_transcript.delta", **_WHERE, "delta": "Hello"},
    {"type": "response.audio_transcript.done", **_WHERE, "transcript": "Hello"},
]


async def test_a_beta_session_s_frames_replayed_decode_into_the_beta_events() -> None:
    async def replay(peer: Peer) -> None:
        await peer.accept()
        for number, frame in enumerate(_BETA_FRAMES):
            await peer.send(json.dumps({"event_id": f"event_{number}", **frame}))
        await peer.close(1000)

    async with ws_server(replay) as server, connect_websocket(server.url) as ws:
        events = [decode_realtime_beta_event(message) async for message in ws]
    assert [type(event) for event in events] == [
        RealtimeBetaServerEventResponseTextDelta,
        RealtimeBetaServerEventResponseTextDelta,
        RealtimeBetaServerEventResponseTextDone,
        RealtimeBetaServerEventResponseAudioDelta,
        RealtimeBetaServerEventResponseAudioDone,
        RealtimeBetaServerEventResponseAudioTranscriptDelta,
        RealtimeBetaServerEventResponseAudioTranscriptDone,
    ]
    text = [e.delta for e in events if isinstance(e, RealtimeBetaServerEventResponseTextDelta)]
    assert "".join(d or "" for d in text) == "Hello"
    audio = events[3]
    assert isinstance(audio, RealtimeBetaServerEventResponseAudioDelta)
    assert base64.b64decode(audio.delta or "") == b"\x01\x00\xff\x7f"
    assert (audio.event_id, audio.item_id, audio.content_index) == ("event_3", "item_1", 0)
    # Written back, each keeps the name it came with.
    for event, frame in zip(events, _BETA_FRAMES, strict=True):
        assert event.type == frame["type"]


def test_the_ga_names_are_not_beta_events_and_the_beta_names_not_ga_ones() -> None:
    ga = json.dumps({"type": "response.output_text.delta", **_WHERE, "delta": "x"})
    beta = json.dumps({"type": "response.text.delta", **_WHERE, "delta": "x"})
    assert isinstance(decode_realtime_beta_event(ga), UnknownTypeVariant)
    assert isinstance(decode_realtime_event(beta), UnknownTypeVariant)


_MESSAGES = (
    RealtimeConversationItemMessageSystem,
    RealtimeConversationItemMessageUser,
    RealtimeConversationItemMessageAssistant,
)


def _message(role: str, content: list[dict[str, object]]) -> dict[str, object]:
    return {"id": f"item_{role}", "type": "message", "role": role, "content": content}


def test_a_message_item_decodes_as_the_struct_of_its_role() -> None:
    cases: list[tuple[str, type[object], dict[str, object]]] = [
        ("system", RealtimeConversationItemMessageSystem, {"type": "input_text", "text": "Hi"}),
        ("user", RealtimeConversationItemMessageUser, {"type": "input_audio", "transcript": "hi"}),
        ("assistant", RealtimeConversationItemMessageAssistant, {"type": "output_audio"}),
    ]
    for role, kind, part in cases:
        payload = {
            "type": "conversation.item.added",
            "event_id": "event_1",
            "previous_item_id": None,
            "item": _message(role, [part]),
        }
        event = decode_realtime_event(json.dumps(payload))
        assert isinstance(event, RealtimeServerEventConversationItemAdded)
        assert type(event.item) is kind, role
        assert isinstance(event.item, _MESSAGES)
        assert event.item.id == f"item_{role}"
        assert event.item.content is not None
        assert event.item.content[0].type == part["type"]


def test_a_response_s_output_keeps_its_items_in_order_each_typed() -> None:
    call = {
        "id": "item_call",
        "type": "function_call",
        "call_id": "call_1",
        "name": "weather",
        "arguments": "{}",
    }
    output = [_message("assistant", [{"type": "output_text", "text": "Let me look."}]), call]
    payload = {
        "type": "response.done",
        "event_id": "event_9",
        "response": {"object": "realtime.response", "id": "resp_1", "output": output},
    }
    event = decode_realtime_event(json.dumps(payload))
    assert isinstance(event, RealtimeServerEventResponseDone)
    assert event.response is not None
    assert event.response.output is not None
    first, second = event.response.output
    assert isinstance(first, RealtimeConversationItemMessageAssistant)
    assert second.type == "function_call"
    assert isinstance(second, RealtimeConversationItemFunctionCall)
    assert (second.call_id, second.name) == ("call_1", "weather")
    assert event.response.id == "resp_1"


def test_a_message_of_an_unknown_role_is_still_decoded_as_one_of_the_members() -> None:
    payload = {
        "type": "conversation.item.added",
        "item": _message("developer", [{"type": "input_text", "text": "x"}]),
    }
    event = decode_realtime_event(json.dumps(payload))
    assert isinstance(event, RealtimeServerEventConversationItemAdded)
    assert isinstance(event.item, _MESSAGES)
    assert event.item.id == "item_developer"
