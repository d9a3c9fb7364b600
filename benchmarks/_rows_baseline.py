"""The rows we compare against: the official SDK, httpx + httpx-sse, and two ceilings.

Each row is written the way its library's documentation shows a user streaming a reply, with
the same aggregation our client does (collect the delta texts, join once), so a row is neither
handicapped nor let off work.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import msgspec

from benchmarks._rows import OnFirst, Outcome, chat_deltas, count_events

__all__ = [
    "HttpxBytesRow",
    "HttpxSSERow",
    "RawBytesRow",
    "RawMsgspecRow",
    "SDKHelperRow",
    "SDKRow",
]

_API_KEY = "sk-bench-not-a-secret"
_MESSAGES = [{"role": "user", "content": "Tell me a story."}]
_INPUT = "Tell me a story."


def _chat_body(model: str, stream: bool) -> bytes:
    body: dict[str, Any] = {"model": model, "messages": _MESSAGES}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return msgspec.json.encode(body)


def _responses_body(model: str) -> bytes:
    return msgspec.json.encode({"model": model, "input": _INPUT, "stream": True})


class SDKRow:
    """The official `openai` SDK: `create(..., stream=True)` and iterate the chunks."""

    def __init__(self, port: int, *, max_connections: int) -> None:
        self._base_url = f"http://127.0.0.1:{port}/v1"
        self._max_connections = max_connections

    async def open(self) -> None:
        import httpx2
        import openai

        limits = httpx2.Limits(
            max_connections=self._max_connections,
            max_keepalive_connections=self._max_connections,
        )
        self.client = openai.AsyncOpenAI(
            api_key=_API_KEY,
            base_url=self._base_url,
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(limits=limits),
        )

    async def close(self) -> None:
        await self.client.close()

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        stream = await self.client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Tell me a story."}],
            stream=True,
            stream_options={"include_usage": True},
        )
        async with stream:
            return await chat_deltas(stream, on_first)

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        stream = await self.client.responses.create(model=model, input=_INPUT, stream=True)
        events = 0
        parts: list[str] = []
        async with stream:
            async for event in stream:
                events += 1
                if on_first is not None:
                    await on_first()
                    on_first = None
                if event.type == "response.output_text.delta":
                    parts.append(event.delta)
        return Outcome(events, len("".join(parts)))

    async def chat_request(self, model: str) -> Outcome:
        completion = await self.client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Tell me a story."}]
        )
        return Outcome(1, len(completion.choices[0].message.content or ""))


class SDKHelperRow(SDKRow):
    """The SDK's `.stream()` helpers: typed events, accumulated snapshots, the final object."""

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        events = 0
        manager = self.client.chat.completions.stream(
            model=model,
            messages=[{"role": "user", "content": "Tell me a story."}],
            stream_options={"include_usage": True},
        )
        async with manager as stream:
            async for event in stream:
                if event.type == "chunk":
                    events += 1
                    if on_first is not None:
                        await on_first()
                        on_first = None
            final = await stream.get_final_completion()
        return Outcome(events, len(final.choices[0].message.content or ""))

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        async with self.client.responses.stream(model=model, input=_INPUT) as stream:
            events = await count_events(stream, on_first)
            final = await stream.get_final_response()
        return Outcome(events, len(final.output_text))


class _HttpxRow:
    def __init__(self, port: int, *, max_connections: int) -> None:
        self._base_url = f"http://127.0.0.1:{port}/v1"
        self._max_connections = max_connections
        self._headers = {
            "authorization": f"Bearer {_API_KEY}",
            "content-type": "application/json",
        }

    async def open(self) -> None:
        import httpx

        limits = httpx.Limits(
            max_connections=self._max_connections,
            max_keepalive_connections=self._max_connections,
        )
        self.client = httpx.AsyncClient(base_url=self._base_url, limits=limits, timeout=600)

    async def close(self) -> None:
        await self.client.aclose()

    async def chat_request(self, model: str) -> Outcome:
        response = await self.client.post(
            "/chat/completions", content=_chat_body(model, False), headers=self._headers
        )
        response.raise_for_status()
        reply = json.loads(response.content)
        return Outcome(1, len(reply["choices"][0]["message"]["content"]))


