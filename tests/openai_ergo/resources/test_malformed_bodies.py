"""A 2xx body that is not the object the endpoint promises is `APIResponseValidationError`.

Through `await builder`, `parse()` and the tool loop of both APIs: the error says which request,
the status and request id, the decoder's message naming the field, and an excerpt of the body
with secrets removed; nothing of msgspec escapes, and nothing is retried (the server answered).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import msgspec
import pytest

from openai_ergo import (
    APIError,
    APIResponseValidationError,
    Client,
    OpenAIErgoError,
    ToolRun,
    tool,
)
from tests.openai_ergo.canned import canned_client

SECRET = "sk-proj-AbCdEf0123456789secret"

Ask = Callable[[Client], Coroutine[Any, Any, Any]]


class Answer(msgspec.Struct):
    """A structured answer."""

    city: str


@tool
async def lookup(city: str) -> str:
    """Look a city up."""
    return city


async def _run(run: ToolRun[Any]) -> Any:
    return await run


ASKS: dict[str, Ask] = {
    "responses": lambda c: c.responses("gpt-5-mini").input("Go").create(),
    "chat": lambda c: c.chat("gpt-4o-mini").user("Go").create(),
    "responses.parse": lambda c: c.responses("gpt-5-mini").input("Go").parse(Answer).create(),
    "chat.parse": lambda c: c.chat("gpt-4o-mini").user("Go").parse(Answer).create(),
    "responses.run": lambda c: _run(c.responses("gpt-5-mini").input("Go").tools(lookup).run()),
    "chat.run": lambda c: _run(c.chat("gpt-4o-mini").user("Go").tools(lookup).run()),
}
PATHS = {"responses": "/v1/responses", "chat": "/v1/chat/completions"}
WHAT = {"responses": "Response", "chat": "ChatCompletion"}


def _client(body: bytes, requests: list[httpx.Request], status: int = 200) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        headers = {"content-type": "application/json", "x-request-id": "req_bad_body"}
        return httpx.Response(status, headers=headers, content=body)

    return canned_client(handler, api_key=SECRET, circuit_breaker=False)


async def _error(ask: str, body: bytes, status: int = 200) -> APIResponseValidationError:
    requests: list[httpx.Request] = []
    async with _client(body, requests, status) as client:
        with pytest.raises(APIResponseValidationError) as caught:
            await ASKS[ask](client)
    assert len(requests) == 1  # the server answered: asking again would not help
    return caught.value


@pytest.mark.parametrize("ask", list(ASKS))
async def test_a_body_that_is_not_json_is_a_typed_error_with_an_excerpt(ask: str) -> None:
    api = ask.split(".")[0]
    error = await _error(ask, b"<html><body>Upstream said hello</body></html>")
    assert isinstance(error, APIError)
    assert isinstance(error, OpenAIErgoError)
    assert not isinstance(error, msgspec.MsgspecError)
    assert error.status_code == 200
    assert error.request_id == "req_bad_body"
    assert error.method == "POST"
    assert error.url == f"http://api.test{PATHS[api]}"
    assert error.body == "<html><body>Upstream said hello</body></html>"
    assert "malformed" in error.reason
    assert str(error).startswith(f"POST {PATHS[api]} answered 200 with a body that is not")
    assert f"a valid {WHAT[api]}" in str(error)
    assert "req_bad_body" in str(error)
    assert "Upstream said hello" in str(error)
    assert isinstance(error.__cause__, msgspec.DecodeError)


@pytest.mark.parametrize(
    ("api", "body", "named"),
    [
        (
            "responses",
            {"id": "resp_1", "output": [{"type": "message", "id": "m", "content": "Hi"}]},
            "at `$.output[0].content`",
        ),
        (
            "responses",
            {"id": "resp_1", "usage": {"input_tokens": "many"}},
            "at `$.usage.input_tokens`",
        ),
        (
            "chat",
            {"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": 5}}]},
            "at `$.choices[0].message.content`",
        ),
        ("chat", [1, 2], "Expected `object`, got `array`"),
    ],
)
async def test_a_wrong_shaped_body_names_the_field(api: str, body: Any, named: str) -> None:
    error = await _error(api, msgspec.json.encode(body))
    assert named in error.reason
    assert error.reason in str(error)
    assert isinstance(error.__cause__, msgspec.ValidationError)


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_the_excerpt_is_bounded_and_has_no_secret(api: str) -> None:
    body = b'{"echo": "Bearer ' + SECRET.encode() + b'", "pad": [' + b"1," * 10_000
    error = await _error(api, body)
    shown = f"{error} {error!r} {error.body} {error.reason}"
    assert SECRET not in shown
    assert SECRET[:12] not in shown
    assert "[redacted]" in error.body
    assert len(error.body) <= 160
    assert len(str(error)) < 500


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_an_empty_body_says_so(api: str) -> None:
    error = await _error(api, b"", status=201)
    assert error.status_code == 201
    assert error.body == ""
    assert "the body is empty" in str(error)
