"""Audit records: one per logical request, to the application's sink, with no secret in them."""

from __future__ import annotations

import json

import pytest

from openai_ergo import (
    AuditLog,
    AuditRecord,
    AuthenticationError,
    Client,
    RequestOptions,
    RetryPolicy,
    StreamInterruptedError,
)
from openai_ergo.mock import Fault, MockServer
from tests.openai_ergo.pipeline.conftest import FakeClock

KEY = "sk-test-audit-secret-9876543210"


def audited(server: MockServer, records: list[AuditRecord], **options: object) -> Client:
    return Client(
        api_key=KEY,
        base_url=server.url,
        rate_limiter=False,
        retry=RetryPolicy(max_attempts=3),
        clock=FakeClock(),
        observers=[AuditLog(records.append, tag="reports", **options)],  # type: ignore[arg-type]
    )


async def test_each_request_leaves_one_record_with_who_what_and_how_it_went(
    mock_openai: MockServer,
) -> None:
    records: list[AuditRecord] = []
    mock_openai.fail_next(Fault.server_error(503))
    async with audited(mock_openai, records) as client:
        reply = await client.chat("gpt-4o-mini").user("Hi")
        tagged = RequestOptions(tag="billing")
        async with client.responses("gpt-5-mini").input("Hi").options(tagged).stream() as stream:
            final = await stream.until_done()
    first, second = records
    assert first.method == "POST"
    assert first.path == "/v1/chat/completions"
    assert first.endpoint == "POST /v1/chat/completions"
    assert first.model == "gpt-4o-mini"
    assert first.status == 200
    assert first.attempts == 2  # a 503 first, retried
    assert first.request_id is not None
    assert first.request_id.startswith("req_")
    assert reply.usage is not None
    assert (first.input_tokens, first.output_tokens) == (
        reply.usage.prompt_tokens,
        reply.usage.completion_tokens,
    )
    assert first.tag == "reports"  # the log's own tag, when the request has none
    assert first.stream is False
    assert first.error_type is None
    assert first.duration_ms > 0
    assert first.content is None
    assert second.stream is True
    assert second.tag == "billing"
    assert second.request_id is not None
    assert second.request_id == stream.request_id  # the response's own x-request-id
    assert second.request_id != first.request_id
    assert final.usage is not None
    assert second.output_tokens == final.usage.output_tokens
    assert second.timestamp >= first.timestamp
    assert json.loads(second.to_json())["endpoint"] == "POST /v1/responses"
    assert second.to_dict()["model"] == "gpt-5-mini"


async def test_failed_requests_are_recorded_with_their_error(mock_openai: MockServer) -> None:
    records: list[AuditRecord] = []
    mock_openai.fail_next(Fault.disconnect(after=3))
    async with audited(mock_openai, records) as client:
        with pytest.raises(StreamInterruptedError):
            await client.chat("gpt-4o-mini").user("Rivers?").stream().until_done()
        mock_openai.app.require_api_key = True
        mock_openai.app.api_keys = frozenset({"sk-someone-else"})
        with pytest.raises(AuthenticationError):
            await client.chat("gpt-4o-mini").user("Hi")
    broken, refused = records
    assert broken.error_type == "StreamInterruptedError"
    assert broken.status == 200
    assert refused.error_type == "401"
    assert refused.status == 401


async def test_no_record_ever_holds_the_api_key_even_with_content(mock_openai: MockServer) -> None:
    records: list[AuditRecord] = []
    async with audited(mock_openai, records, include_content=True) as client:
        await client.chat("gpt-4o-mini").system("Be brief.").user(f"My key is {KEY}, keep it")
        await client.responses("gpt-5-mini").instructions(f"Never say {KEY}").input("Hi")
        mock_openai.app.require_api_key = True
        mock_openai.app.api_keys = frozenset({"sk-someone-else"})
        with pytest.raises(AuthenticationError):
            await client.chat("gpt-4o-mini").user("Hi")
    dumped = b"\n".join(record.to_json() for record in records).decode()
    assert len(records) == 3
    assert KEY not in dumped
    assert KEY[3:] not in dumped
    content = records[0].content
    assert content is not None
    assert content["input"][1]["parts"][0]["content"] == "My key is [redacted], keep it"
    assert content["output"][0]["parts"][0]["content"]


def test_a_sink_must_be_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        AuditLog("records.jsonl")  # type: ignore[arg-type]
