"""The mock on a real loopback socket: lifecycle, pacing, and the faults that need real time."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest

from openai_ergo import ConfigurationError
from openai_ergo.mock import MockOpenAI, MockServer, client_or_mock, serve

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


@contextlib.contextmanager
def _serving_command_line(*args: str) -> Iterator[str]:
    """Run `python -m openai_ergo.mock --port 0 ARGS`; the base URL it prints first; terminated
    after the block, which it must survive with exit status 0."""
    process = subprocess.Popen(
        [sys.executable, "-m", "openai_ergo.mock", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/v1", line)
        assert found, line
        yield found.group(0)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def test_command_line_prints_its_url_arms_faults_and_stops_on_terminate() -> None:
    with _serving_command_line("--seed", "5", "--fail-next", "rate_limit; retry_after=0") as url:
        limited = httpx.post(f"{url}/chat/completions", json=CHAT)
        assert limited.status_code == 429
        response = httpx.post(f"{url}/chat/completions", json=CHAT)
        assert response.status_code == 200


def test_command_line_accepts_only_the_given_keys_and_catalog_models() -> None:
    keys = ["--api-key", "sk-mock-one", "--api-key", "sk-mock-two"]
    with _serving_command_line(*keys, "--strict-models") as url:

        def post(key: str, model: str = "gpt-4o") -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}"}
            body = {**CHAT, "model": model}
            return httpx.post(f"{url}/chat/completions", json=body, headers=headers)

        assert post("sk-mock-one").status_code == 200
        assert post("sk-mock-two").status_code == 200
        refused = post("sk-mock-three")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        unknown = post("sk-mock-one", model="gpt-6-astra")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "model_not_found"


def _command_line(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openai_ergo.mock", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_command_line_names_a_bad_fault_and_a_busy_port() -> None:
    bad = _command_line("--port", "0", "--fail-next", "explode")
    assert bad.returncode == 2
    assert "unknown fault 'explode'" in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = _command_line("--port", str(port))
    assert busy.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in busy.stderr
    assert "Traceback" not in busy.stderr


# -- the `mock` extra --------------------------------------------------------------------------


def test_without_uvicorn_serving_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if `pip install openai-ergo` ran without `[mock]`: importing uvicorn fails.
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    before = len(_mock_threads())
    for start in (serve, MockServer):
        with pytest.raises(ConfigurationError, match=re.escape("pip install 'openai-ergo[mock]'")):
            start()
    assert len(_mock_threads()) == before
    # The app itself needs no server: in-process use goes on working.
    assert MockOpenAI().requests == []


def test_nothing_imports_uvicorn_until_a_server_starts() -> None:
    code = (
        "import sys, openai_ergo\n"
        "assert 'openai_ergo.mock' not in sys.modules\n"
        "import openai_ergo.mock, openai_ergo.mock.pytest_plugin\n"
        "server = openai_ergo.mock.serve()\n"
        "assert 'uvicorn' not in sys.modules, 'imported uvicorn'\n"
        "with server:\n"
        "    assert 'uvicorn' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# -- lifetime edge cases ------------------------------------------------------------------------


async def test_cancelled_while_starting_the_server_is_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = len(_mock_threads())
    server = serve()
    start = server.start

    with anyio.CancelScope() as scope:

        def start_then_get_cancelled() -> None:
            # The server is up, and the caller is cancelled before `__aenter__` returns.
            start()
            anyio.from_thread.run_sync(scope.cancel)

        monkeypatch.setattr(server, "start", start_then_get_cancelled)
        async with server:
            await anyio.sleep_forever()  # the cancellation lands here, and the server stops
    assert scope.cancelled_caught
    assert not server.running
    assert len(_mock_threads()) == before


async def test_the_url_stays_readable_after_stopping() -> None:
    async with serve() as server:
        url = server.url
    assert server.url == url
    with pytest.raises(RuntimeError, match="not started"):
        _ = serve().url


async def test_the_server_settings_pace_every_stream(mock_openai: MockServer) -> None:
    # No header: the pace and latency set on the server apply.
    mock_openai.app.tokens_per_second = 100.0
    mock_openai.app.latency = 0.05
    arrivals: list[float] = []
    async with httpx.AsyncClient(base_url=mock_openai.url, timeout=5.0) as http:
        # From before the request is sent: the server paces from when the request arrived, so
        # headers that reach a loaded client late leave less of the schedule after them.
        start = anyio.current_time()
        async with http.stream(
            "POST", "/responses", json=STREAM, headers={"x-mock-reply-tokens": "5"}
        ) as response:
            async for line in response.aiter_lines():
                if '"response.output_text.delta"' in line:
                    arrivals.append(anyio.current_time() - start)
    assert len(arrivals) == 5
    # Lower bounds the server guarantees: the latency, then one token per 1/100 s.
    assert arrivals[-1] >= 0.05 + 4 / 100


async def test_client_or_mock_serves_the_mock_without_a_key_and_closes_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    async with client_or_mock(seed=3) as client:
        assert str(client.base_url).startswith("http://127.0.0.1:")
        reply = await client.responses("gpt-5-mini").input("Hi")
        assert reply.output_text
        url = str(client.base_url)
    assert client.is_closed
    async with httpx.AsyncClient() as http:  # the server went with the client
        with pytest.raises(httpx.ConnectError):
            await http.get(url + "/models")


async def test_client_or_mock_talks_to_openai_when_a_key_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    async with client_or_mock(seed=3) as client:
        assert str(client.base_url).startswith("https://api.openai.com/v1")
    assert client.is_closed


def test_accepted_connections_answer_without_nagles_delay() -> None:
    # An answer goes out in parts (headers, then the body): with Nagle's algorithm on, each
    # part after the first waits for the client's delayed ACK, about 40 ms a response on
    # Linux, which every round trip to the mock (and every benchmark ratio against one) would
    # carry. The effect is a delay, so the setting itself is read off the accepted connection.
    with MockServer(MockOpenAI()) as server, httpx.Client(trust_env=False) as http:
        assert http.get(f"{server.url}/models", headers={"Authorization": "Bearer sk"}).is_success
        uvicorn_server: Any = server._server
        connections = list(uvicorn_server.server_state.connections)
        assert connections, "the keep-alive connection is open"
        for connection in connections:
            sock = connection.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
