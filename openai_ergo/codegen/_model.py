"""The intermediate model between the spec and the emitters: types, definitions and operations.

The builder (`_build.py`) turns an OpenAPI document into a `Model`; each emitter reads only the
model, never the spec. Types are small immutable values, so the builder can compare, deduplicate
and flatten them; definitions say what a name becomes in Python (a Struct, an alias, or an
existing hand-written class); operations keep what the typed namespaces and the coverage table
need (path, parameters, body and result kinds, examples).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

__all__ = [
    "Alias",
    "Body",
    "Definition",
    "External",
    "Field",
    "ListOf",
    "MapOf",
    "Model",
    "Named",
    "Operation",
    "Parameter",
    "Prim",
    "Result",
    "Side",
    "Struct",
    "Type",
    "UnionOf",
]

#: Where a definition is used: only in requests, only in responses, or both. A request-only
#: Struct keeps the spec's required fields required; every other one is tolerant.
Side = Literal["request", "response", "both"]


@dataclass(frozen=True)
class Prim:
    """A builtin type: `str`, `int`, `float`, `bool`, `bytes`, `None` or `Any`."""

    name: str


@dataclass(frozen=True)
class Named:
    """A reference to a definition of the model, by its Python name."""

    name: str


@dataclass(frozen=True)
class ListOf:
    """A JSON array of `item`."""

    item: Type


@dataclass(frozen=True)
class MapOf:
    """A JSON object with free keys and values of type `value`."""

    value: Type


@dataclass(frozen=True)
class UnionOf:
    """A union as the spec writes it (`oneOf`/`anyOf`, a list of `type`s, `nullable`).

    The builder flattens nested unions and decides how each one decodes (`Model.unions`).
    """

    members: tuple[Type, ...]


Type: TypeAlias = Prim | Named | ListOf | MapOf | UnionOf


@dataclass
class Field:
    """One property of a Struct."""

    name: str
    wire_name: str
    type: Type
    required: bool
    nullable: bool
    doc: str = ""
    deprecated: bool = False


@dataclass
class Struct:
    """An object schema: a msgspec Struct, tagged when it carries a constant tag field."""

    name: str
    schema: str
    fields: list[Field]
    doc: str = ""
    deprecated: bool = False
    tag_field: str | None = None
    tag: str | None = None
    side: Side = "response"
    module: str = ""
    #: Tag-like fields that are enums of several values (field -> values): see `_build`.
    open_tags: dict[str, list[str]] = field(default_factory=dict)
    #: Whether the spec requires the tag field (`role` of a chat message) or lets a request
    #: leave it out (`type` of an input message).
    tag_required: bool = False


@dataclass
class Alias:
    """A schema that is no object: a union, an array, a map or a primitive."""

    name: str
    schema: str
    type: Type
    doc: str = ""
    deprecated: bool = False
    side: Side = "response"
    module: str = ""


@dataclass
class External:
    """A schema the generator does not emit: a hand-written class defines it (one source of
    truth), and generated code imports it from `module`."""

    name: str
    schema: str
    module: str
    attr: str
    tag_field: str | None = None
    tag: str | None = None
    #: For a hand-written union: the definitions of its members.
    members: list[str] = field(default_factory=list)


Definition: TypeAlias = Struct | Alias | External


@dataclass
class Parameter:
    """A path, query or header parameter of an operation."""

    name: str
    location: Literal["path", "query", "header"]
    type: Type
    required: bool
    doc: str = ""
    deprecated: bool = False


@dataclass
class Body:
    """An operation's request body: its content type and its type (a Struct for JSON and
    multipart bodies)."""

    content_type: str
    type: Type | None
    required: bool
    #: The operation takes the same schema as JSON too: sent as JSON when no file is given.
    json_unless_file: bool = False


@dataclass
class Result:
    """What a successful operation returns, by kind.

    `json` decodes into `type`; `stream` is `text/event-stream` of events of `type`; `binary`
    is a body streamed as bytes (file content, audio, video, zip); `empty` has no body.
    """

    status: str
    content_type: str
    kind: Literal["json", "stream", "binary", "text", "empty"]
    type: Type | None


@dataclass
class Operation:
    """One operation of the spec, with what its typed method and its tests need."""

    operation_id: str
    method: str
    path: str
    group: str
    summary: str
    deprecated: bool
    parameters: list[Parameter]
    body: Body | None
    results: list[Result]
    #: Response examples as JSON text, from `x-oaiMeta` and the responses' `example`s.
    response_examples: list[str] = field(default_factory=list)
    #: The dotted name of its typed method, as the official SDK names it (`files.content`).
    sdk_name: str = ""


@dataclass
class Model:
    """Everything the emitters need: definitions by Python name, operations, and what was
    left out (schema name -> reason)."""

    spec_version: str
    definitions: dict[str, Definition]
    operations: list[Operation]
    #: Component schema name -> the Python name that stands for it.
    schema_names: dict[str, str]
    skipped: dict[str, str] = field(default_factory=dict)
    #: Notes on unions the generator could not type fully, by the definition that holds them.
    union_notes: dict[str, str] = field(default_factory=dict)
    #: The hand-written schemas (and the objects inline in them) as the generator would define
    #: them: only their request-side dict forms are emitted (`_emit_params`), never a class.
    shadows: dict[str, Definition] = field(default_factory=dict)
