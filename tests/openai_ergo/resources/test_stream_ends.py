"""How a stream ends, and that an end short of whole never passes for complete.

A malformed event: every good event before it is handed out first (by iteration and by
`text()`), then `StreamInterruptedError` carries them in `events`, the aggregate in `partial`,
and an excerpt of the bad data in its message. A clean end before the terminal event (Responses)
or before `[DONE]` with a choice unfinished (chat) is `StreamInterruptedError` too. The laws are
checked for any cut point and any reads; examples pin the messages and the edge cases.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.abc
import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from openai_ergo import (
    Client,
    StreamInterruptedError,
    StreamNotFinishedError,
    TruncatedOutputError,
)
from openai_ergo.types import ChatCompletion, Response
from tests.openai_ergo.canned import Reads, any_reads, canned_client, frame

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PIECES = st.lists(st.text(alphabet="abcdé 🙂", min_size=1, max_size=6), min_size=1, max_size=6)
SECRET = "sk-proj-AbCdEf0123456789secret"


def _client(reads: list[bytes]) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream", "x-request-id": "req_ends"}
        return httpx.Response(200, headers=headers, stream=Reads(reads))

    return canned_client(handler, api_key=SECRET, circuit_breaker=False)


def _responses_events(pieces: list[str]) -> list[dict[str, Any]]:
    """A Responses stream of one message whose text arrives in `pieces`, terminal event last."""
    text = "".join(pieces)
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    message = {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress"}
    part = {"type": "output_text", "text": "", "annotations": []}
    done_part = {**part, "text": text}
    done_message = {**message, "status": "completed", "content": [done_part]}
    started = {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.output_item.added", "output_index": 0, "item": message},
        {"type": "response.content_part.added", **at, "part": part},
        *({"type": "response.output_text.delta", **at, "delta": p} for p in pieces),
        {"type": "response.output_text.done", **at, "text": text},
        {"type": "response.content_part.done", **at, "part": done_part},
        {"type": "response.output_item.done", "output_index": 0, "item": done_message},
        {
            "type": "response.completed",
            "response": {**started, "status": "completed", "output": [done_message]},
        },
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def _chat_chunks(pieces: list[str]) -> list[dict[str, Any]]:
    """A chat stream of one choice whose content arrives in `pieces`, the finish chunk last."""
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    chunks = [{**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    chunks += [{**head, "choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


def _delta_text(events: list[Any] | tuple[Any, ...]) -> str:
    """The text the deltas among `events` carry, either API's."""
    pieces = []
    for event in events:
        if getattr(event, "type", None) == "response.output_text.delta":
            pieces.append(event.delta)
        for choice in getattr(event, "choices", ()):
            pieces.append(choice.delta.content or "")
    return "".join(pieces)


def _text(result: Response | ChatCompletion) -> str:
    if isinstance(result, Response):
        return result.output_text
    return result.choices[0].message.content or "" if result.choices else ""


# -- laws: for any cut point and any reads ------------------------------------------------------
# Every example is drawn while hypothesis generates it, never inside the async test: an overrun
# there raises hypothesis's `StopTest` (a BaseException) through the runner's event loop.

Events = list[dict[str, Any]]


@st.composite
def _cut_responses(draw: st.DrawFn) -> tuple[Events, int, list[bytes]]:
    """A Responses stream, how many of its events are sent (never the terminal one), the reads."""
    events = _responses_events(draw(PIECES))
    cut = draw(st.integers(1, len(events) - 1), label="events sent")
    return events, cut, any_reads(draw, b"".join(frame(e) for e in events[:cut]))


@st.composite
def _cut_chat(draw: st.DrawFn) -> tuple[list[str], Events, int, list[bytes]]:
    """A chat stream's text, its chunks, how many are sent (never a [DONE]), the reads."""
    pieces = draw(PIECES)
    chunks = _chat_chunks(pieces)
    cut = draw(st.integers(1, len(chunks)), label="chunks sent")
    return pieces, chunks, cut, any_reads(draw, b"".join(frame(c) for c in chunks[:cut]))


