"""Streams: retried only before the first event, typed mid-stream errors, middleware hooks,
and connections handed back to the pool."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from openai_ergo import (
    APIStatusError,
    APITimeoutError,
    Client,
    Middleware,
    NotFoundError,
    RateLimiter,
    RequestOptions,
    RetryPolicy,
    StreamIdleTimeoutError,
    StreamInterruptedError,
    Timeouts,
)
from streaming import ServerSentEvent
from tests.openai_ergo.pipeline.conftest import FakeClock
from tests.openai_ergo.pipeline.scripted import (
    Reply,
    error_body,
    scripted_server,
    sse,
)
from tests.streaming.loopback import Exchange, sse_server

KEY = "sk-test-SECRET"
DELTAS = [*sse({"delta": "Hel"}, {"delta": "lo"}, {"delta": "!"}), b"data: [DONE]\n\n"]


async def _texts(client: Client) -> list[str]:
    async with await client.request("POST", "/responses", body={}, stream=True) as stream:
        return [event.data async for event in stream]


async def test_events_arrive_in_order_with_the_response_metadata(clock: FakeClock) -> None:
    reply = Reply(events=DELTAS, headers=[("x-request-id", "req_9")])
    async with scripted_server(reply) as server, Client(KEY, base_url=server.url) as client:
        stream = await client.request("POST", "/responses", body={"stream": True}, stream=True)
        async with stream:
            assert stream.request_id == "req_9"
            assert stream.status_code == 200
            events = [event async for event in stream]
        assert stream.closed
    assert [e.data for e in events] == [
        '{"delta":"Hel"}',
        '{"delta":"lo"}',
        '{"delta":"!"}',
        "[DONE]",
    ]
    assert server.requests[0].headers["accept"] == "text/event-stream"


async def test_next_batch_hands_out_whole_reads() -> None:
    async with (
        scripted_server(Reply(events=[b"".join(DELTAS)])) as server,
        Client(KEY, base_url=server.url) as client,
    ):
        batches = []
        async with await client.request("GET", "/x", stream=True) as stream:
            while batch := await stream.next_batch():
                batches.append(batch)
    assert [len(b) for b in batches] == [4]


async def test_a_stream_that_breaks_before_its_first_event_is_retried(clock: FakeClock) -> None:
    broken = Reply(events=[], abort=True)
    async with (
        scripted_server(broken, Reply(events=DELTAS)) as server,
        Client(KEY, base_url=server.url, clock=clock) as client,
    ):
        texts = await _texts(client)
    assert len(texts) == 4
    assert len(server.requests) == 2
    assert len(clock.sleeps) == 1


async def test_a_stream_that_breaks_after_its_first_event_is_not_retried(
    clock: FakeClock,
) -> None:
    broken = Reply(events=DELTAS[:1], abort=True)
    async with (
        scripted_server(broken, Reply(events=DELTAS)) as server,
        Client(KEY, base_url=server.url, clock=clock) as client,
    ):
        received: list[ServerSentEvent] = []
        stream = await client.request("POST", "/responses", body={}, stream=True)
        async with stream:
            with pytest.raises(StreamInterruptedError) as caught:  # noqa: PT012 - fails mid-loop
                async for event in stream:
                    received.append(event)
    assert [e.data for e in received] == ['{"delta":"Hel"}']
    assert len(server.requests) == 1
    assert caught.value.partial is None


async def test_a_silent_stream_fails_with_an_idle_timeout() -> None:
    silent = Reply(events=DELTAS[:1], hang=True)
    timeouts = Timeouts(stream_idle=0.2)
    async with (
        scripted_server(silent) as server,
        Client(KEY, base_url=server.url, timeouts=timeouts) as client,
    ):
        stream = await client.request("GET", "/x", stream=True)
        async with stream:
            first = await stream.__anext__()
            with pytest.raises(StreamIdleTimeoutError):
                await stream.__anext__()
    assert first.data == '{"delta":"Hel"}'


async def test_silence_before_the_first_event_is_a_retried_timeout(clock: FakeClock) -> None:
    silent = Reply(events=[], hang=True)
    options = RequestOptions(
        timeouts=Timeouts(stream_idle=0.1), retry=RetryPolicy(max_attempts=2, jitter=0.0)
    )
    async with (
        scripted_server(silent) as server,
        Client(KEY, base_url=server.url, clock=clock) as client,
    ):
        with pytest.raises(APITimeoutError) as caught:
            await client.request("GET", "/x", stream=True, options=options)
    assert len(server.requests) == 2
    assert len(caught.value.attempts) == 2


async def test_an_error_status_on_a_stream_is_the_typed_error() -> None:
    missing = Reply(status=404, json=error_body("no such model", code="model_not_found"))
    async with scripted_server(missing) as server, Client(KEY, base_url=server.url) as client:
        with pytest.raises(NotFoundError, match="model_not_found"):
            await client.request("POST", "/responses", body={}, stream=True)


async def test_a_2xx_that_is_not_an_event_stream_is_a_clear_error() -> None:
    # A captive portal or proxy answering 200 with a page that quotes the request's credential.
    page = Reply(body=f"<p>hello, Bearer {KEY}</p>".encode(), content_type="text/html")
    async with scripted_server(page) as server, Client(KEY, base_url=server.url) as client:
        with pytest.raises(APIStatusError, match="instead of an event stream") as caught:
            await client.request("POST", "/responses", body={}, stream=True)
    error = caught.value
    assert "text/html" in str(error)
    assert "hello" in str(error.body)
    assert "SECRET" not in repr(error.body) + str(error) + repr(error.__cause__)


async def test_leaving_early_gives_the_connection_back_to_the_pool() -> None:
    # Each response goes out in one write, so the read that brings the first event also brings
    # the body's end: a body read to its end goes back to the pool although the loop broke
    # early. (Written event by event, a loaded machine could split the reads, and a body cut
    # short is rightly never reused.)
    body = b"".join(DELTAS)
    streamed = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    listed = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    async def one_write(exchange: Exchange) -> None:
        await exchange.replay(listed if exchange.request.target.endswith("/models") else streamed)

    async with sse_server(one_write) as server, Client(KEY, base_url=server.url) as client:
        for _ in range(3):
            async with await client.request("GET", "/x", stream=True) as stream:
                async for _event in stream:
                    break
        await client.request("GET", "/models")
    assert len(server.requests) == 4
    assert server.connections == 1


class Recorder(Middleware):
    """Writes down every hook call."""

    def __init__(self, name: str, log: list[Any]) -> None:
        self.name = name
        self.log = log

    async def on_request(self, request: httpx.Request, state: dict[str, Any]) -> None:
        state.setdefault("order", []).append(self.name)
        request.headers[f"x-{self.name}"] = str(state["attempt"])
        self.log.append(("request", self.name, state["attempt"]))

    async def on_response(self, response: httpx.Response, state: dict[str, Any]) -> None:
        self.log.append(("response", self.name, response.status_code))

    def on_event(self, event: ServerSentEvent, state: dict[str, Any]) -> None:
        self.log.append(("event", self.name, event.data))

    async def on_stream_end(self, state: dict[str, Any], error: BaseException | None) -> None:
        self.log.append(("end", self.name, type(error).__name__ if error else None))
        self.log.append(("order", state["order"]))


async def test_middleware_sees_requests_responses_events_and_the_end(clock: FakeClock) -> None:
    log: list[Any] = []
    chain = [Recorder("a", log), Recorder("b", log)]
    reply = Reply(events=DELTAS[:2])
    async with (
        scripted_server(Reply(status=503), reply) as server,
        Client(KEY, base_url=server.url, middleware=chain, clock=clock) as client,
    ):
        texts = await _texts(client)
    assert texts == ['{"delta":"Hel"}', '{"delta":"lo"}']
    assert log == [
        ("request", "a", 1),
        ("request", "b", 1),
        ("response", "a", 503),
        ("response", "b", 503),
        ("request", "a", 2),
        ("request", "b", 2),
        ("response", "a", 200),
        ("response", "b", 200),
        ("event", "a", '{"delta":"Hel"}'),
        ("event", "b", '{"delta":"Hel"}'),
        ("event", "a", '{"delta":"lo"}'),
        ("event", "b", '{"delta":"lo"}'),
        ("end", "a", None),
        ("order", ["a", "b", "a", "b"]),
        ("end", "b", None),
        ("order", ["a", "b", "a", "b"]),
    ]
    assert server.requests[1].headers["x-a"] == "2"


async def test_middleware_sees_the_end_of_a_cancelled_stream() -> None:
    log: list[Any] = []
    async with (
        scripted_server(Reply(events=DELTAS[:1], hang=True)) as server,
        Client(KEY, base_url=server.url, middleware=[Recorder("m", log)]) as client,
    ):
        with anyio.CancelScope() as scope:
            async with await client.request("GET", "/x", stream=True) as stream:
                async for _event in stream:
                    scope.cancel()
        assert scope.cancelled_caught
        assert stream.closed
    ends = [entry for entry in log if entry[0] == "end"]
    assert len(ends) == 1
    assert ends[0][2] is not None  # the cancellation exception of the running backend


async def test_middleware_sees_a_mid_stream_failure() -> None:
    log: list[Any] = []
    async with (
        scripted_server(Reply(events=DELTAS[:1], abort=True)) as server,
        Client(KEY, base_url=server.url, middleware=[Recorder("m", log)]) as client,
    ):
        with pytest.raises(StreamInterruptedError):
            await _texts(client)
    ends = [entry for entry in log if entry[0] == "end"]
    assert len(ends) == 1
    assert ends[0][2] is not None


async def test_a_stream_dropped_unclosed_warns_and_frees_its_slot() -> None:
    limiter = RateLimiter(max_concurrency=1)
    async with (
        scripted_server(Reply(events=DELTAS[:1], hang=True), Reply(json={})) as server,
        Client(KEY, base_url=server.url, rate_limiter=limiter) as client,
    ):
        stream = await client.request("POST", "/responses", body={}, stream=True)
        assert limiter.statistics()["in_flight"] == 1
        with pytest.warns(ResourceWarning) as caught:  # noqa: PT031
            del stream
            gc.collect()
        assert len(caught) == 1
        assert str(caught[0].message).startswith("an EventSource for POST http://127.0.0.1:")
        # The leaked response is closed on the event loop: nothing is left to warn later.
        with warnings.catch_warnings(record=True) as later:
            warnings.simplefilter("always")
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
                gc.collect()
        assert later == []
        # The concurrency slot went back: the next request is not starved.
        assert limiter.statistics()["in_flight"] == 0
        assert (await client.request("GET", "/models")).status_code == 200


async def test_the_stream_deadline_ends_a_stream_that_keeps_talking() -> None:
    # An event every 20 ms for 10 s: never idle, but far past the 0.2 s deadline.
    trickle = Reply(events=DELTAS[:1] * 500, interval=0.02)
    deadline = RequestOptions(timeouts=Timeouts(stream_idle=5.0, stream_total=0.2))
    async with scripted_server(trickle) as server, Client(KEY, base_url=server.url) as client:
        stream = await client.request("GET", "/x", stream=True, options=deadline)
        received = 0
        with pytest.raises(StreamIdleTimeoutError, match="deadline"):  # noqa: PT012
            async with stream:
                async for _event in stream:
                    received += 1
        assert stream.closed
    assert 0 < received < 100


async def test_middleware_may_replace_the_request() -> None:
    class Reroute(Middleware):
        async def on_request(self, request: httpx.Request, state: dict[str, Any]) -> httpx.Request:
            headers = {k: v for k, v in request.headers.items() if k != "content-length"}
            return httpx.Request(
                request.method,
                request.url.copy_with(path="/v1/elsewhere"),
                headers=headers,
                content=b'{"replaced": true}',
                extensions=request.extensions,
            )

    async with (
        scripted_server() as server,
        Client(KEY, base_url=server.url, middleware=[Reroute()]) as client,
    ):
        await client.request("POST", "/responses", body={"input": "x"})
    seen = server.requests[0]
    assert seen.path == "/v1/elsewhere"
    assert seen.json() == {"replaced": True}
    assert seen.headers["authorization"] == f"Bearer {KEY}"  # auth runs after the middleware
