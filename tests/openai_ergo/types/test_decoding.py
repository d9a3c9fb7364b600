"""Decoding is forward compatible and tolerant, yet loud about malformed known objects."""

from __future__ import annotations

import msgspec
import pytest

from openai_ergo.types import (
    FunctionCall,
    OutputMessage,
    OutputText,
    ResponseErrorEvent,
    ResponseOutputItemAddedEvent,
    ResponseTextDeltaEvent,
    UnknownAnnotation,
    UnknownContent,
    UnknownEvent,
    UnknownOutputItem,
    decode_chat_chunk,
    decode_chat_completion,
    decode_response,
    decode_response_event,
)


def test_a_delta_event_needs_only_its_tag_and_text_and_ignores_unknown_fields() -> None:
    event = decode_response_event(
        b'{"type":"response.output_text.delta","delta":"Hi","obfuscation":"x","new":[1]}'
    )
    assert event == ResponseTextDeltaEvent(delta="Hi")
    assert event.type == "response.output_text.delta"


def test_an_unknown_event_type_keeps_its_raw_payload() -> None:
    payload = '{"type":"response.telepathy.delta","delta":"?","sequence_number":9}'
    event = decode_response_event(payload)
    assert event == UnknownEvent(raw=msgspec.json.decode(payload))
    # The tag reads "<unknown>" (so a comparison with a known tag never matches it); the one the
    # server sent stays in `raw`, and plain data is the payload as it came.
    assert event.type == "<unknown>"
    assert event.raw["type"] == "response.telepathy.delta"
    assert event.to_dict() == msgspec.json.decode(payload)
    assert msgspec.json.decode(event.to_json()) == msgspec.json.decode(payload)


def test_unknown_items_parts_and_annotations_keep_their_raw_payload() -> None:
    item = {"type": "hologram_call", "id": "h_1", "beam": 3}
    part = {"type": "output_hologram", "frames": 2}
    note = {"type": "smell_citation", "odour": "rose"}
    text = {"type": "output_text", "text": "Hi", "annotations": [note]}
    message = {"type": "message", "id": "m_1", "content": [text, part]}
    body = msgspec.json.encode({"id": "resp_1", "output": [message, item]})
    response = decode_response(body)
    assert response.output[1] == UnknownOutputItem(raw=item)
    first = response.output[0]
    assert isinstance(first, OutputMessage)
    assert first.content[1] == UnknownContent(raw=part)
    assert first.content[0] == OutputText(text="Hi", annotations=[UnknownAnnotation(raw=note)])
    assert response.output_text == "Hi"
    assert response.to_dict()["output"] == [message, item]
    event = decode_response_event(
        msgspec.json.encode({"type": "response.output_item.added", "item": item})
    )
    assert event == ResponseOutputItemAddedEvent(item=UnknownOutputItem(raw=item))


def test_a_bad_field_in_a_known_event_is_an_error_not_an_unknown_event() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.delta"):
        decode_response_event(b'{"type":"response.output_text.delta","delta":3}')
    with pytest.raises(msgspec.ValidationError, match=r"\$\.item\.arguments"):
        decode_response_event(
            b'{"type":"response.output_item.added","item":{"type":"function_call","arguments":1}}'
        )


def test_payloads_without_a_type_or_json_fail_clearly() -> None:
    with pytest.raises(msgspec.ValidationError, match="type"):
        decode_response_event(b'{"delta":"x"}')
    with pytest.raises(msgspec.DecodeError):
        decode_response_event(b'{"type": ')
    with pytest.raises(msgspec.ValidationError):
        decode_response_event(b"[1]")


def test_the_error_event_reads_the_spec_and_the_live_shapes() -> None:
    spec = decode_response_event(b'{"type":"error","code":"c","message":"m","param":"p"}')
    live = decode_response_event(
        b'{"type":"error","error":{"type":"t","code":"c","message":"m","param":null}}'
    )
    assert isinstance(spec, ResponseErrorEvent)
    assert isinstance(live, ResponseErrorEvent)
    assert (spec.detail().code, spec.detail().message, spec.detail().param) == ("c", "m", "p")
    assert (live.detail().type, live.detail().code, live.detail().message) == ("t", "c", "m")


def test_a_mid_stream_chat_error_is_a_chunk_with_error() -> None:
    chunk = decode_chat_chunk(
        b'{"error":{"message":"overloaded","type":"server_error","code":503}}'
    )
    assert chunk.error is not None
    assert (chunk.error.message, chunk.error.code) == ("overloaded", 503)
    assert chunk.choices == []


def test_chunks_from_compatible_servers_decode_with_little() -> None:
    chunk = decode_chat_chunk(
        b'{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{"}}]}}]}'
    )
    calls = chunk.choices[0].delta.tool_calls
    assert calls is not None
    assert calls[0].function is not None
    assert (calls[0].index, calls[0].function.arguments, calls[0].id) == (0, "{", None)
    assert decode_chat_chunk(b"{}").error is None


def test_a_completion_with_a_custom_tool_call_decodes() -> None:
    completion = decode_chat_completion(
        b'{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":'
        b'[{"id":"c1","type":"custom","custom":{"name":"sql","input":"SELECT 1"}}]},'
        b'"finish_reason":"tool_calls","index":0}]}'
    )
    (call,) = completion.choices[0].message.tool_calls or []
    assert call.custom is not None
    assert (call.type, call.custom.name, call.custom.input) == ("custom", "sql", "SELECT 1")
    assert completion.text == ""


def test_the_type_tag_is_read_only_and_encoded_first() -> None:
    call = FunctionCall(call_id="c", name="f", arguments="{}")
    assert call.type == "function_call"
    assert (
        msgspec.json.encode(call)
        == b'{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}'
    )
    with pytest.raises(TypeError):
        FunctionCall(type="other")  # type: ignore[call-arg]


def test_accumulators_report_how_a_stream_ended_badly() -> None:
    from openai_ergo import ResponseIncompleteError, StreamEventError
    from openai_ergo.resources._aggregate import ChatCompletionAccumulator, ResponseAccumulator

    chat = ChatCompletionAccumulator()
    chat.add(decode_chat_chunk(b'{"id":"c","choices":[{"index":0,"delta":{"content":"Hel"}}]}'))
    chat.add(decode_chat_chunk(b'{"error":{"message":"overloaded","type":"server_error"}}'))
    failure = chat.failure
    assert failure is not None
    error = failure.to_error(partial=chat.snapshot())
    assert type(error) is StreamEventError
    assert (str(error), error.type, error.partial.text) == ("overloaded", "server_error", "Hel")

    responses = ResponseAccumulator()
    body = b'{"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}'
    responses.add(decode_response_event(b'{"type":"response.incomplete","response":' + body + b"}"))
    failure = responses.failure
    assert failure is not None
    error = failure.to_error(partial=responses.final())
    assert isinstance(error, ResponseIncompleteError)
    assert (error.reason, error.partial.id) == ("max_output_tokens", "r")
    assert "max_output_tokens" in str(error)