class HttpxSSERow(_HttpxRow):
    """httpx + httpx-sse + `json.loads`: the common hand-rolled client."""

    async def _stream(self, path: str, body: bytes, delta_of: Any, on_first: OnFirst) -> Outcome:
        from httpx_sse import aconnect_sse

        events = 0
        parts: list[str] = []
        async with aconnect_sse(
            self.client, "POST", path, content=body, headers=self._headers
        ) as source:
            source.response.raise_for_status()
            async for sse in source.aiter_sse():
                if sse.data == "[DONE]":
                    continue
                payload = json.loads(sse.data)
                events += 1
                if on_first is not None:
                    await on_first()
                    on_first = None
                text = delta_of(payload)
                if text:
                    parts.append(text)
        return Outcome(events, len("".join(parts)))

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        return await self._stream(
            "/chat/completions", _chat_body(model, True), _chat_delta, on_first
        )

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        return await self._stream("/responses", _responses_body(model), _responses_delta, on_first)


def _chat_delta(payload: dict[str, Any]) -> str | None:
    choices = payload.get("choices")
    if choices:
        content: str | None = choices[0]["delta"].get("content")
        return content
    return None


def _responses_delta(payload: dict[str, Any]) -> str | None:
    if payload["type"] == "response.output_text.delta":
        delta: str = payload["delta"]
        return delta
    return None


def _count_event_ends(chunk: bytes, previous_last: int) -> tuple[int, int]:
    # An event ends at a blank line; one split across two reads is counted on the second.
    count = chunk.count(b"\n\n")
    if previous_last == 10 and chunk[:1] == b"\n":
        count += 1
    return count, chunk[-1]


class _EventEndCounter:
    """The byte ceilings: count events by their ends, parse nothing."""

    async def _event_ends(self, path: str, body: bytes, on_first: OnFirst) -> int:
        raise NotImplementedError

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        ends = await self._event_ends("/chat/completions", _chat_body(model, True), on_first)
        # The `[DONE]` sentinel of chat streams is not an event.
        return Outcome(ends - 1, None)

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        return Outcome(await self._event_ends("/responses", _responses_body(model), on_first), None)


class HttpxBytesRow(_HttpxRow, _EventEndCounter):
    """httpx `aiter_bytes()` and nothing else: the most any httpx-based client can reach."""

    async def _event_ends(self, path: str, body: bytes, on_first: OnFirst) -> int:
        events = 0
        last = 0
        async with self.client.stream("POST", path, content=body, headers=self._headers) as r:
            r.raise_for_status()
            async for chunk in r.aiter_bytes():
                found, last = _count_event_ends(chunk, last)
                events += found
                if on_first is not None and events:
                    await on_first()
                    on_first = None
        return events


# --- raw sockets ------------------------------------------------------------------------------


class _Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams, with its read buffer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = b""

    async def send(self, path: str, body: bytes) -> None:
        self.writer.write(
            b"POST /v1%s HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer %s\r\n"
            b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (path.encode(), _API_KEY.encode(), len(body), body)
        )
        await self.writer.drain()

    async def read_head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("the server closed the connection before a response")
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(f"unexpected response: {head[:80]!r}")
        return head


class _RawRow:
    def __init__(self, port: int, *, max_connections: int) -> None:
        self._port = port
        self._idle: list[_Connection] = []

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        for connection in self._idle:
            connection.writer.close()
        self._idle.clear()

    async def _acquire(self) -> _Connection:
        if self._idle:
            return self._idle.pop()
        reader, writer = await asyncio.open_connection("127.0.0.1", self._port, limit=1 << 20)
        return _Connection(reader, writer)

    async def chat_request(self, model: str) -> Outcome:
        connection = await self._acquire()
        await connection.send("/chat/completions", _chat_body(model, False))
        head = await connection.read_head()
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        while len(connection.buffer) < length:
            connection.buffer += await connection.reader.read(65536)
        body, connection.buffer = connection.buffer[:length], connection.buffer[length:]
        self._idle.append(connection)
        reply = _decode_completion(body)
        return Outcome(1, len(reply.choices[0].message.content or ""))


