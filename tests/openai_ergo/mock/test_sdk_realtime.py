"""The official SDK's realtime client (and its Responses WebSocket client) against the mock:
what keeps the mock's WebSocket side honest.

The SDK's async WebSocket clients run on asyncio only; its sync clients (websockets' threaded
client) run here in a worker thread, so each test runs under both backends. Every frame the
mock sends is read raw, parsed by the SDK, and decoded by the product's typed decoder too.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from openai import OpenAI

from openai_ergo.mock import serve
from openai_ergo.types import UnknownTypeVariant, decode_realtime_event

WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


class Reader:
    """Reads a connection's events raw: parsed by the SDK, decoded by ours, both kept."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.events: list[Any] = []
        self.typed: list[Any] = []

    def until(self, kind: str) -> list[Any]:
        seen = []
        while True:
            raw = self.connection.recv_bytes()
            event = self.connection.parse_event(raw)
            ours = decode_realtime_event(raw)
            assert not isinstance(ours, UnknownTypeVariant), raw[:80]
            assert ours.type == event.type
            self.events.append(event)
            self.typed.append(ours)
            seen.append(event)
            if event.type == kind:
                return seen


def realtime_session(base_url: str) -> dict[str, Any]:
    """A whole session through the SDK's sync realtime client; what it saw."""
    sdk = OpenAI(api_key="sk-mock", base_url=base_url, max_retries=0)
    speech = sdk.audio.speech.create(
        model="gpt-4o-mini-tts",
        voice="alloy",
        input="What is the weather in Lima? Call get_weather.",
        response_format="pcm",
    ).content
    seen: dict[str, Any] = {}
    with sdk.realtime.connect(
        # Paced answers of 60 tokens: a second each, time enough for a cancel to land.
        model="gpt-realtime",
        extra_headers={"x-mock-tokens-per-second": "60", "x-mock-reply-tokens": "60"},
    ) as connection:
        read = Reader(connection)
        seen["created"] = read.until("session.created")[-1]
        connection.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["audio"],
                "tools": [WEATHER],  # type: ignore[list-item]
                "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
            }
        )
        seen["updated"] = read.until("session.updated")[-1]
        # Speech in: appended, committed, transcribed; the model calls the tool it names.
        for start in range(0, len(speech), 24_000):
            chunk = speech[start : start + 24_000]
            connection.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        connection.input_audio_buffer.commit()
        seen["heard"] = read.until("conversation.item.input_audio_transcription.completed")
        connection.response.create()
        seen["call"] = read.until("response.done")
        call = next(e for e in seen["call"] if e.type == "response.function_call_arguments.done")
        connection.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
        )
        read.until("conversation.item.done")
        # Its result back: a spoken answer, audio and transcript.
        connection.response.create()
        seen["spoken"] = read.until("response.done")
        # Text out.
        connection.response.create(response={"output_modalities": ["text"]})
        seen["text"] = read.until("response.done")
        # A cancelled answer.
        connection.response.create()
        seen["cancelled"] = read.until("response.output_audio.delta")
        connection.response.cancel()
        seen["cancelled"] += read.until("response.done")
        # A bad event: the API's error event.
        connection.send_raw(json.dumps({"type": "session.teleport"}))
        seen["error"] = read.until("error")[-1]
    seen["all"] = read.events
    seen["typed"] = read.typed
    return seen


async def test_the_official_realtime_client_holds_a_session_with_the_mock() -> None:
    async with serve(seed=4) as server:
        seen = await anyio.to_thread.run_sync(realtime_session, server.url)
    assert seen["created"].session.model == "gpt-realtime"
    assert seen["updated"].session.tools[0].name == "get_weather"
    heard = seen["heard"]
    assert heard[0].type == "input_audio_buffer.committed"
    assert heard[-1].transcript == "What is the weather in Lima? Call get_weather."
    call = next(e for e in seen["call"] if e.type == "response.function_call_arguments.done")
    assert call.name == "get_weather"
    assert isinstance(json.loads(call.arguments)["city"], str)
    spoken = seen["spoken"]
    audio = b"".join(
        base64.b64decode(e.delta) for e in spoken if e.type == "response.output_audio.delta"
    )
    transcript = "".join(
        e.delta for e in spoken if e.type == "response.output_audio_transcript.delta"
    )
    assert len(audio) > 48_000
    assert len(audio) % 2 == 0
    assert transcript
    assert spoken[-1].response.status == "completed"
    assert spoken[-1].response.output[0].content[0].transcript == transcript
    text = seen["text"]
    deltas = "".join(e.delta for e in text if e.type == "response.output_text.delta")
    assert deltas == next(e.text for e in text if e.type == "response.output_text.done")
    cancelled = seen["cancelled"][-1].response
    assert cancelled.status == "cancelled"
    assert seen["error"].error.param == "type"
    # Every event the mock sent is one the SDK and the typed decoder both know.
    assert len(seen["typed"]) == len(seen["all"])


def responses_session(base_url: str) -> list[list[Any]]:
    sdk = OpenAI(api_key="sk-mock", base_url=base_url, max_retries=0)
    streams = []
    with sdk.responses.connect() as connection:
        for question in ("Tell me about rivers.", "And lakes?"):
            connection.response.create(model="gpt-5-mini", input=question)
            events = []
            for event in connection:
                events.append(event)
                if event.type == "response.completed":
                    break
            streams.append(events)
    return streams


async def test_the_official_responses_websocket_client_gets_one_stream_per_response() -> None:
    async with serve(seed=4) as server:
        streams = await anyio.to_thread.run_sync(responses_session, server.url)
    for events in streams:
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        final = events[-1].response
        assert final.output_text == text
        assert [e.sequence_number for e in events] == list(range(len(events)))
    assert streams[0][-1].response.id != streams[1][-1].response.id


async def test_the_official_client_sees_a_refused_handshake() -> None:
    from websockets.exceptions import InvalidStatus

    def connect(base_url: str) -> None:
        sdk = OpenAI(api_key="sk-wrong", base_url=base_url, max_retries=0)
        with sdk.realtime.connect(model="gpt-realtime"):
            pass

    async with serve(api_keys={"sk-right"}) as server:
        with pytest.raises(InvalidStatus) as refused:
            await anyio.to_thread.run_sync(connect, server.url)
    assert refused.value.response.status_code == 401
