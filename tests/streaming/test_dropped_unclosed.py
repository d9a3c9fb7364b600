"""What a stream dropped unclosed does: one ResourceWarning of ours, its resources released, and
nothing left to warn later (during whatever test or request runs next).

Each test drops the object inside `pytest.warns`, then lets the event loop run and collects
garbage while recording every warning: the record must stay empty. Under trio, httpx's byte
iterators are async generators, and one collected unfinished would warn there.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from types import AsyncGeneratorType
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from streaming import EventSource, StreamMetrics, accumulate, batched, merge, tee
from tests.streaming.loopback import Exchange, LoopbackServer, sse_server

SECRET = "sk-not-for-logs"
#: Enough turns of the event loop for a close handed to it to finish, and for anything it
#: releases to be finalised (each async generator trio finalises takes two).
SETTLE_TURNS = 20


def event_stream_headers() -> dict[str, str]:
    return {"content-type": "text/event-stream"}


async def no_later_warnings() -> list[str]:
    """Let the loop run and collect garbage, recording every warning; returns their messages."""
    with warnings.catch_warnings(record=True) as late:
        warnings.simplefilter("always")
        for turn in range(SETTLE_TURNS):
            await anyio.lowlevel.checkpoint()
            if turn % 5 == 4:  # a full collection is slow on a large heap; a few suffice
                gc.collect()
    return [f"{w.category.__name__}: {w.message}" for w in late]


def drop(held: list[Any]) -> None:
    """Let go of the last references, then collect any cycle they were part of."""
    held.clear()
    gc.collect()


class Talker:
    """A loopback handler: sends one event, then waits until the client hangs up."""

    def __init__(self) -> None:
        self.disconnected = anyio.Event()

    async def __call__(self, exchange: Exchange) -> None:
        await exchange.send(b"data: first\n\n")
        await exchange.wait_for_disconnect()
        self.disconnected.set()


async def open_source(client: httpx.AsyncClient, url: str) -> EventSource:
    response = await client.send(client.build_request("GET", url), stream=True)
    return EventSource(response)


# -- EventSource over a real socket ----------------------------------------------------------


@pytest.mark.parametrize("started", [True, False], ids=["started", "never-read"])
async def test_a_dropped_source_warns_once_and_its_connection_is_closed(started: bool) -> None:
    talker = Talker()
    async with sse_server(talker) as server, httpx.AsyncClient() as client:
        held = [await open_source(client, f"{server.url}/v1/stream?api_key={SECRET}")]
        if started:
            assert (await held[0].__anext__()).data == "first"
        with pytest.warns(ResourceWarning) as caught:
            drop(held)
        assert [str(w.message) for w in caught] == [
            f"an EventSource for GET {server.url}/v1/stream was never closed, so its connection "
            "is being closed now: use `async with` or `await source.aclose()` when you are "
            "done with it"
        ]
        assert SECRET not in str(caught[0].message)
        with anyio.fail_after(5):
            await talker.disconnected.wait()
        assert await no_later_warnings() == []


async def test_a_dropped_source_inside_a_tee_warns_once_for_the_tee() -> None:
    # The tee owns the source and closes it: the source's own warning would be a second
    # report of the same leak.
    talker = Talker()
    async with sse_server(talker) as server, httpx.AsyncClient() as client:
        held = [tee(await open_source(client, server.url), 2)]
        assert (await held[0][0].__anext__()).data == "first"
        with pytest.warns(ResourceWarning) as caught:
            drop(held)
        assert [str(w.message) for w in caught] == [
            "tee(...) was not closed: use `async with tee(source, n) as consumers:` so its "
            "source is closed"
        ]
        with anyio.fail_after(5):
            await talker.disconnected.wait()
        assert await no_later_warnings() == []


async def test_a_source_whose_response_was_closed_drops_silently() -> None:
    talker = Talker()
    async with sse_server(talker) as server, httpx.AsyncClient() as client:
        source = await open_source(client, server.url)
        assert (await source.__anext__()).data == "first"
        # Nothing leaks, yet httpx's byte iterators were started and are still suspended.
        await source.response.aclose()
        del source
        assert await no_later_warnings() == []
        with anyio.fail_after(5):
            await talker.disconnected.wait()


# -- EventSource over httpx.MockTransport --------------------------------------------------------


class Body:
    """A response body as an async generator whose cleanup must await (as a socket's does)."""

    def __init__(self) -> None:
        self.log: list[str] = []

    async def __call__(self) -> AsyncGenerator[bytes, None]:
        try:
            yield b"data: first\n\n"
            yield b"data: second\n\n"
        finally:
            self.log.append("cleanup started")
            await anyio.lowlevel.checkpoint()
            self.log.append("cleanup finished")


async def test_a_dropped_source_over_a_mock_transport_runs_the_body_cleanup() -> None:
    body = Body()

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=event_stream_headers(), content=body())

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        held = [await open_source(client, "https://api.example/v1/stream")]
        assert (await held[0].__anext__()).data == "first"
        with pytest.warns(ResourceWarning, match="EventSource for GET https://api.example/v1/"):
            drop(held)
        assert await no_later_warnings() == []
        assert body.log == ["cleanup started", "cleanup finished"]


