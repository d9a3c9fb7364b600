"""The blocking facade against the mock: plain (sync) tests, from a running asyncio loop, and
on a trio portal."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import trio

from openai_ergo import Client as AsyncClient
from openai_ergo import (
    ConfigurationError,
    FileUpload,
    InvalidRequestError,
    NotFoundError,
    Parsed,
    RawResponse,
    StreamNotFinishedError,
    blocking,
    tool,
)
from openai_ergo.mock import Fault, MockServer
from openai_ergo.types import ChatCompletion, Response


def _drop(objects: list[Any]) -> None:
    """Let go of the only references to `objects` and collect them."""
    objects.clear()
    gc.collect()


def _portal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "openai-ergo-blocking"]


@pytest.fixture
def client(mock_openai: MockServer) -> Iterator[blocking.Client]:
    with blocking.Client(api_key="sk-mock", base_url=mock_openai.url) as opened:
        yield opened
    assert opened.closed


class Answer(msgspec.Struct):
    word: str


def test_a_builder_is_built_as_in_async_code_and_sent_by_a_blocking_terminal(
    client: blocking.Client, mock_openai: MockServer
) -> None:
    base = client.responses("gpt-5").instructions("Be brief.")
    reply = base.input("Why is the sky blue?").create()
    assert isinstance(reply, Response)
    assert reply.output_text
    # `.result()` is what `await builder` gives; the template is unchanged, as in async code.
    again = base.input("Why is the sky blue?").result()
    assert isinstance(again, Response)
    assert again.output_text == reply.output_text
    assert [r.json["input"] for r in mock_openai.requests] == ["Why is the sky blue?"] * 2
    completion = client.chat("gpt-4o").user("Hi").create()
    assert isinstance(completion, ChatCompletion)


def test_bad_input_raises_the_async_apis_typed_errors(client: blocking.Client) -> None:
    with pytest.raises(InvalidRequestError, match="temperature must be between 0 and 2"):
        client.chat("gpt-4o").temperature(9)
    with pytest.raises(NotFoundError):
        client.files.retrieve("file-missing")
    with pytest.raises(TypeError, match="is not awaitable"):
        client.files.result()
    with pytest.raises(TypeError, match="is not iterable"):
        iter(client.chat("gpt-4o"))


def test_a_stream_is_a_with_block_and_its_text_a_for_loop(client: blocking.Client) -> None:
    pieces: list[str] = []
    with client.chat("gpt-4o").user("Count to 5").stream() as stream:
        assert stream.request_id is not None
        for text in stream.text():
            pieces.append(text)
    completion = stream.final()
    assert isinstance(completion, ChatCompletion)
    assert "".join(pieces) == completion.choices[0].message.content
    assert completion.usage is not None

    with client.responses("gpt-5").input("Hi").stream() as events:
        kinds = [event.type for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert events.final().output_text


def test_a_loop_left_with_break_leaves_the_rest_for_the_next_loop(
    client: blocking.Client,
) -> None:
    # Events decoded from one read cross threads together; those a loop did not reach are
    # still the stream's, as in async code.
    with client.chat("gpt-4o").user("Count to 20").stream() as stream:
        texts = stream.text()
        first = [text for _, text in zip(range(3), texts, strict=False)]
        rest = list(stream.text())
    assert len(first) == 3
    assert "".join(first + rest) == stream.final().choices[0].message.content


def test_one_client_serves_several_threads_at_once(client: blocking.Client) -> None:
    results: dict[int, str] = {}
    failures: list[BaseException] = []

    def ask(number: int) -> None:
        try:
            with client.chat("gpt-4o").user(f"Question {number}").stream() as stream:
                results[number] = "".join(stream.text())
        except BaseException as exc:  # reported below, with the thread's number
            failures.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(results) == [0, 1, 2, 3]
    assert all(results.values())


def test_leaving_a_stream_early_closes_it(client: blocking.Client) -> None:
    with client.chat("gpt-4o").user("Count to 50").stream() as stream:
        for _ in stream.text():
            break
    with pytest.raises(StreamNotFinishedError, match="closed before its end"):
        stream.final()
    assert stream.partial.choices[0].message.content


def test_structured_output_and_raw_responses(
    client: blocking.Client, mock_openai: MockServer
) -> None:
    mock_openai.reply_with('{"word": "hi"}', '{"word": "hi"}')
    parsed = client.chat("gpt-4o").user("Hi").parse(Answer).create()
    assert isinstance(parsed, Parsed)
    assert parsed.parsed == Answer("hi")
    raw = client.responses("gpt-5").input("Hi").parse(Answer).with_raw_response()
    assert isinstance(raw, RawResponse)
    assert raw.request_id is not None
    assert raw.parse().parsed == Answer("hi")


def test_typed_namespaces_return_results_and_paginators_are_plain_iterators(
    client: blocking.Client,
) -> None:
    created = [
        client.files.create(file=FileUpload(b"{}\n", filename=f"f{n}.jsonl"), purpose="batch")
        for n in range(3)
    ]
    listed = list(client.files.list(limit=2, order="asc"))
    assert [f.id for f in listed] == [f.id for f in created]
    pages = list(client.files.list(limit=2).pages())
    assert [len(page.items) for page in pages] == [2, 1]
    raw = client.files.with_raw_response.retrieve(created[0].id)
    assert isinstance(raw, RawResponse)
    assert raw.parse().filename == "f0.jsonl"
    with client.files.content(created[1].id) as body:
        assert body.read() == b"{}\n"


def test_the_portal_and_the_async_client_are_reachable(client: blocking.Client) -> None:
    assert client.portal.call(_backend_name) == "asyncio"
    assert isinstance(client.async_client, AsyncClient)
    assert client.async_client.base_url.startswith("http://127.0.0.1:")


def test_the_tool_loop_runs_to_the_answer(client: blocking.Client, mock_openai: MockServer) -> None:
    from openai_ergo.mock import Reply, ToolCall

    calls: list[str] = []

    @tool
    def shout(word: str) -> str:
        """Shout a word."""
        calls.append(word)
        return word.upper()

    mock_openai.reply_with(
        Reply(tool_calls=(ToolCall(name="shout", arguments={"word": "hi"}),)), "HI it is."
    )
    run = client.responses("gpt-5").input("Shout hi").tools(shout).run()
    answer = run.result()
    assert answer.output_text == "HI it is."
    assert calls == ["hi"]
    assert len(run.steps) == 2


def test_views_passed_back_in_reach_the_async_api_as_their_objects(
    client: blocking.Client, mock_openai: MockServer
) -> None:
    mock_openai.app.batch_seconds = 0
    template = client.chat("gpt-4o").system("Be brief.")
    batch = client.batch().add("q1", template.user("Hi")).add("q2", template.user("Bye"))
    assert len(batch) == 2
    job = batch.submit()
    job.wait(timeout=30, interval=0.01)
    with job.results() as results:
        answers = {result.custom_id: result.value for result in results}
    assert sorted(answers) == ["q1", "q2"]
    assert all(isinstance(value, ChatCompletion) for value in answers.values())


def test_close_stops_the_loop_and_later_calls_say_so(mock_openai: MockServer) -> None:
    before = len(_portal_threads())
    client = blocking.Client(api_key="sk-mock", base_url=mock_openai.url)
    assert len(_portal_threads()) == before + 1
    builder = client.chat("gpt-4o").user("Hi")
    pool = client.async_client.http_client
    client.close()
    client.close()  # idempotent
    assert client.closed
    assert pool.is_closed
    assert len(_portal_threads()) == before
    with pytest.raises(blocking.ClientClosedError, match="was closed"):
        builder.create()
    # What needs no loop still works on the objects a closed client made.
    assert builder.request_body()["model"] == "gpt-4o"
    with pytest.raises(blocking.ClientClosedError):
        client.__enter__()


def test_a_client_dropped_unclosed_warns_and_is_closed(mock_openai: MockServer) -> None:
    before = len(_portal_threads())
    held = [blocking.Client(api_key="sk-mock", base_url=mock_openai.url)]
    pool = held[0].async_client.http_client
    with pytest.warns(ResourceWarning, match="never closed"):
        _drop(held)
    assert pool.is_closed
    assert len(_portal_threads()) == before


def test_an_interrupt_cancels_the_request_it_was_waiting_for(mock_openai: MockServer) -> None:
    # A notebook's stop button raises KeyboardInterrupt in the waiting thread: the request
    # must be cancelled on the loop, not left hanging there (closing would then wait on it).
    mock_openai.fail_next(Fault.hang())
    client = blocking.Client(api_key="sk-mock", base_url=mock_openai.url)
    builder = client.chat("gpt-4o").user("Hi")
    # A real SIGINT: only a signal wakes a thread blocked on a lock, as Ctrl-C does.
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        builder.create()
    interrupted_after = time.monotonic() - started
    closing = threading.Thread(target=client.close)
    closing.start()
    closing.join(timeout=10)
    assert not closing.is_alive(), "close() waited on the interrupted request"
    assert client.closed
    assert interrupted_after < 10


def test_a_bad_setting_fails_the_constructor_and_leaves_no_thread() -> None:
    before = len(_portal_threads())
    with pytest.raises(ConfigurationError, match="base_url"):
        blocking.Client(api_key="sk-mock", base_url="ftp://example.com/v1")
    assert len(_portal_threads()) == before


def test_it_works_inside_a_running_asyncio_loop(mock_openai: MockServer) -> None:
    # A notebook cell runs inside Jupyter's asyncio loop: the facade's loop is another
    # thread's, so blocking calls work there (they hold the notebook's loop while they run).
    async def cell() -> tuple[str, list[str]]:
        asyncio.get_running_loop()  # really inside a running loop
        with blocking.Client(api_key="sk-mock", base_url=mock_openai.url) as client:
            reply = client.responses("gpt-5").input("Hi").create()
            with client.chat("gpt-4o").user("Hi").stream() as stream:
                texts = list(stream.text())
        return reply.output_text, texts

    text, texts = asyncio.run(cell())
    assert text
    assert texts


def test_a_trio_portal_backend_runs_the_same_calls(mock_openai: MockServer) -> None:
    with blocking.Client(api_key="sk-mock", base_url=mock_openai.url, backend="trio") as client:
        loop_kind = client.portal.call(_backend_name)
        reply = client.responses("gpt-5").input("Hi").create()
        with client.chat("gpt-4o").user("Hi").stream() as stream:
            texts = list(stream.text())
    assert loop_kind == "trio"
    assert reply.output_text
    assert "".join(texts) == stream.final().choices[0].message.content


def test_it_works_from_a_trio_program_too(mock_openai: MockServer) -> None:
    def sync_part() -> str:
        with blocking.Client(api_key="sk-mock", base_url=mock_openai.url) as client:
            text: str = client.chat("gpt-4o").user("Hi").create().choices[0].message.content
            return text

    async def program() -> str:
        return sync_part()

    assert trio.run(program)


async def _backend_name() -> str:
    import sniffio

    return sniffio.current_async_library()


def test_client_or_mock_serves_the_mock_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with blocking.client_or_mock(seed=3) as client:
        reply: Any = client.responses("gpt-5").input("Hi").create()
        url = client.async_client.base_url
    assert reply.output_text
    assert url.startswith("http://127.0.0.1:")


def test_a_view_reads_like_its_object(client: blocking.Client) -> None:
    builder = client.chat("gpt-4o").user("Hi")
    assert repr(builder).startswith("<blocking ChatBuilder(")
    assert "user" in dir(builder)
    assert "result" in dir(builder)
    assert builder.model == "gpt-4o"
    assert builder.async_object.model == "gpt-4o"
    assert repr(client).endswith(" open>")
