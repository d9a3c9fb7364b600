"""A minimal WebSocket client for the mock's tests: wsproto over an anyio TCP stream, so it
runs on asyncio and trio alike, and shows what the wire carried (a refused handshake's status
and body, text messages, a close frame, or a connection dropped without one)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import SocketStream
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError


class Dropped(Exception):
    """The server closed the TCP connection without a close frame."""


class Closed(Exception):
    """The server sent a close frame."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass
class Refused(Exception):
    """The server answered the handshake with an HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WSClient:
    """One client connection; `async with WSClient.connect(...)`."""

    stream: SocketStream
    ws: WSConnection
    subprotocol: str | None = None
    _parts: list[str] = field(default_factory=list)
    _text: list[str] = field(default_factory=list)
    #: Events read with the handshake's answer, not handled yet.
    _pending: list[Event] = field(default_factory=list)

    @classmethod
    async def connect(
        cls,
        port: int,
        target: str,
        *,
        headers: dict[str, str] | None = None,
        subprotocols: list[str] | None = None,
    ) -> WSClient:
        """Open the connection and complete the handshake; raises `Refused`."""
        stream = await anyio.connect_tcp("127.0.0.1", port)
        ws = WSConnection(ConnectionType.CLIENT)
        extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        request = Request(
            host=f"127.0.0.1:{port}",
            target=target,
            extra_headers=extra,
            subprotocols=subprotocols or [],
        )
        client = cls(stream, ws)
        try:
            await stream.send(ws.send(request))
            refused: Refused | None = None
            while True:
                events = await client._read()
                for index, event in enumerate(events):
                    if isinstance(event, AcceptConnection):
                        client.subprotocol = event.subprotocol
                        client._pending = events[index + 1 :]
                        return client
                    if isinstance(event, RejectConnection):
                        names = {k.decode().lower(): v.decode() for k, v in event.headers}
                        refused = Refused(event.status_code, names)
                        if not event.has_body:
                            raise refused
                    elif isinstance(event, RejectData) and refused is not None:
                        refused.body += event.data
                        if event.body_finished:
                            raise refused
        except BaseException:
            await stream.aclose()
            raise

    async def _read(self) -> list[Event]:
        try:
            data = await self.stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            data = None
        if data is None:
            raise Dropped
        self.ws.receive_data(data)
        return list(self.ws.events())

    async def send(self, event: dict[str, Any] | str) -> None:
        """Send one text message (a dict is sent as JSON)."""
        text = event if isinstance(event, str) else json.dumps(event)
        await self.stream.send(self.ws.send(TextMessage(data=text)))

    async def recv_text(self) -> str:
        """The next text message; raises `Closed` or `Dropped` when there is none."""
        while not self._text:
            events, self._pending = self._pending or await self._read(), []
            for event in events:
                if isinstance(event, TextMessage):
                    self._parts.append(event.data)
                    if event.message_finished:
                        self._text.append("".join(self._parts))
                        self._parts.clear()
                elif isinstance(event, Ping):
                    await self.stream.send(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    await self.stream.send(self.ws.send(event.response()))
                    raise Closed(event.code, event.reason or "")
        return self._text.pop(0)

    async def recv(self) -> dict[str, Any]:
        """The next message, parsed as JSON."""
        value: dict[str, Any] = json.loads(await self.recv_text())
        return value

    async def until(self, kind: str) -> list[dict[str, Any]]:
        """Messages up to and including the first of type `kind`."""
        seen = []
        while True:
            event = await self.recv()
            seen.append(event)
            if event.get("type") == kind:
                return seen

    async def aclose(self) -> None:
        """Send a close frame and close the TCP connection."""
        with anyio.CancelScope(shield=True):
            # The server may have closed or gone already.
            with contextlib.suppress(LocalProtocolError, anyio.BrokenResourceError, OSError):
                await self.stream.send(self.ws.send(CloseConnection(code=1000)))
            await self.stream.aclose()

    async def __aenter__(self) -> WSClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
