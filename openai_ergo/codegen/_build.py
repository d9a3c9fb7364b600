"""From an OpenAPI document to the intermediate model: definitions, operations, modules.

Every component schema becomes one definition: a Struct (object schemas, `allOf` merged), an
alias (unions, arrays, maps, primitives), or an `External` when a hand-written class already
defines it (`_handwritten.py`). Objects written inline inside a schema become Structs named after
their owner and property (`FineTuningJob` + `hyperparameters` -> `FineTuningJobHyperparameters`).
Then the operations are read, every definition is marked with the side it is used on (requests,
responses or both) and placed in a module by the operation group that uses it.
"""

from __future__ import annotations

import importlib
import keyword
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

from openai_ergo.codegen._handwritten import HANDWRITTEN, member_classes, tag_of
from openai_ergo.codegen._model import (
    Alias,
    Body,
    Definition,
    External,
    Field,
    ListOf,
    MapOf,
    Model,
    Named,
    Operation,
    Parameter,
    Prim,
    Result,
    Side,
    Struct,
    Type,
    UnionOf,
)
from openai_ergo.codegen._names import sdk_names
from openai_ergo.codegen._unions import flatten

__all__ = ["build_model"]

_REF_PREFIX = "#/components/schemas/"
_METHODS = ("get", "post", "put", "patch", "delete")
#: A constant property becomes the Struct's msgspec tag; these are tried first, in this order.
_TAG_FIELDS = ("type", "object", "event", "role")
#: Operations that stream (`stream=True`) though the spec lists no `text/event-stream` result:
#: the schema of one event, as the official SDK reads those streams (a legacy completion
#: streams completion chunks; a run streams the Assistants events).
UNLISTED_STREAMS = {
    "createCompletion": "CreateCompletionResponse",
    "createRun": "AssistantStreamEvent",
    "createThreadAndRun": "AssistantStreamEvent",
    "submitToolOuputsToRun": "AssistantStreamEvent",
}
#: Unions the official SDK reads that the spec leaves out: the Realtime API's beta protocol
#: (`OpenAI-Beta: realtime=v1`) defines each of its events but no union of them. Each is made of
#: the component schemas whose names start with its own, tagged on `type` like the GA unions.
UNLISTED_UNIONS = {
    "RealtimeBetaServerEvent": "A realtime server event of the beta protocol "
    "(`OpenAI-Beta: realtime=v1`).",
    "RealtimeBetaClientEvent": "A realtime client event of the beta protocol "
    "(`OpenAI-Beta: realtime=v1`).",
}
#: The union of the events webhook deliveries carry: the spec's `webhooks:` section names the
#: schema of each webhook's payload, but no union of them. Tagged on `type` like the others.
WEBHOOK_UNION = "WebhookEvent"
WEBHOOK_UNION_DOC = (
    "An event a webhook delivery carries, by its `type` (`client.webhooks.unwrap` verifies and "
    "decodes one)."
)
#: The beta protocol's own names for the events whose beta schemas the spec gives the GA names
#: (`response.output_text.delta`): the beta API sends these, as the official SDK's beta types
#: say, so a beta event decodes into its typed Struct, not into an unknown variant.
BETA_EVENT_NAMES = {
    "RealtimeBetaServerEventResponseTextDelta": "response.text.delta",
    "RealtimeBetaServerEventResponseTextDone": "response.text.done",
    "RealtimeBetaServerEventResponseAudioDelta": "response.audio.delta",
    "RealtimeBetaServerEventResponseAudioDone": "response.audio.done",
    "RealtimeBetaServerEventResponseAudioTranscriptDelta": "response.audio_transcript.delta",
    "RealtimeBetaServerEventResponseAudioTranscriptDone": "response.audio_transcript.done",
}
SHARED_MODULE = "shared"
UNUSED_MODULE = "standalone"

Schema = Mapping[str, Any]


def pascal(text: str) -> str:
    """`file_search` / `self-harm/intent` / `Fine-tuning` -> `FileSearch` / `SelfHarmIntent` /
    `FineTuning`."""
    words = re.split(r"[^0-9A-Za-z]+", text)
    return "".join(w[:1].upper() + w[1:] for w in words if w)


