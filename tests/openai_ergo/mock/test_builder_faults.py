"""Every fault the mock injects, met through the builders over loopback: a typed error or recovery.

Each fault is driven through `await builder` and `builder.stream()`, for the Responses and the
Chat Completions builders. Retry waits run on a fake clock (the server's `Retry-After` is
asserted, never slept); timeouts are short real ones, since they guard real sockets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

import anyio
import httpx
import pytest

from openai_ergo import (
    APIConnectionError,
    APITimeoutError,
    ChatBuilder,
    Client,
    InternalServerError,
    RateLimitError,
    ResponsesBuilder,
    RetryPolicy,
    StreamError,
    StreamEventError,
    StreamIdleTimeoutError,
    StreamInterruptedError,
    Timeouts,
)
from openai_ergo.mock import Fault, MockServer
from openai_ergo.types import ChatCompletion, Response
from tests.openai_ergo.pipeline.conftest import FakeClock

Api = Literal["responses", "chat"]
Mode = Literal["await", "stream"]
APIS: list[Api] = ["responses", "chat"]
MODES: list[Mode] = ["await", "stream"]
PATHS = {"responses": "/v1/responses", "chat": "/v1/chat/completions"}
#: Short enough to keep the file fast, long enough for a loaded 2-core machine to answer.
IDLE = 0.25


def request(client: Client, api: Api) -> ResponsesBuilder | ChatBuilder:
    """The same question, asked of either API."""
    if api == "responses":
        return client.responses("gpt-5-mini").instructions("Be brief.").input("Rivers?")
    return client.chat("gpt-4o-mini").system("Be brief.").user("Rivers?")


def text_of(result: Response | ChatCompletion | None) -> str:
    """The answer's text (of the first choice, for chat)."""
    if isinstance(result, Response):
        return result.output_text
    if result is None or not result.choices:
        return ""
    return result.choices[0].message.content or ""


def delta_text(events: tuple[object, ...]) -> str:
    """The text carried by the text deltas among `events`, either API's."""
    pieces = []
    for event in events:
        if getattr(event, "type", None) == "response.output_text.delta":
            pieces.append(getattr(event, "delta", ""))
        for choice in getattr(event, "choices", ()):
            pieces.append(choice.delta.content or "")
    return "".join(pieces)


async def answer(builder: ResponsesBuilder | ChatBuilder, mode: Mode) -> Response | ChatCompletion:
    """Send the request, awaited or streamed to its end."""
    if mode == "await":
        return await builder
    async with builder.stream() as stream:
        async for _ in stream.text():
            pass
    return stream.final()


async def stream_error(builder: ResponsesBuilder | ChatBuilder) -> StreamError:
    """Stream the request to its (bad) end and hand back the error it raised."""
    with pytest.raises(StreamError) as caught:
        await answer(builder, "stream")
    return caught.value


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def faulted_client(mock_openai: MockServer, clock: FakeClock, retry: RetryPolicy) -> Client:
    """Short timeouts, waits on the fake clock, no client-side rate limiter (its own waits would
    mix with the retry waits this file asserts)."""
    return Client(
        api_key="sk-test-fault-secret",
        base_url=mock_openai.url,
        retry=retry,
        timeouts=Timeouts(read=IDLE, stream_idle=IDLE),
        rate_limiter=False,
        circuit_breaker=False,
        clock=clock,
    )


@pytest.fixture
async def client(mock_openai: MockServer, clock: FakeClock) -> AsyncIterator[Client]:
    """Retries on (three attempts)."""
    async with faulted_client(mock_openai, clock, RetryPolicy(max_attempts=3)) as client:
        yield client


@pytest.fixture
async def once(mock_openai: MockServer, clock: FakeClock) -> AsyncIterator[Client]:
    """The same client with retries off: every fault reaches the caller."""
    async with faulted_client(mock_openai, clock, RetryPolicy.never()) as client:
        yield client


@pytest.fixture(scope="module")
async def expected(mock_openai_session: MockServer) -> dict[Api, str]:
    """The whole answer of each API to the request, unfaulted (the mock is deterministic).
    Asked once per module; `mock_openai` forgets these requests before each test."""
    async with Client(api_key="sk-test", base_url=mock_openai_session.url) as client:
        texts: dict[Api, str] = {api: text_of(await request(client, api)) for api in APIS}
    assert all(texts.values())
    return texts


