"""WebSocket streams over a real loopback socket: messages, handshakes, closes and bounds."""

from __future__ import annotations

import logging
import ssl
import subprocess
import sys

import anyio
import anyio.lowlevel
import pytest
import trustme
from wsproto.events import BytesMessage, CloseConnection, TextMessage

from streaming import (
    StreamingError,
    WebSocketClosedError,
    WebSocketConnectError,
    WebSocketHandshakeError,
    WebSocketLimitError,
    connect_websocket,
)
from tests.streaming.ws_loopback import Peer, ws_server


async def _echo(peer: Peer) -> None:
    await peer.accept()
    while (message := await peer.receive()) is not None:
        await peer.send(message)


async def test_text_and_binary_messages_go_both_ways() -> None:
    async with ws_server(_echo) as server, connect_websocket(server.url) as ws:
        await ws.send("héllo")
        await ws.send(b"\x00\xff")
        assert await ws.receive() == "héllo"
        assert await ws.receive() == b"\x00\xff"
        stats = ws.statistics()
    assert (stats.messages_sent, stats.messages_read) == (2, 2)
    assert server.peers[0].received == ["héllo", b"\x00\xff"]


async def test_headers_subprotocols_and_the_path_go_with_the_upgrade() -> None:
    async def handler(peer: Peer) -> None:
        await peer.accept(subprotocol="realtime")
        await peer.send("ok")

    async with ws_server(handler) as server:
        url = server.url.replace("ws://", "http://") + "/v1/realtime?model=gpt-realtime"
        async with connect_websocket(
            url,
            headers={"Authorization": "Bearer sk-secret", "OpenAI-Beta": "realtime=v1"},
            subprotocols=["realtime", "other"],
        ) as ws:
            assert await ws.receive() == "ok"
            assert ws.subprotocol == "realtime"
            assert ws.url == server.url + "/v1/realtime"
    request = server.peers[0].request
    assert request is not None
    assert request.target == "/v1/realtime?model=gpt-realtime"
    assert request.subprotocols == ["realtime", "other"]
    assert server.peers[0].headers["authorization"] == "Bearer sk-secret"
    assert server.peers[0].headers["openai-beta"] == "realtime=v1"


async def test_a_message_split_across_frames_and_reads_arrives_whole() -> None:
    async def handler(peer: Peer) -> None:
        await peer.accept()
        frames = peer.frame(TextMessage(data="he", message_finished=False))
        frames += peer.frame(TextMessage(data="llo wörld", message_finished=True))
        frames += peer.frame(BytesMessage(data=b"ab", message_finished=False))
        frames += peer.frame(BytesMessage(data=b"cd", message_finished=True))
        for i in range(len(frames)):  # one byte per write
            await peer.send_raw(frames[i : i + 1])
            await anyio.lowlevel.checkpoint()
        await peer.close()

    async with ws_server(handler) as server, connect_websocket(server.url) as ws:
        assert [message async for message in ws] == ["hello wörld", b"abcd"]
        assert ws.close_code == 1000


async def test_messages_that_come_with_the_handshake_answer_are_kept() -> None:
    async def handler(peer: Peer) -> None:
        await peer.accept(then=("first", "second"))
        await peer.close()

    async with ws_server(handler) as server, connect_websocket(server.url) as ws:
        assert await ws.next_batch() == ["first", "second"]
        assert await ws.next_batch() == []


@pytest.mark.parametrize(("code", "reason"), [(1000, ""), (1001, "bye"), (None, "")])
async def test_a_normal_close_ends_the_iteration(code: int | None, reason: str) -> None:
    async def handler(peer: Peer) -> None:
        await peer.send("one")
        if code is None:  # a close frame without a code reads as 1005
            await peer.send_raw(b"\x88\x00")
            await peer.wait_closed()
        else:
            await peer.close(code, reason)

    async with ws_server(handler) as server, connect_websocket(server.url) as ws:
        assert [message async for message in ws] == ["one"]
        assert ws.close_code == (1005 if code is None else code)
        assert ws.close_reason == reason
        # After the end, receive() says why there is nothing more.
        with pytest.raises(WebSocketClosedError):
            await ws.receive()
        with pytest.raises(WebSocketClosedError):
            await ws.send("late")


async def test_another_close_code_is_a_typed_error_after_the_messages_before_it() -> None:
    async def handler(peer: Peer) -> None:
        await peer.send("one")
        await peer.send("two")
        await peer.close(4001, "session expired")

    async with ws_server(handler) as server, connect_websocket(server.url) as ws:
        assert await ws.receive() == "one"
        assert await ws.receive() == "two"
        with pytest.raises(WebSocketClosedError) as caught:
            await ws.receive()
    assert (caught.value.code, caught.value.reason, caught.value.by_server) == (
        4001,
        "session expired",
        True,
    )
    assert "code 4001" in str(caught.value)
    assert "session expired" in str(caught.value)
    # The client answered the close frame: the handshake completed on both sides.
    assert server.peers[0].close_received == (4001, "session expired")


