"""The mock's Realtime API over a real loopback WebSocket, on both backends: a session driven
by the product's client-event encoders, every frame decoded by its typed decoder."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import msgspec
import pytest

from openai_ergo.mock import MockServer, Reply, ToolCall, serve
from openai_ergo.types import (
    RealtimeServerEventError,
    RealtimeServerEventResponseAudioDelta,
    RealtimeServerEventResponseDone,
    UnknownTypeVariant,
    decode_realtime_event,
    realtime_append_audio,
    realtime_cancel_response,
    realtime_clear_audio,
    realtime_commit_audio,
    realtime_create_item,
    realtime_create_response,
    realtime_delete_item,
    realtime_session_update,
    realtime_truncate,
)
from tests.openai_ergo.mock.wsclient import Refused, WSClient

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
BEARER = {"Authorization": "Bearer sk-mock"}


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with serve(seed=7) as server:
        yield server


async def session(server: MockServer, **headers: str) -> WSClient:
    client = await WSClient.connect(
        server.port, "/v1/realtime?model=gpt-realtime", headers={**BEARER, **headers}
    )
    created = await client.recv()
    assert created["type"] == "session.created"
    assert created["session"]["model"] == "gpt-realtime"
    return client


def typed(events: list[dict[str, Any]]) -> list[Any]:
    """Every frame through the product's decoder: none may come out unknown."""
    decoded = [decode_realtime_event(json.dumps(event)) for event in events]
    unknown = [e.raw["type"] for e in decoded if isinstance(e, UnknownTypeVariant)]
    assert unknown == []
    return decoded


def pcm_of(events: list[dict[str, Any]]) -> bytes:
    return b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )


