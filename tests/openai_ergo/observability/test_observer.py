"""The observer seam itself: which hooks run, in what order, for every kind of result."""

from __future__ import annotations

import anyio
import httpx
import pytest

from openai_ergo import (
    Client,
    ConfigurationError,
    Observer,
    Operation,
    OperationEvent,
    RequestOptions,
    RetryPolicy,
)
from openai_ergo.mock import Fault, MockServer
from tests.openai_ergo.pipeline.conftest import FakeClock


class Recorder(Observer):
    """Writes down every hook call."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.ended_with: list[Operation] = []

    def started(self, operation: Operation) -> None:
        self.calls.append("started")

    def inject(self, operation: Operation, headers: httpx.Headers) -> None:
        self.calls.append("inject")
        headers["X-Observed"] = "yes"

    def event(self, operation: Operation, event: OperationEvent) -> None:
        self.calls.append(event.kind)

    def first_chunk(self, operation: Operation) -> None:
        assert operation.time_to_first_chunk is not None
        self.calls.append("first_chunk")

    def ended(self, operation: Operation) -> None:
        self.calls.append("ended")
        self.ended_with.append(operation)


def observed(server: MockServer, recorder: Recorder, **options: object) -> Client:
    return Client(
        api_key="sk-test-observer",
        base_url=server.url,
        rate_limiter=False,
        clock=FakeClock(),
        observers=[recorder],
        **options,  # type: ignore[arg-type]
    )


async def test_a_retried_request_tells_each_step_in_order(mock_openai: MockServer) -> None:
    recorder = Recorder()
    mock_openai.fail_next(Fault.rate_limit(retry_after=0.5))
    async with observed(mock_openai, recorder, retry=RetryPolicy(max_attempts=2)) as client:
        await client.chat("gpt-4o-mini").user("Hi").options(RequestOptions(tag="tests"))
    assert recorder.calls == ["started", "inject", "attempt", "retry_wait", "attempt", "ended"]
    [operation] = recorder.ended_with
    assert operation.attempts == 2
    assert operation.status == 200
    assert operation.tag == "tests"
    assert operation.name == "chat"
    assert operation.duration is not None
    assert operation.duration > 0
    # What `inject` added went out with every attempt.
    assert [r.headers["x-observed"] for r in mock_openai.requests] == ["yes", "yes"]


async def test_a_raw_event_stream_ends_its_operation_when_it_closes(
    mock_openai: MockServer,
) -> None:
    recorder = Recorder()
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    async with observed(mock_openai, recorder) as client:
        stream = await client.request("POST", "/chat/completions", body=body, stream=True)
        async with stream:
            assert recorder.calls == ["started", "inject", "first_chunk"]
            async for _ in stream:
                pass
        early = await client.request("POST", "/chat/completions", body=body, stream=True)
        await early.aclose()
    whole, left = recorder.ended_with
    assert whole.closed_early is False
    assert whole.error_type is None
    assert left.closed_early is True
    assert whole.result is None  # nothing aggregated a raw stream


async def test_a_binary_body_ends_its_operation_when_it_closes(mock_openai: MockServer) -> None:
    recorder = Recorder()
    async with observed(mock_openai, recorder) as client:
        body = {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "Hi"}
        audio = await client.request("POST", "/audio/speech", body=body, stream="bytes")
        async with audio:
            assert recorder.calls == ["started", "inject"]
            assert await audio.read()
    assert recorder.calls[-1] == "ended"
    assert recorder.ended_with[0].stream == "bytes"


async def test_a_cancelled_stream_ends_as_cancelled(mock_openai: MockServer) -> None:
    recorder = Recorder()
    async with observed(mock_openai, recorder) as client:
        await client.chat("gpt-4o-mini").user("warm up")  # first-use costs paid before the clock
        mock_openai.app.tokens_per_second = 5  # paced: many seconds from its end when cancelled
        with anyio.move_on_after(1.0) as scope:
            async with client.chat("gpt-4o-mini").user("Count to fifty").stream() as stream:
                async for _ in stream:
                    pass
    # Ended mid-stream: no request of this test is left for the server to answer in the next.
    assert scope.cancelled_caught
    assert len(stream.events) > 0
    [_, operation] = recorder.ended_with
    assert operation.error_type == "cancelled"
    assert operation.events is not None
    assert operation.events > 0


def test_observers_must_be_observers(mock_openai: MockServer) -> None:
    with pytest.raises(ConfigurationError, match="Observer instances"):
        Client(api_key="sk-test", base_url=mock_openai.url, observers=[print])  # type: ignore[list-item]


async def test_with_options_swaps_the_observers_on_the_same_pool(mock_openai: MockServer) -> None:
    first, second = Recorder(), Recorder()
    async with observed(mock_openai, first) as client:
        derived = client.with_options(observers=[second])
        await derived.chat("gpt-4o-mini").user("Hi")
        await client.with_options(observers=[]).chat("gpt-4o-mini").user("Hi")
        assert derived.http_client is client.http_client
    assert first.calls == []
    assert second.calls == ["started", "inject", "ended"]
