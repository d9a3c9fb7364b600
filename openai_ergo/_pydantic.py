"""pydantic models where a type is taken: structured output, `@tool` parameters and returns,
`item_type` and `APIResponse.parse`.

pydantic is optional (the `pydantic` extra) and never imported here: a class can only be a
pydantic model if pydantic is already in `sys.modules`, so a program that passes none pays one
dictionary lookup. Decoding goes through the model's own `model_validate_json`; its
`ValidationError` is re-raised as `msgspec.ValidationError` with pydantic's message, so every
place that turns a decoding failure into our typed error (`OutputParseError`,
`APIResponseValidationError`, the tool's argument error) handles both kinds alike.
"""

from __future__ import annotations

import sys
import typing
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

__all__ = [
    "arguments_model",
    "encode_hook",
    "is_model",
    "json_decoder",
    "mentions_model",
    "model_schema",
]

T = TypeVar("T")


def is_model(tp: object) -> bool:
    """Whether `tp` is a pydantic model class (pydantic is not imported to find out)."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is None:
        return False
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def mentions_model(annotation: object) -> bool:
    """Whether a type annotation holds a pydantic model anywhere (`Model`, `list[Model]`,
    `Model | None`, `Annotated[Model, ...]`)."""
    if "pydantic" not in sys.modules:
        return False
    if is_model(annotation):
        return True
    return any(mentions_model(arg) for arg in typing.get_args(annotation))


def json_decoder(model: type[T]) -> Callable[[str | bytes], T]:
    """`model.model_validate_json`, raising `msgspec.ValidationError` (pydantic's message)."""
    validate: Callable[[str | bytes], T] = model.model_validate_json  # type: ignore[attr-defined]
    failure: type[Exception] = sys.modules["pydantic"].ValidationError

    def decode(data: str | bytes) -> T:
        try:
            return validate(data)
        except failure as exc:
            raise msgspec.ValidationError(_message(exc)) from exc

    return decode


def _message(exc: Exception) -> str:
    """pydantic's report on one line per error, without its documentation links."""
    lines = [line for line in str(exc).splitlines() if "https://errors.pydantic.dev" not in line]
    return "; ".join(line.strip() for line in lines if line.strip())


def model_schema(model: type[Any]) -> dict[str, Any]:
    """The JSON Schema of a pydantic model with the object at the root and its definitions
    under `$defs`, as `resources._json_schema.object_schema` gives it for msgspec types: the
    model's title dropped, and discriminated unions (`oneOf` with a `discriminator`) written as
    `anyOf`, which means the same for members a tag tells apart and is what strict mode takes.
    `TypeError` when the model has no JSON Schema (a field of an arbitrary class)."""
    pydantic = sys.modules["pydantic"]
    with warnings.catch_warnings():
        # A default JSON cannot show is left out of the schema (and still used): not worth a
        # warning, which the test suite would turn into an error.
        warnings.simplefilter("ignore", pydantic.json_schema.PydanticJsonSchemaWarning)
        try:
            schema: dict[str, Any] = model.model_json_schema()
        except pydantic.errors.PydanticUserError as exc:
            raise TypeError(str(exc).splitlines()[0]) from None
    schema.pop("title", None)
    _any_of_for_tagged_unions(schema)
    return schema


def _any_of_for_tagged_unions(node: object) -> None:
    if isinstance(node, dict):
        if "oneOf" in node and "discriminator" in node:
            node["anyOf"] = node.pop("oneOf")
            del node["discriminator"]
        for value in node.values():
            _any_of_for_tagged_unions(value)
    elif isinstance(node, list):
        for value in node:
            _any_of_for_tagged_unions(value)


def encode_hook(value: Any) -> Any:
    """msgspec's `enc_hook` for pydantic model instances (a tool's return value): their JSON
    form, as `model_dump(mode="json")` gives it."""
    if is_model(type(value)):
        return value.model_dump(mode="json")
    raise NotImplementedError(f"cannot encode {type(value).__name__} as JSON")


def arguments_model(
    name: str, fields: list[tuple[str, Any, Any]], missing: object
) -> tuple[type[Any], dict[str, str]]:
    """A pydantic model of a function's parameters (`(name, annotation, default)`, `missing`
    as the default of a required one), and its field name for each parameter.

    The fields take neutral names with the parameters' names as aliases, so a parameter may be
    called `json`, `schema` or `model_id` without shadowing `BaseModel`'s attributes."""
    pydantic = sys.modules["pydantic"]
    definitions: dict[str, Any] = {}
    names: dict[str, str] = {}
    for index, (param, annotation, default) in enumerate(fields):
        field_name = f"field_{index}"
        names[param] = field_name
        if default is missing:
            definitions[field_name] = (annotation, pydantic.Field(alias=param))
        else:
            definitions[field_name] = (annotation, pydantic.Field(default, alias=param))
    config = pydantic.ConfigDict(protected_namespaces=(), extra="ignore")
    try:
        model: type[Any] = pydantic.create_model(name, __config__=config, **definitions)
    except pydantic.errors.PydanticUserError as exc:
        # A type pydantic cannot validate (an arbitrary class): `TypeError`, as msgspec says.
        raise TypeError(str(exc).splitlines()[0]) from None
    return model, names
