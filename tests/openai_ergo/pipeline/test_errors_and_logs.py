"""Error mapping, one log event per attempt, and no secret anywhere a person could read it."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from openai_ergo import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    InternalServerError,
    KeyPool,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    TokenProvider,
    UnprocessableEntityError,
    redact_secrets,
)
from tests.openai_ergo.pipeline.conftest import FakeClock
from tests.openai_ergo.pipeline.scripted import Recorded, Reply, error_body, scripted_server

KEY = "sk-test-SECRET"
NEVER = RetryPolicy.never()


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
async def test_each_status_maps_to_its_error(
    status: int, error_type: type[Exception], anyio_backend: str
) -> None:
    # `anyio_backend` is named so that pytest parametrizes it along with the statuses.
    reply = Reply(status=status, json=error_body("nope", type="t", code="c"))
    async with (
        scripted_server(reply) as server,
        Client(KEY, base_url=server.url, retry=NEVER, circuit_breaker=False) as client,
    ):
        with pytest.raises(error_type) as caught:
            await client.request("GET", "/models")
    assert type(caught.value) is error_type
    assert isinstance(caught.value, APIStatusError)
    assert caught.value.status_code == status


async def test_the_error_reads_as_one_sentence_and_carries_the_details() -> None:
    body = {
        "error": {
            "message": "The model 'x' does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    reply = Reply(status=404, json=body, headers=[("x-request-id", "req_123")])
    async with scripted_server(reply) as server, Client(KEY, base_url=server.url) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.request("POST", "/responses", body={"model": "x"})
    error = caught.value
    assert str(error) == (
        "POST /v1/responses failed with 404 Not Found: The model 'x' does not exist "
        "(code model_not_found, request req_123)."
    )
    assert (error.type, error.code, error.param) == (
        "invalid_request_error",
        "model_not_found",
        "model",
    )
    assert error.request_id == "req_123"
    assert error.method == "POST"
    assert error.url == server.url + "/responses"
    assert error.headers["x-request-id"] == "req_123"
    assert error.body == body


async def test_an_html_error_page_is_a_clean_error_with_a_short_excerpt(clock: FakeClock) -> None:
    page = (
        b"<html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head>"
        b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
        + b"<p>padding</p>" * 200
        + b"</body></html>"
    )
    reply = Reply(status=502, body=page, content_type="text/html")
    async with (
        scripted_server(reply) as server,
        Client(KEY, base_url=server.url, retry=NEVER) as client,
    ):
        with pytest.raises(InternalServerError) as caught:
            await client.request("GET", "/models")
    message = str(caught.value)
    assert message.startswith(
        "GET /v1/models failed with 502 Bad Gateway: the server sent a non-JSON"
    )
    assert "502 Bad Gateway nginx" in message
    assert "<" not in message
    assert "color:red" not in message
    assert len(message) < 400


async def test_one_log_event_per_attempt_and_never_the_key(clock: FakeClock) -> None:
    echo = Reply(
        status=401,
        json=error_body(f"Incorrect API key provided: {KEY}. Bearer {KEY}", code="invalid_api_key"),
        headers=[("x-request-id", "req_a")],
    )
    with capture_logs() as logs:
        async with (
            scripted_server(Reply(status=500), Reply(status=500), Reply(json={}), echo) as server,
            Client(KEY, base_url=server.url, clock=clock) as client,
        ):
            response = await client.request("POST", "/responses", body={"input": "x"})
            with pytest.raises(AuthenticationError) as caught:
                await client.request("GET", "/models")
            texts = [repr(client), str(client), repr(response), str(caught.value)]
            texts += [repr(caught.value.body), repr(caught.value.attempts)]
    events = [e for e in logs if e["event"] == "openai_ergo.request"]
    assert [e["attempt"] for e in events] == [1, 2, 3, 1]
    assert [e["status"] for e in events] == [500, 500, 200, 401]
    assert [e["log_level"] for e in events] == ["warning", "warning", "info", "warning"]
    assert events[0]["method"] == "POST"
    assert events[0]["path"] == "/v1/responses"
    assert events[0]["retry_in"] > 0
    assert events[3]["request_id"] == "req_a"
    assert all(isinstance(e["ms"], float) for e in events)
    everything = repr(logs) + "".join(texts)
    assert "SECRET" not in everything
    assert "Incorrect API key provided: [redacted]" in str(caught.value)


def test_a_default_client_prints_nothing() -> None:
    code = """
import anyio, httpx, openai_ergo

async def main():
    transport = httpx.MockTransport(lambda request: httpx.Response(500))
    policy = openai_ergo.RetryPolicy(max_attempts=2, initial_backoff=0.0)
    async with openai_ergo.Client("sk-test-SECRET", transport=transport, retry=policy) as client:
        try:
            await client.request("GET", "/models")
        except openai_ergo.InternalServerError:
            pass

anyio.run(main)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == ""
    assert out.stderr == ""


def test_the_redaction_processor_scrubs_user_events_too() -> None:
    event: dict[str, Any] = {
        "event": f"calling with {KEY}",
        "headers": {"Authorization": f"Bearer {KEY}", "api-key": "azure-123", "accept": "x"},
        "token": "eyJhbGciOi.eyJzdWIi.sig",
        "note": "Bearer abc.def",
    }
    with capture_logs(processors=[redact_secrets]) as logs:
        structlog.get_logger("app").info(**event)
    logged = logs[0]
    assert "SECRET" not in repr(logged)
    assert "azure-123" not in repr(logged)
    assert "eyJ" not in repr(logged)
    assert "abc.def" not in repr(logged)
    assert logged["headers"]["accept"] == "x"


async def test_pooled_keys_and_tokens_never_show_either(clock: FakeClock) -> None:
    keys = ["sk-test-SECRET-one", "sk-test-SECRET-two"]

    async def echo(request: Recorded) -> Reply:
        # A proxy that quotes the credential back, in the message and in the body.
        sent = request.headers["authorization"]
        body = {"error": {"message": f"denied for {sent}", "echo": sent}}
        return Reply(status=403, json=body)

    async def fetch() -> tuple[str, float]:
        return "tok-SECRET-entra", 4_000_000_000.0

    texts: list[str] = []
    with capture_logs() as logs:
        async with scripted_server() as server:
            server.handler = echo
            for auth in (KeyPool(keys, clock=clock), TokenProvider(fetch)):
                async with Client(auth=auth, base_url=server.url, clock=clock) as client:
                    with pytest.raises(PermissionDeniedError) as caught:
                        await client.request("POST", "/responses", body={"input": "x"})
                    error = caught.value
                    texts += [repr(client), str(client), repr(auth), str(error)]
                    texts += [repr(error.body), repr(error.attempts), repr(error.args)]
    assert len(logs) == 2
    everything = repr(logs) + "".join(texts)
    assert "SECRET" not in everything
    assert "denied for Bearer [redacted]" in everything


def test_importing_the_client_does_not_import_structlog() -> None:
    # Only an application that configured structlog gets events, and it imported structlog.
    code = "import sys, openai_ergo; print('structlog' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