@st.composite
def _malformed(draw: st.DrawFn) -> tuple[str, int, bytes, list[bytes]]:
    """An API, where its stream carries an event cut short (not JSON), that event, the reads."""
    api = draw(st.sampled_from(["responses", "chat"]))
    pieces = draw(PIECES)
    good = _responses_events(pieces) if api == "responses" else _chat_chunks(pieces)
    at = draw(st.integers(0, len(good) - 1), label="malformed at")
    bad = msgspec.json.encode(good[at])[:-7]
    frames = [frame(p) for p in good]
    frames[at] = frame(bad)
    body = b"".join(frames) + (b"data: [DONE]\n\n" if api == "chat" else b"")
    return api, at, bad, any_reads(draw, body)


@SETTINGS
@given(case=_cut_responses())
async def test_a_responses_stream_cut_before_its_terminal_event_hands_out_all_then_raises(
    case: tuple[Events, int, list[bytes]],
) -> None:
    events, cut, reads = case
    seen: list[Any] = []
    async with _client(reads) as client:
        stream = client.responses("gpt-5-mini").input("Go").stream()
        with pytest.raises(StreamInterruptedError) as caught:  # noqa: PT012
            async with stream:
                async for event in stream:
                    seen.append(event)
    error = caught.value
    assert [e.type for e in seen] == [e["type"] for e in events[:cut]]
    assert list(error.events) == seen
    assert "response.completed" in str(error)
    assert isinstance(error.partial, Response)
    assert error.partial.output_text == _delta_text(seen)
    assert error.request_id == "req_ends"
    assert stream.done
    with pytest.raises(StreamInterruptedError) as again:
        stream.final()
    assert again.value is error


@SETTINGS
@given(case=_cut_chat())
async def test_a_chat_stream_cut_before_its_finish_raises_and_after_it_is_whole(
    case: tuple[list[str], Events, int, list[bytes]],
) -> None:
    pieces, chunks, cut, reads = case
    texts: list[str] = []
    async with _client(reads) as client:
        stream = client.chat("gpt-4o-mini").user("Go").stream()
        error: StreamInterruptedError | None = None
        try:
            async with stream:
                async for text in stream.text():
                    texts.append(text)
        except StreamInterruptedError as caught:
            error = caught
    if cut < len(chunks):
        assert error is not None
        assert "[DONE]" in str(error)
        assert "choice 0" in str(error)
        assert len(error.events) == cut
        assert _text(error.partial) == "".join(texts) == _delta_text(error.events)
    else:  # a stream whose every choice finished is whole, [DONE] or not
        assert error is None
        assert stream.final().choices[0].finish_reason == "stop"
        assert _text(stream.final()) == "".join(pieces)


@SETTINGS
@given(case=_malformed())
async def test_a_malformed_event_anywhere_comes_after_every_event_before_it(
    case: tuple[str, int, bytes, list[bytes]],
) -> None:
    api, at, bad, reads = case
    seen: list[Any] = []
    async with _client(reads) as client:
        builder = (
            client.responses("gpt-5-mini").input("Go")
            if api == "responses"
            else client.chat("gpt-4o-mini").user("Go")
        )
        stream = builder.stream()
        with pytest.raises(StreamInterruptedError) as caught:  # noqa: PT012
            async with stream:
                async for event in stream:
                    seen.append(event)
    error = caught.value
    assert len(seen) == at
    assert list(error.events) == seen
    assert _text(error.partial) == _delta_text(seen)
    assert "not valid" in str(error)
    assert bad.decode("utf-8", errors="replace")[:40] in str(error)
    assert isinstance(error.__cause__, msgspec.DecodeError)


# -- examples: messages, text(), early exits, secrets --------------------------------------------