# -- status faults: retried to success, or a typed error -------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
async def test_a_rate_limit_is_retried_after_the_wait_the_server_asked_for(
    client: Client,
    mock_openai: MockServer,
    clock: FakeClock,
    expected: dict[Api, str],
    api: Api,
    mode: Mode,
) -> None:
    mock_openai.fail_next(Fault.rate_limit(retry_after=2.5), path=PATHS[api])
    result = await answer(request(client, api), mode)
    assert text_of(result) == expected[api]
    assert clock.sleeps == [2.5]  # retry-after-ms, not the computed backoff
    assert [r.path for r in mock_openai.requests] == [PATHS[api]] * 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
async def test_server_errors_are_retried_until_one_succeeds(
    client: Client,
    mock_openai: MockServer,
    clock: FakeClock,
    expected: dict[Api, str],
    api: Api,
    mode: Mode,
) -> None:
    mock_openai.fail_next(Fault.server_error(503), times=2)
    result = await answer(request(client, api), mode)
    assert text_of(result) == expected[api]
    assert len(mock_openai.requests) == 3
    assert len(clock.sleeps) == 2
    assert all(0 < wait <= RetryPolicy().max_backoff for wait in clock.sleeps)
    # The retries carry the first attempt's idempotency key, so the server could deduplicate.
    assert len({r.headers["idempotency-key"] for r in mock_openai.requests}) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
async def test_a_lasting_rate_limit_is_a_typed_error_with_its_headers(
    client: Client, mock_openai: MockServer, clock: FakeClock, api: Api, mode: Mode
) -> None:
    mock_openai.fail_next(Fault.rate_limit(retry_after=1.5), times=3)
    with pytest.raises(RateLimitError) as caught:
        await answer(request(client, api), mode)
    error = caught.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"
    assert error.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.headers["retry-after-ms"] == "1500"
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert [a["status"] for a in error.attempts] == [429, 429, 429]
    assert clock.sleeps == [1.5, 1.5]
    assert "sk-test-fault-secret" not in f"{error} {error!r} {error.headers} {error.body}"


@pytest.mark.parametrize("status", [500, 503])
@pytest.mark.parametrize("mode", MODES)
async def test_a_lasting_server_error_is_a_typed_error_after_every_attempt(
    client: Client, mock_openai: MockServer, mode: Mode, status: int
) -> None:
    mock_openai.fail_next(Fault.server_error(status), times=3)
    with pytest.raises(InternalServerError) as caught:
        await answer(request(client, "chat"), mode)
    error = caught.value
    assert error.status_code == status
    assert [a["status"] for a in error.attempts] == [status] * 3
    assert len(mock_openai.requests) == 3
    assert error.request_id is not None


@pytest.mark.parametrize("api", APIS)
async def test_a_rate_limit_longer_than_the_policy_allows_fails_at_once(
    client: Client, mock_openai: MockServer, clock: FakeClock, api: Api
) -> None:
    # A wait of minutes is a spent quota, not a hiccup: the caller hears about it now.
    mock_openai.fail_next(Fault.rate_limit(retry_after=600))
    with pytest.raises(RateLimitError):
        await request(client, api)
    assert clock.sleeps == []
    assert len(mock_openai.requests) == 1


@pytest.mark.parametrize(("status", "title"), [(502, "Bad Gateway"), (504, "Gateway Timeout")])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
async def test_an_html_error_page_is_a_server_error_with_a_readable_excerpt(
    once: Client, mock_openai: MockServer, api: Api, mode: Mode, status: int, title: str
) -> None:
    mock_openai.fail_next(Fault.html(status))
    with pytest.raises(InternalServerError) as caught:
        await answer(request(once, api), mode)
    error = caught.value
    assert error.status_code == status
    # The page's text without its markup: what a person needs to see what went wrong.
    assert error.body == f"{status} {title} {status} {title} cloudflare"
    assert f"{status} {title}" in str(error)
    assert "<" not in str(error)


