"""Every response example of the spec decodes into its operation's type, with its values.

Two kinds of examples: each operation's `x-oaiMeta` examples (the response of an example call)
and each schema's own example (`x-oaiMeta.example`, or `example`). An example decodes through
`openai_ergo.types.decode` (unknown tags kept), and then every value the example gives for a
field the type knows must be on the decoded object, equal (`_compare`). The exceptions are
listed, each with its reason; a listed example that starts to decode fails the test, so the
list cannot go stale.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from openai_ergo import types
from openai_ergo.codegen._model import External, ListOf, Model, Named, Prim, Type
from openai_ergo.types import UnknownObject, UnknownVariant, decode
from tests.openai_ergo.codegen.specs import generated_model, repository_spec

#: The spec's examples of these beta events carry the GA name; the beta protocol (and the
#: generated type, `codegen.BETA_EVENT_NAMES`) says `response.text.delta`...
_BETA_NAME = "its `type` is the GA name; the beta protocol's is `response.text.delta`..."
#: Examples that do not decode into their type, and why. Key: operation id or schema name.
#: Each is an example that contradicts its own schema; the types follow the schema.
EXCEPTIONS: dict[str, str] = {
    "getChatCompletionMessages": "a stored message has role `user`; the schema allows `assistant`",
    "ChatCompletionMessageList": "a stored message has role `user`; the schema allows `assistant`",
    "runGrader": "`metadata.token_usage` is an object; the schema says an integer",
    "searchVectorStore": "`search_query` is a string; the schema says an array of strings",
    "GraderMulti": "`graders` is an array; the schema says one grader object",
    "RealtimeBetaClientEventSessionUpdate": "the session omits `client_secret`, which the "
    "schema requires",
    "RealtimeBetaServerEventConversationItemRetrieved": "its `type` is "
    "`conversation.item.created`; the schema's constant is `conversation.item.retrieved`",
    "RealtimeBetaServerEventResponseAudioDelta": _BETA_NAME,
    "RealtimeBetaServerEventResponseAudioDone": _BETA_NAME,
    "RealtimeBetaServerEventResponseAudioTranscriptDelta": _BETA_NAME,
    "RealtimeBetaServerEventResponseAudioTranscriptDone": _BETA_NAME,
    "RealtimeBetaServerEventResponseTextDelta": _BETA_NAME,
    "RealtimeBetaServerEventResponseTextDone": _BETA_NAME,
    "RealtimeTranscriptionSessionCreateResponseGA": "`audio.input.format` is the string "
    "`pcm16` of the beta API; the schema says a format object",
    "BetaResponseQueuedEvent": "`response.created_at` is an ISO 8601 string; the schema says "
    "Unix seconds (the hand-written `Response` accepts both, the generated beta one does not)",
}


def runtime_type(kind: Type, model: Model) -> Any:
    """The Python type a type of the model stands for."""
    if isinstance(kind, Prim):
        return {"Any": Any, "None": None}.get(kind.name) or getattr(__builtins__, kind.name, Any)
    if isinstance(kind, ListOf):
        return list[runtime_type(kind.item, model)]  # type: ignore[misc]
    if isinstance(kind, Named):
        definition = model.definitions[kind.name]
        if isinstance(definition, External):
            return getattr(types, definition.attr)
        return getattr(types, definition.name)
    return Any


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None  # a streamed example (SSE lines) or prose: not a JSON body


def operation_examples() -> list[Any]:
    model = generated_model()
    cases = []
    for op in model.operations:
        results = [r for r in op.results if r.kind == "json" and r.type is not None]
        if not results:
            continue
        for i, text in enumerate(op.response_examples):
            document = _json(text)
            if isinstance(document, dict | list):
                case_id = f"{op.operation_id}-{i}"
                marks = _marks(op.operation_id)
                cases.append(pytest.param(results[0].type, document, id=case_id, marks=marks))
    return cases


def schema_examples() -> list[Any]:
    model = generated_model()
    cases = []
    for name, schema in repository_spec()["components"]["schemas"].items():
        for example in (schema.get("x-oaiMeta", {}).get("example"), schema.get("example")):
            # An example written as YAML may hold dates: as JSON they are ISO strings.
            document = _json(example) if isinstance(example, str) else _as_json(example)
            if isinstance(document, dict):
                kind = Named(model.schema_names[name])
                cases.append(pytest.param(kind, document, id=name, marks=_marks(name)))
    return cases


def _as_json(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def _marks(key: str) -> list[pytest.MarkDecorator]:
    reason = EXCEPTIONS.get(key)
    return [pytest.mark.xfail(reason=reason, strict=True)] if reason else []


def _compare(value: Any, raw: Any, path: str) -> None:
    """Everything `raw` says about a field `value`'s type knows is on `value`, equal."""
    if isinstance(value, UnknownVariant | UnknownObject):
        assert value.raw == raw, path
    elif isinstance(value, msgspec.Struct):
        assert isinstance(raw, dict), path
        config = value.__struct_config__
        if config.tag_field is not None and config.tag_field in raw:
            assert raw[config.tag_field] == config.tag, path
        for field in msgspec.structs.fields(value):
            if raw.get(field.encode_name) is not None:
                got = getattr(value, field.name)
                _compare(got, raw[field.encode_name], f"{path}.{field.encode_name}")
    elif isinstance(value, list):
        assert isinstance(raw, list), path
        assert len(value) == len(raw), path
        for i, (item, raw_item) in enumerate(zip(value, raw, strict=True)):
            _compare(item, raw_item, f"{path}[{i}]")
    elif isinstance(value, dict):
        assert isinstance(raw, dict), path
        for key, item in raw.items():
            _compare(value.get(key), item, f"{path}.{key}")
    elif isinstance(value, bytes):
        assert isinstance(raw, str), path
    else:
        assert value == raw, f"{path}: {value!r} != {raw!r}"


@pytest.mark.parametrize(("kind", "document"), operation_examples())
def test_an_operation_response_example_decodes_into_its_type(kind: Type, document: Any) -> None:
    target = runtime_type(kind, generated_model())
    decoded = decode(json.dumps(document), type=target)
    _compare(decoded, document, "$")


@pytest.mark.parametrize(("kind", "document"), schema_examples())
def test_a_schema_example_decodes_into_its_type(kind: Type, document: Any) -> None:
    target = runtime_type(kind, generated_model())
    decoded = decode(json.dumps(document), type=target)
    _compare(decoded, document, "$")


def test_the_examples_cover_the_spec() -> None:
    # Most operations carry an example response, and hundreds of schemas their own.
    assert len(operation_examples()) >= 230
    assert len(schema_examples()) >= 350
