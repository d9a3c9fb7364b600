"""Every fault, chosen both ways: per request by the `x-mock-fault` header, and ahead of time on
the server (`fail_next`). Raw HTTP over loopback, so each fault shows on the wire as it is
documented; what our client makes of each is in test_builder_faults.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import get_args

import httpx
import pytest

from openai_ergo.mock import Fault, FaultKind, MockServer

CHAT = "/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
STREAM = {**BODY, "stream": True}
#: A read timeout short enough for a fast file, long enough for a busy 2-core machine.
SILENCE = 0.25

Probe = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[None]]


async def _status(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await http.post(CHAT, json=BODY, headers=headers)


async def _events(http: httpx.AsyncClient, headers: dict[str, str], into: list[str]) -> None:
    """Every `data:` payload of a chat stream, until it ends or breaks (the caller sees how)."""
    timeout = httpx.Timeout(5.0, read=SILENCE)
    request = http.build_request("POST", CHAT, json=STREAM, headers=headers, timeout=timeout)
    response = await http.send(request, stream=True)
    try:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                into.append(line.removeprefix("data: "))
    finally:
        await response.aclose()


async def rate_limit(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _status(http, headers)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert int(response.headers["x-ratelimit-limit-requests"]) > 0
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


async def server_error(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _status(http, headers)
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "server_error"


async def html(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await _status(http, headers)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def hang(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await http.post(CHAT, json=BODY, headers=headers, timeout=httpx.Timeout(5, read=SILENCE))


async def idle(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    received: list[str] = []
    with pytest.raises(httpx.ReadTimeout):
        await _events(http, headers, received)
    assert len(received) == 2


async def disconnect(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        await _events(http, headers, received)
    assert len(received) == 2
    assert all(json.loads(data)["object"] == "chat.completion.chunk" for data in received)


async def malformed(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    received: list[str] = []
    await _events(http, headers, received)
    with pytest.raises(json.JSONDecodeError):
        json.loads(received[2])
    assert [json.loads(data)["object"] for data in received[:2]] == ["chat.completion.chunk"] * 2
    assert received[-1] == "[DONE]"


async def error_event(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    received: list[str] = []
    await _events(http, headers, received)
    assert len(received) == 3
    assert json.loads(received[-1])["error"]["code"] == "server_error"


#: Each fault: its header form, the same fault built in code, and what the wire shows.
FAULTS: dict[str, tuple[str, Fault, Probe]] = {
    "rate_limit": ("rate_limit", Fault.rate_limit(), rate_limit),
    "server_error": ("server_error; status=503", Fault.server_error(503), server_error),
    "html": ("html", Fault.html(), html),
    "hang": ("hang", Fault.hang(), hang),
    "idle": ("idle; after=2", Fault.idle(after=2), idle),
    "disconnect": ("disconnect; after=2", Fault.disconnect(after=2), disconnect),
    "malformed": ("malformed; after=2", Fault.malformed(after=2), malformed),
    "error_event": ("error_event; after=2", Fault.error_event(after=2), error_event),
}


def test_the_table_covers_every_fault_kind() -> None:
    assert set(FAULTS) == set(get_args(FaultKind))
    for header, fault, _ in FAULTS.values():
        assert Fault.parse(header).kind == fault.kind


@pytest.fixture
async def http(mock_openai: MockServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mock_openai.url, timeout=5.0) as client:
        yield client


@pytest.mark.parametrize("kind", list(FAULTS))
async def test_a_fault_chosen_by_header_strikes_that_request_only(
    mock_openai: MockServer, http: httpx.AsyncClient, kind: str
) -> None:
    header, _, probe = FAULTS[kind]
    await probe(http, {"x-mock-fault": header})
    assert (await _status(http, {})).status_code == 200
    assert len(mock_openai.requests) == 2


@pytest.mark.parametrize("kind", list(FAULTS))
async def test_a_fault_armed_on_the_server_strikes_the_next_request_only(
    mock_openai: MockServer, http: httpx.AsyncClient, kind: str
) -> None:
    _, fault, probe = FAULTS[kind]
    mock_openai.fail_next(fault, path=CHAT)
    assert (await http.get("/models")).status_code == 200  # another path: not struck
    await probe(http, {})
    assert (await _status(http, {})).status_code == 200
    assert len(mock_openai.requests) == 3