def python_name(wire: str) -> str:
    """A Python identifier for a property name (the wire name is kept by `msgspec.field`)."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", wire)
    if not name or name[0].isdigit():
        name = "_" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def trim_doc(text: object, limit: int = 320) -> str:
    """The first paragraph of a description, links reduced to their text, cut at a sentence
    end when it is long: docstrings say what a thing is, the API reference says the rest."""
    if not isinstance(text, str):
        return ""
    paragraph = text.strip().split("\n\n", 1)[0]
    paragraph = " ".join(_LINK.sub(r"\1", paragraph).split())
    if len(paragraph) <= limit:
        return paragraph
    cut = paragraph.rfind(". ", 0, limit)
    return paragraph[: cut + 1] if cut > 0 else paragraph[:limit].rsplit(" ", 1)[0] + " ..."


def const_value(schema: Schema) -> str | None:
    """The single string value of a constant property (`enum: [x]` or `const: x`, possibly
    nullable)."""
    members = [m for m in schema.get("anyOf", []) if m.get("type") != "null"]
    if len(members) == 1:
        return const_value(members[0])
    if isinstance(schema.get("const"), str):
        return cast(str, schema["const"])
    enum = schema.get("enum")
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
        return enum[0]
    return None


def _webhook_events(webhooks: Mapping[str, Any]) -> list[str]:
    """The schema names of the payloads the spec's `webhooks:` section delivers, in its order."""
    events: list[str] = []
    for item in webhooks.values():
        for method in _METHODS:
            content = item.get(method, {}).get("requestBody", {}).get("content", {})
            for media in content.values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith(_REF_PREFIX) and ref[len(_REF_PREFIX) :] not in events:
                    events.append(ref[len(_REF_PREFIX) :])
    return events


def _tagged_union(description: str, members: Iterable[str]) -> Schema:
    return {
        "description": description,
        "discriminator": {"propertyName": "type"},
        "anyOf": [{"$ref": _REF_PREFIX + member} for member in members],
    }


def _with_unlisted_unions(spec: Schema) -> dict[str, Schema]:
    """The spec's schemas, the `UNLISTED_UNIONS` it does not define itself, and the union of its
    webhook events (`WEBHOOK_UNION`)."""
    schemas: Mapping[str, Schema] = spec.get("components", {}).get("schemas", {})
    out = dict(schemas)
    for name, description in UNLISTED_UNIONS.items():
        members = [other for other in schemas if other.startswith(name) and other != name]
        if name not in schemas and members:
            out[name] = _tagged_union(description, members)
    events = _webhook_events(spec.get("webhooks", {}))
    if WEBHOOK_UNION not in schemas and events:
        out[WEBHOOK_UNION] = _tagged_union(WEBHOOK_UNION_DOC, sorted(events))
    return out


def _with_beta_event_names(schemas: Mapping[str, Schema]) -> dict[str, Schema]:
    """The spec's schemas, with the beta events of `BETA_EVENT_NAMES` tagged by their beta
    names."""
    out = dict(schemas)
    for name, wire in BETA_EVENT_NAMES.items():
        schema = schemas.get(name)
        if schema is None:
            continue
        properties = dict(schema.get("properties", {}))
        properties["type"] = {
            **properties.get("type", {}),
            "enum": [wire],
            "description": f"The event type, `{wire}` in the beta protocol.",
        }
        out[name] = {**schema, "properties": properties}
    return out


