"""The mock on a real loopback socket: lifecycle, pacing, and the faults that need real time."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from openai_ergo.mock import MockServer, serve

STREAM = {"model": "gpt-5-mini", "input": "Hello", "stream": True}


def _mock_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("openai-ergo-mock:")]


@pytest.fixture
async def http(mock_openai: MockServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mock_openai.url, timeout=5.0) as client:
        yield client


async def _read_events(response: httpx.Response, into: list[str]) -> None:
    """Collect `data:` lines until the body ends (or breaks: the caller catches that)."""
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            into.append(line)


async def test_serve_starts_and_stops_from_either_backend() -> None:
    before = len(_mock_threads())
    async with serve(seed=3) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", server.url)
        assert server.running
        async with httpx.AsyncClient(base_url=server.url) as client:
            models = await client.get("/models")
        assert models.status_code == 200
        assert [r.path for r in server.requests] == ["/v1/models"]
    assert "stopped" in repr(server)
    assert len(_mock_threads()) == before


def test_sync_use_and_double_start() -> None:
    with MockServer() as server:
        assert httpx.get(f"{server.url}/models").status_code == 200
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
    assert not server.running
    server.stop()  # idempotent


async def test_fixture_starts_each_test_clean(mock_openai: MockServer) -> None:
    assert mock_openai.requests == []
    assert mock_openai.running


async def test_disconnect_keeps_what_came_before_it(http: httpx.AsyncClient) -> None:
    received: list[str] = []
    headers = {"x-mock-fault": "disconnect; after=5"}
    async with http.stream("POST", "/responses", json=STREAM, headers=headers) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await _read_events(response, received)
    assert len(received) == 5
    assert '"response.output_text.delta"' in received[-1]


async def test_idle_stream_goes_silent_after_some_events(http: httpx.AsyncClient) -> None:
    received: list[str] = []
    headers = {"x-mock-fault": "idle; after=3"}
    timeout = httpx.Timeout(5.0, read=0.3)
    request = http.build_request(
        "POST", "/responses", json=STREAM, headers=headers, timeout=timeout
    )
    response = await http.send(request, stream=True)
    try:
        with pytest.raises(httpx.ReadTimeout):
            await _read_events(response, received)
    finally:
        await response.aclose()
    assert len(received) == 3


async def test_hang_before_headers_times_out_and_the_server_goes_on(
    mock_openai: MockServer, http: httpx.AsyncClient
) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await http.get("/models", headers={"x-mock-fault": "hang"}, timeout=0.3)
    assert (await http.get("/models")).status_code == 200
    assert len(mock_openai.requests) == 2


async def test_bounded_hang_only_delays_the_answer(http: httpx.AsyncClient) -> None:
    start = anyio.current_time()
    response = await http.get("/models", headers={"x-mock-fault": "hang; seconds=0.2"})
    assert response.status_code == 200
    assert anyio.current_time() - start >= 0.2


async def test_stopping_releases_requests_that_hang(anyio_backend: str) -> None:
    outcome: list[httpx.Response] = []
    server = serve()
    async with server, httpx.AsyncClient(base_url=server.url, timeout=30.0) as client:

        async def hang() -> None:
            outcome.append(await client.get("/models", headers={"x-mock-fault": "hang"}))

        with anyio.fail_after(20):  # a guard against a hung test run, not a measurement
            async with anyio.create_task_group() as group:
                group.start_soon(hang)
                # The request arrives in another thread: poll the record it leaves.
                while not server.requests:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                await server.aclose()
    [response] = outcome
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "The server is shutting down."


async def test_pacing_spaces_tokens_and_keeps_the_text(
    mock_openai: MockServer, http: httpx.AsyncClient
) -> None:
    body = {**STREAM, "stream": False}
    headers = {"x-mock-reply-tokens": "6"}
    expected = (await http.post("/responses", json=body, headers=headers)).json()
    start = anyio.current_time()
    paced: list[str] = []
    headers["x-mock-tokens-per-second"] = "50"
    async with http.stream("POST", "/responses", json=STREAM, headers=headers) as response:
        await _read_events(response, paced)
    # Six tokens at 50/s cannot arrive in under 6/50 s: a lower bound the server guarantees.
    assert anyio.current_time() - start >= 6 / 50
    final = json.loads(paced[-1].removeprefix("data: "))
    text = final["response"]["output"][0]["content"][0]["text"]
    assert text == expected["output"][0]["content"][0]["text"]


def test_command_line_prints_its_url_and_stops_on_terminate() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "openai_ergo.mock", "--port", "0", "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/v1", line)
        assert found, line
        response = httpx.post(
            f"{found.group(0)}/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert response.status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