async def test_a_connection_dropped_without_a_close_frame_is_code_1006() -> None:
    async def handler(peer: Peer) -> None:
        await peer.send("one")
        await peer.abort()

    async with ws_server(handler) as server, connect_websocket(server.url) as ws:
        assert await ws.receive() == "one"
        with pytest.raises(WebSocketClosedError) as caught:
            await ws.receive()
    assert caught.value.code == 1006
    assert "without a close frame" in str(caught.value)


async def test_invalid_utf8_in_a_text_frame_closes_with_1007() -> None:
    async def handler(peer: Peer) -> None:
        await peer.accept()
        await peer.send_raw(b"\x81\x02\xc3\x28")  # a final text frame: c3 28 is not UTF-8
        await peer.wait_closed()

    async with ws_server(handler) as server, connect_websocket(server.url) as ws:
        with pytest.raises(WebSocketClosedError) as caught:
            await ws.receive()
    assert caught.value.code == 1007
    assert not caught.value.by_server
    assert server.peers[0].close_received is not None
    assert server.peers[0].close_received[0] == 1007


async def test_a_message_over_the_bound_closes_with_1009_after_the_ones_before() -> None:
    async def handler(peer: Peer) -> None:
        await peer.send("small")
        await peer.send("x" * 5000)
        await peer.wait_closed()

    async with (
        ws_server(handler) as server,
        connect_websocket(server.url, max_message_size=4096) as ws,
    ):
        assert await ws.receive() == "small"
        with pytest.raises(WebSocketLimitError) as caught:
            await ws.receive()
    error = caught.value
    assert (error.limit, error.value) == ("max_message_size", 4096)
    assert 4096 < error.size <= 5000
    assert "max_message_size=4096" in str(error)
    assert isinstance(error, ValueError)
    assert server.peers[0].close_received == (1009, "message too big")


async def test_the_bound_counts_utf8_bytes_and_the_pieces_of_a_fragmented_message() -> None:
    async def handler(peer: Peer) -> None:
        await peer.accept()
        # 3 frames of 40 two-byte characters: 240 bytes, over the bound only together.
        for last in (False, False, True):
            await peer.send_raw(peer.frame(TextMessage(data="é" * 40, message_finished=last)))
        await peer.wait_closed()

    async with (
        ws_server(handler) as server,
        connect_websocket(server.url, max_message_size=200) as ws,
    ):
        with pytest.raises(WebSocketLimitError) as caught:
            await ws.receive()
    assert caught.value.size == 240


async def test_a_refused_upgrade_is_a_handshake_error_without_the_query() -> None:
    async def handler(peer: Peer) -> None:
        await peer.reject(401, b'{"error": {"message": "Incorrect API key provided"}}')

    async with ws_server(handler) as server:
        with pytest.raises(WebSocketHandshakeError) as caught:
            async with connect_websocket(server.url + "/v1/realtime?api-key=sk-secret"):
                pass
    error = caught.value
    assert error.status_code == 401
    assert "Incorrect API key" in error.body
    assert error.headers["content-type"] == "application/json"
    assert "HTTP 401" in str(error)
    assert "Incorrect API key" in str(error)
    assert "sk-secret" not in str(error)
    assert "sk-secret" not in error.url


async def test_a_refused_connection_is_a_connect_error() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()  # nothing listens there now
    with pytest.raises(WebSocketConnectError) as caught:
        async with connect_websocket(f"ws://127.0.0.1:{port}/socket?token=sk-secret"):
            pass
    assert isinstance(caught.value, ConnectionError)
    assert caught.value.url == f"ws://127.0.0.1:{port}/socket"
    assert "sk-secret" not in str(caught.value)


async def test_a_server_that_hangs_up_before_answering_is_a_connect_error() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def hang_up(stream: anyio.abc.SocketStream) -> None:
        await stream.receive()
        await stream.aclose()

    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, hang_up)
        with pytest.raises(WebSocketConnectError, match="before answering"):
            async with connect_websocket(f"ws://127.0.0.1:{port}"):
                pass
        group.cancel_scope.cancel()


async def test_wss_verifies_the_server_with_the_given_ssl_context() -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)

    async with ws_server(_echo, ssl_context=server_context) as server:
        url = server.url.replace("ws://127.0.0.1", "wss://localhost")
        async with connect_websocket(url, ssl_context=client_context) as ws:
            await ws.send("over tls")
            assert await ws.receive() == "over tls"
        # The system's trust store does not know this authority: the handshake fails, typed.
        with pytest.raises(WebSocketConnectError):
            async with connect_websocket(url):
                pass


async def test_sends_from_several_tasks_are_whole_messages() -> None:
    async with ws_server(_echo) as server, connect_websocket(server.url) as ws:
        async with anyio.create_task_group() as group:
            for task in range(5):
                for i in range(20):
                    group.start_soon(ws.send, f"{task}-{i}-" + "x" * 3000)
        received = [await ws.receive() for _ in range(100)]
    assert sorted(received) == sorted(f"{t}-{i}-" + "x" * 3000 for t in range(5) for i in range(20))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.test/", "ws://, wss://, http:// or https://"),
        ("/relative", "relative path"),
        ("ws://", "needs a host"),
    ],
)
def test_a_bad_url_is_a_value_error_naming_it(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        connect_websocket(url)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("idle_timeout", 0),
        ("deadline", -1.0),
        ("ping_interval", 0),
        ("pong_timeout", 0),
        ("close_timeout", 0),
        ("connect_timeout", 0),
        ("prefetch", -1),
        ("max_message_size", 0),
    ],
)
def test_bad_options_are_value_errors_naming_them(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=option):
        connect_websocket("ws://example.test/", **{option: value})  # type: ignore[arg-type]