async def speech(server: MockServer, text: str) -> bytes:
    """PCM16 24 kHz speech of `text`, as the mock's speech endpoint makes it."""
    import httpx

    async with httpx.AsyncClient(base_url=server.url, headers=BEARER) as http:
        body = {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": text}
        answer = await http.post("/audio/speech", json=body | {"response_format": "pcm"})
        answer.raise_for_status()
        return answer.content


async def transcribe(server: MockServer, pcm: bytes) -> str:
    """What the mock's transcription endpoint hears in PCM16 24 kHz audio (as a WAV file)."""
    import io
    import wave

    import httpx

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(24_000)
        wav.writeframes(pcm)
    async with httpx.AsyncClient(base_url=server.url, headers=BEARER) as http:
        files = {"file": ("answer.wav", buffer.getvalue(), "audio/wav")}
        answer = await http.post(
            "/audio/transcriptions", data={"model": "gpt-4o-transcribe"}, files=files
        )
        answer.raise_for_status()
        text: str = answer.json()["text"]
        return text


async def test_a_spoken_answer_is_real_pcm16_audio_with_its_transcript(
    server: MockServer,
) -> None:
    async with await session(server) as ws:
        await ws.send(realtime_create_item(
            {"type": "message", "role": "user",
             "content": [{"type": "input_text", "text": "Tell me about rivers."}]}
        ))  # fmt: skip
        added = await ws.until("conversation.item.done")
        await ws.send(realtime_create_response())
        events = await ws.until("response.done")
    decoded = typed(added + events)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created"
    transcript = "".join(
        e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
    )
    done = next(e for e in events if e["type"] == "response.output_audio_transcript.done")
    assert transcript == done["transcript"]
    assert len(transcript.split()) >= 8
    pcm = pcm_of(events)
    # PCM16 at 24 kHz: whole samples, lasting about as long as it takes to say the words.
    assert len(pcm) % 2 == 0
    assert len(pcm) / 48_000 > 0.3
    assert await transcribe(server, pcm) == transcript
    final = decoded[-1]
    assert isinstance(final, RealtimeServerEventResponseDone)
    assert final.response is not None
    assert final.response.status == "completed"
    assert any(isinstance(e, RealtimeServerEventResponseAudioDelta) for e in decoded)


async def test_text_output_streams_text_deltas(server: MockServer) -> None:
    async with await session(server) as ws:
        await ws.send(realtime_session_update({"output_modalities": ["text"]}))
        updated = await ws.recv()
        assert updated["type"] == "session.updated"
        assert updated["session"]["output_modalities"] == ["text"]
        await ws.send(realtime_create_item(
            {"type": "message", "role": "user",
             "content": [{"type": "input_text", "text": "Hello"}]}
        ))  # fmt: skip
        await ws.until("conversation.item.done")
        await ws.send(realtime_create_response())
        events = await ws.until("response.done")
    typed(events)
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    done = next(e for e in events if e["type"] == "response.output_text.done")
    assert text == done["text"]
    assert text
    assert not [e for e in events if "audio" in e["type"]]


async def test_appended_audio_is_transcribed_and_calls_the_tool_it_names(
    server: MockServer,
) -> None:
    said = "What is the weather in Paris? Use get_weather please."
    pcm = await speech(server, said)
    async with await session(server) as ws:
        await ws.send(realtime_session_update({
            "tools": [WEATHER],
            "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
        }))  # fmt: skip
        assert (await ws.recv())["type"] == "session.updated"
        for start in range(0, len(pcm), 9600):
            await ws.send(realtime_append_audio(pcm[start : start + 9600]))
        await ws.send(realtime_commit_audio())
        heard = await ws.until("conversation.item.input_audio_transcription.completed")
        assert heard[0]["type"] == "input_audio_buffer.committed"
        deltas = [
            e["delta"]
            for e in heard
            if e["type"] == "conversation.item.input_audio_transcription.delta"
        ]
        assert "".join(deltas) == heard[-1]["transcript"] == said
        await ws.send(realtime_create_response())
        called = await ws.until("response.done")
        # The tool's result goes back, and the next answer is spoken, not another call.
        done = next(e for e in called if e["type"] == "response.function_call_arguments.done")
        await ws.send(realtime_create_item(
            {"type": "function_call_output", "call_id": done["call_id"], "output": "sunny"}
        ))  # fmt: skip
        await ws.until("conversation.item.done")
        await ws.send(realtime_create_response())
        answered = await ws.until("response.done")
    typed(heard + called + answered)
    assert done["name"] == "get_weather"
    arguments = json.loads(done["arguments"])
    assert isinstance(arguments["city"], str)
    fragments = [
        e["delta"] for e in called if e["type"] == "response.function_call_arguments.delta"
    ]
    assert "".join(fragments) == done["arguments"]
    output = called[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["function_call"]
    assert not [e for e in answered if e["type"].startswith("response.function_call")]
    assert pcm_of(answered)


async def test_cancel_stops_the_answer_and_truncate_cuts_its_audio(server: MockServer) -> None:
    # 80 tokens at 40 a second: time enough for the cancel to land mid-answer.
    pace = {"x-mock-tokens-per-second": "40", "x-mock-reply-tokens": "80"}
    async with await session(server, **pace) as ws:
        await ws.send(realtime_create_item(
            {"type": "message", "role": "user",
             "content": [{"type": "input_text", "text": "Talk for a while."}]}
        ))  # fmt: skip
        await ws.until("conversation.item.done")
        await ws.send(realtime_create_response())
        started = await ws.until("response.output_audio_transcript.delta")
        await ws.send(realtime_cancel_response())
        rest = await ws.until("response.done")
        events = started + rest
        done = rest[-1]["response"]
        assert done["status"] == "cancelled"
        assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
        item = done["output"][0]
        assert item["status"] == "incomplete"
        said = "".join(
            e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
        )
        assert item["content"][0]["transcript"] == said
        # The user heard 40 ms of it: the item keeps that much.
        await ws.send(realtime_truncate(item["id"], audio_end_ms=40))
        truncated = await ws.recv()
        assert truncated["type"] == "conversation.item.truncated"
        assert truncated["audio_end_ms"] == 40
        # Cut further than the audio goes is an error; deleting the item works.
        await ws.send(realtime_truncate(item["id"], audio_end_ms=60_000))
        refused = await ws.recv()
        assert refused["type"] == "error"
        assert refused["error"]["param"] == "audio_end_ms"
        await ws.send(realtime_delete_item(item["id"]))
        deleted = await ws.recv()
        assert deleted == {**deleted, "type": "conversation.item.deleted", "item_id": item["id"]}
        await ws.send(realtime_cancel_response())
        nothing = await ws.recv()
        assert nothing["error"]["code"] == "response_cancel_not_active"
    typed([*events, truncated, refused, deleted, nothing])


async def test_scripted_replies_answer_realtime_responses_too(server: MockServer) -> None:
    server.reply_with(
        Reply("It is sunny."),
        Reply(tool_calls=(ToolCall(name="get_weather", arguments={"city": "Oslo"}),)),
    )
    async with await session(server) as ws:
        await ws.send(realtime_create_response({"output_modalities": ["text"]}))
        first = await ws.until("response.done")
        await ws.send(realtime_create_response())
        second = await ws.until("response.done")
    assert next(e for e in first if e["type"] == "response.output_text.done")["text"] == (
        "It is sunny."
    )
    call = next(e for e in second if e["type"] == "response.function_call_arguments.done")
    assert json.loads(call["arguments"]) == {"city": "Oslo"}


@pytest.mark.parametrize(
    ("message", "code", "param"),
    [
        ('{"type": "session.teleport"}', "invalid_value", "type"),
        ('{"no": "type"}', "invalid_event", None),
        ("not json", "invalid_json", None),
        ('{"type": "input_audio_buffer.append", "audio": "***"}', "invalid_value", "audio"),
        ('{"type": "conversation.item.delete", "item_id": "item_nope"}', "item_not_found",
         "item_id"),
        ('{"type": "session.update", "session": {"voise": "x"}}', "unknown_parameter",
         "session.voise"),
        ('{"type": "response.create", "response": {"output_modalities": ["video"]}}',
         "invalid_value", "response.output_modalities"),
    ],
)  # fmt: skip
async def test_a_bad_client_event_gets_the_apis_error_event_and_the_session_goes_on(
    server: MockServer, message: str, code: str, param: str | None
) -> None:
    async with await session(server) as ws:
        await ws.send(message)
        error = await ws.recv()
        await ws.send(realtime_clear_audio(event_id="evt_1"))
        cleared = await ws.recv()
    decoded = decode_realtime_event(json.dumps(error))
    assert isinstance(decoded, RealtimeServerEventError)
    assert error["error"]["type"] == "invalid_request_error"
    assert (error["error"]["code"], error["error"]["param"]) == (code, param)
    assert cleared["type"] == "input_audio_buffer.cleared"


async def test_a_short_commit_and_a_second_response_are_refused(server: MockServer) -> None:
    async with await session(server, **{"x-mock-tokens-per-second": "20"}) as ws:
        await ws.send(realtime_append_audio(b"\x00\x00" * 240))  # 10 ms
        await ws.send(realtime_commit_audio(event_id="evt_commit"))
        short = await ws.recv()
        await ws.send(realtime_create_response())
        await ws.until("response.created")
        await ws.send(realtime_create_response())
        busy = await ws.until("error")
        await ws.send(realtime_cancel_response())
        await ws.until("response.done")
    assert short["error"]["code"] == "input_audio_buffer_commit_empty"
    assert short["error"]["event_id"] == "evt_commit"
    assert busy[-1]["error"]["code"] == "conversation_already_has_active_response"


async def test_the_handshake_checks_the_key_like_http() -> None:
    async with serve(api_keys={"sk-good"}) as server:
        with pytest.raises(Refused) as refused:
            await WSClient.connect(server.port, "/v1/realtime?model=gpt-realtime")
        assert refused.value.status == 401
        assert "API key" in refused.value.json()["error"]["message"]
        with pytest.raises(Refused) as wrong:
            await WSClient.connect(
                server.port, "/v1/realtime?model=gpt-realtime",
                headers={"Authorization": "Bearer sk-bad"},
            )  # fmt: skip
        assert wrong.value.json()["error"]["code"] == "invalid_api_key"
        assert "sk-bad" not in wrong.value.body.decode()
        # A browser passes its key as a subprotocol, beside `realtime`.
        browser = await WSClient.connect(
            server.port, "/v1/realtime?model=gpt-realtime",
            subprotocols=["realtime", "openai-insecure-api-key.sk-good"],
        )  # fmt: skip
        async with browser:
            assert browser.subprotocol == "realtime"
            assert (await browser.recv())["type"] == "session.created"
        with pytest.raises(Refused) as nowhere:
            await WSClient.connect(server.port, "/v1/elsewhere", headers={"api-key": "sk-good"})
        assert nowhere.value.status == 404
        with pytest.raises(Refused) as no_model:
            await WSClient.connect(server.port, "/v1/realtime", headers={"api-key": "sk-good"})
        assert no_model.value.json()["error"]["param"] == "model"


async def test_an_ephemeral_client_secret_opens_a_session_until_it_expires() -> None:
    import httpx

    async with serve(api_keys={"sk-good"}) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            minted = await http.post(
                "/realtime/client_secrets",
                headers={"Authorization": "Bearer sk-good"},
                json={
                    "expires_after": {"anchor": "created_at", "seconds": 60},
                    "session": {"type": "realtime", "model": "gpt-realtime",
                                "instructions": "Speak like a pirate."},
                },
            )  # fmt: skip
            bad = await http.post(
                "/realtime/client_secrets",
                headers={"Authorization": "Bearer sk-good"},
                json={"expires_after": {"anchor": "created_at", "seconds": 1}},
            )
        assert bad.status_code == 400
        secret = minted.json()
        assert secret["value"].startswith("ek_")
        assert secret["session"]["instructions"] == "Speak like a pirate."
        key = {"Authorization": f"Bearer {secret['value']}"}
        async with await WSClient.connect(server.port, "/v1/realtime", headers=key) as ws:
            created = await ws.recv()
        # The secret's session settings, and its model, are the session's.
        assert created["session"]["instructions"] == "Speak like a pirate."
        assert created["session"]["model"] == "gpt-realtime"
        server.app.clock.advance(61)
        with pytest.raises(Refused) as expired:
            await WSClient.connect(server.port, "/v1/realtime", headers=key)
        assert expired.value.status == 401


def test_client_event_encoders_give_the_spec_shapes() -> None:
    from openai_ergo.types import RealtimeClientEvent, decode

    pcm = bytes(range(256)) * 4
    appended = decode(realtime_append_audio(pcm, event_id="e1"), type=RealtimeClientEvent)
    assert base64.b64decode(appended.audio) == pcm
    assert appended.event_id == "e1"
    truncate = decode(realtime_truncate("item_1", audio_end_ms=250), type=RealtimeClientEvent)
    assert (truncate.item_id, truncate.content_index, truncate.audio_end_ms) == ("item_1", 0, 250)
    update = json.loads(realtime_session_update({"instructions": "Be brief."}))
    assert update == {
        "type": "session.update",
        "session": {"type": "realtime", "instructions": "Be brief."},
    }
    assert json.loads(realtime_cancel_response("resp_1")) == {
        "type": "response.cancel",
        "response_id": "resp_1",
    }


@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (lambda: realtime_append_audio(b"\x00"), ValueError, "odd"),
        (lambda: realtime_append_audio("text"), TypeError, "bytes"),  # type: ignore[arg-type]
        (lambda: realtime_session_update({"voise": "x"}), ValueError, "'voise'"),
        (lambda: realtime_session_update({"instructions": 3}), ValueError, "instructions"),
        (lambda: realtime_truncate("item_1", audio_end_ms=-1), ValueError, "audio_end_ms"),
        (lambda: realtime_truncate("", audio_end_ms=1), ValueError, "item_id"),
        (lambda: realtime_create_item({"role": "user"}), ValueError, "type"),
        (lambda: realtime_create_response(["x"]), TypeError, "mapping"),  # type: ignore[arg-type]
    ],
)
def test_client_event_encoders_refuse_bad_input_by_name(
    build: Any, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        build()


def test_the_decoder_keeps_unknown_events_and_refuses_broken_ones() -> None:
    unknown = decode_realtime_event(b'{"type": "response.hologram.delta", "delta": "x"}')
    assert isinstance(unknown, UnknownTypeVariant)
    assert unknown.raw == {"type": "response.hologram.delta", "delta": "x"}
    with pytest.raises(msgspec.DecodeError):
        decode_realtime_event(b'{"type": ')
    with pytest.raises(msgspec.ValidationError, match="delta"):
        decode_realtime_event(b'{"type": "response.output_text.delta", "delta": 5}')


def test_the_beta_protocol_decodes_into_its_own_union() -> None:
    from openai_ergo.types import (
        RealtimeBetaServerEventTranscriptionSessionUpdated,
        decode_realtime_beta_event,
    )

    # A beta-only event: the GA union does not know it, the beta union does.
    payload = '{"type": "transcription_session.updated", "session": {}}'
    event = decode_realtime_beta_event(payload)
    assert isinstance(event, RealtimeBetaServerEventTranscriptionSessionUpdated)
    assert isinstance(decode_realtime_event(payload), UnknownTypeVariant)


async def test_the_server_closes_sessions_when_it_stops() -> None:
    server = serve()
    async with server:
        ws = await session(server)
    # Stopped: the session was told so with a close frame (1012: the service is restarting).
    async with ws:
        from tests.openai_ergo.mock.wsclient import Closed, Dropped

        with anyio.fail_after(5), pytest.raises((Closed, Dropped)) as ended:
            await ws.recv()
    if isinstance(ended.value, Closed):
        assert ended.value.code == 1012
