"""Failures on the wire and bad requests: the same httpx exception class as httpx's default
transport, for the same server behaviour or the same request."""

from __future__ import annotations

import contextlib
import errno
import gc
import socket
import ssl
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import anyio
import anyio.abc
import httpx
import pytest

from openai_ergo._transport import HTTP11Transport
from tests.openai_ergo.transport.loopback import Reply, raw_server, reset_on_close, serve

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


@contextlib.asynccontextmanager
async def not_reading() -> AsyncIterator[int]:
    """A server that never reads: a listening socket that accepts nothing, so connections
    wait in the kernel's backlog and what is sent stops once their buffers are full. (A
    server that accepts through asyncio's transports reads whatever arrives into memory,
    which let a fast write finish before its timeout.)"""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


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


def answering_early(answer: bytes) -> AbstractAsyncContextManager[int]:
    """A server that reads a request's head only, answers, and closes."""

    async def answer_early(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive()
            await stream.send(answer)

    return raw_server(answer_early)


async def test_an_answer_before_the_body_was_sent_is_read_as_httpx_default_reads_it() -> None:
    # The write fails (the server closed); like httpx's default transport we then read what
    # the server answered, and fail as that read fails when the answer was lost with it.
    answer = b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    async def send(client: httpx.AsyncClient) -> None:
        response = await client.post(f"http://127.0.0.1:{port}/", content=b"x" * (64 << 20))
        response.raise_for_status()

    async with answering_early(answer) as port:
        classes = await error_classes(send, httpx.Timeout(5))
    # Which of the two it is depends on whether the answer or the reset reached the client
    # first when the read starts (httpx's default transport gives either from run to run); a
    # transport that reads the socket itself may read the answer where anyio's asyncio stream,
    # closed by the failed write, could not.
    assert classes["default"] in (httpx.ReadError, httpx.HTTPStatusError)
    assert classes["http11"] in (httpx.ReadError, httpx.HTTPStatusError)


# What happened, in words, with the errno or SSL reason kept as the cause (anyio's own
# exceptions, BrokenResourceError and EndOfStream, name neither).


async def test_a_reset_says_connection_reset_by_peer_and_keeps_the_errno() -> None:
    async with (
        serve(Reply(reset=True)) as server,
        httpx.AsyncClient(transport=HTTP11Transport()) as client,
    ):
        with pytest.raises(httpx.ReadError) as caught:
            await client.get(server.url())
    assert str(caught.value) == "reading from the server failed: connection reset by peer"
    assert isinstance(caught.value.__cause__, ConnectionResetError)
    assert caught.value.__cause__.errno == errno.ECONNRESET


async def read_client_hello(stream: anyio.abc.SocketStream) -> None:
    """Read one whole TLS record (the ClientHello), so that closing sends no reset."""
    record = b""
    while len(record) < 5 or len(record) < 5 + int.from_bytes(record[3:5], "big"):
        record += await stream.receive()


async def close_in_handshake(stream: anyio.abc.SocketStream) -> None:
    async with stream:
        await read_client_hello(stream)
        await stream.send_eof()
        with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
            await stream.receive()


async def reset_in_handshake(stream: anyio.abc.SocketStream) -> None:
    async with stream:
        await read_client_hello(stream)
        reset_on_close(stream)


@pytest.mark.parametrize(
    ("handle", "words", "cause"),
    [
        pytest.param(
            close_in_handshake,
            "the server closed the connection during the TLS handshake",
            ssl.SSLEOFError,
            id="closed",
        ),
        pytest.param(
            reset_in_handshake,
            "connection reset by peer during the TLS handshake",
            ConnectionResetError,
            id="reset",
        ),
    ],
)
async def test_a_failed_tls_handshake_says_what_the_server_did(
    handle: Callable[[anyio.abc.SocketStream], Awaitable[None]],
    words: str,
    cause: type[OSError],
) -> None:
    async with raw_server(handle) as port, httpx.AsyncClient(transport=HTTP11Transport()) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(f"https://127.0.0.1:{port}/")
    assert str(caught.value) == f"could not connect to 127.0.0.1:{port}: {words}"
    assert type(caught.value.__cause__) is cause
    assert caught.value.request.url.port == port


async def test_a_handshake_with_a_server_that_does_not_speak_tls_names_the_ssl_reason() -> None:
    async def answer_in_plain_http(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await read_client_hello(stream)
            await stream.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    async with (
        raw_server(answer_in_plain_http) as port,
        httpx.AsyncClient(transport=HTTP11Transport()) as client,
    ):
        with pytest.raises(
            httpx.ConnectError, match=r"WRONG_VERSION_NUMBER.*during the TLS"
        ) as caught:
            await client.get(f"https://127.0.0.1:{port}/")
    cause = caught.value.__cause__
    assert isinstance(cause, ssl.SSLError)
    assert cause.reason == "WRONG_VERSION_NUMBER"