class _Builder:
    def __init__(self, spec: Schema) -> None:
        self.spec = spec
        self.schemas: dict[str, Schema] = _with_beta_event_names(_with_unlisted_unions(spec))
        self.definitions: dict[str, Definition] = {}
        self.schema_names = {name: pascal(name) for name in self.schemas}
        self.skipped: dict[str, str] = {}

    # ---- definitions -------------------------------------------------------------------------

    def unique(self, name: str) -> str:
        candidate, n = name, 2
        while candidate in self.definitions or candidate in self.reserved:
            candidate, n = f"{name}{n}", n + 1
        return candidate

    def build_components(self) -> None:
        self.reserved = set(self.schema_names.values())
        for schema_name, schema in self.schemas.items():
            name = self.schema_names[schema_name]
            if schema_name in HANDWRITTEN:
                module, attr = HANDWRITTEN[schema_name]
                tag_field, tag = tag_of(module, attr)
                self.definitions[name] = External(name, schema_name, module, attr, tag_field, tag)
                continue
            self.define(name, schema_name, schema)
        # A hand-written union's members, as the definitions that stand for their classes.
        by_class: dict[str, str] = {}
        for name, definition in self.definitions.items():
            if isinstance(definition, External):
                by_class.setdefault(definition.attr, name)
        for definition in self.definitions.values():
            if isinstance(definition, External):
                classes = member_classes(definition.module, definition.attr)
                definition.members = [by_class[c] for c in classes if c in by_class]

    def define(self, name: str, schema_name: str, schema: Schema) -> None:
        doc = trim_doc(schema.get("description") or schema.get("title"))
        deprecated = bool(schema.get("deprecated"))
        merged = self.object_parts(schema)
        if merged is not None and merged[0]:
            properties, required = merged
            struct = Struct(name, schema_name, [], doc, deprecated)
            self.definitions[name] = struct
            self.fill_struct(struct, properties, required)
            return
        alias = Alias(name, schema_name, Prim("Any"), doc, deprecated)
        self.definitions[name] = alias
        alias.type = self.type_of(schema, name)

    def resolve(self, schema: Schema) -> Schema:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            return self.schemas[ref[len(_REF_PREFIX) :]]
        return schema

    def object_parts(self, schema: Schema) -> tuple[dict[str, Schema], set[str]] | None:
        """The properties and required names of an object schema, `allOf` parts merged; None
        when the schema is no object with properties (a union, a map, a primitive)."""
        if "allOf" in schema:
            properties: dict[str, Schema] = {}
            required: set[str] = set()
            for part in schema["allOf"]:
                parts = self.object_parts(self.resolve(part))
                if parts is None:
                    return None
                properties.update(parts[0])
                required |= parts[1]
            properties.update(schema.get("properties", {}))
            required |= set(schema.get("required", []))
            return properties, required
        if "oneOf" in schema or "anyOf" in schema:
            return None
        if "properties" in schema:
            return dict(schema["properties"]), set(schema.get("required", []))
        if schema.get("type") == "object" and "additionalProperties" not in schema:
            return {}, set()
        return None

    def fill_struct(
        self, struct: Struct, properties: dict[str, Schema], required: set[str]
    ) -> None:
        for wire in _TAG_FIELDS:
            if wire in properties:
                value = const_value(self.resolve(properties[wire]))
                if value is not None:
                    struct.tag_field, struct.tag = wire, value
                    struct.tag_required = wire in required
                    break
        for wire in _TAG_FIELDS:
            values = _enum_values(self.resolve(properties.get(wire, {})))
            if struct.tag_field is None and len(values) > 1:
                struct.open_tags[wire] = values
        taken: set[str] = set()
        for wire, prop in properties.items():
            if wire == struct.tag_field:
                continue
            name = python_name(wire)
            while name in taken:
                name += "_"
            taken.add(name)
            resolved = self.resolve(prop)
            doc = trim_doc(_description(prop) or _description(resolved), 200)
            values = _enum_values(prop) or _enum_values(resolved)
            if len(values) > 1 and not all(f"`{v}`" in doc for v in values):
                doc = f"{doc} One of: {', '.join(f'`{v}`' for v in values)}.".strip()
            kind = self.type_of(prop, struct.name + pascal(wire))
            struct.fields.append(
                Field(
                    name=name,
                    wire_name=wire,
                    type=kind,
                    required=wire in required,
                    nullable=_nullable(kind),
                    doc=doc,
                    deprecated=bool(prop.get("deprecated") or resolved.get("deprecated")),
                )
            )

    def inline_struct(self, schema: Schema, name: str) -> Type:
        parts = self.object_parts(schema)
        assert parts is not None
        unique = self.unique(name)
        doc = trim_doc(schema.get("description") or schema.get("title"))
        struct = Struct(unique, "", [], doc, bool(schema.get("deprecated")))
        self.definitions[unique] = struct
        self.fill_struct(struct, *parts)
        return Named(unique)

    def type_of(self, schema: Schema, owner: str) -> Type:
        """The type of a schema met inside `owner`; inline objects become Structs named from
        `owner`."""
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref.startswith(_REF_PREFIX):
                return Named(self.schema_names[ref[len(_REF_PREFIX) :]])
            return Prim("Any")
        if "$recursiveRef" in schema or "not" in schema:
            return Prim("Any")
        for key in ("oneOf", "anyOf"):
            if key in schema:
                # `X | null` names an inline X after its owner alone.
                alone = sum(m.get("type") != "null" for m in schema[key]) == 1
                members = [
                    self.type_of(member, owner if alone else owner + self.variant_name(member, i))
                    for i, member in enumerate(schema[key])
                ]
                return _nullable_if(UnionOf(tuple(members)), schema)
        if "allOf" in schema:
            parts = schema["allOf"]
            if len(parts) == 1 and "properties" not in schema:
                return _nullable_if(self.type_of(parts[0], owner), schema)
            if self.object_parts(schema) is None:
                return Prim("Any")
            return _nullable_if(self.inline_struct(schema, owner), schema)
        kind = schema.get("type")
        if isinstance(kind, list):
            members = [self.type_of({**schema, "type": k}, owner) for k in kind]
            return UnionOf(tuple(members))
        if kind == "array":
            items = schema.get("items")
            item = self.type_of(items, owner + "Item") if isinstance(items, dict) else Prim("Any")
            return _nullable_if(ListOf(item), schema)
        if kind == "object" or "properties" in schema:
            if schema.get("properties"):
                return _nullable_if(self.inline_struct(schema, owner), schema)
            extra = schema.get("additionalProperties")
            value = self.type_of(extra, owner + "Value") if isinstance(extra, dict) else Prim("Any")
            return _nullable_if(MapOf(value), schema)
        primitive = {
            "string": "bytes" if schema.get("format") == "binary" else "str",
            "integer": "int",
            "number": "float",
            "boolean": "bool",
            "null": "None",
        }.get(cast(str, kind))
        if primitive is None:
            return Prim("Any")
        return _nullable_if(Prim(primitive), schema)

    def variant_name(self, member: Schema, index: int) -> str:
        """How an inline member of a union is named: its tag, its title, or its position."""
        properties = member.get("properties", {})
        for wire in _TAG_FIELDS:
            if wire in properties:
                value = const_value(properties[wire])
                if value is not None:
                    return pascal(value)
        if isinstance(member.get("title"), str):
            return pascal(member["title"])
        return f"Variant{index + 1}"

    def shadows(self) -> dict[str, Definition]:
        """The hand-written schemas as the generator would define them, apart from the model's
        definitions: what their request-side dict forms (`TypedDict`s) are made from."""
        shadow = _Builder(self.spec)
        shadow.schema_names = self.schema_names
        shadow.reserved = set(self.schema_names.values()) | set(self.definitions)
        for schema_name in HANDWRITTEN:
            if schema_name in self.schemas:
                name = self.schema_names[schema_name]
                shadow.define(name, schema_name, self.schemas[schema_name])
        return shadow.definitions

    # ---- operations --------------------------------------------------------------------------

    def operations(self) -> Iterator[Operation]:
        for path, item in self.spec.get("paths", {}).items():
            for method in _METHODS:
                if method in item:
                    yield self.operation(path, method, item[method], item.get("parameters", []))

    def operation(
        self, path: str, method: str, op: Schema, shared_params: Iterable[Schema]
    ) -> Operation:
        op_id = cast(str, op["operationId"])
        meta = op.get("x-oaiMeta", {})
        owner = pascal(op_id)
        parameters = [
            Parameter(
                name=param["name"],
                location=param["in"],
                type=self.type_of(param.get("schema", {}), owner + pascal(param["name"])),
                required=bool(param.get("required")),
                doc=trim_doc(param.get("description"), 200),
                deprecated=bool(param.get("deprecated")),
            )
            for param in [*shared_params, *op.get("parameters", [])]
            if param.get("in") in ("path", "query", "header")
        ]
        body = None
        request = op.get("requestBody")
        if request:
            content = request.get("content", {})
            content_type, media = next(iter(content.items()))
            form, json_media = content.get("multipart/form-data"), content.get("application/json")
            # One schema offered both ways (container files, skills, video remixes): a file goes
            # as multipart, as the official SDK sends it, and a call with no file as JSON.
            both = form is not None and json_media is not None and form == json_media
            if both:
                content_type, media = "multipart/form-data", form
            schema = media.get("schema")
            body = Body(
                content_type,
                self.type_of(schema, owner + "Request") if schema else None,
                bool(request.get("required")),
                json_unless_file=both,
            )
        results = []
        for status, response in op.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            content = response.get("content") or {}
            if not content:
                results.append(Result(status, "", "empty", None))
            for content_type, media in content.items():
                schema = media.get("schema")
                kind = self.type_of(schema, owner + "Response") if schema else None
                if isinstance(kind, UnionOf) and _result_kind(content_type) == "json":
                    # A result written inline as a union gets a name, as its typed method's
                    # return type.
                    name = self.unique(owner + "Response")
                    self.definitions[name] = Alias(name, "", kind, f"What `{op_id}` returns.")
                    kind = Named(name)
                results.append(Result(status, content_type, _result_kind(content_type), kind))
        if op_id in UNLISTED_STREAMS:
            event = Named(self.schema_names[UNLISTED_STREAMS[op_id]])
            results.append(Result("200", "text/event-stream", "stream", event))
        if method == "get" and path.endswith("/content") and _no_object(results):
            # File and container file content: the spec says a JSON string or nothing, and
            # the API sends the file's bytes.
            results = [
                Result(r.status, "application/octet-stream", "binary", None) for r in results
            ]
        return Operation(
            operation_id=op_id,
            method=method,
            path=path,
            group=_group_of(path, op),
            summary=trim_doc(op.get("summary")),
            deprecated=bool(op.get("deprecated")),
            parameters=parameters,
            body=body,
            results=results,
            response_examples=_response_examples(meta.get("examples")),
        )


