"""JSON Schema for tools and structured output, from Python types, in OpenAI's strict dialect.

`msgspec.json.schema` writes the schema; this module reshapes it for Structured Outputs: the root
is an object, every object lists all its properties as required and forbids others, and only
keywords strict mode accepts remain. A schema that cannot be made strict (free-form dicts, `Any`,
tuples, tagged unions) is reported as such, so the caller can fall back to non-strict mode.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

__all__ = ["object_schema", "strict_schema"]

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
    return result if _make_strict(result, result.get("$defs", {})) else None


def _make_strict(node: Any, defs: dict[str, Any]) -> bool:
    if not isinstance(node, dict):
        return False
    if not node:
        return False  # `{}` (Any) accepts every value: strict mode has no such schema
    node.pop("default", None)
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        # Strict mode takes no keywords beside `$ref`: inline the definition under them.
        target = defs.get(ref.removeprefix("#/$defs/"))
        if target is None:
            return False
        del node["$ref"]
        for key, value in copy.deepcopy(target).items():
            node.setdefault(key, value)
    if any(key not in _STRICT_KEYWORDS for key in node):
        return False
    if "enum" in node and "type" not in node:
        kinds = {type(value) for value in node["enum"]}
        if kinds == {str}:
            node["type"] = "string"
        elif kinds == {int}:
            node["type"] = "integer"
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        properties = node.get("properties")
        if not isinstance(properties, dict) or node.get("additionalProperties", False):
            return False  # a free-form mapping
        node["additionalProperties"] = False
        node["required"] = list(properties)
        if not all(_make_strict(child, defs) for child in properties.values()):
            return False
    if "items" in node and not _make_strict(node["items"], defs):
        return False
    if "anyOf" in node and not all(_make_strict(child, defs) for child in node["anyOf"]):
        return False
    return all(_make_strict(child, defs) for child in node.get("$defs", {}).values())
