"""`WebSocketStream`: the messages of one WebSocket connection, pulled, timed and owned.

The protocol is the websockets library's sans-IO layer (it turns bytes into frames and frames
into bytes, and unmasks and masks in C); the I/O is ours, over an anyio byte stream, so it runs
on asyncio and trio alike and reading stays pull: nothing is read from the socket until the
consumer asks for a message.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Union, final

import anyio
import anyio.abc
from websockets.client import ClientProtocol
from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from ._errors import (
    NORMAL_CLOSE_CODES,
    DeadlineExceededError,
    IdleTimeoutError,
    PongTimeoutError,
    WebSocketClosedError,
    WebSocketLimitError,
)
from ._finalizer import close_soon
from ._read_ahead import ReadAhead
from ._websocket_url import WebSocketTarget

# The opcodes by their enum members: websockets 14-15 also export them as `OP_*` names, which
# later versions dropped; the members are the same singletons in every version.
OP_TEXT, OP_BINARY, OP_CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
OP_PING, OP_PONG, OP_CLOSE = Opcode.PING, Opcode.PONG, Opcode.CLOSE

__all__ = [
    "WebSocketMessage",
    "WebSocketProtocol",
    "WebSocketStatistics",
    "WebSocketStream",
    "read_socket",
]

#: A message as it is handed over: text frames as `str`, binary frames as `bytes`.
WebSocketMessage = Union[str, bytes]  # noqa: UP007 (a runtime alias, read on Python 3.10 too)

#: 16 MiB: a Realtime `session.updated` or `response.done` can carry long instructions and
#: transcripts, and base64 audio deltas are a few KiB each.
DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
DEFAULT_CLOSE_TIMEOUT = 1.0
#: At most one asyncio transport read (256 KiB): a smaller bound splits what already arrived
#: into several reads, each a turn of the event loop.
_READ_SIZE = 262144
#: Close code sent when a message is over the bound (RFC 6455: "message too big").
_MESSAGE_TOO_BIG = 1009
_PROTOCOL_ERROR = 1002
_INVALID_DATA = 1007
_ABNORMAL_CLOSURE = 1006
#: Close code sent when this side leaves on an error, a timeout or a cancellation.
_GOING_AWAY = 1001


@final
class WebSocketProtocol(ClientProtocol):
    """websockets' client protocol, with the close reason this stream has always sent for a
    message over the bound (the library's own names the frame's byte counts)."""

    def fail(self, code: int, reason: str = "") -> None:
        """Fail the connection; a 1009 says "message too big"."""
        super().fail(code, "message too big" if code == _MESSAGE_TOO_BIG else reason)


@final
@dataclass(frozen=True)
class WebSocketStatistics:
    """A snapshot of a `WebSocketStream`: what is buffered and what went through it."""

    #: Messages received but not yet handed to the consumer.
    messages_buffered: int
    #: The read-ahead bound (`prefetch`); 0 when nothing is read before it is asked for.
    max_buffered: int
    #: True while the read-ahead task waits for room: the server is being held back.
    prefetch_waiting: bool
    #: Messages received so far.
    messages_read: int
    #: Bytes received from the socket so far, framing included.
    bytes_read: int
    #: Messages sent so far.
    messages_sent: int
    #: Pings received and answered with a pong.
    pings_answered: int
    #: Pings this side sent after a silence (`ping_interval`).
    pings_sent: int


@final
class WebSocketStream:
    """The messages of an open WebSocket connection, and the way to send on it.

    Made by `connect_websocket(url, ...)`, entered with `async with`. An async iterator of
    messages (`str` for text frames, `bytes` for binary ones); `await next_batch()` returns every
    message one read completed. Reading is pull: nothing is read from the socket until the
    consumer asks, so a slow consumer slows the server through TCP. `prefetch=N` reads ahead at
    most N messages in a task owned by the `async with` block.

    `idle_timeout` raises `IdleTimeoutError` when no message data arrives for that many seconds
    while a message is awaited, and `deadline` raises `DeadlineExceededError` that many seconds
    after the connection was opened (the handshake included). Pings from the server are answered
    while reading; with `ping_interval`, a silence that long while a message is awaited sends a
    ping, and nothing back within `pong_timeout` raises `PongTimeoutError`.

    A close with code 1000, 1001 or none ends the iteration; any other code, or a connection
    that drops without a close frame (1006), raises `WebSocketClosedError` after the messages
    that came before it. A message over `max_message_size` bytes closes the connection with
    1009 and raises `WebSocketLimitError`. Leaving the block, `break` then leaving it,
    `aclose()`, an exception or a cancellation send a close frame and close the socket;
    `aclose()` finishes even when cancelled. A stream dropped unclosed warns `ResourceWarning`.
    """

    # Defaults `__del__` can read even when the constructor stopped early.
    _socket: anyio.abc.ByteStream | None = None
    _closed = True

    def __init__(
        self,
        socket: anyio.abc.ByteStream,
        protocol: WebSocketProtocol,
        target: WebSocketTarget,
        *,
        early_frames: list[Frame],
        subprotocol: str | None,
        headers: dict[str, str],
        idle_timeout: float | None,
        deadline_at: float | None,
        deadline: float | None,
        prefetch: int,
        max_message_size: int,
        ping_interval: float | None,
        pong_timeout: float,
        close_timeout: float,
    ) -> None:
        self._socket = socket
        self._protocol = protocol
        #: Frames that came with the handshake's answer, read first.
        self._early_frames = early_frames
        self._target = target
        self._subprotocol = subprotocol
        self._headers = headers
        self._idle_timeout = idle_timeout
        self._deadline_at = deadline_at
        self._deadline = deadline
        self._prefetch = prefetch
        self._max_message_size = max_message_size
        self._ping_interval = ping_interval
        self._pong_timeout = pong_timeout
        self._close_timeout = close_timeout
        self._timed = idle_timeout is not None or deadline_at is not None or bool(ping_interval)
        self._send_lock = anyio.Lock()
        #: The frames of a fragmented message so far, and whether it is text.
        self._parts: list[bytes | bytearray | memoryview] = []
        self._parts_text = False
        self._pending: list[WebSocketMessage] = []
        self._position = 0
        self._out = bytearray()
        self._deferred_error: BaseException | None = None
        self._ended = False
        self._closed = False
        self._close_code: int | None = None
        self._close_reason = ""
        self._closed_by_server = False
        self._last_received = anyio.current_time()
        self._ping_sent_at: float | None = None
        self._messages_read = 0
        self._bytes_read = 0
        self._messages_sent = 0
        self._pings_answered = 0
        self._pings_sent = 0
        self._task_group: anyio.abc.TaskGroup | None = None
        #: The read-ahead (`prefetch`), made when the `async with` block is entered.
        self._read_ahead: ReadAhead[WebSocketMessage] | None = None

    # -- public surface -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The address, without its query string (which may carry credentials)."""
        return self._target.described

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose among those offered, or None."""
        return self._subprotocol

    @property
    def response_headers(self) -> Mapping[str, str]:
        """The headers of the server's handshake answer (names lower-cased)."""
        return self._headers

    @property
    def close_code(self) -> int | None:
        """The close code once the connection is closed (by either side), else None."""
        return self._close_code

    @property
    def close_reason(self) -> str:
        """The reason the close frame gave ("" when none, or while open)."""
        return self._close_reason

    def statistics(self) -> WebSocketStatistics:
        """What is buffered now, and how many messages and bytes went through."""
        buffered = len(self._pending) - self._position
        waiting = False
        read_ahead = self._read_ahead
        if read_ahead is not None:
            buffered += read_ahead.buffered
            waiting = read_ahead.waiting
        return WebSocketStatistics(
            messages_buffered=buffered,
            max_buffered=self._prefetch,
            prefetch_waiting=waiting,
            messages_read=self._messages_read,
            bytes_read=self._bytes_read,
            messages_sent=self._messages_sent,
            pings_answered=self._pings_answered,
            pings_sent=self._pings_sent,
        )

    def __aiter__(self) -> WebSocketStream:
        return self

    async def __anext__(self) -> WebSocketMessage:
        pending = self._pending
        position = self._position
        if position < len(pending):
            self._position = position + 1
            return pending[position]
        batch = await self.next_batch()
        if not batch:
            raise StopAsyncIteration
        self._pending = batch
        self._position = 1
        return batch[0]

    async def receive(self) -> WebSocketMessage:
        """The next message; raises `WebSocketClosedError` (code 1000 for a normal closure)
        when there is none, because the connection closed."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise WebSocketClosedError(
                code=self._close_code or 1000,
                reason=self._close_reason,
                by_server=self._closed_by_server,
            ) from None

    async def next_batch(self) -> list[WebSocketMessage]:
        """Every message the next read completed, in order; an empty list only at the end.

        Messages already received but not yet iterated come first.
        """
        if self._position < len(self._pending):
            rest = self._pending[self._position :]
            self._pending = []
            self._position = 0
            return rest
        if self._deferred_error is not None and not self._prefetch:
            error, self._deferred_error = self._deferred_error, None
            raise error
        if self._ended and not self._prefetch:
            return []
        try:
            if self._prefetch:
                read_ahead = self._read_ahead
                if read_ahead is None:
                    raise RuntimeError(
                        "a WebSocketStream with prefetch > 0 reads ahead in a task, which needs an "
                        "owner: use it as `async with connect_websocket(...) as stream:`"
                    )
                return await read_ahead.receive()
            return await self._read_batch()
        except BaseException:
            # As an EventSource does: a failed or cancelled read closes the connection. A read
            # cancelled mid-frame could resume on some backends, but a pong cut in half cannot.
            await self._close_now(_GOING_AWAY if self._close_code is None else None)
            raise

    async def send(self, message: str | bytes) -> None:
        """Send one message: a text frame for `str`, a binary frame for `bytes`.

        Waits while the socket's send buffer is full (the server is not reading). Safe to call
        from several tasks at once; raises `WebSocketClosedError` once the connection closed.
        """
        if isinstance(message, str):
            text, payload = True, message.encode()
        elif isinstance(message, (bytes, bytearray, memoryview)):
            text, payload = False, bytes(message)
        else:
            raise TypeError(
                f"a WebSocket message is str (text) or bytes (binary), not {type(message).__name__}"
            )
        async with self._send_lock:
            protocol = self._protocol
            if protocol.state is not State.OPEN or self._socket is None:
                raise self._closed_error()
            if text:
                protocol.send_text(payload)
            else:
                protocol.send_binary(payload)
            data = b"".join(protocol.data_to_send())
            try:
                await self._socket.send(data)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                raise WebSocketClosedError(
                    code=self._close_code or _ABNORMAL_CLOSURE,
                    reason=self._close_reason,
                    by_server=self._close_code is None or self._closed_by_server,
                ) from exc
            except BaseException:
                # Cancelled (or failed) mid-write: the server may hold half a frame, and no
                # frame can follow it. On asyncio the bytes were all buffered, on trio maybe
                # not; the connection is given up on both, so both behave alike.
                self._ended = True
                if self._close_code is None:
                    self._close_code = _ABNORMAL_CLOSURE
                await self._release()
                raise
            self._messages_sent += 1

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (`code`, `reason`), wait up to `close_timeout` for the server's,
        and close the socket. Idempotent; finishes even when cancelled (then without waiting)."""
        if self._closed:
            return
        self._closed = True
        self._ended = True
        cancelled = anyio.current_effective_deadline() == -math.inf
        group = self._task_group
        try:
            if group is not None:
                # Exited first and outside any scope of ours: its cancel scope was entered
                # before them. The read-ahead task never raises, so this only waits for it.
                self._task_group = None
                group.cancel_scope.cancel()
                await group.__aexit__(None, None, None)
        finally:
            if self._read_ahead is not None:
                self._read_ahead.close()
            with anyio.CancelScope(shield=True):
                if cancelled:
                    await self._close_now(code, reason)
                else:
                    with anyio.move_on_after(self._close_timeout):
                        await self._send_close(code, reason)
                        await self._await_server_close()
                    await self._release()

    async def __aenter__(self) -> WebSocketStream:
        if self._closed:
            raise RuntimeError(f"the WebSocket {self._target.described} is closed already")
        if self._prefetch and self._task_group is None:
            group = anyio.create_task_group()
            await group.__aenter__()
            self._task_group = group
            self._read_ahead = ReadAhead[WebSocketMessage](self._prefetch)
            self._read_ahead.start(group, self._read_batch)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose(1000 if exc_type is None else _GOING_AWAY)

    def __del__(self) -> None:
        if self._closed:
            return
        self._closed = True
        socket = self._socket
        if socket is None:
            return
        closing = close_soon(socket.aclose)
        # Last: under `-W error` this raises, and the close above must be on its way.
        warnings.warn(
            f"a WebSocketStream for {self._target.described} was never closed"
            + (", so its socket is being closed now" if closing else "")
            + ": use `async with connect_websocket(...)` or `await stream.aclose()`",
            ResourceWarning,
            stacklevel=2,
        )

    # -- reading --------------------------------------------------------------------------------

    async def _read_batch(self) -> list[WebSocketMessage]:
        idle_timeout = self._idle_timeout
        idle_at = math.inf if idle_timeout is None else anyio.current_time() + idle_timeout
        messages: list[WebSocketMessage] = []
        while True:
            progressed = self._take_events(messages)
            if self._out:
                await self._flush()
            if messages:
                self._messages_read += len(messages)
                return messages
            if self._deferred_error is not None:
                error, self._deferred_error = self._deferred_error, None
                raise error
            if self._ended:
                return []
            if progressed and idle_timeout is not None:
                idle_at = anyio.current_time() + idle_timeout
            data = await self._receive(idle_at)
            if data is None:
                # The socket ended: without a close frame, the protocol fails the connection
                # with 1006, which the next turn hands over as an error.
                self._protocol.receive_eof()
                await self._release()
                continue
            self._bytes_read += len(data)
            self._protocol.receive_data(data)

    def _take_events(self, messages: list[WebSocketMessage]) -> bool:
        """Turn the protocol's frames into messages; True when message data arrived (a whole
        frame, or a part of one waiting for the rest)."""
        protocol = self._protocol
        # Past the handshake, every event is a frame.
        frames: list[Frame] = protocol.events_received()  # type: ignore[assignment]
        if self._early_frames:
            frames = self._early_frames + frames
            self._early_frames = []
        progressed = False
        for frame in frames:
            opcode = frame.opcode
            if opcode is OP_TEXT:
                progressed = True
                if not frame.fin:
                    self._parts = [frame.data]
                    self._parts_text = True
                    continue
                try:
                    messages.append(str(frame.data, "utf-8"))
                except UnicodeDecodeError:
                    self._refuse_text()
                    break
            elif opcode is OP_BINARY:
                progressed = True
                payload = frame.data
                if not frame.fin:
                    self._parts = [payload]
                    self._parts_text = False
                    continue
                messages.append(payload if type(payload) is bytes else bytes(payload))
            elif opcode is OP_CONT:
                progressed = True
                self._parts.append(frame.data)
                if not frame.fin:
                    continue
                whole, self._parts = b"".join(self._parts), []
                if not self._parts_text:
                    messages.append(whole)
                    continue
                try:
                    messages.append(str(whole, "utf-8"))
                except UnicodeDecodeError:
                    self._refuse_text()
                    break
            elif opcode is OP_PING:
                self._pings_answered += 1  # the protocol queued the pong
            elif opcode is OP_PONG:
                self._ping_sent_at = None
            elif opcode is OP_CLOSE:
                self._on_close()
        if protocol.parser_exc is not None and not self._ended:
            self._on_protocol_failure(protocol.parser_exc)
        if not progressed and protocol.reader.buffer:
            progressed = True  # a frame is arriving: the server is not idle
        writes = protocol.data_to_send()
        if writes:
            self._out += b"".join(writes)
        return progressed

    def _on_close(self) -> None:
        """The server's close frame (the protocol echoed it)."""
        close = self._protocol.close_rcvd
        code = 1005 if close is None else int(close.code)
        self._ended = True
        self._close_code = code
        self._close_reason = "" if close is None else close.reason
        self._closed_by_server = True
        if code not in NORMAL_CLOSE_CODES:
            self._deferred_error = WebSocketClosedError(
                code=code, reason=self._close_reason, by_server=True
            )

    def _on_protocol_failure(self, exc: BaseException) -> None:
        """The protocol failed the connection: a message over the bound (1009), a drop without
        a close frame (1006), or bytes that break the protocol (1002, its own close frame)."""
        self._ended = True
        self._parts = []
        if isinstance(exc, PayloadTooBig):
            self._close_code = _MESSAGE_TOO_BIG
            self._close_reason = "message too big"
            # What was read of the message before this frame: `cur_size` up to websockets 15,
            # `current_size` after it.
            before = getattr(exc, "current_size", None) or getattr(exc, "cur_size", None)
            self._deferred_error = WebSocketLimitError(
                limit="max_message_size",
                value=self._max_message_size,
                size=(exc.size or 0) + (before or 0),
            )
            return
        if isinstance(exc, EOFError):
            code, reason, by_server = _ABNORMAL_CLOSURE, "", True
        else:
            sent = self._protocol.close_sent
            code = _PROTOCOL_ERROR if sent is None else int(sent.code)
            reason = "" if sent is None else sent.reason
            by_server = False
        self._close_code = code
        self._close_reason = reason
        self._closed_by_server = by_server
        self._deferred_error = WebSocketClosedError(code=code, reason=reason, by_server=by_server)

    def _refuse_text(self) -> None:
        """A text message that is not UTF-8: closed with 1007, as RFC 6455 says."""
        self._protocol.fail(_INVALID_DATA, "invalid UTF-8")
        self._on_protocol_failure(ProtocolError("invalid UTF-8"))

    async def _receive(self, idle_at: float) -> bytes | None:
        """One read from the socket (None at its end), within the stream's time bounds."""
        socket = self._socket
        if socket is None:
            return None
        while True:
            if not self._timed:
                return await read_socket(socket)
            now = anyio.current_time()
            deadline_at = math.inf if self._deadline_at is None else self._deadline_at
            ping_at = math.inf
            if self._ping_interval:
                ping_sent_at = self._ping_sent_at
                ping_at = (
                    self._last_received + self._ping_interval
                    if ping_sent_at is None
                    else ping_sent_at + self._pong_timeout
                )
            wake = min(idle_at, deadline_at, ping_at)
            with anyio.move_on_after(wake - now):
                data = await read_socket(socket)
                self._last_received = anyio.current_time()
                self._ping_sent_at = None
                return data
            if deadline_at <= wake:
                raise DeadlineExceededError(
                    f"the WebSocket {self._target.described} was still open after its deadline "
                    f"of {self._deadline} s",
                    timeout=self._deadline or 0.0,
                )
            if idle_at <= wake:
                raise IdleTimeoutError(
                    f"the WebSocket {self._target.described} sent no message for "
                    f"{self._idle_timeout} s (idle_timeout)",
                    timeout=self._idle_timeout or 0.0,
                )
            if self._ping_sent_at is not None:
                raise PongTimeoutError(
                    f"the WebSocket {self._target.described} did not answer a ping within "
                    f"{self._pong_timeout} s (pong_timeout)",
                    timeout=self._pong_timeout,
                )
            self._ping_sent_at = anyio.current_time()
            self._pings_sent += 1
            self._protocol.send_ping(b"")
            self._out += b"".join(self._protocol.data_to_send())
            await self._flush()

    async def _flush(self) -> None:
        data = bytes(self._out)
        self._out.clear()
        socket = self._socket
        if socket is None:
            return
        async with self._send_lock:
            # A broken socket is not this send's news: the read that comes next sees the
            # socket's end and says so.
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await socket.send(data)

    # -- closing --------------------------------------------------------------------------------

    def _closed_error(self) -> WebSocketClosedError:
        return WebSocketClosedError(
            code=self._close_code or 1000,
            reason=self._close_reason,
            by_server=self._closed_by_server,
        )

    async def _send_close(self, code: int, reason: str) -> None:
        protocol = self._protocol
        if protocol.state is State.OPEN:
            self._close_code = code
            self._close_reason = reason
            # A code no close frame may carry (1005, 1006) sends none, as before it.
            with contextlib.suppress(ProtocolError):
                protocol.send_close(code, reason)
            self._out += b"".join(protocol.data_to_send())
        if self._out:
            await self._flush()

    async def _await_server_close(self) -> None:
        """Read on, discarding messages, until the server's close frame or the socket's end."""
        socket = self._socket
        protocol = self._protocol
        while (
            socket is not None
            and protocol.close_sent is not None
            and protocol.close_rcvd is None
            and protocol.parser_exc is None
        ):
            data = await read_socket(socket)
            if data is None:
                protocol.receive_eof()
                return
            protocol.receive_data(data)
            protocol.events_received()  # messages and pings: too late, we are closing
            protocol.data_to_send()

    async def _close_now(self, code: int | None, reason: str = "") -> None:
        """Send a close frame if none went yet (bounded, never waiting for an answer), and
        close the socket: the path of errors and cancellation."""
        self._ended = True
        with anyio.CancelScope(shield=True):
            if code is not None and self._socket is not None:
                with anyio.move_on_after(self._close_timeout):
                    await self._send_close(code, reason)
            await self._release()

    async def _release(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            with anyio.CancelScope(shield=True):
                # A socket the server broke is closed all the same.
                with contextlib.suppress(anyio.BrokenResourceError):
                    await socket.aclose()


async def read_socket(socket: anyio.abc.ByteStream) -> bytes | None:
    """One read of at most 256 KiB; None when the socket ended, broke or was closed."""
    try:
        return await socket.receive(_READ_SIZE)
    except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
        return None