def _description(schema: Schema) -> object:
    """A schema's description, or that of the one non-null member of its `anyOf` (`X | null`
    puts the description on X)."""
    if schema.get("description"):
        return schema["description"]
    members = [m for m in schema.get("anyOf", []) if m.get("type") != "null"]
    return members[0].get("description") if len(members) == 1 else None


def _enum_values(schema: Schema) -> list[str]:
    """The known values of an enum-like property (its enum, or its string-enum members)."""
    values = [v for v in schema.get("enum", []) if isinstance(v, str)]
    for member in schema.get("anyOf", []) + schema.get("oneOf", []):
        values += [v for v in member.get("enum", []) if isinstance(v, str) and v not in values]
    return values


def _nullable(kind: Type) -> bool:
    return isinstance(kind, UnionOf) and Prim("None") in kind.members


def _nullable_if(kind: Type, schema: Schema) -> Type:
    if schema.get("nullable") is True:
        return UnionOf((kind, Prim("None")))
    return kind


def _result_kind(content_type: str) -> Any:
    if content_type == "application/json":
        return "json"
    if content_type == "text/event-stream":
        return "stream"
    if content_type.startswith("text/") or content_type == "application/sdp":
        return "text"
    return "binary"


def _no_object(results: list[Result]) -> bool:
    """Whether no result is a JSON object (each is a bare string, or no body at all)."""
    return bool(results) and all(
        r.kind == "empty" or (r.kind == "json" and r.type == Prim("str")) for r in results
    )