class RawBytesRow(_RawRow, _EventEndCounter):
    """Read the body off the socket and count event ends: the server's ceiling, no parsing."""

    async def _event_ends(self, path: str, body: bytes, on_first: OnFirst) -> int:
        connection = await self._acquire()
        await connection.send(path, body)
        await connection.read_head()
        data = connection.buffer
        events, last = _count_event_ends(data, 0) if data else (0, 0)
        tail = data[-5:]
        while tail != _LAST_CHUNK:
            data = await _read_more(connection.reader)
            found, last = _count_event_ends(data, last)
            events += found
            if on_first is not None and events:
                await on_first()
                on_first = None
            tail = (tail + data)[-5:]
        connection.buffer = b""
        self._idle.append(connection)
        return events


_LAST_CHUNK = b"0\r\n\r\n"


class _Delta(msgspec.Struct, gc=False):
    content: str | None = None


class _Choice(msgspec.Struct, gc=False):
    delta: _Delta


class _ChatChunk(msgspec.Struct, gc=False):
    choices: list[_Choice]


class _ResponseEvent(msgspec.Struct, gc=False):
    type: str
    delta: str = ""


class _Message(msgspec.Struct, gc=False):
    content: str | None = None


class _CompletionChoice(msgspec.Struct, gc=False):
    message: _Message


class _Completion(msgspec.Struct, gc=False):
    choices: list[_CompletionChoice]


_decode_chunk = msgspec.json.Decoder(_ChatChunk).decode
_decode_response_event = msgspec.json.Decoder(_ResponseEvent).decode
_decode_completion = msgspec.json.Decoder(_Completion).decode


class RawMsgspecRow(_RawRow):
    """A raw socket, chunked decoding, SSE framing and msgspec Structs: the Python ceiling."""

    async def _stream(
        self, path: str, body: bytes, on_data: Callable[[bytes], None], on_first: OnFirst
    ) -> None:
        connection = await self._acquire()
        await connection.send(path, body)
        await connection.read_head()
        reader = connection.reader
        buffer = connection.buffer
        position = 0
        pending = b""
        while True:
            # Chunked transfer coding: `<size hex>\r\n<payload>\r\n`, ended by a 0-size chunk.
            line_end = buffer.find(b"\r\n", position)
            if line_end < 0:
                buffer = buffer[position:] + await _read_more(reader)
                position = 0
                continue
            size = int(buffer[position:line_end], 16)
            start = line_end + 2
            if len(buffer) < start + size + 2:
                buffer = buffer[position:] + await _read_more(reader)
                position = 0
                continue
            position = start + size + 2
            if size == 0:
                break
            pending += buffer[start : start + size]
            end = pending.find(b"\n\n")
            while end >= 0:
                for line in pending[:end].split(b"\n"):
                    if line.startswith(b"data: "):
                        on_data(line[6:])
                pending = pending[end + 2 :]
                end = pending.find(b"\n\n")
                if on_first is not None:
                    await on_first()
                    on_first = None
        connection.buffer = buffer[position:]
        self._idle.append(connection)

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        parts: list[str] = []
        events = 0

        def on_data(data: bytes) -> None:
            nonlocal events
            if data == b"[DONE]":
                return
            chunk = _decode_chunk(data)
            events += 1
            if chunk.choices:
                content = chunk.choices[0].delta.content
                if content:
                    parts.append(content)

        await self._stream("/chat/completions", _chat_body(model, True), on_data, on_first)
        return Outcome(events, len("".join(parts)))

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        parts: list[str] = []
        events = 0

        def on_data(data: bytes) -> None:
            nonlocal events
            event = _decode_response_event(data)
            events += 1
            if event.type == "response.output_text.delta":
                parts.append(event.delta)

        await self._stream("/responses", _responses_body(model), on_data, on_first)
        return Outcome(events, len("".join(parts)))


async def _read_more(reader: asyncio.StreamReader) -> bytes:
    data = await reader.read(1 << 20)
    if not data:
        raise ConnectionError("the server closed the connection mid-body")
    return data
