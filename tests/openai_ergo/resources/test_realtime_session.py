"""`client.realtime(model)` against the mock over loopback WebSockets, on both backends: text
and PCM16 answers, transcripts of appended audio, the `@tool` loop, cancellation, timeouts, a
dropped connection, ephemeral client secrets, Azure's routes, and 100 sessions at once."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import anyio
import pytest

from openai_ergo import (
    APITimeoutError,
    AuthenticationError,
    Client,
    InvalidRequestError,
    RealtimeClosedError,
    RealtimeEventError,
    RealtimeResponse,
    RealtimeSession,
    StreamIdleTimeoutError,
    ToolError,
    tool,
)
from openai_ergo.mock import MockServer, Reply, ToolCall, serve
from openai_ergo.types import (
    RealtimeServerEventResponseDone,
    RealtimeServerEventSessionCreated,
    RealtimeServerEventSessionUpdated,
    RealtimeSessionCreateResponseGA,
)

#: The mock's speech: 24 kHz PCM16, each byte of the text as two 20 ms tones, after an 8-byte
#: header spoken the same way.
_TONE_BYTES = 2 * 480
_HEADER = 8


@tool
def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city.
    """
    return f"sunny in {city}"


@pytest.fixture
async def server() -> AsyncIterator[MockServer]:
    async with serve(seed=7) as server:
        yield server


@pytest.fixture
async def client(server: MockServer) -> AsyncIterator[Client]:
    async with Client(base_url=server.url, api_key="sk-mock") as client:
        yield client


async def _read_text(response: RealtimeResponse) -> str:
    async with response:
        return "".join([chunk async for chunk in response.text()])


async def _read_events(session: RealtimeSession, kinds: list[str]) -> None:
    async for event in session:
        kinds.append(event.type)


def _handshakes(server: MockServer) -> list[Any]:
    return [r for r in server.requests if r.method == "GET" and r.path.endswith("/realtime")]


async def test_a_text_answer_comes_as_deltas_and_its_transcript(
    server: MockServer, client: Client
) -> None:
    server.reply_with(Reply("It is sunny in Paris today."))
    builder = client.realtime("gpt-realtime").instructions("Be brief.").modalities("text")
    async with (
        builder.connect() as session,
        session.respond("What is the weather?") as response,
    ):
        chunks = [chunk async for chunk in response.text()]
    assert "".join(chunks) == response.transcript == "It is sunny in Paris today."
    assert len(chunks) > 1
    assert response.status == "completed"
    assert response.done
    assert response.final is not None
    assert response.final.id == response.id
    assert response.pcm == b""
    kinds = [event.type for event in response.events]
    assert kinds[-1] == "response.done"
    assert "response.created" in kinds
    # The settings went out on open, in the handshake's session: `model` in the query.
    (handshake,) = _handshakes(server)
    assert parse_qs(handshake.query) == {"model": ["gpt-realtime"]}
    assert handshake.headers["authorization"] == "Bearer sk-mock"


async def test_the_settings_are_sent_on_open_and_the_server_applies_them(client: Client) -> None:
    builder = (
        client.realtime("gpt-realtime")
        .instructions("Answer in French.")
        .voice("marin")
        .modalities("text")
        .turn_detection(None)
        .tools(get_weather)
        .tool_choice("auto")
    )
    async with builder.connect() as session:
        created = await session.__anext__()
        updated = await session.__anext__()
    assert isinstance(created, RealtimeServerEventSessionCreated)
    assert isinstance(updated, RealtimeServerEventSessionUpdated)
    settings: Any = updated.session
    assert settings.instructions == "Answer in French."
    assert settings.output_modalities == ["text"]
    assert settings.audio.output.voice == "marin"
    assert [tool.name for tool in settings.tools] == ["get_weather"]
    assert settings.tools[0].parameters["properties"]["city"]["type"] == "string"


async def test_a_spoken_answer_is_pcm16_audio_as_long_as_its_transcript_says(
    client: Client,
) -> None:
    async with (
        client.realtime("gpt-realtime").connect() as session,
        session.respond("Tell me something.") as response,
    ):
        chunks = [chunk async for chunk in response.audio()]
    pcm = b"".join(chunks)
    assert pcm == response.pcm
    assert all(len(chunk) % 2 == 0 for chunk in chunks)
    spoken = response.transcript.encode()
    assert spoken
    # Two tones of 480 samples (2 bytes each) per byte of the transcript, after the header.
    assert len(pcm) == 2 * _TONE_BYTES * (_HEADER + len(spoken))
    samples = memoryview(pcm).cast("h")
    assert max(samples) > 5000
    assert min(samples) < -5000