def _group_of(path: str, op: Schema) -> str:
    """The operation's group, as a module name: `x-oaiMeta.group`, else its first tag, else the
    path's first segment; the usage reports and the realtime calls join their family."""
    group = op.get("x-oaiMeta", {}).get("group") or next(iter(op.get("tags", [])), None)
    if not group:
        group = path.strip("/").split("/")[0]
    group = re.sub(r"[^0-9a-z]+", "_", str(group).lower()).strip("_")
    if group.startswith("usage_"):
        return "usage"
    if group.startswith("realtime"):
        return "realtime"
    return group


def _response_examples(examples: object) -> list[str]:
    found: list[str] = []
    for example in examples if isinstance(examples, list) else [examples]:
        if isinstance(example, dict) and isinstance(example.get("response"), str):
            found.append(example["response"])
    return found


# ---- where each definition is used, and the module it lives in ----------------------------------


def _names_in(kind: Type | None) -> Iterator[str]:
    if isinstance(kind, Named):
        yield kind.name
    elif isinstance(kind, ListOf):
        yield from _names_in(kind.item)
    elif isinstance(kind, MapOf):
        yield from _names_in(kind.value)
    elif isinstance(kind, UnionOf):
        for member in kind.members:
            yield from _names_in(member)


def references(definition: Definition) -> Iterator[str]:
    """The names a definition refers to directly."""
    if isinstance(definition, Struct):
        for item in definition.fields:
            yield from _names_in(item.type)
    elif isinstance(definition, Alias):
        yield from _names_in(definition.type)


