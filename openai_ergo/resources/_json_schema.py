"""JSON Schema for tools and structured output, from Python types, in OpenAI's strict dialect.

`msgspec.json.schema` writes the schema; this module reshapes it for Structured Outputs: the root
is an object, every object lists all its properties as required and forbids others, and only
keywords strict mode accepts remain; tagged unions lose msgspec's `discriminator` (their tag fields
tell the members apart). A schema that cannot be made strict (free-form dicts, `Any`, tuples) is
reported as such, with the place at fault, so the caller can say why or fall back to non-strict.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

__all__ = ["object_schema", "strict_problem", "strict_schema"]

# Keywords strict mode accepts (Structured Outputs "supported schemas").
_STRICT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "enum",
        "const",
        "$ref",
        "$defs",
        "description",
        "title",
        "pattern",
        "format",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "minItems",
        "maxItems",
    }
)


def object_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema of `tp` (a Struct or another object type) with the object at the root and
    any other definitions kept under `$defs`."""
    schema: dict[str, Any] = msgspec.json.schema(tp)
    ref = schema.get("$ref")
    defs: dict[str, Any] = dict(schema.get("$defs", {}))
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        # A self-referencing type still needs its own definition under $defs.
        root: dict[str, Any] = (
            copy.deepcopy(defs[name]) if _refers_to(defs, ref) else defs.pop(name)
        )
    else:
        root = {k: v for k, v in schema.items() if k != "$defs"}
    root.pop("title", None)
    if defs:
        root["$defs"] = defs
    return root


def _refers_to(defs: dict[str, Any], ref: str) -> bool:
    return f'"{ref}"' in msgspec.json.encode(defs).decode()


def strict_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """A strict-mode copy of `schema`, or `None` when strict mode cannot express it."""
    result = copy.deepcopy(schema)
    return result if _make_strict(result, result.get("$defs", {}), "$") is None else None


def strict_problem(schema: dict[str, Any]) -> str | None:
    """Why strict mode cannot express `schema` (naming where), or `None` when it can."""
    result = copy.deepcopy(schema)
    return _make_strict(result, result.get("$defs", {}), "$")


def _make_strict(node: Any, defs: dict[str, Any], path: str) -> str | None:
    """Reshape `node` in place for strict mode; the reason it cannot be, or `None`."""
    if not isinstance(node, dict):
        return f"{path} is not a schema"
    if not node:
        # `{}` (Any) accepts every value: strict mode has no such schema.
        return f"{path} accepts any value (Any)"
    node.pop("default", None)
    # msgspec marks a tagged union with `discriminator`, a keyword strict mode does not take;
    # each member's tag field (an `enum` of one value) already tells the members apart.
    node.pop("discriminator", None)
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        # Strict mode takes no keywords beside `$ref`: inline the definition under them.
        target = defs.get(ref.removeprefix("#/$defs/"))
        if target is None:
            return f"{path} refers to {ref}, which is not defined"
        del node["$ref"]
        for key, value in copy.deepcopy(target).items():
            node.setdefault(key, value)
    unknown = sorted(key for key in node if key not in _STRICT_KEYWORDS)
    if unknown:
        if "prefixItems" in unknown:
            return f"{path} is a tuple (fixed positions: prefixItems)"
        return f"{path} uses {', '.join(unknown)}, which strict mode does not take"
    if "enum" in node and "type" not in node:
        kinds = {type(value) for value in node["enum"]}
        if kinds == {str}:
            node["type"] = "string"
        elif kinds == {int}:
            node["type"] = "integer"
    kind = node.get("type")
    problems: list[str | None] = []
    if kind == "object" or "properties" in node:
        properties = node.get("properties")
        if not isinstance(properties, dict) or node.get("additionalProperties", False):
            return f"{path} is a free-form mapping (a dict with any keys)"
        node["additionalProperties"] = False
        node["required"] = list(properties)
        problems.extend(
            _make_strict(child, defs, f"{path}.{name}") for name, child in properties.items()
        )
    if "items" in node:
        problems.append(_make_strict(node["items"], defs, f"{path}[]"))
    if "anyOf" in node:
        problems.extend(_make_strict(child, defs, path) for child in node["anyOf"])
    problems.extend(
        _make_strict(child, defs, name) for name, child in node.get("$defs", {}).items()
    )
    return next((problem for problem in problems if problem is not None), None)
