"""A 2xx body that is not what the caller asked for is a typed error that quotes it."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from openai_ergo import APIResponseValidationError, Client


class Model(msgspec.Struct):
    id: str
    created: int


def _client(body: bytes) -> Client:
    def app(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "x-request-id": "req_42"}
        return httpx.Response(200, headers=headers, content=body)

    return Client(api_key="sk-test-SECRET", transport=httpx.MockTransport(app))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>upstream proxy says hi sk-test-SECRET</html>", "JSON"),
        (b'{"id": "m", "created": "yesterday"}', "$.created"),
    ],
    ids=["not-json", "wrong-shape"],
)
async def test_parse_raises_a_typed_error_naming_what_was_wrong(body: bytes, reason: str) -> None:
    async with _client(body) as client:
        reply = await client.request("GET", "/models/m")
        with pytest.raises(APIResponseValidationError) as caught:
            reply.parse(Model)
    error = caught.value
    assert reason in error.reason
    assert error.status_code == 200
    assert error.request_id == "req_42"
    assert "GET /v1/models/m answered 200" in str(error)
    assert "sk-test-SECRET" not in str(error) + repr(error.body)


async def test_json_of_a_body_that_is_not_json_is_a_typed_error() -> None:
    async with _client(b"not json at all") as client:
        reply = await client.request("GET", "/models")
        with pytest.raises(APIResponseValidationError, match="not a valid JSON document"):
            reply.json()
