"""Generated request types round-trip: `decode(encode(x)) == x` for any value of each.

Values are drawn from each Struct's own field types (msgspec resolves them), so the law is
checked against what the generator emitted, not against a second description of the spec.
"""

from __future__ import annotations

from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openai_ergo import types
from openai_ergo.codegen._model import Struct
from openai_ergo.types import UnknownVariant, decode
from tests.openai_ergo.codegen.specs import generated_model

_DEPTH = 3
_SCALARS: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(max_size=8),
    int: st.integers(min_value=-(2**53), max_value=2**53),
    float: st.floats(allow_nan=False, allow_infinity=False),
    bool: st.booleans(),
    bytes: st.binary(max_size=8),
    NoneType: st.none(),
}
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=4,
)


def values(kind: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Any value of a type as generated code annotates it."""
    if kind is Any:
        return _JSON
    if kind in _SCALARS:
        return _SCALARS[kind]
    origin = get_origin(kind)
    if origin in (Union, UnionType):
        members = [m for m in get_args(kind) if not _is_unknown(m)]
        return st.one_of([values(m, depth) for m in members])
    if origin is list:
        (item,) = get_args(kind)
        return st.lists(values(item, depth + 1), max_size=0 if depth >= _DEPTH else 2)
    if origin is dict:
        _, item = get_args(kind)
        size = 0 if depth >= _DEPTH else 2
        return st.dictionaries(st.text(max_size=4), values(item, depth + 1), max_size=size)
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        return structs(kind, depth)
    raise AssertionError(f"no strategy for {kind!r}")


def _is_unknown(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, UnknownVariant)


def structs(cls: type[msgspec.Struct], depth: int = 0) -> st.SearchStrategy[Any]:
    """Instances of a Struct: required fields always, optional ones unless too deep."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in msgspec.structs.fields(cls):
        if field.required:
            required[field.name] = values(field.type, depth + 1)
        elif depth < _DEPTH:
            optional[field.name] = values(field.type, depth + 1)
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: cls(**kw))


def request_types() -> list[Any]:
    model = generated_model()
    names = sorted(
        name
        for name, definition in model.definitions.items()
        if isinstance(definition, Struct) and definition.side in ("request", "both")
    )
    return [pytest.param(getattr(types, name), id=name) for name in names]


@pytest.mark.parametrize("cls", request_types())
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_request_type_round_trips_through_json(
    cls: type[msgspec.Struct], data: st.DataObject
) -> None:
    value = data.draw(structs(cls))
    assert decode(msgspec.json.encode(value), type=cls) == value
    assert decode(value.to_json(), type=cls).to_dict() == value.to_dict()  # type: ignore[attr-defined]


def test_there_are_hundreds_of_request_types() -> None:
    assert len(request_types()) > 500
