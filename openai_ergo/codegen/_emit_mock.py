"""From the model to the mock's operation table: `openai_ergo/mock/_generated/operations.py`.

The spec does not ship in the wheel; this table does. One `SpecOperation` per operation: its
method and path template as the mock routes them (`/v1` first, a fixed query such as
`?beta=true` left out), where its request body Struct lives (a `module:name` string, imported
only when a request needs it, so importing the mock stays cheap), the body's content type, the
status, kind (`json`, `binary`, `text`, `empty`; `streams` when it also answers SSE) and media
type of its answer, whether it is a cursor-paginated list, its response example as compact
JSON (the text itself for a `text` answer), and the closed enums of its JSON body (path ->
values, read from the spec: the model keeps none, since the generated types leave enums open).

The example is the spec's `x-oaiMeta` response, read leniently (many are written as JavaScript:
bare keys, trailing commas, `...` placeholders). An operation without a readable example borrows
the example of another operation with the same result type, then tries its own with its open
brackets closed, and last gets one made from its result type: its tag and every field with a
plain value, so the typed method still decodes a real object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, cast

from openai_ergo.codegen._emit_namespaces import _page_item
from openai_ergo.codegen._emit_types import PACKAGE, header
from openai_ergo.codegen._model import (
    Alias,
    External,
    ListOf,
    MapOf,
    Model,
    Named,
    Operation,
    Prim,
    Struct,
    Type,
    UnionOf,
)

__all__ = ["MOCK_PACKAGE", "emit_mock"]

MOCK_PACKAGE = "openai_ergo.mock._generated"
_RECORD = "openai_ergo.mock._operations"


def emit_mock(model: Model, spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The files of the mock's generated package: its `__init__` and the operation table.

    `spec` is the document the model was built from: the closed enums of the request bodies
    are read from it (the model keeps none: the generated types leave enums open strings)."""
    top = header(model.spec_version)
    yield (
        "__init__.py",
        f'{top}"""The mock\'s operation table, generated from the spec (`operations.py`)."""\n',
    )
    # An operation whose example cannot be read borrows one of the same result type (createEval
    # answers an `Eval`, as getEval's readable example shows).
    by_result: dict[Type, str] = {}
    for op in model.operations:
        result = _json_result(op)
        found = _readable_example(op)
        if result is not None and found is not None:
            by_result.setdefault(result, found)
    rows = [_row(op, model, by_result, _closed_enums(op, spec)) for op in model.operations]
    lines = [
        top.rstrip("\n"),
        '"""Every operation of the spec as the mock routes, validates and answers it."""',
        "",
        "from __future__ import annotations",
        "",
        f"from {_RECORD} import SpecOperation",
        "",
        "#: In the spec's order; the mock routes the first operation of a method and template.",
        "OPERATIONS: tuple[SpecOperation, ...] = (",
        *rows,
        ")",
    ]
    yield "operations.py", "\n".join(lines) + "\n"


def _row(op: Operation, model: Model, by_result: dict[Type, str], enums: str) -> str:
    template = "/v1" + op.path.partition("?")[0]
    body_type = _body_type(op, model)
    content_type = op.body.content_type if op.body is not None else ""
    kinds = [r.kind for r in op.results]
    # A binary answer first: where the spec also lists JSON (video, skill content), the typed
    # method streams the bytes.
    kind = next((k for k in ("binary", "json", "text") if k in kinds), "empty")
    answer = next(r for r in op.results if r.kind == kind)
    example = _example(op, model, by_result) if kind in ("json", "text") else None
    values: list[Any] = [
        op.operation_id,
        op.method.upper(),
        template,
        body_type,
        content_type,
        int(answer.status),
        kind,
        answer.content_type,
        "stream" in kinds,
        _page_item(op, model) is not None,
        "" if example is None else example,
        enums,
    ]
    return "    SpecOperation(" + ", ".join(_literal(v) for v in values) + "),"


