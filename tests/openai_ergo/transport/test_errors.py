"""Failures on the wire and bad requests: the same httpx exception class as httpx's default
transport, for the same server behaviour or the same request."""

from __future__ import annotations

import gc
import socket
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import httpx
import pytest

from openai_ergo._transport import HTTP11Transport
from tests.openai_ergo.transport.loopback import Reply, serve

pytestmark = pytest.mark.anyio

SHORT_READ = httpx.Timeout(5, read=0.05)
HEAD_100 = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"

Send = Callable[[httpx.AsyncClient], Awaitable[object]]


async def error_class(
    make: Callable[[], httpx.AsyncBaseTransport], send: Send, timeouts: httpx.Timeout
) -> type[Exception] | None:
    """What `send` raises (its class) through one transport; None when it succeeds."""
    async with httpx.AsyncClient(transport=make(), timeout=timeouts) as client:
        try:
            await send(client)
        except Exception as exc:
            return type(exc)
        return None


async def error_classes(send: Send, timeouts: httpx.Timeout) -> dict[str, type[Exception] | None]:
    """`error_class` through httpx's default transport and through ours."""
    with warnings.catch_warnings():
        # httpcore leaves httpx's request-body async generator unfinished when a write
        # fails, and trio warns when it is collected (httpx issue #3686): not ours to test.
        warnings.filterwarnings("ignore", "Async generator", ResourceWarning)
        default = await error_class(httpx.AsyncHTTPTransport, send, timeouts)
        gc.collect()
    return {"default": default, "http11": await error_class(HTTP11Transport, send, timeouts)}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        pytest.param(Reply(reset=True), httpx.ReadError, id="reset-before-the-response"),
        pytest.param(
            Reply([HEAD_100, b"partial"], reset=True), httpx.ReadError, id="reset-mid-body"
        ),
        pytest.param(Reply(close_before=True), httpx.RemoteProtocolError, id="closed-unanswered"),
        pytest.param(Reply([]), httpx.ReadTimeout, id="silent-before-the-head"),
        pytest.param(Reply([b"HTTP/1.1 200 OK\r\n"]), httpx.ReadTimeout, id="silent-in-the-head"),
        pytest.param(Reply([HEAD_100, b"partial"]), httpx.ReadTimeout, id="silent-mid-body"),
    ],
)
async def test_server_failures_raise_what_httpx_default_raises(
    reply: Reply, expected: type[Exception]
) -> None:
    async with serve(reply) as server:
        classes = await error_classes(lambda client: client.get(server.url()), SHORT_READ)
    assert classes == {"default": expected, "http11": expected}


async def test_a_refused_connection_raises_what_httpx_default_raises() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    classes = await error_classes(
        lambda client: client.get(f"http://127.0.0.1:{port}/"), httpx.Timeout(5)
    )
    assert classes == {"default": httpx.ConnectError, "http11": httpx.ConnectError}


@asynccontextmanager
async def not_reading() -> AsyncIterator[int]:
    """A server on 127.0.0.1 that accepts connections and never reads from them."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    held: list[anyio.abc.SocketStream] = []

    async def hold(stream: anyio.abc.SocketStream) -> None:
        held.append(stream)
        async with stream:
            await anyio.sleep_forever()

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, hold)
        try:
            yield listener.extra(anyio.abc.SocketAttribute.local_port)
        finally:
            tg.cancel_scope.cancel()


async def test_a_server_that_stops_reading_raises_write_timeout() -> None:
    # More than the kernel buffers of both ends together, so the write must block.
    body = b"x" * (64 << 20)
    async with not_reading() as port:
        classes = await error_classes(
            lambda client: client.post(f"http://127.0.0.1:{port}/", content=body),
            httpx.Timeout(5, write=0.05),
        )
    assert classes == {"default": httpx.WriteTimeout, "http11": httpx.WriteTimeout}


class Parts:
    """A class-based async iterable (an async generator left unfinished warns under trio)."""

    def __init__(self, *parts: bytes) -> None:
        self._parts = list(parts)

    def __aiter__(self) -> Parts:
        return self

    async def __anext__(self) -> bytes:
        if not self._parts:
            raise StopAsyncIteration
        return self._parts.pop(0)


def bad_requests(url: str) -> dict[str, Send]:
    return {
        "CR-LF-in-a-header": lambda c: c.get(url, headers={"X-A": "b\r\nX-Injected: 1"}),
        "LF-in-a-header": lambda c: c.get(url, headers={"X-A": "b\nc"}),
        "NUL-in-a-header": lambda c: c.get(url, headers={"X-A": "b\0c"}),
        "space-in-a-header-name": lambda c: c.get(url, headers={"X A": "b"}),
    }


@pytest.mark.parametrize("case", list(bad_requests("")))
async def test_bad_requests_raise_what_httpx_default_raises(case: str) -> None:
    async with serve(Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])) as server:
        send = bad_requests(server.url())[case]
        classes = await error_classes(send, httpx.Timeout(5))
    assert classes == {"default": httpx.LocalProtocolError, "http11": httpx.LocalProtocolError}
    assert server.received == []


@pytest.mark.parametrize(("parts", "length"), [((b"12", b"345"), 2), ((b"1",), 2)])
async def test_a_body_that_disagrees_with_its_length_is_an_httpx_error(
    parts: tuple[bytes, ...], length: int
) -> None:
    # httpx's default transport lets h11's own LocalProtocolError escape here (not an
    # httpx.HTTPError); this one raises httpx.LocalProtocolError, as for every bad request.
    async with serve(Reply([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])) as server:
        classes = await error_classes(
            lambda c: c.post(
                server.url(), content=Parts(*parts), headers={"Content-Length": str(length)}
            ),
            httpx.Timeout(5),
        )
    assert classes["default"] is not None
    assert not issubclass(classes["default"], httpx.HTTPError)
    assert classes["http11"] is httpx.LocalProtocolError


@asynccontextmanager
async def answering_early(answer: bytes) -> AsyncIterator[int]:
    """A server on 127.0.0.1 that reads a request's head only, answers, and closes."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)

    async def answer_early(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive()
            await stream.send(answer)

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, answer_early)
        try:
            yield listener.extra(anyio.abc.SocketAttribute.local_port)
        finally:
            tg.cancel_scope.cancel()


async def test_an_answer_before_the_body_was_sent_is_read_as_httpx_default_reads_it() -> None:
    # The write fails (the server closed); like httpx's default transport we then read what
    # the server answered, and fail as that read fails when the answer was lost with it.
    answer = b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    async def send(client: httpx.AsyncClient) -> None:
        response = await client.post(f"http://127.0.0.1:{port}/", content=b"x" * (64 << 20))
        response.raise_for_status()

    async with answering_early(answer) as port:
        classes = await error_classes(send, httpx.Timeout(5))
    assert classes["default"] in (httpx.ReadError, httpx.HTTPStatusError)
    assert classes["http11"] == classes["default"]
