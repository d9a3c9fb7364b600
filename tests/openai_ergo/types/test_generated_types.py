"""How generated types behave: tolerant decoding, unknown tags kept, members sharing a tag told
apart, narrowing on tags (this file is type-checked with mypy --strict), plain data, lazy
loading."""

from __future__ import annotations

import json
import subprocess
import sys

import msgspec
import pytest

from openai_ergo import types
from openai_ergo.types import (
    Batch,
    CompoundFilter,
    CreateBatchRequest,
    CreateResponse,
    CreateTranscriptionResponse,
    CreateTranscriptionResponseJson,
    CreateTranscriptionResponseVerboseJson,
    EasyInputMessage,
    Filters,
    FunctionTool,
    InputItem,
    InputMessage,
    ListBatchesResponse,
    OutputMessage,
    OutputText,
    Tool,
    UnknownTypeVariant,
    decode,
    decode_response_event,
)


def describe(tool: Tool) -> str:
    """What users write: a comparison on the tag narrows the union to its member."""
    if tool.type == "function":
        return f"function {tool.name}"  # `name` exists only on FunctionTool: narrowing worked
    if tool.type == "web_search":
        return f"web search near {tool.user_location}"
    if isinstance(tool, UnknownTypeVariant):
        return f"unknown {tool.raw['type']}"
    return tool.type


def test_comparing_the_tag_narrows_and_unknown_tags_keep_their_payload() -> None:
    data = b"""[
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "web_search"},
        {"type": "teleport", "destination": "mars"}
    ]"""
    tools = decode(data, type=list[Tool])
    assert [describe(t) for t in tools] == [
        "function get_weather",
        "web search near None",
        "unknown teleport",
    ]
    unknown = tools[2]
    assert isinstance(unknown, UnknownTypeVariant)
    assert unknown.type == "<unknown>"
    assert unknown.to_dict() == {"type": "teleport", "destination": "mars"}


def test_match_on_classes_works_too() -> None:
    tool = decode(b'{"type": "function", "name": "f"}', type=Tool)
    match tool:
        case FunctionTool(name=name):
            assert name == "f"
        case _:
            pytest.fail(f"decoded {tool!r}")


def test_a_known_object_with_a_bad_field_still_fails_naming_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\[1\]\.name"):
        decode(b'[{"type": "teleport"}, {"type": "function", "name": 7}]', type=list[Tool])


def test_response_types_tolerate_missing_fields_unknown_fields_and_new_enum_values() -> None:
    batch = decode(b'{"object": "batch", "status": "hibernating", "brand_new": 1}', type=Batch)
    assert batch.status == "hibernating"
    assert batch.id is None
    assert decode(b"{}", type=Batch).object == "batch"


def test_request_types_keep_the_spec_s_required_fields_required() -> None:
    with pytest.raises(TypeError, match="input_file_id"):
        CreateBatchRequest(endpoint="/v1/responses", completion_window="24h")  # type: ignore[call-arg]
    request = CreateBatchRequest(
        input_file_id="file-1", endpoint="/v1/responses", completion_window="24h"
    )
    # Unset optional fields are not sent.
    assert request.to_dict() == {
        "input_file_id": "file-1",
        "endpoint": "/v1/responses",
        "completion_window": "24h",
    }


def test_members_sharing_a_tag_are_told_apart_by_what_their_payload_holds() -> None:
    data = b"""[
        {"role": "user", "content": "plain text", "type": "message"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "hello", "annotations": []}]},
        {"type": "function_call_output", "call_id": "c1", "output": "42"}
    ]"""
    items = decode(data, type=list[InputItem])
    assert isinstance(items[0], EasyInputMessage)
    assert items[0].content == "plain text"
    assert isinstance(items[1], EasyInputMessage | InputMessage)
    assert isinstance(items[2], OutputMessage)
    assert isinstance(items[2].content[0], OutputText)
    assert items[2].text == "hello"
    assert items[3].type == "function_call_output"


