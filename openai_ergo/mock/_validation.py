"""Requests checked against their operation's request schema, before any handler runs.

The schema is the generated request Struct of the operation (`openai_ergo.types`): a request-only
Struct keeps the spec's required fields required, and tagged unions (`role`, `type`) are closed;
the spec's other closed enums come from the generated table (`SpecOperation.enums`).
A body is decoded once more with a cached `msgspec.json.Decoder` of that Struct: a fraction of a
microsecond for a hot-path body, and nothing is kept, so handlers read the JSON as before. A
failure becomes OpenAI's 400: a missing required field is `missing_required_parameter`, a value
of the wrong type `invalid_type`, a value outside a closed set `invalid_value` (with the
values the field takes), each with `param` the dotted path (`messages[0].role`).

A payload that leaves out a union's tag where the service infers it (a Responses input message
without `"type": "message"`) is decoded again through the types' lenient path, which tells the
members apart by their fields; what it can only keep as an unknown variant is outside the
union's closed set of tags, and refused naming its path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

import msgspec

from openai_ergo.mock._endpoints import BadRequest, missing_parameter

__all__ = ["RequestSchema"]

_MISSING = re.compile(r"Object missing required field `([^`]+)`(?: - at `\$(.*)`)?$")
#: The same, as the types' lenient decode words it (it builds the member from its fields).
_ARGUMENT = re.compile(r"Missing required argument '([^']+)'(?: - at `\$(.*)`)?$")
_TYPE = re.compile(r"Expected `([^`]+)`, got `([^`]+)`(?: - at `\$(.*)`)?$")
_VALUE = re.compile(r"Invalid value (.+?)(?: - at `\$(.*)`)?$")
_AT = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.S)
_TAGS = ("type", "role", "object", "event")
_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a decimal",
    "bool": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


class RequestSchema:
    """One operation's request body schema, its decoder built on first use."""

    __slots__ = (
        "_decoder",
        "_enum_keys",
        "_enum_text",
        "_enums",
        "_resolve",
        "_type",
        "operation_id",
    )

    def __init__(self, operation_id: str, resolve: Callable[[], Any], enums: str = "") -> None:
        self.operation_id = operation_id
        # The type is imported by the first request that needs it: the mock imports fast.
        self._resolve = resolve
        self._type: Any = None
        self._decoder: msgspec.json.Decoder[Any] | None = None
        self._enum_text = enums
        self._enums: list[tuple[str, tuple[str, ...], frozenset[str]]] = []
        self._enum_keys: frozenset[str] = frozenset()

    def check(self, raw: bytes, body: dict[str, Any]) -> None:
        """Raise OpenAI's 400 when the JSON body (`raw`, decoded as `body`) does not fit the
        schema."""
        decoder = self._decoder
        if decoder is None:
            self._type = self._resolve()
            decoder = self._decoder = msgspec.json.Decoder(self._type)
            self._enums = _enum_paths(self._enum_text)
            self._enum_keys = frozenset(first for first, _, _ in self._enums)
        try:
            decoder.decode(raw)
        except msgspec.ValidationError as exc:
            self._slow_check(raw, str(exc))
        # Most bodies name none of these fields: one pass over the body's few keys.
        if self._enums and not self._enum_keys.isdisjoint(body):
            for first, rest, allowed in self._enums:
                value = body.get(first)
                if value is not None:
                    _check_enum(value, rest, allowed, first)

    def _slow_check(self, raw: bytes, error: str) -> None:
        tag = _MISSING.match(error)
        value = _VALUE.match(error)
        # `<untagged>`: the field no payload has, that sends a union without tags to the slow
        # path (`openai_ergo.types._variants.UntaggedVariants`).
        if (tag and tag.group(1) in (*_TAGS, "<untagged>")) or (
            value and _last(value.group(2)) in _TAGS
        ):
            # Maybe a tag the service infers: let the types' lenient decode tell members apart.
            from openai_ergo.types import decode

            try:
                decoded = decode(raw, type=self._type)
            except msgspec.ValidationError as exc:
                raise _bad_request(str(exc)) from None
            unknown = _unknown_variant(decoded, "")
            if unknown is None:
                return
            path, tag_value, accepted = unknown
            supported = (
                "Supported values are: " + ", ".join(f"'{t}'" for t in accepted) + "."
                if accepted
                else f"It is not one this endpoint accepts at '{path}'."
            )
            raise BadRequest(
                f"Invalid value: '{tag_value}'. {supported}", param=path, code="invalid_value"
            ) from None
        raise _bad_request(error) from None


def _last(path: str | None) -> str:
    return (path or "").rsplit(".", 1)[-1]


def _param(path: str | None, name: str | None = None) -> str | None:
    """`$.messages[0]` + `role` -> `messages[0].role` (msgspec's path, OpenAI's `param`)."""
    # msgspec writes a map's key as `[...]`: the param is the map, as the service names it.
    dotted = (path or "").split("[...]", 1)[0].lstrip(".")
    if name and "[...]" not in (path or ""):
        dotted = f"{dotted}.{name}" if dotted else name
    return dotted or None


