"""Testing with the mock: pytest tests of your own code against the `mock_openai` fixture.

This file is a pytest module and a program: run it (`python examples/testing_with_mock.py`) and
it runs its own tests, under asyncio and trio, and prints pytest's report. In your project, load
the plugin once in `conftest.py`:

    pytest_plugins = ["openai_ergo.mock.pytest_plugin"]

and take the `mock_openai` fixture: a `MockServer` on a loopback port, shared by the session and
reset before every test (recorded requests, queued replies, armed faults, stored objects; settings
a test changes are put back). docs/mock-server.md describes everything it can do.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from openai_ergo import Client, RetryPolicy, StreamInterruptedError, tool
from openai_ergo.mock import MockServer, RecordedRequest, Reply, ToolCall

pytest_plugins = ["openai_ergo.mock.pytest_plugin"]


# -- the code under test: a tiny application ----------------------------------------------------


async def capital_of(client: Client, country: str) -> str:
    """Asks the model for a capital, in one word."""
    reply = (
        await client.chat("gpt-4o-mini").system("Answer in one word.").user(country).temperature(0)
    )
    return reply.text.strip(" .")


@tool
def population(city: str) -> int:
    """The population of a city.

    Args:
        city: The city, e.g. Paris.
    """
    return {"Paris": 2_100_000}.get(city, 0)


async def describe(client: Client, city: str) -> str:
    """Asks about a city with a tool the model may call."""
    run = client.responses("gpt-5-mini").tools(population).input(f"How big is {city}?").run()
    return (await run).output_text


async def story(client: Client) -> str:
    """Streams a story; a broken stream still gives what arrived, marked as cut."""
    try:
        async with client.chat("gpt-4o-mini").user("A story").stream() as stream:
            return "".join([text async for text in stream.text()])
    except StreamInterruptedError as err:
        kept = err.partial.choices[0].message.content if err.partial else None
        return f"{kept or ''} [cut]"


# -- the tests ----------------------------------------------------------------------------------


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs on both backends."""
    return str(request.param)


@pytest.fixture
async def client(mock_openai: MockServer) -> AsyncIterator[Client]:
    """A client on the mock, retrying fast so fault tests stay quick."""
    retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)
    async with Client(base_url=mock_openai.url, api_key="sk-test", retry=retry) as client:
        yield client


@pytest.mark.anyio
async def test_a_scripted_reply(client: Client, mock_openai: MockServer) -> None:
    mock_openai.reply_with("Paris.")  # the next chat or Responses request gets this text
    assert await capital_of(client, "France") == "Paris"


@pytest.mark.anyio
async def test_the_request_log_shows_what_was_sent(client: Client, mock_openai: MockServer) -> None:
    await capital_of(client, "Peru")
    [request] = mock_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["temperature"] == 0
    assert request.json["messages"][-1] == {"role": "user", "content": "Peru"}
    assert request.headers["authorization"] == "Bearer sk-test"  # masked in its repr


@pytest.mark.anyio
async def test_a_rate_limit_is_retried(client: Client, mock_openai: MockServer) -> None:
    mock_openai.fail_next("rate_limit; retry_after=0.05")
    mock_openai.fail_next("server_error; status=503")
    assert await capital_of(client, "Chile")
    assert len(mock_openai.requests) == 3  # two faults, then the answer


@pytest.mark.anyio
async def test_a_tool_call_scripted_by_a_responder(client: Client, mock_openai: MockServer) -> None:
    def responder(request: RecordedRequest) -> Reply | str | None:
        if "function_call_output" in str(request.json.get("input")):
            return "About two million people."
        return Reply(tool_calls=(ToolCall(name="population", arguments={"city": "Paris"}),))

    mock_openai.app.responder = responder  # put back after the test by the fixture
    assert await describe(client, "Paris") == "About two million people."
    second = mock_openai.requests[1].json["input"]
    assert any(item.get("output") == "2100000" for item in second)


@pytest.mark.anyio
async def test_a_broken_stream_keeps_its_text(client: Client, mock_openai: MockServer) -> None:
    mock_openai.reply_with("Once upon a time there was a river.")
    mock_openai.fail_next("disconnect; after=4", path="/v1/chat/completions")
    assert await story(client) == "Once upon a [cut]"


if __name__ == "__main__":
    # A fresh interpreter, as `pytest` on the command line would be (this one has imported the
    # plugins pytest would load); leave no __pycache__ or .pytest_cache behind.
    command = [sys.executable, "-B", "-m", "pytest", __file__, "-v", "-p", "no:cacheprovider"]
    sys.exit(subprocess.run([*command, "-W", "error"], check=False).returncode)