def test_every_typed_object_converts_to_plain_data() -> None:
    page = decode(
        b'{"object": "list", "data": [{"object": "batch", "id": "b1", "status": "completed"}],'
        b' "has_more": false}',
        type=ListBatchesResponse,
    )
    plain = page.to_dict()
    assert plain == {
        "object": "list",
        "data": [{"object": "batch", "id": "b1", "status": "completed"}],
        "has_more": False,
    }
    assert msgspec.json.decode(page.to_json()) == plain


def test_an_unknown_generated_name_is_an_attribute_error_naming_close_ones() -> None:
    with pytest.raises(AttributeError, match=r"Batchh.*did you mean Batch"):
        types.Batchh  # noqa: B018


def _loaded_after(code: str) -> list[str]:
    program = (
        f"import json, sys; {code}; "
        "print(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules "
        "if m.startswith('openai_ergo.types._generated.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    names: list[str] = json.loads(result.stdout)
    return names


def test_generated_modules_load_on_first_use_only() -> None:
    assert _loaded_after("import openai_ergo.types") == []
    # A group's types bring their group module and what it imports, never the others.
    loaded = _loaded_after("import openai_ergo.types as t; t.Batch")
    assert "batch" in loaded
    assert not {"realtime", "standalone", "evals", "responses"} & set(loaded)


def test_a_payload_without_its_tag_decodes_as_the_member_it_fits_best() -> None:
    # The easy message's `type` is optional in the spec, and usually left out.
    items = decode(b'[{"role": "user", "content": "hi"}]', type=list[InputItem])
    assert items == [EasyInputMessage(role="user", content="hi")]


def test_objects_without_a_common_tag_are_told_apart_by_their_fields() -> None:
    plain = decode(b'{"text": "hi"}', type=CreateTranscriptionResponse)
    verbose = decode(
        b'{"language": "en", "duration": 1.5, "text": "hi", "words": [], "segments": []}',
        type=CreateTranscriptionResponse,
    )
    assert isinstance(plain, CreateTranscriptionResponseJson)
    assert isinstance(verbose, CreateTranscriptionResponseVerboseJson)
    assert verbose.language == "en"
    compound = decode(
        b'{"type": "and", "filters": [{"type": "eq", "key": "k", "value": 1}]}', type=Filters
    )
    assert isinstance(compound, CompoundFilter)


def test_plain_data_keeps_the_payload_of_unknown_objects_wherever_they_are() -> None:
    data = (
        b'{"model": "gpt-5", "tools": [{"type": "function", "name": "f"},'
        b' {"type": "teleport", "to": "mars"}]}'
    )
    request = decode(data, type=CreateResponse)
    assert isinstance(request.tools[1], UnknownTypeVariant)  # type: ignore[index]
    assert request.to_dict() == msgspec.json.decode(data)
    assert msgspec.json.decode(request.to_json()) == msgspec.json.decode(data)
    # The hand-written unknown event too.
    event = decode_response_event(b'{"type": "response.brand_new", "x": 1}')
    assert event.to_dict() == {"type": "response.brand_new", "x": 1}


def test_reading_every_namespace_loads_no_dict_forms_and_no_builders() -> None:
    # The dict forms (`params`) and the stream handles are for type checkers and first streams:
    # the namespaces import them under TYPE_CHECKING only, so reading each costs its types.
    program = (
        "import json, sys, openai_ergo; "
        "from openai_ergo._namespaces._generated import NAMESPACES; "
        "c = openai_ergo.Client(api_key='sk-x', base_url='http://127.0.0.1:9/v1'); "
        "[getattr(c, n) for n in NAMESPACES]; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert "openai_ergo._namespaces._generated.videos" in loaded  # every namespace was read
    assert "openai_ergo.types._generated.params" not in loaded
    assert not {m for m in loaded if m.startswith("openai_ergo.resources")}
    assert "difflib" not in loaded