async def test_appended_audio_is_transcribed_and_the_transcript_kept(client: Client) -> None:
    said = "Hello from the microphone."
    pcm = await client.speech("gpt-4o-mini-tts").voice("alloy").input(said).format("pcm")
    builder = client.realtime("gpt-realtime").transcription("gpt-4o-transcribe").modalities("text")
    async with builder.connect() as session:
        for start in range(0, len(pcm), 4800):
            await session.append_audio(pcm[start : start + 4800])
        await session.commit()
        assert await session.input_transcript() == said
        # The events read while waiting come next, in order.
        kinds = [(await session.__anext__()).type for _ in range(3)]
        assert kinds[:2] == ["session.created", "session.updated"]
        async with session.respond() as response:
            await response.until_done()
    assert list(session.input_transcripts.values()) == [said]
    assert response.status == "completed"


async def test_the_tool_loop_runs_the_tool_and_the_model_answers_with_its_result(
    server: MockServer, client: Client
) -> None:
    calls: list[str] = []

    @tool
    def lookup(city: str) -> dict[str, str]:
        """Look a city's weather up."""
        calls.append(city)
        return {"city": city, "sky": "clear"}

    server.reply_with(
        Reply(tool_calls=(ToolCall(name="lookup", arguments={"city": "Oslo"}),)),
        Reply("Clear skies in Oslo."),
    )
    builder = client.realtime("gpt-realtime").modalities("text").tools(lookup)
    async with builder.connect() as session, session.respond("Weather in Oslo?") as response:
        text = [chunk async for chunk in response.text()]
    assert calls == ["Oslo"]
    (call,) = response.tool_calls
    assert (call.name, json.loads(call.arguments), call.error) == ("lookup", {"city": "Oslo"}, None)
    assert json.loads(call.output or "") == {"city": "Oslo", "sky": "clear"}
    assert "".join(text) == response.transcript == "Clear skies in Oslo."
    assert response.status == "completed"
    kinds = [event.type for event in response.events]
    assert kinds.count("response.done") == 2
    assert "response.function_call_arguments.done" in kinds


async def test_the_tool_loop_stops_after_max_tool_rounds(
    server: MockServer, client: Client
) -> None:
    server.reply_with(
        *[Reply(tool_calls=(ToolCall(name="get_weather", arguments={"city": "Rome"}),))] * 3
    )
    builder = client.realtime("gpt-realtime").tools(get_weather).max_tool_rounds(2)
    async with builder.connect() as session:
        with pytest.raises(ToolError, match="2 rounds"):
            async with session.respond("Weather?") as response:
                await response.until_done()
    assert [call.output for call in response.tool_calls] == ["sunny in Rome"] * 2


async def test_leaving_a_response_early_cancels_it_and_the_session_goes_on(
    server: MockServer,
) -> None:
    async with (
        Client(
            base_url=server.url, api_key="sk-mock", headers={"x-mock-tokens-per-second": "50"}
        ) as client,
        client.realtime("gpt-realtime").modalities("text").connect() as session,
    ):
        async with session.respond("Talk for a while.") as response:
            async for _ in response.text():
                break
        assert response.status == "cancelled"
        assert response.done
        assert response.final is not None
        assert response.final.status_details is not None
        server.reply_with(Reply("Next."))
        async with session.respond("And now?") as second:
            await second.until_done()
    assert second.transcript == "Next."
    assert second.status == "completed"


async def test_an_error_event_is_a_typed_error_and_the_session_goes_on(client: Client) -> None:
    async with client.realtime("gpt-realtime").modalities("text").connect() as session:
        await session.commit()  # nothing appended: the API refuses it
        with pytest.raises(RealtimeEventError) as refused:
            async for _ in session:
                pass
        async with session.respond("Still there?") as response:
            await response.until_done()
    assert refused.value.code == "input_audio_buffer_commit_empty"
    assert refused.value.event.type == "error"
    assert response.status == "completed"