def test_header_values_must_be_strings_and_are_never_shown() -> None:
    with pytest.raises(TypeError) as caught:
        connect_websocket("ws://example.test/", headers={"Authorization": b"Bearer sk-x"})  # type: ignore[dict-item]
    assert "sk-x" not in str(caught.value)


async def test_sending_something_that_is_not_a_message_is_a_type_error() -> None:
    async with ws_server(_echo) as server, connect_websocket(server.url) as ws:
        with pytest.raises(TypeError, match=r"str \(text\) or bytes \(binary\), not int"):
            await ws.send(42)  # type: ignore[arg-type]


def test_the_errors_are_streaming_errors() -> None:
    for error in (
        WebSocketClosedError(code=1011),
        WebSocketLimitError(limit="max_message_size", value=1, size=2),
        WebSocketConnectError("no", url="ws://x/"),
        WebSocketHandshakeError(status_code=403, headers={}),
    ):
        assert isinstance(error, StreamingError)
    assert "internal error" in str(WebSocketClosedError(code=1011))
    assert "application-defined" in str(WebSocketClosedError(code=4000))


async def test_leaving_after_the_last_message_completes_the_servers_close() -> None:
    closes: list[CloseConnection] = []

    async def handler(peer: Peer) -> None:
        await peer.send("last")
        await peer.close(1000, "done")
        if peer.close_received is not None:
            closes.append(CloseConnection(code=peer.close_received[0]))

    async with ws_server(handler) as server:
        async with connect_websocket(server.url) as ws:
            assert await ws.receive() == "last"
        await server.all_closed()
    # Leaving the block read the server's close and answered it with the same code.
    assert [int(close.code) for close in closes] == [1000]
    assert ws.close_code == 1000


def _run_python(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_import_streaming_loads_neither_websockets_nor_starlette() -> None:
    code = (
        "import sys, streaming\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('websockets', 'starlette')))"
    )
    assert _run_python(code) == "[]"


def test_without_websockets_the_websocket_names_say_which_extra_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['websockets'] = None  # as if it were not installed\n"
        "import streaming\n"
        "try:\n"
        "    streaming.connect_websocket\n"
        "except ModuleNotFoundError as error:\n"
        "    print(error.name, '|', error)\n"
    )
    assert _run_python(code) == (
        "websockets | streaming.connect_websocket needs websockets: install "
        "ergo-streaming[websocket] (or openai-ergo[realtime])"
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Authorization": "Bearer sk-x\r\nX-Evil: 1"}, "Authorization header holds a line break"),
        ({"Bad Name": "v"}, "not a valid HTTP header name"),
    ],
)
def test_a_header_that_would_break_the_request_is_refused_without_its_value(
    headers: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        connect_websocket("ws://example.test/", headers=headers)
    assert "sk-x" not in str(caught.value)


async def test_after_aclose_the_stream_says_it_closed_normally() -> None:
    async with ws_server(_echo) as server, connect_websocket(server.url) as ws:
        await ws.aclose()
        await ws.aclose()  # idempotent
        assert [message async for message in ws] == []
        with pytest.raises(WebSocketClosedError) as caught:
            await ws.receive()
        assert caught.value.code == 1000
        assert not caught.value.by_server
    assert server.peers[0].close_received == (1000, "")


async def test_a_send_cancelled_while_the_server_does_not_read_gives_the_connection_up() -> None:
    async def never_reads(peer: Peer) -> None:
        await peer.accept()
        await anyio.sleep_forever()

    async with ws_server(never_reads) as server, connect_websocket(server.url) as ws:
        with anyio.move_on_after(0.5) as scope:
            while True:  # fills the socket buffers until a send blocks
                await ws.send("x" * 65536)
        assert scope.cancelled_caught
        # Half a frame may be on its way: nothing can follow it on this connection.
        with pytest.raises(WebSocketClosedError) as caught:
            await ws.send("next")
        assert caught.value.code == 1006
        assert server.connections == 1


async def test_debug_logging_shows_neither_the_handshake_s_key_nor_the_frames(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # websockets' protocol logs each handshake header (the API key among them) at DEBUG.
    headers = {"Authorization": "Bearer sk-secret-key"}
    with caplog.at_level(logging.DEBUG):
        async with ws_server(_echo) as server, connect_websocket(server.url, headers=headers) as ws:
            await ws.send("hello")
            assert await ws.receive() == "hello"
    assert server.peers[0].headers["authorization"] == "Bearer sk-secret-key"
    assert "sk-secret" not in caplog.text
    assert "hello" not in caplog.text