def _closure(definitions: Mapping[str, Definition], roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(references(definitions[name]))
    return seen


def _place(model: Model) -> None:
    """Mark each definition's side, and put it in the module of the one operation group that
    uses it, or in `shared` when several do (so group modules import only `shared`, never each
    other, and no import cycle can form)."""
    definitions = model.definitions
    request_roots: list[str] = []
    response_roots: list[str] = []
    groups: dict[str, set[str]] = {}
    for op in model.operations:
        request = [n for p in op.parameters for n in _names_in(p.type)]
        if op.body is not None:
            request.extend(_names_in(op.body.type))
        response = [n for r in op.results for n in _names_in(r.type)]
        request_roots.extend(request)
        response_roots.extend(response)
        for name in _closure(definitions, request + response):
            groups.setdefault(name, set()).add(op.group)
    on_request = _closure(definitions, request_roots)
    on_response = _closure(definitions, response_roots)
    for name, definition in definitions.items():
        if isinstance(definition, External):
            continue
        side: Side = "response"
        if name in on_request:
            side = "both" if name in on_response else "request"
        definition.side = side
        used_by = groups.get(name, set())
        if len(used_by) == 1:
            definition.module = next(iter(used_by))
        elif used_by:
            definition.module = SHARED_MODULE
    # What no operation uses (Realtime and webhook events, mostly) lives in one module: it may
    # import group modules, and none of them imports it.
    for definition in definitions.values():
        if not isinstance(definition, External) and not definition.module:
            definition.module = UNUSED_MODULE


def build_model(spec: Mapping[str, Any]) -> Model:
    """Read an OpenAPI document into the intermediate model."""
    builder = _Builder(spec)
    builder.build_components()
    operations = list(builder.operations())
    names = sdk_names(
        (method, path, op)
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if method in _METHODS
    )
    for operation in operations:
        operation.sdk_name = names[operation.operation_id]
    model = Model(
        spec_version=str(spec.get("info", {}).get("version", "")),
        definitions=builder.definitions,
        operations=operations,
        schema_names=builder.schema_names,
        skipped=builder.skipped,
        shadows=builder.shadows(),
    )
    _tag_open_members(model)
    _place(model)
    _check_names(model)
    return model


def _tag_open_members(model: Model) -> None:
    """A union member whose tag field is an enum of several values (`WebSearchTool`:
    `web_search` or `web_search_2025_08_26`) is tagged with its first value when the other
    members carry a constant tag on that field: it stays in the union, typed, and a payload with
    one of its other values decodes through the unknown-variant fallback."""
    definitions = model.definitions
    unions = [u for d in definitions.values() for u in _unions_in(d)]
    for union in unions:
        members = [
            definitions[m.name]
            for m in flatten(union, definitions, frozenset())
            if isinstance(m, Named)
        ]
        fields = Counter(d.tag_field for d in members if isinstance(d, Struct | External) and d.tag)
        if not fields:
            continue
        tag_field = fields.most_common(1)[0][0]
        for member in members:
            if isinstance(member, Struct) and member.tag is None and tag_field in member.open_tags:
                member.tag_field, member.tag = tag_field, member.open_tags[tag_field][0]
                member.tag_required = any(
                    f.wire_name == tag_field and f.required for f in member.fields
                )
                member.fields = [f for f in member.fields if f.wire_name != tag_field]


def _unions_in(definition: Definition) -> Iterator[UnionOf]:
    kinds: list[Type] = []
    if isinstance(definition, Struct):
        kinds = [f.type for f in definition.fields]
    elif isinstance(definition, Alias):
        kinds = [definition.type]
    while kinds:
        kind = kinds.pop()
        if isinstance(kind, UnionOf):
            yield kind
            kinds.extend(kind.members)
        elif isinstance(kind, ListOf):
            kinds.append(kind.item)
        elif isinstance(kind, MapOf):
            kinds.append(kind.value)


def _check_names(model: Model) -> None:
    """A generated name must not hide a hand-written one in `openai_ergo.types`: map the
    schema to the hand-written class instead (`_handwritten.py`)."""
    modules = {module for module, _ in HANDWRITTEN.values()} | {"openai_ergo.types._base"}
    taken = {
        name
        for module in modules
        for name in vars(importlib.import_module(module))
        if name[:1].isupper()
    }
    clashes = sorted(
        name
        for name, d in model.definitions.items()
        if not isinstance(d, External) and name in taken
    )
    if clashes:
        raise ValueError(f"generated names clash with hand-written ones: {', '.join(clashes)}")