# -- the connection: hangs and breaks --------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
async def test_a_hang_before_the_headers_times_out_and_the_client_goes_on(
    once: Client, mock_openai: MockServer, expected: dict[Api, str], api: Api, mode: Mode
) -> None:
    mock_openai.fail_next(Fault.hang())
    with pytest.raises(APITimeoutError):
        await answer(request(once, api), mode)
    assert text_of(await answer(request(once, api), mode)) == expected[api]


@pytest.mark.parametrize("api", APIS)
async def test_a_non_streamed_body_that_breaks_off_is_a_connection_error(
    once: Client, mock_openai: MockServer, api: Api
) -> None:
    mock_openai.fail_next(Fault.disconnect())
    with pytest.raises(APIConnectionError) as caught:
        await request(once, api)
    assert "cut short" in str(caught.value)


@pytest.mark.parametrize("api", APIS)
async def test_a_non_streamed_body_that_never_comes_times_out(
    once: Client, mock_openai: MockServer, api: Api
) -> None:
    mock_openai.fail_next(Fault.idle())
    with pytest.raises(APITimeoutError):
        await request(once, api)


#: Faults that come before any of the answer: a retry (with `client`) gets the whole answer.
RETRIED_BEFORE_THE_ANSWER = [
    pytest.param(Fault.hang(), "stream", id="hang-like-any-timeout"),
    pytest.param(Fault.disconnect(), "await", id="non-streamed-body-breaks-off"),
    pytest.param(Fault.error_event(), "await", id="non-streamed-error-event-is-a-500"),
    pytest.param("disconnect; after=0", "stream", id="disconnect-before-the-first-event"),
    pytest.param("idle; after=0", "stream", id="idle-before-the-first-event"),
]


@pytest.mark.parametrize(("fault", "mode"), RETRIED_BEFORE_THE_ANSWER)
@pytest.mark.parametrize("api", APIS)
async def test_a_fault_before_any_of_the_answer_is_retried_to_success(
    client: Client,
    mock_openai: MockServer,
    expected: dict[Api, str],
    api: Api,
    fault: Fault | str,
    mode: Mode,
) -> None:
    mock_openai.fail_next(fault)
    assert text_of(await answer(request(client, api), mode)) == expected[api]
    assert len(mock_openai.requests) == 2


# -- mid-stream faults: typed errors that keep everything received ----------------------------


#: Faults after some of the answer: the error's type, the events before it, and what it says.
BROKEN_MID_STREAM = [
    pytest.param(Fault.idle(after=7), StreamIdleTimeoutError, 7, "sent nothing", id="silent"),
    pytest.param(Fault.disconnect(after=8), StreamInterruptedError, 8, "broke off", id="cut"),
    pytest.param(Fault.malformed(after=8), StreamInterruptedError, 8, "not valid", id="malformed"),
]


@pytest.mark.parametrize(("fault", "error_type", "events", "says"), BROKEN_MID_STREAM)
@pytest.mark.parametrize("api", APIS)
async def test_a_stream_broken_mid_way_fails_fast_with_everything_that_came(
    client: Client,
    mock_openai: MockServer,
    expected: dict[Api, str],
    api: Api,
    fault: Fault,
    error_type: type[StreamError],
    events: int,
    says: str,
) -> None:
    mock_openai.fail_next(fault)
    error = await stream_error(request(client, api))
    assert isinstance(error, error_type)
    assert says in str(error)
    assert len(error.events) == events
    so_far = text_of(error.partial)
    assert so_far
    assert so_far == delta_text(error.events)
    assert expected[api].startswith(so_far)
    assert len(so_far) < len(expected[api])
    assert len(mock_openai.requests) == 1  # never retried after the first event
    assert error.request_id is not None


@pytest.mark.parametrize("api", APIS)
async def test_a_malformed_non_streamed_body_is_a_typed_error(
    once: Client, mock_openai: MockServer, api: Api
) -> None:
    from openai_ergo import OpenAIErgoError

    mock_openai.fail_next(Fault.malformed())
    with pytest.raises(OpenAIErgoError):
        await request(once, api)