class _Suspend:
    """An awaitable that suspends once: only an event loop could resume it."""

    def __await__(self) -> Generator[None, None, None]:
        yield


class _SuspendingBody(httpx.AsyncByteStream):
    """A transport's body whose iterator is an async generator with awaiting cleanup."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.iterators: list[AsyncGenerator[bytes, None]] = []

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        iterator = self._chunks()
        self.iterators.append(iterator)
        return iterator

    async def _chunks(self) -> AsyncGenerator[bytes, None]:
        try:
            yield b"data: first\n\n"
            yield b"data: second\n\n"
        finally:
            self.log.append("cleanup started")
            await _Suspend()
            self.log.append("cleanup finished")


def test_a_source_dropped_without_an_event_loop_ends_its_body_iterator_at_once() -> None:
    # A finaliser outside any event loop (another thread, after the loop ended) cannot await:
    # the body's iterator is ended where its cleanup first awaits, instead of being collected
    # half-closed ("async generator ignored GeneratorExit", an error in this suite).
    body = _SuspendingBody()
    held = [EventSource(httpx.Response(200, headers=event_stream_headers(), stream=body))]
    step = held[0].__anext__()
    with pytest.raises(StopIteration) as first:
        step.send(None)  # nothing in this read awaits the loop
    assert first.value.value.data == "first"
    with pytest.warns(ResourceWarning) as caught:
        drop(held)
    assert [str(w.message) for w in caught] == [
        "an EventSource was never closed: use `async with` or `await source.aclose()` when you "
        "are done with it"
    ]
    assert body.log == ["cleanup started"]
    iterator = body.iterators[0]
    assert isinstance(iterator, AsyncGeneratorType)
    assert iterator.ag_frame is None  # finished, not left half-closed
    del iterator
    body.iterators.clear()
    gc.collect()


# -- the composition classes ---------------------------------------------------------------------

Start = Callable[[AsyncIterator[Any]], Awaitable[object]]


async def start_tee(source: AsyncIterator[Any]) -> object:
    split = tee(source, 2)
    await split[0].__anext__()
    return split


async def start_metrics(source: AsyncIterator[Any]) -> object:
    measured = StreamMetrics(source)
    await measured.__anext__()
    return measured


async def start_accumulate(source: AsyncIterator[Any]) -> object:
    values = accumulate(source, lambda _previous, item: item)
    await values.__anext__()
    return values


async def hand_to_merge(source: AsyncIterator[Any]) -> object:
    await source.__anext__()  # a source already started, handed over and never entered
    return merge(source)


async def hand_to_batched(source: AsyncIterator[Any]) -> object:
    await source.__anext__()
    return batched(source, 2)


COMPOSITIONS = [
    pytest.param(start_tee, "tee", id="tee"),
    pytest.param(start_metrics, "StreamMetrics", id="metrics"),
    pytest.param(start_accumulate, "accumulate", id="accumulate"),
    pytest.param(hand_to_merge, "merge", id="merge"),
    pytest.param(hand_to_batched, "batched", id="batched"),
]


@pytest.mark.parametrize(("start", "name"), COMPOSITIONS)
async def test_a_dropped_composition_closes_its_event_source(start: Start, name: str) -> None:
    talker = Talker()
    server: LoopbackServer
    async with sse_server(talker) as server, httpx.AsyncClient() as client:
        held = [await start(await open_source(client, server.url))]
        with pytest.warns(ResourceWarning) as caught:
            drop(held)
        assert len(caught) == 1
        assert str(caught[0].message).startswith(f"{name}(...) was ")
        with anyio.fail_after(5):
            await talker.disconnected.wait()
        assert await no_later_warnings() == []


@pytest.mark.parametrize(("start", "name"), COMPOSITIONS)
async def test_a_dropped_composition_finishes_an_async_generator_source(
    start: Start, name: str
) -> None:
    log: list[str] = []

    async def numbers() -> AsyncGenerator[int, None]:
        try:
            for number in range(10):
                yield number
        finally:
            log.append("cleanup started")
            await anyio.lowlevel.checkpoint()
            log.append("cleanup finished")

    held = [await start(numbers())]
    with pytest.warns(ResourceWarning, match=rf"^{name}\(\.\.\.\) was "):
        drop(held)
    # Closed on the event loop, to the end of its cleanup; under trio, not collected
    # unfinished (which would warn once more).
    assert await no_later_warnings() == []
    assert log == ["cleanup started", "cleanup finished"]