async def test_an_error_event_mid_response_keeps_what_arrived(
    server: MockServer, client: Client
) -> None:
    server.fail_next("error_event; after=8; code=server_error", path="/v1/realtime")
    async with client.realtime("gpt-realtime").modalities("text").connect() as session:
        with pytest.raises(RealtimeEventError) as failed:
            async with session.respond("Hello") as response:
                await response.until_done()
    assert failed.value.code == "server_error"
    assert failed.value.events
    assert list(failed.value.events) == response.events
    assert failed.value.partial == response.transcript


async def test_a_silent_server_raises_the_idle_timeout_with_what_arrived(
    server: MockServer, client: Client
) -> None:
    server.fail_next("idle; after=8; seconds=30", path="/v1/realtime")
    builder = client.realtime("gpt-realtime").modalities("text")
    with anyio.fail_after(10):
        async with (
            builder.connect(idle_timeout=0.5) as session,
            session.respond("Hello") as response,
        ):
            started = anyio.current_time()
            with pytest.raises(StreamIdleTimeoutError) as timed_out:
                await response.until_done()
            waited = anyio.current_time() - started
    assert 0.5 <= waited < 5
    assert list(timed_out.value.events) == response.events
    assert timed_out.value.partial == response.transcript
    assert any(event.type == "response.created" for event in timed_out.value.events)


async def test_a_handshake_left_unanswered_is_a_timeout(server: MockServer, client: Client) -> None:
    server.fail_next("hang; seconds=30", path="/v1/realtime")
    started = anyio.current_time()
    with anyio.fail_after(10), pytest.raises(APITimeoutError):
        async with client.realtime("gpt-realtime").connect(idle_timeout=0.5):
            pass
    assert 0.5 <= anyio.current_time() - started < 5


async def test_a_dropped_connection_is_a_typed_error_that_keeps_what_arrived(
    server: MockServer, client: Client
) -> None:
    server.fail_next("disconnect; after=10", path="/v1/realtime")
    async with client.realtime("gpt-realtime").modalities("text").connect() as session:
        response = session.respond("Hello")
        with pytest.raises(RealtimeClosedError) as dropped:
            await _read_text(response)
    assert dropped.value.code == 1006
    assert list(dropped.value.events) == response.events
    assert dropped.value.partial == response.transcript
    assert response.transcript
    assert not response.done


async def test_a_hundred_concurrent_sessions_leave_no_socket_open(server: MockServer) -> None:
    def descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    answers: dict[int, str] = {}
    async with Client(base_url=server.url, api_key="sk-mock") as client:
        builder = client.realtime("gpt-realtime").modalities("text")

        async def one(number: int) -> None:
            async with (
                builder.connect() as session,
                session.respond(f"Hello {number}") as response,
            ):
                await response.until_done()
            answers[number] = response.status or ""

        await one(-1)  # the client's and the server's first-use state, before counting
        before = descriptors()
        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for number in range(100):
                    group.start_soon(one, number)
            # The server closes its side when it reads the close frame: wait until it has.
            while descriptors() > before:  # noqa: ASYNC110 (no event says a socket closed)
                await anyio.sleep(0.05)
    assert answers == dict.fromkeys(range(-1, 100), "completed")
    assert len(_handshakes(server)) == 101


async def test_an_ephemeral_client_secret_opens_a_session_with_its_settings() -> None:
    async with serve(api_keys={"sk-server"}) as server:
        async with Client(base_url=server.url, api_key="sk-server") as backend:
            secret = await backend.realtime.client_secrets.create(
                session={"type": "realtime", "model": "gpt-realtime", "instructions": "Hi."}
            )
        # The browser's side: no API key of its own.
        async with Client(base_url=server.url, api_key="sk-not-a-key") as browser:
            async with browser.realtime("gpt-realtime").connect(client_secret=secret) as session:
                created = await session.__anext__()
            with pytest.raises(AuthenticationError) as refused:
                async with browser.realtime("gpt-realtime").connect():
                    pass
    assert isinstance(created, RealtimeServerEventSessionCreated)
    assert isinstance(created.session, RealtimeSessionCreateResponseGA)
    assert created.session.instructions == "Hi."
    handshake = _handshakes(server)[0]
    assert handshake.headers["authorization"] == f"Bearer {secret.value}"
    assert "sk-not-a-key" not in str(refused.value)
    assert refused.value.status_code == 401