async def test_a_responses_error_event_raises_with_the_failed_response(
    client: Client, mock_openai: MockServer, expected: dict[Api, str]
) -> None:
    mock_openai.fail_next(Fault.error_event(after=7, code="server_overloaded", message="Busy."))
    error = await stream_error(request(client, "responses"))
    assert isinstance(error, StreamEventError)
    assert error.code == "server_overloaded"
    assert "Busy" in str(error)
    assert isinstance(error.partial, Response)
    assert error.partial.status == "failed"
    so_far = error.partial.output_text
    assert so_far
    assert so_far == delta_text(error.events)
    assert expected["responses"].startswith(so_far)
    # Every event came through, the `error` event and `response.failed` last.
    assert [getattr(e, "type", None) for e in error.events[-2:]] == ["error", "response.failed"]
    assert len(error.events) == 9


async def test_a_chat_error_chunk_raises_with_the_chunks_before_it(
    client: Client, mock_openai: MockServer, expected: dict[Api, str]
) -> None:
    mock_openai.fail_next(Fault.error_event(after=6, code="server_overloaded", message="Busy."))
    error = await stream_error(request(client, "chat"))
    assert isinstance(error, StreamEventError)
    assert error.code == "server_overloaded"
    assert "Busy" in str(error)
    assert len(error.events) == 6
    so_far = text_of(error.partial)
    assert so_far
    assert so_far == delta_text(error.events)
    assert expected["chat"].startswith(so_far)


# -- leaving early: the connection goes back ---------------------------------------------------


@pytest.fixture
async def one_connection(mock_openai: MockServer) -> AsyncIterator[Client]:
    """A client with a single connection: a stream that kept it would stall the next request
    (until the pool timeout, an error)."""
    async with Client(
        api_key="sk-test-fault-secret",
        base_url=mock_openai.url,
        retry=RetryPolicy.never(),
        timeouts=Timeouts(pool=2.0, read=2.0, stream_idle=2.0),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    ) as client:
        yield client


async def first_delta_then_break(builder: ResponsesBuilder | ChatBuilder) -> str:
    async with builder.stream() as stream:
        async for text in stream.text():
            return text  # leaves the loop and the block early
    raise AssertionError("the stream carried no text")


@pytest.mark.parametrize("api", APIS)
async def test_breaking_out_of_a_short_stream_keeps_its_connection_for_the_next_request(
    one_connection: Client, mock_openai: MockServer, expected: dict[Api, str], api: Api
) -> None:
    # The rest of a short answer is already on its way: reading it to the end is cheaper than
    # a new connection, so the next request goes out on the same one.
    first = await first_delta_then_break(request(one_connection, api))
    assert expected[api].startswith(first)
    assert text_of(await request(one_connection, api)) == expected[api]
    streamed, awaited = mock_openai.requests
    assert streamed.body["stream"] is True
    assert streamed.peer is not None
    assert awaited.peer == streamed.peer


@pytest.mark.parametrize("api", APIS)
async def test_breaking_out_of_a_long_stream_frees_its_slot_without_reading_the_rest(
    one_connection: Client, mock_openai: MockServer, expected: dict[Api, str], api: Api
) -> None:
    # Paced at 20 tokens/s, the rest of this answer would take 10 s: the connection is closed
    # instead, and its slot in the (one-connection) pool is free for the next request at once.
    slow = {"x-mock-tokens-per-second": "20", "x-mock-reply-tokens": "200"}
    first = await first_delta_then_break(request(one_connection, api).extra_headers(slow))
    assert first
    assert text_of(await request(one_connection, api)) == expected[api]
    streamed, awaited = mock_openai.requests
    assert awaited.peer != streamed.peer


async def test_cancelling_a_stream_frees_its_connection(
    one_connection: Client, mock_openai: MockServer, expected: dict[Api, str]
) -> None:
    slow = {"x-mock-tokens-per-second": "20", "x-mock-reply-tokens": "200"}
    received: list[str] = []
    with anyio.CancelScope() as scope:
        async with request(one_connection, "responses").extra_headers(slow).stream() as stream:
            async for text in stream.text():
                received.append(text)
                scope.cancel()
    assert scope.cancelled_caught
    assert len(received) == 1
    assert text_of(await request(one_connection, "responses")) == expected["responses"]