def _literal(value: Any) -> str:
    """A Python literal for `value`; a long string as adjacent pieces that fit on a line."""
    if not isinstance(value, str) or len(repr(value)) <= _PIECE:
        return repr(value)
    pieces: list[str] = []
    rest = value
    while rest:
        size = min(len(rest), _PIECE - 4)
        while len(repr(rest[:size])) > _PIECE and size > 1:
            size -= max(1, size // 8)
        pieces.append(repr(rest[:size]))
        rest = rest[size:]
    return "(\n" + "\n".join(f"            {p}" for p in pieces) + "\n        )"


#: The widest string piece: the table's lines stay within the project's 100 columns.
_PIECE = 84


def _body_type(op: Operation, model: Model) -> str:
    if op.body is None or not isinstance(op.body.type, Named):
        return ""
    definition = model.definitions[op.body.type.name]
    if isinstance(definition, External):
        return f"{definition.module}:{definition.attr}"
    return f"{PACKAGE}.{definition.module}:{definition.name}"


def _json_result(op: Operation) -> Type | None:
    return next((r.type for r in op.results if r.kind == "json" and r.type is not None), None)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _readable_example(op: Operation, *, repair: bool = False) -> str | None:
    for text in op.response_examples:
        value = _lenient_json(text, repair=repair)
        if isinstance(value, dict | list):
            return _compact(value)
    return None


def _example(op: Operation, model: Model, by_result: dict[Type, str]) -> str:
    found = _readable_example(op)
    if found is not None:
        return found
    if any(r.kind == "text" for r in op.results):
        return next(iter(op.response_examples), "")
    result = _json_result(op)
    if result is not None and result in by_result:
        return by_result[result]
    found = _readable_example(op, repair=True)
    if found is not None:
        return found
    return _compact(_instance(result, model, 0) if result is not None else {})


_COMMENT = re.compile(r"^\s*//.*$|(?<=[,{\[\s])//[^\n\"]*$", re.M)
#: `"key": {...}`: an elided value, read as an empty one.
_ELIDED_VALUE = re.compile(r"(:\s*)(\{\s*\.\.\.\s*\}|\[\s*\.\.\.\s*\])")
#: `{ ... }` as an element, `...` alone, or a line of prose after `...`: left out.
_PLACEHOLDER = re.compile(
    r"\{\s*\.\.\.\s*\}|\[\s*\.\.\.\s*\]|^\s*\.{3,}.*$|(?<=[\[,\s])\.\.\.(?=\s*[,\]}])", re.M
)
_BARE_KEY = re.compile(r"(?<=[{,\s])([A-Za-z_][A-Za-z0-9_]*)(\s*:)(?!//)")
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _lenient_json(text: str, *, repair: bool = False) -> Any:
    """JSON, or JSON as the spec's JavaScript-flavoured examples write it; None if neither.
    With `repair`, brackets left open are closed at the end (a last resort: where the example
    lost a bracket in its middle, the fields after it land one level too deep)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    fixed = _COMMENT.sub("", text)
    fixed = _ELIDED_VALUE.sub(lambda m: m.group(1) + m.group(2)[0] + m.group(2)[-1], fixed)
    fixed = _PLACEHOLDER.sub("", fixed)
    fixed = _BARE_KEY.sub(r'"\1"\2', fixed)
    for _ in range(3):  # removing `{ ... },` can leave `,,` or `, ]`
        fixed = _TRAILING_COMMA.sub(r"\1", re.sub(r",\s*,", ",", fixed))
    for candidate in (fixed, _balanced(fixed)) if repair else (fixed,):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def _balanced(text: str) -> str:
    """`text` with the brackets it leaves open closed at its end (an example that lost one)."""
    closers: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
        elif char == '"':
            in_string = True
        elif char in "{[":
            closers.append("}" if char == "{" else "]")
        elif char in "}]" and closers:
            closers.pop()
    return text.rstrip() + "".join(reversed(closers))


def _instance(kind: Type, model: Model, depth: int) -> Any:
    """A plain value of `kind`: objects with their tag and fields, one item per list."""
    if isinstance(kind, Prim):
        return {"str": "string", "int": 0, "float": 0.0, "bool": False}.get(kind.name)
    if isinstance(kind, ListOf):
        item = _instance(kind.item, model, depth + 1) if depth < 3 else None
        return [] if item is None else [item]
    if isinstance(kind, MapOf):
        return {}
    if isinstance(kind, UnionOf):
        members = [m for m in kind.members if m != Prim("None")]
        return _instance(members[0], model, depth) if members else None
    definition = model.definitions[kind.name]
    if isinstance(definition, Alias):
        return _instance(definition.type, model, depth)
    if isinstance(definition, External):
        return {definition.tag_field: definition.tag} if definition.tag_field else {}
    return _struct_instance(definition, model, depth)


def _struct_instance(struct: Struct, model: Model, depth: int) -> dict[str, Any]:
    made: dict[str, Any] = {}
    if struct.tag_field is not None:
        made[struct.tag_field] = struct.tag
    if depth > 3:
        return made
    for item in struct.fields:
        value = _instance(item.type, model, depth + 1)
        if value is not None:
            made[item.wire_name] = value
    if isinstance(made.get("id"), str):
        made["id"] = "obj_mock"
    if "deleted" in made:
        made["deleted"] = True  # what a deletion that succeeded says
    return made


# ---- closed enums of request bodies -------------------------------------------------------------

_SCHEMA_REF = "#/components/schemas/"
#: How deep into nested objects enums are collected (`reasoning.effort` is two).
_ENUM_DEPTH = 4


def _closed_enums(op: Operation, spec: Mapping[str, Any]) -> str:
    """`{"service_tier": [...], "modalities[]": [...], "reasoning.effort": [...]}` for the JSON
    body of `op`, as compact JSON ("" when it has none). A path goes through objects (`.`) and
    arrays (`[]`), never into a union of several members (their tags are checked by the types)."""
    if op.body is None or op.body.content_type != "application/json":
        return ""
    operation = spec["paths"][op.path][op.method]
    schema = operation["requestBody"]["content"]["application/json"].get("schema", {})
    schemas = spec.get("components", {}).get("schemas", {})
    found: dict[str, list[str]] = {}
    _collect(schema, schemas, "", 0, found)
    return _compact(found) if found else ""


def _resolve(schema: Any, schemas: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
        return cast(Mapping[str, Any], schemas[ref[len(_SCHEMA_REF) :]])
    return schema if isinstance(schema, dict) else {}


def _one(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema itself, or its one non-null member (`X | null`); None for a real union."""
    members = schema.get("anyOf") or schema.get("oneOf")
    if not members:
        return schema
    kept = [m for m in members if _resolve(m, schemas).get("type") != "null"]
    return _resolve(kept[0], schemas) if len(kept) == 1 else None


def _enum(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> list[str] | None:
    one = _one(_resolve(schema, schemas), schemas)
    values = one.get("enum") if one is not None else None
    if isinstance(values, list) and len(values) > 1 and all(isinstance(v, str) for v in values):
        return cast(list[str], values)
    return None


def _properties(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    schema = _resolve(schema, schemas)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_properties(part, schemas))
        merged.update(schema.get("properties", {}))
        return merged
    one = _one(schema, schemas)
    if one is None:
        return {}
    if one is not schema:
        return _properties(one, schemas)
    return dict(schema.get("properties", {}))


def _collect(
    schema: Any, schemas: Mapping[str, Any], path: str, depth: int, found: dict[str, list[str]]
) -> None:
    if depth > _ENUM_DEPTH:
        return
    for name, prop in _properties(schema, schemas).items():
        where = f"{path}.{name}" if path else name
        values = _enum(prop, schemas)
        if values is not None:
            found[where] = values
            continue
        one = _one(_resolve(prop, schemas), schemas)
        if one is None:
            continue
        items = one.get("items")
        if one.get("type") == "array" and isinstance(items, dict):
            values = _enum(items, schemas)
            if values is not None:
                found[where + "[]"] = values
            else:
                _collect(items, schemas, where + "[]", depth + 1, found)
        else:
            _collect(one, schemas, where, depth + 1, found)