async def test_azure_routes_the_session_to_its_deployment_with_the_api_key_header(
    server: MockServer,
) -> None:
    root = server.url.removesuffix("/v1")
    async with (
        Client.azure(
            endpoint=root, api_key="azure-key", api_version="2025-04-01-preview"
        ) as client,
        client.realtime("my-deployment").modalities("text").connect() as session,
        session.respond("Hello") as response,
    ):
        await response.until_done()
    async with (
        Client.azure(endpoint=root + "/openai/v1", api_key="azure-key") as v1,
        v1.realtime("gpt-realtime").connect() as session,
    ):
        assert isinstance(await session.__anext__(), RealtimeServerEventSessionCreated)
    dated, latest = _handshakes(server)
    assert dated.path == "/openai/realtime"
    assert parse_qs(dated.query) == {
        "api-version": ["2025-04-01-preview"],
        "deployment": ["my-deployment"],
    }
    assert dated.headers["api-key"] == "azure-key"
    assert "authorization" not in dated.headers
    assert response.status == "completed"
    assert latest.path == "/openai/v1/realtime"
    assert parse_qs(latest.query) == {"model": ["gpt-realtime"]}


async def test_raw_events_and_senders_drive_a_session_by_hand(client: Client) -> None:
    async with client.realtime("gpt-realtime").modalities("text").connect() as session:
        await session.send_text("Hello")
        done = None
        async for event in session:
            if isinstance(event, RealtimeServerEventResponseDone):
                done = event
                break
        assert done is not None
        assert done.response is not None
        item = done.response.output[0]  # type: ignore[index]
        await session.update(instructions="Shorter.")
        await session.clear_audio()
        await session.cancel_response()  # nothing to cancel: an error event comes back
        kinds: list[str] = []
        with pytest.raises(RealtimeEventError) as nothing:
            await _read_events(session, kinds)
    assert kinds == ["session.updated", "input_audio_buffer.cleared"]
    assert nothing.value.code == "response_cancel_not_active"
    assert item.type == "message"


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda b: b.modalities("video"), "output_modalities"),
        (lambda b: b.turn_detection("shouting"), "turn_detection"),
        (lambda b: b.input_format("mp3"), "input_format"),
        (lambda b: b.speed(3), "speed"),
        (lambda b: b.tool_choice(""), "tool_choice"),
        (lambda b: b.max_tool_rounds(0), "max_tool_rounds"),
        (lambda b: b.settings({"voise": "alloy"}).connect(), "session"),
        (lambda b: b.connect(client_secret=""), "client_secret"),
        (lambda b: b.connect(client_secret=object()), "client_secret"),
    ],
)
def test_bad_settings_are_refused_before_anything_goes_out(make: Any, param: str) -> None:
    client = Client(base_url="http://127.0.0.1:9/v1", api_key="sk-secret-key-1234")
    with pytest.raises(InvalidRequestError) as refused:
        make(client.realtime("gpt-realtime"))
    assert refused.value.param == param
    assert "sk-secret" not in str(refused.value)


async def test_no_secret_in_a_repr(client: Client) -> None:
    builder = client.realtime("gpt-realtime").instructions("x")
    async with builder.connect() as session:
        async with session.respond("Hi") as response:
            await response.until_done()
        shown = " ".join(map(repr, (builder, session, response, builder.connect())))
    assert "sk-mock" not in shown
    assert "gpt-realtime" in shown


async def test_a_response_left_after_it_ended_on_the_server_leaves_no_error_behind(
    server: MockServer, client: Client
) -> None:
    server.reply_with(Reply("One two three four five six."), Reply("Next."))
    async with client.realtime("gpt-realtime").modalities("text").connect() as session:
        async with session.respond("Count.") as response:
            async for _ in response.text():
                # The whole answer is on its way before the cancel goes out: the server
                # refuses the cancel, and that refusal is not the next response's error.
                await anyio.sleep(0.2)
                break
        async with session.respond("Again.") as second:
            await second.until_done()
    assert response.status == "completed"
    assert second.transcript == "Next."
