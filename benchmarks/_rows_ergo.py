"""openai-ergo rows, through the public API only, as the README shows a user writing them.

Every row produces typed events (msgspec Structs, each event's `type` checked by the decoder)
and the client's own aggregation runs as it would for any user. `ErgoFinalRow` is the one the
targets use: it iterates every typed event and then reads the aggregated final object.

`Client()` uses the fast HTTP/1.1 transport (`HTTP11Transport`) by default; the `Httpx` rows pass
httpx's own `httpx.AsyncHTTPTransport` instead, so the difference between them is the transport
alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openai_ergo import ChatBuilder

from benchmarks._rows import OnFirst, Outcome, chat_deltas, count_events

__all__ = [
    "ErgoEventsRow",
    "ErgoFinalRow",
    "ErgoHttpxFinalRow",
    "ErgoHttpxRawRow",
    "ErgoRawRow",
    "ErgoTextRow",
]

_API_KEY = "sk-bench-not-a-secret"
_PROMPT = "Tell me a story."


class _ErgoRow:
    #: Run on httpx's own transport instead of the client's default.
    on_httpx_transport = False

    def __init__(self, port: int, *, max_connections: int) -> None:
        self._base_url = f"http://127.0.0.1:{port}/v1"
        self._max_connections = max_connections

    async def open(self) -> None:
        import httpx

        from openai_ergo import Client

        limits = httpx.Limits(
            max_connections=self._max_connections,
            max_keepalive_connections=self._max_connections,
        )
        if self.on_httpx_transport:
            transport = httpx.AsyncHTTPTransport(limits=limits)
            self.client = Client(_API_KEY, base_url=self._base_url, transport=transport)
        else:
            self.client = Client(_API_KEY, base_url=self._base_url, limits=limits)

    def _chat(self, model: str) -> ChatBuilder:
        # The SDK rows ask for usage themselves and get its chunk; asked for explicitly, our
        # stream hands it out too (by default it folds it into final()), so every row reads
        # the same events.
        return self.client.chat(model).user(_PROMPT).stream_options(include_usage=True)

    async def close(self) -> None:
        await self.client.aclose()

    async def chat_request(self, model: str) -> Outcome:
        completion = await self.client.chat(model).user(_PROMPT)
        return Outcome(1, len(completion.choices[0].message.content or ""))

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        async with self._chat(model).stream() as stream:
            return await chat_deltas(stream, on_first)

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        from openai_ergo.types import ResponseTextDeltaEvent

        events = 0
        parts: list[str] = []
        async with self.client.responses(model).input(_PROMPT).stream() as stream:
            async for event in stream:
                events += 1
                if on_first is not None:
                    await on_first()
                    on_first = None
                if isinstance(event, ResponseTextDeltaEvent):
                    parts.append(event.delta)
        return Outcome(events, len("".join(parts)))


class ErgoEventsRow(_ErgoRow):
    """Iterate the typed events and collect the text deltas, as with the SDK's `stream=True`."""


class ErgoTextRow(_ErgoRow):
    """`stream.text()`: only the text deltas, as a chat UI consumes them."""

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        async with self._chat(model).stream() as stream:
            return await _joined(stream.text(), on_first)

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        async with self.client.responses(model).input(_PROMPT).stream() as stream:
            return await _joined(stream.text(), on_first)


async def _joined(texts: AsyncIterable[str], on_first: OnFirst) -> Outcome:
    parts: list[str] = []
    async for text in texts:
        if on_first is not None:
            await on_first()
            on_first = None
        parts.append(text)
    return Outcome(None, len("".join(parts)))


class ErgoFinalRow(_ErgoRow):
    """Every typed event, then `stream.final()`: the aggregated object the SDK's helper builds."""

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        async with self._chat(model).stream() as stream:
            events = await count_events(stream, on_first)
            final = stream.final()
        return Outcome(events, len(final.choices[0].message.content or ""))

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        async with self.client.responses(model).input(_PROMPT).stream() as stream:
            events = await count_events(stream, on_first)
            final = stream.final()
        return Outcome(events, len(final.output_text))


class ErgoHttpxFinalRow(ErgoFinalRow):
    """`ErgoFinalRow` on httpx's own transport."""

    on_httpx_transport = True


class ErgoRawRow(_ErgoRow):
    """The raw tier: `client.request(..., stream=True)` and the public typed decoders.

    What a user writes for an endpoint without a builder; the builders add aggregation on top.
    """

    async def chat_request(self, model: str) -> Outcome:
        from openai_ergo.types import ChatCompletion

        body = {"model": model, "messages": [{"role": "user", "content": _PROMPT}]}
        response = await self.client.request("POST", "/chat/completions", body=body)
        completion = response.parse(ChatCompletion)
        return Outcome(1, len(completion.choices[0].message.content or ""))

    async def chat_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        from openai_ergo.types import decode_chat_chunk

        body = {
            "model": model,
            "messages": [{"role": "user", "content": _PROMPT}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        events = 0
        parts: list[str] = []
        stream = await self.client.request("POST", "/chat/completions", body=body, stream=True)
        async with stream:
            async for sse in stream:
                if sse.data == "[DONE]":
                    continue
                chunk = decode_chat_chunk(sse.data)
                events += 1
                if on_first is not None:
                    await on_first()
                    on_first = None
                if chunk.choices:
                    content = chunk.choices[0].delta.content
                    if content:
                        parts.append(content)
        return Outcome(events, len("".join(parts)))

    async def responses_stream(self, model: str, on_first: OnFirst = None) -> Outcome:
        from openai_ergo.types import ResponseTextDeltaEvent, decode_response_event

        body = {"model": model, "input": _PROMPT, "stream": True}
        events = 0
        parts: list[str] = []
        stream = await self.client.request("POST", "/responses", body=body, stream=True)
        async with stream:
            async for sse in stream:
                event = decode_response_event(sse.data)
                events += 1
                if on_first is not None:
                    await on_first()
                    on_first = None
                if isinstance(event, ResponseTextDeltaEvent):
                    parts.append(event.delta)
        return Outcome(events, len("".join(parts)))


class ErgoHttpxRawRow(ErgoRawRow):
    """`ErgoRawRow` on httpx's own transport."""

    on_httpx_transport = True
