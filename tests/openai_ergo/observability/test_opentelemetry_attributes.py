"""Every GenAI attribute the conventions name for a request's parameters, the other inference
operations (`embeddings`, `text_completion`), the content cut, a cancelled stream, and an
observer without its extra: real requests to the mock server, read from the SDK's in-memory
exporter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator

import anyio
import pytest
from opentelemetry.trace import StatusCode

from openai_ergo import Client, RetryPolicy
from openai_ergo.mock import MockServer
from tests.openai_ergo.observability.telemetry import Telemetry, attributes, event_names
from tests.openai_ergo.pipeline.conftest import FakeClock


@pytest.fixture
async def client(mock_openai: MockServer, telemetry: Telemetry) -> AsyncIterator[Client]:
    async with Client(
        api_key="sk-test-otel-attributes",
        base_url=mock_openai.url,
        rate_limiter=False,
        circuit_breaker=False,
        retry=RetryPolicy.never(),
        clock=FakeClock(),
        observers=[telemetry.observer()],
    ) as made:
        yield made


async def test_every_chat_parameter_the_conventions_name_becomes_its_attribute(
    client: Client, telemetry: Telemetry, mock_openai: MockServer
) -> None:
    reply = await (
        client.chat("gpt-4o-mini")
        .user("Two JSON answers")
        .temperature(0.2)
        .top_p(0.9)
        .frequency_penalty(0.5)
        .presence_penalty(-0.5)
        .seed(42)
        .stop("END", "STOP")
        .n(2)
        .max_completion_tokens(64)
        .response_format({"type": "json_object"})
        .service_tier("flex")
    )
    found = attributes(telemetry.span("chat gpt-4o-mini"))
    sent = mock_openai.requests[-1].body
    assert isinstance(sent, dict)
    assert sent["top_p"] == 0.9  # the attributes below read what was sent
    assert found["gen_ai.request.temperature"] == 0.2
    assert found["gen_ai.request.top_p"] == 0.9
    assert found["gen_ai.request.frequency_penalty"] == 0.5
    assert found["gen_ai.request.presence_penalty"] == -0.5
    assert found["gen_ai.request.seed"] == 42
    assert found["gen_ai.request.stop_sequences"] == ("END", "STOP")
    assert found["gen_ai.request.choice.count"] == 2
    assert found["gen_ai.request.max_tokens"] == 64  # from max_completion_tokens
    assert found["gen_ai.output.type"] == "json"
    assert found["openai.request.service_tier"] == "flex"
    assert len(reply.choices) == 2
    assert found["gen_ai.response.finish_reasons"] == tuple(c.finish_reason for c in reply.choices)
    # What the server answered with, beside what was asked.
    assert reply.service_tier is not None
    assert found["openai.response.service_tier"] == str(reply.service_tier)
    assert found["openai.response.system_fingerprint"] == reply.system_fingerprint == "fp_mock"


async def test_defaults_add_no_parameter_attribute(client: Client, telemetry: Telemetry) -> None:
    await client.chat("gpt-4o-mini").user("Hi").n(1).service_tier("auto")
    found = attributes(telemetry.span("chat gpt-4o-mini"))
    named = {key for key in found if key.startswith("gen_ai.request.")}
    assert named == {"gen_ai.request.model"}  # n=1 and the auto tier are the defaults
    assert "openai.request.service_tier" not in found
    assert "gen_ai.output.type" not in found


async def test_a_responses_turn_names_its_conversation_and_its_text_output(
    client: Client, telemetry: Telemetry
) -> None:
    conversation = await client.conversations.create()
    reply = await (
        client.responses("gpt-5-mini")
        .input("Hi")
        .conversation(conversation.id)
        .max_output_tokens(80)
        .text_format({"type": "text"})
    )
    found = attributes(telemetry.span("chat gpt-5-mini"))
    assert found["gen_ai.conversation.id"] == conversation.id
    assert found["gen_ai.request.max_tokens"] == 80  # from max_output_tokens
    assert found["gen_ai.output.type"] == "text"
    assert found["gen_ai.response.id"] == reply.id
    assert found["gen_ai.response.finish_reasons"] == ("stop",)


async def test_embeddings_are_their_own_operation_with_input_tokens(
    client: Client, telemetry: Telemetry
) -> None:
    result = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    span = telemetry.span("embeddings text-embedding-3-small")
    found = attributes(span)
    assert found["gen_ai.operation.name"] == "embeddings"
    assert found["gen_ai.request.model"] == "text-embedding-3-small"
    assert result.usage is not None
    assert found["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    [duration] = telemetry.points("gen_ai.client.operation.duration")
    assert duration.attributes is not None
    assert duration.attributes["gen_ai.operation.name"] == "embeddings"


async def test_legacy_completions_are_text_completion(client: Client, telemetry: Telemetry) -> None:
    result = await client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    found = attributes(telemetry.span("text_completion gpt-3.5-turbo-instruct"))
    assert result.choices
    assert found["gen_ai.operation.name"] == "text_completion"
    assert found["gen_ai.response.id"] == result.id
    assert found["gen_ai.response.finish_reasons"] == tuple(
        str(c.finish_reason) for c in result.choices
    )


async def test_captured_content_is_cut_to_max_content_chars(
    mock_openai: MockServer, telemetry: Telemetry
) -> None:
    observer = telemetry.observer(capture_content=True, max_content_chars=12)
    async with Client(
        api_key="sk-test-otel-attributes",
        base_url=mock_openai.url,
        rate_limiter=False,
        observers=[observer],
    ) as client:
        await client.chat("gpt-4o-mini").user("a" * 500)
    span = telemetry.span("chat gpt-4o-mini")
    [details] = [e for e in span.events if e.name == "gen_ai.client.inference.operation.details"]
    assert details.attributes is not None
    [message] = json.loads(str(details.attributes["gen_ai.input.messages"]))
    text = message["parts"][0]["content"]
    assert text == "a" * 11 + "…"


@pytest.mark.parametrize(
    ("module", "observer", "extra"),
    [
        ("opentelemetry", "OpenTelemetry", "otel"),
        ("prometheus_client", "PrometheusMetrics", "prometheus"),
    ],
)
def test_an_observer_without_its_extra_names_the_extra_to_install(
    module: str, observer: str, extra: str
) -> None:
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "import openai_ergo\n"
        "try:\n"
        f"    openai_ergo.{observer}()\n"
        "except openai_ergo.ConfigurationError as exc:\n"
        "    print(exc)\n"
        "client = openai_ergo.Client(api_key='sk-x', base_url='http://127.0.0.1:9/v1')\n"
        "print('client without observers: ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = out.stdout.strip().splitlines()
    assert f"pip install 'openai-ergo[{extra}]'" in first
    assert second == "client without observers: ok"


async def test_a_stream_cancelled_by_its_caller_ends_its_span_as_cancelled(
    client: Client, telemetry: Telemetry, mock_openai: MockServer
) -> None:
    await client.chat("gpt-4o-mini").user("warm up")  # first-use costs paid before the clock
    mock_openai.app.tokens_per_second = 5  # paced: many seconds from its end when cancelled
    with anyio.move_on_after(1.0) as scope:
        async with client.chat("gpt-4o-mini").user("Count to fifty").stream() as stream:
            async for _ in stream:
                pass
    assert scope.cancelled_caught
    # The scope ended it mid-stream (the server had answered: no request of this test is
    # left for the next one to meet).
    assert len(stream.events) > 0
    span = telemetry.spans()[-1]
    assert span.name == "chat gpt-4o-mini"
    found = attributes(span)
    assert found["error.type"] == "cancelled"
    assert span.status.status_code is StatusCode.ERROR
    assert "exception" not in event_names(span)  # a cancellation is no exception to record
    assert found["openai_ergo.stream.events"] == len(stream.events)
    durations = {
        (p.attributes or {}).get("error.type"): p.count
        for p in telemetry.points("gen_ai.client.operation.duration")
    }
    assert durations == {None: 1, "cancelled": 1}
