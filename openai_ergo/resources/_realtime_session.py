"""`RealtimeSession`: one open Realtime API connection, its typed events and its senders; and
`RealtimeResponse`, one response read as text deltas, PCM16 audio or events, with the `@tool`
loop run through its function calls.

The socket is `streaming`'s `WebSocketStream` (pull: nothing is read until an event is asked
for). Events decode with the typed decoder (`decode_realtime_event`), client events are the
encoders' JSON (`openai_ergo.types._realtime`): this module only routes them. Whatever breaks
comes out as this package's errors: an `error` event as `RealtimeEventError`, a close or a
dropped connection as `RealtimeClosedError`, a silence as `StreamIdleTimeoutError`, each with
the events the response in progress had received.
"""

from __future__ import annotations

import base64
import binascii
from collections import deque
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

import anyio
import msgspec

from openai_ergo._errors import (
    InvalidRequestError,
    RealtimeClosedError,
    RealtimeEventError,
    StreamIdleTimeoutError,
    StreamInterruptedError,
    ToolError,
)
from openai_ergo.resources._run import _encode_output
from openai_ergo.resources._tools import FunctionTool, ToolArgumentsError
from openai_ergo.types import _realtime as wire
from openai_ergo.types._generated.standalone import (
    RealtimeServerEvent,
    RealtimeServerEventConversationItemInputAudioTranscriptionCompleted,
    RealtimeServerEventError,
    RealtimeServerEventInputAudioBufferCommitted,
    RealtimeServerEventResponseAudioDelta,
    RealtimeServerEventResponseAudioTranscriptDelta,
    RealtimeServerEventResponseCreated,
    RealtimeServerEventResponseDone,
    RealtimeServerEventResponseFunctionCallArgumentsDone,
    RealtimeServerEventResponseTextDelta,
)

# The errors only (`streaming._errors`): the WebSocket code itself loads with the first session.
from streaming import StreamingError, StreamTimeoutError, WebSocketClosedError

if TYPE_CHECKING:
    from openai_ergo.types._generated.standalone import RealtimeResponse as RealtimeResponseObject
    from streaming import WebSocketStream

__all__ = [
    "RealtimeResponse",
    "RealtimeSession",
    "RealtimeToolCall",
    "check_settings",
    "open_socket",
]

T = TypeVar("T")
#: The events whose contents the session notes as they pass (`input_transcript`).
_NOTED: frozenset[type[Any]] = frozenset(
    {
        RealtimeServerEventConversationItemInputAudioTranscriptionCompleted,
        RealtimeServerEventInputAudioBufferCommitted,
    }
)
#: Close codes that end a connection normally.
_NORMAL = (1000, 1001)
_GOING_AWAY = 1001
#: How long leaving a response early waits for the server to confirm its cancellation.
_CANCEL_DRAIN_TIMEOUT = 5.0


def check_settings(settings: Mapping[str, Any]) -> str:
    """The `session.update` message for `settings`, or an `InvalidRequestError` naming the
    field the spec does not know or the value it refuses."""
    try:
        return wire.realtime_session_update(settings)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(
            f"the realtime session settings: {exc}", param="session"
        ) from None


async def open_socket(
    url: str, headers: list[tuple[str, str]], options: Mapping[str, Any]
) -> WebSocketStream:
    """Connect the WebSocket and enter it, with a refused handshake or an unreachable host as
    the client's own errors (`AuthenticationError`, `RateLimitError`, `APIConnectionError`...).
    """
    import httpx

    from openai_ergo._errors import APIConnectionError, APITimeoutError
    from openai_ergo._pipeline._errors_map import status_error
    from streaming import (
        StreamTimeoutError,
        WebSocketConnectError,
        WebSocketHandshakeError,
        connect_websocket,
    )

    secrets = [
        value.removeprefix("Bearer ")
        for name, value in headers
        if name.lower() in ("authorization", "api-key")
    ]
    connection = connect_websocket(url, headers=headers, **options)
    described = url.split("?", 1)[0]
    try:
        return await connection.__aenter__()
    except WebSocketHandshakeError as exc:
        response = httpx.Response(exc.status_code, headers=dict(exc.headers))
        raise status_error(
            response,
            exc.body.encode(),
            method="GET",
            path=httpx.URL(described).path,
            url=described,
            attempts=(),
            secrets=secrets,
        ) from None
    except WebSocketConnectError as exc:
        raise APIConnectionError(str(exc), method="GET", url=described) from exc
    except StreamTimeoutError as exc:
        raise APITimeoutError(
            f"the WebSocket {described} did not answer in time: {exc}", method="GET", url=described
        ) from exc