def _describe(names: str) -> str:
    kinds = [_TYPE_NAMES.get(n.split(" ")[0], n) for n in names.split(" | ") if n != "null"]
    if not kinds:
        return "null"
    if len(kinds) == 1:
        return kinds[0]
    return "one of " + ", ".join(kinds[:-1]) + " or " + kinds[-1]


def _bad_request(error: str) -> BadRequest:
    missing = _MISSING.match(error) or _ARGUMENT.match(error)
    if missing:
        name = _param(missing.group(2), missing.group(1))
        return missing_parameter(name or missing.group(1))
    wrong = _TYPE.match(error)
    if wrong and wrong.group(2) == "null" and _param(wrong.group(3)):
        # A required parameter sent as null is missing, as the service says.
        return missing_parameter(_param(wrong.group(3)) or "")
    if wrong:
        param = _param(wrong.group(3))
        where = f"'{param}'" if param else "the request body"
        return BadRequest(
            f"Invalid type for {where}: expected {_describe(wrong.group(1))}, but got "
            f"{_describe(wrong.group(2))} instead.",
            param=param,
            code="invalid_type",
        )
    value = _VALUE.match(error)
    if value:
        param = _param(value.group(2))
        return BadRequest(
            f"Invalid value: {value.group(1)}. It is not one this endpoint accepts"
            + (f" at '{param}'." if param else "."),
            param=param,
            code="invalid_value",
        )
    # Anything else msgspec checks (a bound, a length): its words, at its path.
    found = _AT.match(error)
    assert found is not None  # the pattern matches any text
    param = _param(found.group(2))
    return BadRequest(
        f"Invalid value for '{param}': {found.group(1)}." if param else f"{found.group(1)}.",
        param=param,
        code="invalid_value",
    )


def _unknown_variant(
    value: Any, path: str, declared: Any = None
) -> tuple[str, str, list[str]] | None:
    """The path and tag of the first object the lenient decode could not place, if any, and
    the tags its union (`declared`, the field's type) accepts."""
    from openai_ergo.types import UnknownVariant

    if isinstance(value, UnknownVariant):
        raw = value.raw if isinstance(value.raw, dict) else {}
        tag = next((str(raw[t]) for t in _TAGS if t in raw), "")
        field = next((t for t in _TAGS if t in raw), "type")
        return (f"{path}.{field}" if path else field), tag, _tags_of(declared)
    if isinstance(value, msgspec.Struct):
        for info in msgspec.structs.fields(value):
            where = f"{path}.{info.encode_name}" if path else info.encode_name
            found = _unknown_variant(getattr(value, info.name), where, info.type)
            if found is not None:
                return found
    elif isinstance(value, list):
        item = _list_item(declared)
        for i, element in enumerate(value):
            found = _unknown_variant(element, f"{path}[{i}]", item)
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, element in value.items():
            found = _unknown_variant(element, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    return None


def _list_item(declared: Any) -> Any:
    """The item type of a list type, or of the list member of a union (`list[X] | None`)."""
    if get_origin(declared) is list:
        return next(iter(get_args(declared)), None)
    for member in get_args(declared):
        if get_origin(member) is list:
            return next(iter(get_args(member)), None)
    return None


def _tags_of(declared: Any) -> list[str]:
    """The tags the members of a union (or a list or optional of one) carry."""
    tags: list[str] = []
    for member in get_args(declared) or (declared,):
        # A list, an optional, a nested union, or the members without a common tag that
        # `UntaggedVariants` stands for.
        inner = get_args(member) or tuple(getattr(member, "colliders", ()))
        if inner:
            tags += [t for t in _tags_of(Union[inner]) if t not in tags]  # noqa: UP007
            continue
        config = getattr(member, "__struct_config__", None)
        tag = getattr(config, "tag", None)
        if isinstance(tag, str) and not tag.startswith("<") and tag not in tags:
            tags.append(tag)
    return tags


def _enum_paths(text: str) -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
    """`{"reasoning.effort": [...]}` as (first key, the rest of the path, allowed values)."""
    if not text:
        return []
    paths = []
    for path, values in msgspec.json.decode(text).items():
        parts = re.findall(r"[^.\[\]]+|\[\]", path)
        paths.append((parts[0], tuple(parts[1:]), frozenset(values)))
    return paths


def _check_enum(value: Any, rest: tuple[str, ...], allowed: frozenset[str], where: str) -> None:
    if not rest:
        if isinstance(value, str) and value not in allowed:
            listed = ", ".join(f"'{v}'" for v in sorted(allowed))
            raise BadRequest(
                f"Invalid value: '{value}'. Supported values are: {listed}.",
                param=where,
                code="invalid_value",
            )
        return
    step, after = rest[0], rest[1:]
    if step == "[]":
        if isinstance(value, list):
            for index, item in enumerate(value):
                _check_enum(item, after, allowed, f"{where}[{index}]")
    elif isinstance(value, dict):
        inner = value.get(step)
        if inner is not None:
            _check_enum(inner, after, allowed, f"{where}.{step}")
