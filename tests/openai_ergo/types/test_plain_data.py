"""Every typed object converts to plain data (`to_dict()` / `to_json()`, the SDK's `model_dump()`):
every Struct `openai_ergo.types` exports has them, and every response example of the spec, once
decoded, converts back to data that decodes to the same object."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

import openai_ergo.types
from openai_ergo.codegen._model import Type
from openai_ergo.types import APIObject, decode
from tests.openai_ergo.codegen.specs import generated_model
from tests.openai_ergo.types.test_generated_examples import (
    EXCEPTIONS,
    operation_examples,
    runtime_type,
)

#: The examples, without the marks of the ones that contradict their schemas: those that still
#: decode must convert back like the others.
EXAMPLES = [pytest.param(*case.values, id=case.id) for case in operation_examples()]


def test_every_exported_struct_is_an_api_object() -> None:
    structs = [
        value
        for name in openai_ergo.types.__all__
        if isinstance(value := getattr(openai_ergo.types, name), type)
        and issubclass(value, msgspec.Struct)
    ]
    assert len(structs) > 1500
    assert [s.__name__ for s in structs if not issubclass(s, APIObject)] == []


def _plain(value: Any) -> Any:
    if isinstance(value, APIObject):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("kind", "document"), EXAMPLES)
def test_a_decoded_example_converts_to_data_that_decodes_back_to_it(
    kind: Type, document: Any, request: pytest.FixtureRequest
) -> None:
    target = runtime_type(kind, generated_model())
    try:
        decoded = decode(json.dumps(document), type=target)
    except msgspec.ValidationError:
        # Only an example listed as contradicting its schema may fail to decode.
        assert request.node.callspec.id.rsplit("-", 1)[0] in EXCEPTIONS
        return
    plain = _plain(decoded)
    assert decode(json.dumps(plain), type=target) == decoded
    if isinstance(decoded, APIObject):
        assert msgspec.json.decode(decoded.to_json()) == plain