@final
class RealtimeToolCall:
    """A function call the model made in a response, and what the `@tool` function answered
    (`output`: its result as the model got it; `error`: set when the tool failed)."""

    __slots__ = ("arguments", "call_id", "error", "name", "output")

    def __init__(
        self, call_id: str, name: str, arguments: str, output: str | None, error: str | None
    ) -> None:
        self.call_id = call_id
        self.name = name
        self.arguments = arguments
        self.output = output
        self.error = error

    def __repr__(self) -> str:
        return f"RealtimeToolCall({self.name!r}, {self.arguments!r}, output={self.output!r})"


@final
class RealtimeSession:
    """An open Realtime session: `async for event in session` reads its typed server events,
    the methods send client events, and `session.respond()` reads one response.

    Made by `client.realtime(model)....connect()`. Events of a `type` this version does not
    know come through as `UnknownTypeVariant` (with the raw payload). An `error` event raises
    `RealtimeEventError` (the session stays open: read on after it); a connection that closes
    abnormally or drops raises `RealtimeClosedError`, and a normal close ends the iteration.
    Leaving the `async with` block (or `await session.aclose()`, which finishes even when
    cancelled) sends a close frame and closes the socket.
    """

    def __init__(
        self,
        stream: WebSocketStream,
        *,
        tools: Mapping[str, FunctionTool[..., Any]],
        max_tool_rounds: int,
    ) -> None:
        self._stream = stream
        self._tools = dict(tools)
        self._max_tool_rounds = max_tool_rounds
        #: Events read ahead of the consumer (by `input_transcript`), handed over first.
        self._backlog: deque[RealtimeServerEvent] = deque()
        self._active: RealtimeResponse | None = None
        self._last_committed: str | None = None
        self._closed = False
        #: Client event ids whose `error` answer nobody waits for (a late cancel's).
        self._unheeded: set[str] = set()
        self._cancels = 0
        #: The transcripts of the audio the session heard, by the item it became.
        self.input_transcripts: dict[str, str] = {}

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"RealtimeSession({self._stream.url!r}, {state})"

    @property
    def url(self) -> str:
        """The session's address, without its query string."""
        return self._stream.url

    # -- reading ----------------------------------------------------------------------------------

    def __aiter__(self) -> RealtimeSession:
        return self

    async def __anext__(self) -> RealtimeServerEvent:
        # The path of every event: one coroutine between the consumer and the socket.
        event = self._backlog.popleft() if self._backlog else await self._receive(None)
        if event is None:
            raise StopAsyncIteration
        if isinstance(event, RealtimeServerEventError):
            raise _event_error(event, ())
        return event

    async def _read(self, response: RealtimeResponse | None) -> RealtimeServerEvent | None:
        """The next server event (None once the connection closed normally), with what it
        says about transcripts noted; errors mapped, with `response`'s events in them."""
        if self._backlog:
            return self._backlog.popleft()
        return await self._receive(response)

    async def _receive(self, response: RealtimeResponse | None) -> RealtimeServerEvent | None:
        stream = self._stream
        while True:
            try:
                message = await stream.__anext__()
            except StopAsyncIteration:
                return None
            except StreamingError as exc:
                raise self._stream_error(exc, response) from exc
            try:
                event = wire.decode_realtime_event(message)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise StreamInterruptedError(
                    f"the realtime server sent a message that is not a valid event: {exc}",
                    events=() if response is None else response.events,
                    partial=None if response is None else response.transcript,
                ) from None
            if event.__class__ in _NOTED:
                if isinstance(event, RealtimeServerEventInputAudioBufferCommitted):
                    self._last_committed = event.item_id
                elif (
                    isinstance(
                        event, RealtimeServerEventConversationItemInputAudioTranscriptionCompleted
                    )
                    and event.item_id is not None
                ):
                    self.input_transcripts[event.item_id] = event.transcript or ""
            elif (
                isinstance(event, RealtimeServerEventError)
                and event.error is not None
                and event.error.event_id is not None
                and event.error.event_id in self._unheeded
            ):
                # The refusal of a cancel sent as a response was ending anyway: expected.
                self._unheeded.discard(event.error.event_id)
                continue
            return event

    def _stream_error(self, exc: StreamingError, response: RealtimeResponse | None) -> Exception:
        """The socket's error as this package's, with `response`'s events in it."""
        events = () if response is None else response.events
        partial = None if response is None else response.transcript
        if isinstance(exc, WebSocketClosedError):
            return RealtimeClosedError(
                f"the realtime session's connection closed: {exc}",
                code=exc.code,
                reason=exc.reason,
                events=events,
                partial=partial,
            )
        if isinstance(exc, StreamTimeoutError):
            return StreamIdleTimeoutError(
                f"the realtime session timed out: {exc}", events=events, partial=partial
            )
        return StreamInterruptedError(
            f"the realtime session broke: {exc}", events=events, partial=partial
        )

    async def input_transcript(self, item_id: str | None = None) -> str:
        """The transcript of the audio committed last (or of the item `item_id`), waiting for
        it if it has not arrived. Events read meanwhile are kept, and come next from the
        session. Needs `.transcription(...)` in the session's settings."""
        read: list[RealtimeServerEvent] = []
        try:
            while True:
                wanted = item_id or self._last_committed
                if wanted is not None and wanted in self.input_transcripts:
                    return self.input_transcripts[wanted]
                event = await self._receive(None)
                if event is None:
                    raise RealtimeClosedError(
                        "the realtime session closed before the transcript arrived", code=1000
                    )
                read.append(event)
                if isinstance(event, RealtimeServerEventError):
                    raise _event_error(event, read)
        finally:
            self._backlog.extend(read)

    # -- sending ----------------------------------------------------------------------------------

    async def _send(self, message: str) -> None:
        try:
            await self._stream.send(message)
        except WebSocketClosedError as exc:
            raise RealtimeClosedError(
                f"the realtime session's connection is closed: {exc}",
                code=exc.code,
                reason=exc.reason,
            ) from exc

    async def update(self, settings: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Change the session's settings (`session.update`), given as the API's JSON fields:
        `await session.update(instructions="Answer in French.")`. The server answers with
        `session.updated`."""
        merged = {**(settings or {}), **fields}
        tools = merged.get("tools")
        if isinstance(tools, Sequence) and not isinstance(tools, str):
            from openai_ergo.resources._realtime import realtime_tool

            for tool in tools:
                if isinstance(tool, FunctionTool):
                    self._tools[tool.name] = tool
            merged["tools"] = [realtime_tool(tool) for tool in tools]
        merged.setdefault("type", "realtime")
        await self._send(check_settings(merged))

    async def append_audio(self, pcm: bytes | bytearray | memoryview) -> None:
        """Add PCM16 audio (16-bit little-endian mono at 24 kHz) to the input buffer."""
        try:
            message = wire.realtime_append_audio(pcm)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(str(exc), param="audio") from None
        await self._send(message)

    async def commit(self) -> None:
        """Make the appended audio a user message (`input_audio_buffer.commit`)."""
        await self._send(wire.realtime_commit_audio())

    async def clear_audio(self) -> None:
        """Drop the audio appended since the last commit (`input_audio_buffer.clear`)."""
        await self._send(wire.realtime_clear_audio())

    async def add_item(
        self, item: Mapping[str, Any], *, previous_item_id: str | None = None
    ) -> None:
        """Add a conversation item as the API's JSON (`conversation.item.create`)."""
        try:
            message = wire.realtime_create_item(item, previous_item_id=previous_item_id)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(str(exc), param="item") from None
        await self._send(message)

    async def send_text(self, text: str) -> None:
        """Say `text` as the user and ask for an answer: a user message, then
        `response.create` (read the answer from the session, or use `respond(text)`)."""
        await self._add_text(text)
        await self.create_response()

    async def _add_text(self, text: str) -> None:
        if not isinstance(text, str) or not text:
            raise InvalidRequestError(
                f"text must be a non-empty string, not {text!r}", param="text"
            )
        await self.add_item(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        )

    async def create_response(self, **params: Any) -> None:
        """Ask for a response (`response.create`), with the session's settings or these
        (`instructions`, `output_modalities`, `conversation="none"`...)."""
        try:
            message = wire.realtime_create_response(params or None)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(str(exc), param="response") from None
        await self._send(message)

    async def cancel_response(self) -> None:
        """Stop the response in progress (it ends with `response.done`, status `cancelled`)."""
        await self._send(wire.realtime_cancel_response())

    async def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        """Cut an assistant message's audio at `audio_end_ms`: what the user heard before
        interrupting it (`conversation.item.truncate`)."""
        try:
            message = wire.realtime_truncate(
                item_id, content_index=content_index, audio_end_ms=audio_end_ms
            )
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(str(exc), param="item_id") from None
        await self._send(message)

    def respond(self, text: str | None = None, **params: Any) -> RealtimeResponse:
        """One response, as an `async with` block: `text` (when given) is said as the user
        first, then `response.create` (with `params`) goes out on entering. Read it with
        `response.text()`, `response.audio()` or `response.events()`; the session's `@tool`
        functions run when the model calls them, and the model answers again. Leaving the
        block before the response ended cancels it."""
        if text is not None and (not isinstance(text, str) or not text):
            raise InvalidRequestError(
                f"text must be a non-empty string, not {text!r}", param="text"
            )
        return RealtimeResponse(self, text, params)

    # -- ownership --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Send a close frame and close the socket; idempotent, finishes even when cancelled."""
        await self._close(going_away=False)

    async def _close(self, *, going_away: bool) -> None:
        self._closed = True
        await self._stream.aclose(_GOING_AWAY if going_away else 1000)

    async def __aenter__(self) -> RealtimeSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._close(going_away=exc_type is not None)


def _event_error(
    event: RealtimeServerEventError, events: Sequence[Any], partial: Any = None
) -> RealtimeEventError:
    error = event.error
    message = (error.message if error else None) or "the realtime server sent an error"
    code = error.code if error else None
    return RealtimeEventError(
        f"the realtime server sent an error: {message}" + (f" (code {code})" if code else ""),
        event=event,
        type=error.type if error else None,
        code=code,
        param=error.param if error else None,
        events=events,
        partial=partial,
    )


@final
class _Deltas(Generic[T]):
    """An async iterator over one kind of a response's pieces (`text()`, `audio()`)."""

    def __init__(self, response: RealtimeResponse, pick: Any) -> None:
        self._response = response
        self._pick = pick

    def __aiter__(self) -> _Deltas[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            event = await self._response._next()
            if event is None:
                raise StopAsyncIteration
            piece = self._pick(self._response, event)
            if piece is not None:
                return piece  # type: ignore[no-any-return]


def _text_of(response: RealtimeResponse, event: Any) -> str | None:
    if isinstance(
        event,
        RealtimeServerEventResponseTextDelta | RealtimeServerEventResponseAudioTranscriptDelta,
    ):
        return event.delta or None
    return None


def _audio_of(response: RealtimeResponse, event: Any) -> bytes | None:
    if isinstance(event, RealtimeServerEventResponseAudioDelta):
        return response._last_pcm or None
    return None


def _any_event(response: RealtimeResponse, event: Any) -> Any:
    return event


@final
class RealtimeResponse:
    """One response of a Realtime session, from `session.respond()`.

    `async for chunk in response.text()`: the answer's text as it comes (the transcript, when
    it speaks); `response.audio()`: its PCM16 audio as bytes; `response.events()`: every
    server event until `response.done`. One of them reads it (each goes on where the last
    stopped); `await response.until_done()` reads the rest. After the end: `transcript`, `pcm`,
    `final` (the API's response object), `status`, `tool_calls`; the session's
    `input_transcripts` has the transcripts that passed meanwhile.
    """

    def __init__(self, session: RealtimeSession, text: str | None, params: dict[str, Any]) -> None:
        self._session = session
        self._text = text
        self._params = params
        self._parts: list[str] = []
        self._audio: list[bytes] = []
        self._last_pcm = b""
        self._calls: list[RealtimeServerEventResponseFunctionCallArgumentsDone] = []
        self._rounds = 0
        self._cancelled = False
        self._entered = False
        self._done = False
        #: The events of this response so far, in order (across its tool rounds).
        self.events_received: list[RealtimeServerEvent] = []
        #: The id of the response in progress (the last one, after tool rounds).
        self.id: str | None = None
        #: The API's response object from `response.done` (the last one, after tool rounds).
        self.final: RealtimeResponseObject | None = None
        #: The function calls the model made, and what the tools answered.
        self.tool_calls: list[RealtimeToolCall] = []

    def __repr__(self) -> str:
        return f"RealtimeResponse(id={self.id!r}, status={self.status!r})"

    @property
    def events(self) -> list[RealtimeServerEvent]:
        """The events received so far (what a `RealtimeClosedError` keeps too)."""
        return self.events_received

    @property
    def transcript(self) -> str:
        """The text of the answer so far: its text deltas, or its audio's transcript."""
        return "".join(self._parts)

    @property
    def pcm(self) -> bytes:
        """The answer's audio so far: PCM16, 16-bit little-endian mono at 24 kHz."""
        return b"".join(self._audio)

    @property
    def status(self) -> str | None:
        """`completed`, `cancelled`, `incomplete` or `failed` once done; None before."""
        return None if self.final is None else self.final.status

    @property
    def done(self) -> bool:
        """True once the response (with its tool rounds) ended."""
        return self._done

    def text(self) -> _Deltas[str]:
        """The answer's text deltas (the transcript deltas when it speaks)."""
        return _Deltas[str](self, _text_of)

    def audio(self) -> _Deltas[bytes]:
        """The answer's audio deltas, as PCM16 bytes."""
        return _Deltas[bytes](self, _audio_of)

    def stream(self) -> _Deltas[RealtimeServerEvent]:
        """Every server event until the response ends (typed; unknown types kept)."""
        return _Deltas[RealtimeServerEvent](self, _any_event)

    async def until_done(self) -> RealtimeResponse:
        """Read the rest of the response; returns it."""
        while await self._next() is not None:
            pass
        return self

    async def _next(self) -> RealtimeServerEvent | None:
        if not self._entered:
            raise RuntimeError("a RealtimeResponse is read inside `async with session.respond()`")
        session = self._session
        while not self._done:
            event = await session._read(self)
            if event is None:
                raise RealtimeClosedError(
                    "the realtime session closed before the response ended",
                    code=session._stream.close_code or 1000,
                    reason=session._stream.close_reason,
                    events=self.events_received,
                    partial=self.transcript,
                )
            self.events_received.append(event)
            if isinstance(
                event,
                RealtimeServerEventResponseTextDelta
                | RealtimeServerEventResponseAudioTranscriptDelta,
            ):
                if event.delta:
                    self._parts.append(event.delta)
            elif isinstance(event, RealtimeServerEventResponseAudioDelta):
                try:
                    self._last_pcm = base64.b64decode(event.delta or "", validate=True)
                except binascii.Error:
                    raise StreamInterruptedError(
                        "the realtime server sent audio that is not base64",
                        events=self.events_received,
                        partial=self.transcript,
                    ) from None
                self._audio.append(self._last_pcm)
            elif isinstance(event, RealtimeServerEventResponseCreated):
                if event.response is not None:
                    self.id = event.response.id
            elif isinstance(event, RealtimeServerEventResponseFunctionCallArgumentsDone):
                self._calls.append(event)
            elif isinstance(event, RealtimeServerEventError):
                raise _event_error(event, self.events_received, self.transcript)
            elif isinstance(event, RealtimeServerEventResponseDone):
                self.final = event.response
                await self._round_done()
            return event
        return None

    async def _round_done(self) -> None:
        """A `response.done`: the end, or (when the model called `@tool` functions) their
        results go back and the model answers again."""
        calls, self._calls = self._calls, []
        tools = self._session._tools
        if not calls or not tools or self._cancelled or self.status != "completed":
            self._done = True
            return
        if self._rounds >= self._session._max_tool_rounds:
            raise ToolError(
                f"the model was still calling tools after {self._rounds} rounds "
                "(max_tool_rounds): raise it, or look at response.tool_calls"
            )
        self._rounds += 1
        for call in calls:
            name = call.name or ""
            tool = tools.get(name)
            if tool is None:
                raise ToolError(
                    f"the model called {name!r}, which is not one of this session's tools "
                    f"({', '.join(sorted(tools))})"
                )
            arguments = call.arguments or "{}"
            error: str | None = None
            try:
                output = _encode_output(await tool.invoke(arguments))
            except ToolArgumentsError as exc:
                error = output = f"Error: {exc}"
            except Exception as exc:  # the model hears about it and can recover
                error = output = f"Error: {name} failed: {type(exc).__name__}: {exc}"
            self.tool_calls.append(
                RealtimeToolCall(call.call_id or "", name, arguments, output, error)
            )
            await self._session.add_item(
                {"type": "function_call_output", "call_id": call.call_id, "output": output}
            )
        await self._session.create_response()

    async def __aenter__(self) -> RealtimeResponse:
        session = self._session
        if session._active is not None:
            raise RuntimeError("a realtime session reads one response at a time")
        session._active = self
        self._entered = True
        try:
            if self._text is not None:
                await session._add_text(self._text)
            await session.create_response(**self._params)
        except BaseException:
            session._active = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session = self._session
        session._active = None
        if self._done or session._closed or session._stream.close_code is not None:
            return  # ended, or nothing left to cancel it on
        if exc_type is None or exc_type is GeneratorExit:
            # Left early (a `break`): the response is cancelled and read to its end, so the
            # session is ready for the next one.
            self._cancelled = True  # a cancelled response runs no more tools
            # Named, so that its refusal (when the response ended before the cancel arrived)
            # is recognised, and not taken for the next response's error.
            session._cancels += 1
            cancel_id = f"cancel_{session._cancels}"
            session._unheeded.add(cancel_id)
            with anyio.move_on_after(_CANCEL_DRAIN_TIMEOUT) as scope:
                await session._send(wire.realtime_cancel_response(event_id=cancel_id))
                try:
                    while await self._next() is not None:
                        pass
                except RealtimeEventError:
                    pass  # it failed as it ended: it is over either way
            if scope.cancelled_caught:
                await session._close(going_away=True)
            elif self.status == "cancelled":
                session._unheeded.discard(cancel_id)  # it was heeded: no refusal comes
