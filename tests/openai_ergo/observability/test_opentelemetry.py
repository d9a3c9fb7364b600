"""OpenTelemetry spans and metrics from real requests to the mock server over loopback, read
from the SDK's in-memory exporter and metric reader."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from openai_ergo import (
    ChatBuilder,
    CircuitBreaker,
    CircuitOpenError,
    Client,
    InternalServerError,
    RateLimiter,
    RetryPolicy,
    StreamInterruptedError,
    Timeouts,
    tool,
)
from openai_ergo.mock import Fault, MockOpenAI, MockServer, Reply, ToolCall
from openai_ergo.types import ChatCompletionChunk
from tests.openai_ergo.observability.telemetry import Telemetry, attributes, event_names
from tests.openai_ergo.pipeline.conftest import FakeClock

KEY = "sk-test-otel-secret-0123456789"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(
    server: MockServer, telemetry: Telemetry, clock: FakeClock, **options: Any
) -> Client:
    observer_options = options.pop("otel", {})
    settings: dict[str, Any] = {
        "api_key": KEY,
        "base_url": server.url,
        "rate_limiter": False,
        "circuit_breaker": False,
        "clock": clock,
        # Generous: a read timed out on a loaded machine is retried, and the retry takes the
        # reply a test queued for the next turn.
        "timeouts": Timeouts(read=30.0, stream_idle=30.0),
        "observers": [telemetry.observer(**observer_options)],
    }
    settings.update(options)
    return Client(**settings)


@pytest.fixture
async def client(
    mock_openai: MockServer, telemetry: Telemetry, clock: FakeClock
) -> AsyncIterator[Client]:
    async with make_client(mock_openai, telemetry, clock) as made:
        yield made


# -- one span per operation, after the GenAI conventions -----------------------------------


async def test_an_awaited_chat_completion_is_one_client_span_with_the_conventions_attributes(
    client: Client, telemetry: Telemetry, mock_openai: MockServer
) -> None:
    reply = await client.chat("gpt-4o-mini").user("Hi").temperature(0.3).max_tokens(50)
    span = telemetry.span("chat gpt-4o-mini")
    found = attributes(span)
    assert span.kind is SpanKind.CLIENT
    assert found["gen_ai.operation.name"] == "chat"
    assert found["gen_ai.provider.name"] == "openai"
    assert found["gen_ai.request.model"] == "gpt-4o-mini"
    assert found["gen_ai.request.temperature"] == 0.3
    assert found["gen_ai.request.max_tokens"] == 50
    assert found["gen_ai.response.id"] == reply.id
    assert found["gen_ai.response.model"] == reply.model
    assert found["gen_ai.response.finish_reasons"] == ("stop",)
    assert reply.usage is not None
    assert found["gen_ai.usage.input_tokens"] == reply.usage.prompt_tokens
    assert found["gen_ai.usage.output_tokens"] == reply.usage.completion_tokens
    assert found["server.address"] == "127.0.0.1"
    assert found["server.port"] == int(mock_openai.url.rsplit(":", 1)[1].split("/")[0])
    assert found["http.response.status_code"] == 200
    assert "error.type" not in found
    assert "gen_ai.request.stream" not in found
    assert span.status.status_code is StatusCode.UNSET
    assert event_names(span) == []  # one attempt, no waits: nothing more to tell

    [duration] = telemetry.points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert duration.attributes is not None
    assert duration.attributes["gen_ai.operation.name"] == "chat"
    assert duration.attributes["gen_ai.response.model"] == reply.model
    usage = {
        p.attributes["gen_ai.token.type"]: p.sum
        for p in telemetry.points("gen_ai.client.token.usage")
        if p.attributes
    }
    assert usage == {"input": reply.usage.prompt_tokens, "output": reply.usage.completion_tokens}


async def test_a_completed_stream_ends_its_span_with_the_usage_and_the_time_to_first_chunk(
    client: Client, telemetry: Telemetry
) -> None:
    async with client.responses("gpt-5-mini").input("Rivers?").stream() as stream:
        async for _ in stream.text():
            assert telemetry.spans() == []  # the span lasts as long as the stream
    final = stream.final()
    span = telemetry.span("chat gpt-5-mini")
    found = attributes(span)
    assert found["gen_ai.request.stream"] is True
    assert found["gen_ai.response.id"] == final.id
    assert found["gen_ai.response.finish_reasons"] == ("stop",)
    assert final.usage is not None
    assert found["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert found["openai_ergo.stream.events"] == len(stream.events)
    assert span.end_time is not None
    assert span.start_time is not None
    # Both from the request's own start on one clock (the span's times are the SDK's wall
    # clock, read a moment later): the first chunk came before the end.
    [duration] = telemetry.points("gen_ai.client.operation.duration")
    assert 0 < found["gen_ai.response.time_to_first_chunk"] <= duration.sum
    assert "openai_ergo.stream.closed_early" not in found
    assert "openai_ergo.usage.estimated_output_tokens" not in found
    [first] = telemetry.points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1
    assert first.sum == pytest.approx(found["gen_ai.response.time_to_first_chunk"])


async def read_all(builder: ChatBuilder) -> None:
    async with builder.stream() as stream:
        async for _ in stream:
            pass


def text_deltas(chunks: list[ChatCompletionChunk]) -> int:
    return sum(1 for chunk in chunks if any(c.delta.content for c in chunk.choices))


async def test_a_stream_the_caller_broke_out_of_ends_its_span_then_without_an_error(
    client: Client, telemetry: Telemetry, mock_openai: MockServer
) -> None:
    mock_openai.app.tokens_per_second = 100  # paced, so the usage is still to come
    async with client.chat("gpt-4o-mini").user("Count to twenty").stream() as stream:
        async for _ in stream.text():
            break
        assert telemetry.spans() == []
    found = attributes(telemetry.span("chat gpt-4o-mini"))
    assert found["openai_ergo.stream.closed_early"] is True
    assert "error.type" not in found
    assert "gen_ai.usage.output_tokens" not in found
    assert found["openai_ergo.usage.estimated_output_tokens"] == text_deltas(stream.events) > 0
    assert telemetry.span("chat gpt-4o-mini").status.status_code is StatusCode.UNSET


async def test_a_stream_cut_by_a_disconnect_carries_the_error_and_the_partial_usage(
    client: Client, telemetry: Telemetry, mock_openai: MockServer
) -> None:
    mock_openai.fail_next(Fault.disconnect(after=4))
    with pytest.raises(StreamInterruptedError) as caught:
        await read_all(client.chat("gpt-4o-mini").user("Rivers?"))
    span = telemetry.span("chat gpt-4o-mini")
    found = attributes(span)
    assert span.status.status_code is StatusCode.ERROR
    assert found["error.type"] == "StreamInterruptedError"
    received = caught.value.events
    deltas = text_deltas(list(received))
    assert found["openai_ergo.stream.events"] == len(received)
    assert found["openai_ergo.usage.estimated_output_tokens"] == deltas > 0
    assert "gen_ai.usage.output_tokens" not in found  # the server never said
    assert "exception" in event_names(span)
    [duration] = telemetry.points("gen_ai.client.operation.duration")
    assert duration.attributes is not None
    assert duration.attributes["error.type"] == "StreamInterruptedError"
    assert telemetry.points("gen_ai.client.token.usage") == []  # estimates are not billed


async def test_a_retried_request_is_one_span_with_an_event_per_attempt_and_wait(
    mock_openai: MockServer, telemetry: Telemetry, clock: FakeClock
) -> None:
    mock_openai.fail_next(Fault.server_error(503), times=2)
    async with make_client(
        mock_openai, telemetry, clock, retry=RetryPolicy(max_attempts=3)
    ) as client:
        await client.chat("gpt-4o-mini").user("Hi")
    span = telemetry.span("chat gpt-4o-mini")
    assert event_names(span) == [
        "openai_ergo.attempt",
        "openai_ergo.retry",
        "openai_ergo.attempt",
        "openai_ergo.retry",
        "openai_ergo.attempt",
    ]
    events = [dict(event.attributes or {}) for event in span.events]
    assert [e.get("http.response.status_code") for e in events[::2]] == [503, 503, 200]
    assert [e["openai_ergo.seconds"] for e in events[1::2]] == clock.sleeps
    assert [e["openai_ergo.reason"] for e in events[1::2]] == ["503", "503"]
    assert all(str(e["openai_ergo.request_id"]).startswith("req_") for e in events[::2])
    found = attributes(span)
    assert found["openai_ergo.attempts"] == 3
    assert "error.type" not in found


async def test_a_request_that_fails_for_good_sets_the_status_as_its_error_type(
    client: Client, telemetry: Telemetry, mock_openai: MockServer
) -> None:
    mock_openai.fail_next(Fault.server_error(500), times=5)
    with pytest.raises(InternalServerError):
        await client.with_options(retry=RetryPolicy.never()).chat("gpt-4o-mini").user("Hi")
    span = telemetry.span("chat gpt-4o-mini")
    assert attributes(span)["error.type"] == "500"
    assert span.status.status_code is StatusCode.ERROR
    assert KEY not in json.dumps([str(e.attributes) for e in span.events])


async def test_rate_limit_waits_and_circuit_refusals_are_span_events(
    mock_openai: MockServer, telemetry: Telemetry, clock: FakeClock
) -> None:
    limiter = RateLimiter(requests_per_minute=60, clock=clock, learn_from_headers=False)
    breaker = CircuitBreaker(failure_threshold=1, cooldown=60, clock=clock)
    async with make_client(
        mock_openai,
        telemetry,
        clock,
        rate_limiter=limiter,
        circuit_breaker=breaker,
        retry=RetryPolicy.never(),
    ) as client:
        await client.chat("gpt-4o-mini").user("one")
        await client.chat("gpt-4o-mini").user("two")  # paced: waits a second
        mock_openai.fail_next(Fault.server_error(500))
        with pytest.raises(InternalServerError):
            await client.chat("gpt-4o-mini").user("three")
        with pytest.raises(CircuitOpenError):
            await client.chat("gpt-4o-mini").user("four")
    first, second, third, fourth = telemetry.spans()
    assert event_names(first) == []
    assert event_names(second) == ["openai_ergo.rate_limit.wait"]
    assert second.events[0].attributes is not None
    assert second.events[0].attributes["openai_ergo.seconds"] == pytest.approx(1.0)
    assert attributes(third)["error.type"] == "500"
    assert event_names(fourth)[0] == "openai_ergo.circuit_breaker.open"
    assert attributes(fourth)["error.type"] == "CircuitOpenError"


async def test_other_api_calls_get_a_span_named_after_their_route_and_no_genai_metrics(
    client: Client, telemetry: Telemetry
) -> None:
    async for _ in client.files.list():
        pass
    span = telemetry.span("GET /v1/files")
    found = attributes(span)
    assert found["http.request.method"] == "GET"
    assert found["gen_ai.provider.name"] == "openai"
    assert "gen_ai.operation.name" not in found
    assert telemetry.points("gen_ai.client.operation.duration") == []


async def test_azure_deployments_are_traced_as_azure_openai(telemetry: Telemetry) -> None:
    app = MockOpenAI(seed=3, api_keys={"azure-key-0123"})
    transport = httpx.ASGITransport(app=app)
    async with Client.azure(
        "http://mock.openai.azure.com",
        api_key="azure-key-0123",
        api_version="2024-10-21",
        transport=transport,
        observers=[telemetry.observer()],
    ) as client:
        await client.chat("my-chat").user("Hi")
    found = attributes(telemetry.span("chat my-chat"))
    assert found["gen_ai.provider.name"] == "azure.ai.openai"
    assert found["server.address"] == "mock.openai.azure.com"
    assert found["gen_ai.operation.name"] == "chat"


# -- tool loops: a parent span, the turns and tool calls as children -------------------------


@tool
async def lookup(word: str) -> str:
    """Look a word up."""
    return word.upper()


@pytest.mark.parametrize("streamed", [False, True], ids=["awaited", "streamed"])
async def test_a_tool_loop_is_a_parent_span_over_its_turns_and_tool_calls(
    client: Client, telemetry: Telemetry, mock_openai: MockServer, streamed: bool
) -> None:
    mock_openai.reply_with(
        Reply(tool_calls=(ToolCall(name="lookup", arguments={"word": "hi"}),)), "HI it is."
    )
    run = client.chat("gpt-4o-mini").user("Look it up").tools(lookup).run()
    if streamed:
        async with run.stream() as stream:
            async for _ in stream:
                pass
    else:
        await run
    loop = telemetry.span("invoke_agent")
    tool_span = telemetry.span("execute_tool lookup")
    turns = [span for span in telemetry.spans() if span.name == "chat gpt-4o-mini"]
    assert len(turns) == 2
    assert loop.parent is None
    assert loop.context is not None
    for child in [*turns, tool_span]:
        assert child.parent is not None
        assert child.parent.span_id == loop.context.span_id
        assert child.context is not None
        assert child.context.trace_id == loop.context.trace_id
    found = attributes(tool_span)
    assert found["gen_ai.operation.name"] == "execute_tool"
    assert found["gen_ai.tool.name"] == "lookup"
    assert found["gen_ai.tool.call.id"]
    assert attributes(loop)["gen_ai.request.model"] == "gpt-4o-mini"
    assert loop.status.status_code is StatusCode.UNSET
    # The loop span ends last, after the tool ran between the turns.
    assert loop.end_time is not None
    assert all(span.end_time is not None and span.end_time <= loop.end_time for span in turns)


# -- content capture and trace context --------------------------------------------------------


async def test_content_is_not_captured_unless_asked(client: Client, telemetry: Telemetry) -> None:
    await client.chat("gpt-4o-mini").user("my secret plan")
    span = telemetry.span("chat gpt-4o-mini")
    assert "my secret plan" not in json.dumps([str(e.attributes) for e in span.events])
    assert "my secret plan" not in str(span.attributes)


async def test_captured_content_is_redacted_of_keys_and_by_the_callers_rule(
    mock_openai: MockServer, telemetry: Telemetry, clock: FakeClock
) -> None:
    options = {"capture_content": True, "redact": lambda text: text.replace("Alice", "[name]")}
    async with make_client(mock_openai, telemetry, clock, otel=options) as client:
        reply = await (
            client.responses("gpt-5-mini")
            .instructions("Be brief.")
            .input(f"Alice's key is {KEY}; remember it")
        )
    span = telemetry.span("chat gpt-5-mini")
    [details] = [e for e in span.events if e.name == "gen_ai.client.inference.operation.details"]
    assert details.attributes is not None
    inputs = json.loads(str(details.attributes["gen_ai.input.messages"]))
    text = inputs[0]["parts"][0]["content"]
    assert inputs[0]["role"] == "user"
    assert KEY not in text
    assert "Alice" not in text
    assert text == "[name]'s key is [redacted]; remember it"
    system = json.loads(str(details.attributes["gen_ai.system_instructions"]))
    assert system == [{"type": "text", "content": "Be brief."}]
    output = json.loads(str(details.attributes["gen_ai.output.messages"]))
    assert output[0]["parts"][0]["content"] == reply.output_text
    assert output[0]["finish_reason"] == "stop"


async def test_the_trace_context_goes_out_only_when_asked(
    mock_openai: MockServer, telemetry: Telemetry, clock: FakeClock
) -> None:
    async with make_client(mock_openai, telemetry, clock) as client:
        await client.chat("gpt-4o-mini").user("Hi")
    assert "traceparent" not in mock_openai.requests[0].headers
    async with make_client(mock_openai, telemetry, clock, otel={"propagate": True}) as client:
        await client.chat("gpt-4o-mini").user("Hi")
    span = telemetry.spans()[-1]
    assert span.context is not None
    version, trace_id, span_id, flags = mock_openai.requests[1].headers["traceparent"].split("-")
    assert version == "00"
    assert int(flags, 16) & 1  # sampled
    assert int(trace_id, 16) == span.context.trace_id
    assert int(span_id, 16) == span.context.span_id


def test_importing_the_client_loads_neither_opentelemetry_nor_prometheus() -> None:
    code = (
        "import sys, openai_ergo; from openai_ergo import Client, Observer; "
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'prometheus'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