def _bad_after(api: str, pieces: list[str], bad: bytes) -> bytes:
    """The first events of a stream up to its text, then `bad`, then the rest, in one read."""
    if api == "responses":
        good = _responses_events(pieces)
        head, tail = good[: 3 + len(pieces)], good[3 + len(pieces) :]
    else:
        good = _chat_chunks(pieces)
        head, tail = good[: 1 + len(pieces)], good[1 + len(pieces) :]
    return b"".join(frame(p) for p in head) + frame(bad) + b"".join(frame(p) for p in tail)


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_text_yields_the_deltas_before_a_malformed_event_then_raises(api: str) -> None:
    body = _bad_after(api, ["Hel", "lo"], b'{"type": "response.output_text.delta", "del')
    texts: list[str] = []
    async with _client([body]) as client:
        builder = (
            client.responses("gpt-5-mini").input("Go")
            if api == "responses"
            else client.chat("gpt-4o-mini").user("Go")
        )
        with pytest.raises(StreamInterruptedError) as caught:  # noqa: PT012
            async with builder.stream() as stream:
                async for text in stream.text():
                    texts.append(text)
    assert texts == ["Hel", "lo"]
    error = caught.value
    assert _text(error.partial) == "Hello"
    assert _delta_text(error.events) == "Hello"
    assert '{"type": "response.output_text.delta", "del' in str(error)
    assert error.request_id == "req_ends"


async def test_a_wrong_shaped_event_names_the_field() -> None:
    bad = b'{"type": "response.output_text.delta", "output_index": 0, "delta": 5}'
    async with _client([_bad_after("responses", ["Hi"], bad)]) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await client.responses("gpt-5-mini").input("Go").stream().until_done()
    assert "$.delta" in str(caught.value)
    assert isinstance(caught.value.__cause__, msgspec.ValidationError)
    assert len(caught.value.events) == 4


async def test_the_excerpt_of_a_malformed_event_is_short_and_has_no_secret() -> None:
    bad = b'{"echo": "Bearer ' + SECRET.encode() + b'", "pad": "' + b"x" * 5000
    async with _client([_bad_after("chat", ["Hi"], bad)]) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await client.chat("gpt-4o-mini").user("Go").stream().until_done()
    error = caught.value
    shown = f"{error} {error!r}"
    assert SECRET not in shown
    assert SECRET[:12] not in shown
    assert "[redacted]" in str(error)
    assert len(str(error)) < 400


async def test_leaving_after_the_good_events_still_reports_the_malformed_one() -> None:
    body = _bad_after("chat", ["Hel", "lo"], b"{not json")
    async with (
        _client([body]) as client,
        client.chat("gpt-4o-mini").user("Go").stream() as stream,
    ):
        async for text in stream.text():
            if text == "lo":
                break  # the bad event was already read, in the same batch
    # The stream is known to be broken: that is what final() says, not "not finished".
    with pytest.raises(StreamInterruptedError) as caught:
        stream.final()
    assert len(caught.value.events) == 3
    assert _text(caught.value.partial) == "Hello"


async def test_leaving_before_a_cut_end_is_not_finished_rather_than_interrupted() -> None:
    body = b"".join(frame(c) for c in _chat_chunks(["Hel", "lo"])[:2])
    async with (
        _client([body]) as client,
        client.chat("gpt-4o-mini").user("Go").stream() as stream,
    ):
        async for _ in stream:
            break
    with pytest.raises(StreamNotFinishedError):
        stream.final()


async def test_done_before_a_finish_reason_is_a_cut_unless_the_builder_allows_it() -> None:
    # `[DONE]` before a finish_reason is how llama-cpp-python cuts a stream short;
    # only a server known never to send finish reasons is taken at its `[DONE]`.
    chunks = _chat_chunks(["Hi"])[:-1]
    body = b"".join(frame(c) for c in chunks) + b"data: [DONE]\n\n"
    async with _client([body]) as client:
        builder = client.chat("gpt-4o-mini").user("Go")
        with pytest.raises(StreamInterruptedError) as caught:
            await builder.stream().until_done()
        final = await builder.require_finish_reason(False).stream().until_done()
    assert "sent [DONE] with choice 0 unfinished" in str(caught.value)
    assert _text(caught.value.partial) == "Hi"
    assert _text(final) == "Hi"
    assert final.choices[0].finish_reason is None


async def test_a_chat_stream_without_done_names_every_unfinished_choice() -> None:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    chunks = [{**head, "choices": [{"index": i, "delta": {"content": f"c{i}"}}]} for i in range(3)]
    chunks.append({**head, "choices": [{"index": 1, "delta": {}, "finish_reason": "stop"}]})
    async with _client([b"".join(frame(c) for c in chunks)]) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await client.chat("gpt-4o-mini").user("Go").n(3).stream().until_done()
    assert "choices 0, 2 unfinished" in str(caught.value)
    assert [c.message.content for c in caught.value.partial.choices] == ["c0", "c1", "c2"]


