"""Every example in the OpenAPI spec decodes into our types, with its values, and round-trips."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from openai_ergo import types
from openai_ergo.types import (
    ChatCompletion,
    OutputMessage,
    OutputText,
    Response,
    UnknownEvent,
    decode_chat_chunk,
    decode_chat_completion,
    decode_response,
    decode_response_event,
)
from tests.openai_ergo.types._samples import openapi_spec, sse_data, subset


def _event_schemas() -> list[tuple[str, dict[str, Any]]]:
    schemas = openapi_spec()["components"]["schemas"]
    members = schemas["ResponseStreamEvent"]["anyOf"]
    names = [member["$ref"].rsplit("/", 1)[1] for member in members]
    return [(name, schemas[name]) for name in names]


def _path_examples(path: str, method: str) -> list[dict[str, Any]]:
    examples = openapi_spec()["paths"][path][method]["x-oaiMeta"]["examples"]
    return examples if isinstance(examples, list) else [examples]


def _json_responses(path: str, method: str) -> list[Any]:
    found = []
    for example in _path_examples(path, method):
        try:
            found.append(json.loads(example.get("response", "")))
        except json.JSONDecodeError:
            continue  # a streamed example: SSE text or one chunk per line
    return found


def test_every_stream_event_of_the_spec_has_a_class_with_its_tag() -> None:
    schemas = _event_schemas()
    assert len(schemas) >= 50
    for name, schema in schemas:
        cls = getattr(types, name)
        assert cls.__struct_config__.tag == schema["properties"]["type"]["enum"][0], name


def test_every_stream_event_example_decodes_to_its_class_with_its_values() -> None:
    checked = 0
    for name, schema in _event_schemas():
        example = schema.get("x-oaiMeta", {}).get("example")
        if example is None:
            continue
        try:
            raw = json.loads(example)
        except json.JSONDecodeError:
            # The spec ships one example with a missing comma: invalid JSON is a clear error.
            with pytest.raises(msgspec.DecodeError):
                decode_response_event(example)
            continue
        event = decode_response_event(example)
        assert type(event) is getattr(types, name)
        assert event.type == raw["type"]
        for field in event.__struct_fields__:
            value = raw.get(field)
            if isinstance(value, (str, int, float, bool)):
                assert getattr(event, field) == value, (name, field)
        # Encoding keeps the meaning: everything we send back is what the example said.
        encoded = msgspec.json.decode(msgspec.json.encode(event))
        assert subset(encoded, raw), name
        assert decode_response_event(msgspec.json.encode(event)) == event
        checked += 1
    assert checked >= 45


def test_lifecycle_event_examples_carry_their_response() -> None:
    for _, schema in _event_schemas():
        example = schema.get("x-oaiMeta", {}).get("example")
        if example is None or '"response":' not in example:
            continue
        raw = json.loads(example)["response"]
        event = decode_response_event(example)
        response = event.response  # type: ignore[union-attr]
        assert isinstance(response, Response)
        # Fields an example leaves out take their defaults instead of failing the decode.
        assert (response.id, response.status, response.model, response.created_at) == (
            raw["id"],
            raw["status"],
            raw.get("model", ""),
            raw.get("created_at"),
        )
        expected = [item["type"] for item in raw.get("output", [])]
        assert [item.type for item in response.output] == expected


def _expected_output_text(raw: dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in raw["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


@pytest.mark.parametrize(
    ("path", "method"), [("/responses", "post"), ("/responses/{response_id}", "get")]
)
def test_response_examples_decode_with_their_values(path: str, method: str) -> None:
    examples = _json_responses(path, method)
    assert examples
    for raw in examples:
        response = decode_response(json.dumps(raw))
        assert (response.id, response.status, response.model) == (
            raw["id"],
            raw["status"],
            raw["model"],
        )
        assert [item.type for item in response.output] == [i["type"] for i in raw["output"]]
        assert response.output_text == _expected_output_text(raw)
        if raw.get("usage"):
            assert response.usage is not None
            assert response.usage.total_tokens == raw["usage"]["total_tokens"]
            details = raw["usage"].get("output_tokens_details")
            if details is not None:
                assert response.usage.output_tokens_details is not None
                reasoning = response.usage.output_tokens_details.reasoning_tokens
                assert reasoning == details["reasoning_tokens"]
        encoded = msgspec.json.decode(msgspec.json.encode(response))
        assert subset(encoded, raw)
        assert decode_response(msgspec.json.encode(response)) == response


def test_response_examples_cover_messages_annotations_tools_and_reasoning() -> None:
    kinds: set[str] = set()
    annotations: set[str] = set()
    for raw in _json_responses("/responses", "post"):
        for item in decode_response(json.dumps(raw)).output:
            kinds.add(item.type)
            if isinstance(item, OutputMessage):
                for part in item.content:
                    if isinstance(part, OutputText):
                        annotations.update(a.type for a in part.annotations)
    assert {"message", "function_call", "file_search_call", "web_search_call"} <= kinds
    assert {"url_citation", "file_citation"} <= annotations


def test_streaming_response_example_decodes_to_known_events() -> None:
    (example,) = [e for e in _path_examples("/responses", "post") if e["title"] == "Streaming"]
    payloads = sse_data(example["response"].encode())
    assert len(payloads) > 5
    for payload in payloads:
        event = decode_response_event(payload)
        assert not isinstance(event, UnknownEvent)
        assert event.type == json.loads(payload)["type"]


def _check_completion(raw: dict[str, Any]) -> None:
    completion = decode_chat_completion(json.dumps(raw))
    assert (completion.id, completion.model, completion.created) == (
        raw["id"],
        raw["model"],
        raw["created"],
    )
    assert len(completion.choices) == len(raw["choices"])
    for choice, raw_choice in zip(completion.choices, raw["choices"], strict=True):
        message = raw_choice["message"]
        assert choice.finish_reason == raw_choice["finish_reason"]
        assert choice.message.content == message.get("content")
        assert [c.function.name for c in choice.message.tool_calls or [] if c.function] == [
            c["function"]["name"] for c in message.get("tool_calls") or []
        ]
        if raw_choice.get("logprobs"):
            assert choice.logprobs is not None
            assert [t.token for t in choice.logprobs.content or []] == [
                t["token"] for t in raw_choice["logprobs"]["content"]
            ]
    if raw.get("usage"):
        assert completion.usage is not None
        assert completion.usage.total_tokens == raw["usage"]["total_tokens"]
    assert subset(msgspec.json.decode(msgspec.json.encode(completion)), raw)
    assert msgspec.json.decode(msgspec.json.encode(completion), type=ChatCompletion) == completion


def test_chat_completion_examples_decode_with_their_values() -> None:
    examples = _json_responses("/chat/completions", "post")
    assert len(examples) >= 3
    for raw in examples:
        _check_completion(raw)
    listed = _json_responses("/chat/completions", "get")[0]["data"]
    assert listed
    for raw in listed:
        _check_completion(raw)


def test_chat_streaming_example_decodes_to_chunks() -> None:
    (example,) = [e for e in _path_examples("/chat/completions", "post") if "Stream" in e["title"]]
    lines = [line for line in example["response"].splitlines() if line.startswith("{")]
    assert lines
    text = ""
    for line in lines:
        chunk = decode_chat_chunk(line)
        raw = json.loads(line)
        assert chunk.id == raw["id"]
        assert chunk.error is None
        text += "".join(c.delta.content or "" for c in chunk.choices)
    assert text == "".join(
        c["delta"].get("content") or "" for line in lines for c in json.loads(line)["choices"]
    )