async def test_a_chat_stream_whose_choices_all_finished_is_whole_without_done() -> None:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    chunks = [
        {**head, "choices": [{"index": i, "delta": {"content": f"c{i}"}, "finish_reason": "stop"}]}
        for i in range(2)
    ]
    async with _client([b"".join(frame(c) for c in chunks)]) as client:
        final = await client.chat("gpt-4o-mini").user("Go").n(2).stream().until_done()
    assert [c.message.content for c in final.choices] == ["c0", "c1"]


async def test_a_chat_stream_with_no_choice_and_no_done_is_interrupted() -> None:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    async with _client([frame({**head, "choices": []})]) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await client.chat("gpt-4o-mini").user("Go").stream().until_done()
    assert "no choice" in str(caught.value)
    assert len(caught.value.events) == 1


async def test_a_structured_stream_cut_short_is_interrupted_not_a_parse_error() -> None:
    class Answer(msgspec.Struct):
        city: str

    pieces = ['{"ci', 'ty": "Pa']
    body = b"".join(frame(e) for e in _responses_events(pieces)[:5])
    async with _client([body]) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await client.responses("gpt-5-mini").input("Go").parse(Answer).stream().until_done()
    assert not isinstance(caught.value, TruncatedOutputError)
    assert caught.value.partial.output_text == '{"city": "Pa'


# -- over a real socket: a server that ends the body cleanly, short of the terminal event ------


async def _serve_cut_stream(listener: anyio.abc.SocketListener, body: bytes) -> None:
    """Answer one request on one connection with `body` as a chunked event stream, ended
    cleanly by the zero-length chunk, then close."""
    async with await listener.accept() as connection:
        request = b""
        while b"\r\n\r\n" not in request:
            request += await connection.receive()
        head, _, rest = request.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            rest += await connection.receive()
        await connection.send(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"x-request-id: req_loopback\r\ntransfer-encoding: chunked\r\n\r\n"
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n0\r\n\r\n"
        )


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_a_cleanly_ended_cut_stream_over_loopback_is_interrupted(api: str) -> None:
    if api == "responses":
        sent: list[Any] = _responses_events(["Bonjour", " le", " monde"])[:6]
    else:
        sent = _chat_chunks(["Bonjour", " le", " monde"])[:4]
    listeners = await anyio.create_tcp_listener(local_host="127.0.0.1")
    (listener,) = listeners.listeners
    async with listener, anyio.create_task_group() as group:
        assert isinstance(listener, anyio.abc.SocketListener)
        group.start_soon(_serve_cut_stream, listener, b"".join(frame(e) for e in sent))
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with Client(api_key=SECRET, base_url=f"http://127.0.0.1:{port}/v1") as client:
            builder = (
                client.responses("gpt-5-mini").input("Go")
                if api == "responses"
                else client.chat("gpt-4o-mini").user("Go")
            )
            with pytest.raises(StreamInterruptedError) as caught:
                await builder.stream().until_done()
    error = caught.value
    assert len(error.events) == len(sent)
    assert _text(error.partial) == "Bonjour le monde"
    assert error.request_id == "req_loopback"
    assert SECRET not in f"{error} {error!r}"


@pytest.mark.parametrize("complete", [True, False], ids=["after-completed", "before-completed"])
async def test_a_responses_stream_ending_with_done_is_judged_by_its_terminal_event(
    complete: bool,
) -> None:
    # Some compatible servers end a Responses stream with `[DONE]`, which the API never sends:
    # it is no malformed event, and only `response.completed` makes the answer whole.
    events = _responses_events(["Hi", " there"])
    sent = events if complete else events[:-1]
    body = b"".join(frame(e) for e in sent) + b"data: [DONE]\n\n"
    async with _client([body]) as client:
        stream = client.responses("gpt-4o-mini").input("Go").stream()
        if complete:
            assert _text(await stream.until_done()) == "Hi there"
        else:
            with pytest.raises(StreamInterruptedError, match=r"before response\.completed"):
                await stream.until_done()
