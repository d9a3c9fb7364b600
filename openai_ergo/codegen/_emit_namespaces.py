"""From the model to the typed namespaces: one module per top-level namespace of the SDK's names
(`files`, `vector_stores`, `beta` ...) under `openai_ergo/_namespaces/_generated/`, and the index
the `Client` inherits its namespace properties from.

What an operation becomes (its SDK name `vector_stores.files.list` says where it lives):

- A method of the namespace class (`VectorStoresFilesNamespace.list`): path parameters
  positional-only, everything else keyword-only; required ones without a default, optional ones
  `None` (not sent); the fields of a JSON body Struct as keyword arguments (a body of another
  type is one `body=` argument; a multipart body's file fields take a `FileInput`); then
  `extra_headers`, `extra_query`, `extra_body`, the SDK's per-call `timeout` and `options`. Its
  body is one line:
  `self._call(_OPERATION, locals())` (`openai_ergo/_namespaces/_base.py`).
- Results: the JSON result's type; a streamed `BinaryResponse` for a binary body (raw or not:
  it carries the headers itself); `Paginator[Item]` for a `GET` whose result is a cursor page
  (`data` and `has_more`), returned without awaiting; `None` for an empty body.
- A twin class (`...RawNamespace`, reached by `with_raw_response`) returns `RawResponse[T]`.
- Nested namespaces are properties; `responses` and `chat` derive from hand-written bases that
  make them callable (`client.responses("gpt-5")` is the builder).
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from openai_ergo.codegen._build import pascal
from openai_ergo.codegen._emit_params import PARAMS_MODULE, ParamForms
from openai_ergo.codegen._emit_types import (
    _BUILTINS,
    _docstring,
    _Imports,
    _Renderer,
    header,
)
from openai_ergo.codegen._model import (
    Alias,
    External,
    ListOf,
    MapOf,
    Model,
    Named,
    Operation,
    Parameter,
    Prim,
    Struct,
    Type,
    UnionOf,
)

__all__ = ["NAMESPACES_PACKAGE", "emit_namespaces"]

NAMESPACES_PACKAGE = "openai_ergo._namespaces._generated"
_BASE = "openai_ergo._namespaces._base"
#: Top-level namespaces with a hand-written base: the builders that make them callable (the
#: ergonomic tier), or workflows beside the typed methods (`files.upload`, `conversations.start`).
_CALLABLE = {
    "responses": ("openai_ergo._namespaces._builders", "ResponsesCall"),
    "chat": ("openai_ergo._namespaces._builders", "ChatCall"),
    "images": ("openai_ergo._namespaces._builders", "ImagesCall"),
    "embeddings": ("openai_ergo._namespaces._builders", "EmbeddingsCall"),
    "moderations": ("openai_ergo._namespaces._builders", "ModerationsCall"),
    "conversations": ("openai_ergo._namespaces._builders", "ConversationsStart"),
    "files": ("openai_ergo._namespaces._files", "FilesCall"),
    "realtime": ("openai_ergo._namespaces._builders", "RealtimeCall"),
}
#: Keyword arguments every method takes after its own.
_EXTRAS = ("extra_headers", "extra_query", "extra_body", "timeout", "options")
_RESERVED = frozenset({"self", "body", *_EXTRAS})
#: The body fields that switch an operation to streaming: field -> (the value that streams,
#: the annotation of a call that streams, the annotation of one that does not).
_STREAM_SWITCHES = {
    "stream": ("True", "Literal[True]", "Literal[False] | None"),
    "stream_format": ('"sse"', 'Literal["sse"]', 'Literal["audio"] | None'),
}
#: Event classes whose streams are the builders' handles (their aggregation and `final()`).
_HANDLES = {
    "ChatCompletionChunk": ("chat", "ChatStream"),
    "ResponseStreamEvent": ("responses", "ResponseStream"),
}


@dataclass
class _Node:
    path: tuple[str, ...]
    children: dict[str, _Node] = field(default_factory=dict)
    operations: list[tuple[str, Operation]] = field(default_factory=list)

    def class_name(self, raw: bool = False) -> str:
        return pascal("_".join(self.path)) + ("RawNamespace" if raw else "Namespace")


def _tree(model: Model) -> dict[str, _Node]:
    tops: dict[str, _Node] = {}
    for op in model.operations:
        *spaces, method = op.sdk_name.split(".")
        node = tops.setdefault(spaces[0], _Node((spaces[0],)))
        for name in spaces[1:]:
            node = node.children.setdefault(name, _Node((*node.path, name)))
        node.operations.append((method, op))
    return tops


def _named_union(kind: Type) -> bool:
    """Whether a type is a union of named types (and `None`): its dict form is one alias."""
    return isinstance(kind, UnionOf) and all(
        isinstance(m, Named) or m == Prim("None") for m in kind.members
    )


def _identifier(name: str) -> str:
    ident = re.sub(r"\W", "_", name.replace("[]", "")).strip("_")
    return ident + "_" if keyword.iskeyword(ident) or ident in _RESERVED else ident


def _page_item(op: Operation, model: Model) -> Type | None:
    """The item type when `op` is a cursor-paginated list (a GET returning `data` and
    `has_more`)."""
    if op.method != "get":
        return None
    results = [r for r in op.results if r.kind == "json"]
    if len(results) != 1 or not isinstance(results[0].type, Named):
        return None
    page = model.definitions.get(results[0].type.name)
    if not isinstance(page, Struct):
        return None
    fields = {f.wire_name: f for f in page.fields}
    # A list without `has_more` (`models.list`) is one page.
    if "data" not in fields or not ("has_more" in fields or page.tag == "list"):
        return None
    data = fields["data"].type
    return data.item if isinstance(data, ListOf) else None


class _Module:
    def __init__(self, top: _Node, model: Model, params: ParamForms) -> None:
        self.top = top
        self.model = model
        self.params = params
        #: The dict forms the signatures name, imported for type checkers only.
        self.param_names: set[str] = set()
        self.sequence = False
        self.imports = _Imports(f"{NAMESPACES_PACKAGE}.{top.path[0]}")
        self.renderer = _Renderer(model, self.imports)
        self.shadowed = self._method_names(top) & _BUILTINS
        self.constants: list[str] = []
        self.rendered: dict[tuple[Type, str], str] = {}
        #: The stream handles the signatures name, imported for type checkers only (the
        #: first stream loads them).
        self.type_only: set[str] = set()

    def _method_names(self, node: _Node) -> set[str]:
        names = {m for m, _ in node.operations} | set(node.children)
        for child in node.children.values():
            names |= self._method_names(child)
        return names

    def type(self, kind: Type, owner: str) -> str:
        # Once per type and owner: a union rendered twice would be hoisted twice.
        key = (kind, owner)
        if key not in self.rendered:
            self.rendered[key] = self._render(kind, owner)
        return self.rendered[key]

    def param_type(self, kind: Type, owner: str) -> str:
        """A body field's annotation: its type, or the type's dict form where it holds objects
        (`ChatCompletionTool | ChatCompletionToolParam`), so SDK-style calls type-check; arrays
        are `Sequence`s and maps `Mapping`s, which take narrower element types."""
        if isinstance(kind, ListOf):
            self.sequence = True
            return f"Sequence[{self.param_type(kind.item, owner)}]"
        if isinstance(kind, MapOf):
            return f"Mapping[str, {self.param_type(kind.value, owner)}]"
        if isinstance(kind, UnionOf):
            members = (self.param_type(m, owner) for m in kind.members)
            return " | ".join(dict.fromkeys(m for m in members))
        if not isinstance(kind, Named) or not self.params.has_dict(kind.name):
            return self.type(kind, owner)
        definition = self.model.definitions[kind.name]
        if isinstance(definition, Alias) and not _named_union(definition.type):
            # An array, a map or a string beside objects: written out, so that its elements
            # may be either form (`Sequence[Tool | ToolParam]`).
            return self.param_type(definition.type, owner)
        name = self.params.name(kind.name)
        self.param_names.add(name)
        return f"{self.type(kind, owner)} | {name}"

    def _holds_bytes(self, kind: Type, depth: int = 0) -> bool:
        """Whether a multipart field is a file (its type holds `bytes`)."""
        if isinstance(kind, Prim):
            return kind.name == "bytes"
        if isinstance(kind, ListOf):
            return self._holds_bytes(kind.item, depth)
        if isinstance(kind, UnionOf):
            return any(self._holds_bytes(m, depth) for m in kind.members)
        if isinstance(kind, Named) and depth < 5:
            definition = self.model.definitions.get(kind.name)
            if isinstance(definition, Alias):
                return self._holds_bytes(definition.type, depth + 1)
        return False

    def _file_input(self, rendered: str) -> str:
        """A multipart file field's annotation: what the upload streams from (`FileInput`: a
        path, bytes, a binary file, an async iterable, a `FileUpload`), not the spec's bytes."""
        self.imports.add("openai_ergo._multipart", "FileInput")
        members = [m.replace("bytes", "FileInput") for m in rendered.split(" | ")]
        # `str | list[bytes]`: the spec writes one binary file as a string.
        members = ["FileInput" if m == "str" else m for m in members]
        return " | ".join(dict.fromkeys(members))

    def _render(self, kind: Type, owner: str) -> str:
        rendered = self.renderer.render(kind, owner)
        for name in self.shadowed:
            qualified = re.sub(rf"(?<![.\w]){name}\b", f"builtins.{name}", rendered)
            self.imports.builtins |= qualified != rendered
            rendered = qualified
        return rendered

    def source(self) -> str:
        classes: list[str] = []
        self._classes(self.top, classes)
        imports = self.imports
        imports.typing.add("Any")
        imports.add(_BASE, "Namespace")
        imports.add(_BASE, "Operation")
        imports.add(_BASE, "checked")
        imports.add("openai_ergo._config", "RequestOptions")
        if self.type_only:
            imports.typing |= {"TYPE_CHECKING", "Literal", "overload"}
            imports.add(_BASE, "Streaming")
        # `timeout=` takes an `httpx.Timeout`, as in the SDK: named for the type checker only, so
        # the namespace modules do not import httpx.
        imports.typing.add("TYPE_CHECKING")
        head = self.imports.lines()
        typing_line = next(i for i, line in enumerate(head) if line.startswith("from typing"))
        abc = "Mapping, Sequence" if self.sequence else "Mapping"
        head.insert(typing_line, f"from collections.abc import {abc}")
        head += ["", "if TYPE_CHECKING:", "    import httpx", ""]
        if self.type_only:
            names = ", ".join(sorted(self.type_only))
            head.append(f"    from openai_ergo.resources import {names}")
        if self.param_names:
            names = ", ".join(sorted(self.param_names))
            head.append(f"    from {PARAMS_MODULE} import {names}")
        lines = [
            header(self.model.spec_version).rstrip("\n"),
            *_docstring(
                f"The typed methods of `client.{self.top.path[0]}` and the namespaces in it.", ""
            ),
            "",
            *head,
            *self.renderer.helpers,
            *self.renderer.hoisted,
            "",
            *self.constants,
            *classes,
        ]
        return "\n".join(lines).rstrip("\n") + "\n"

    def _classes(self, node: _Node, out: list[str]) -> None:
        for child in node.children.values():
            self._classes(child, out)
        for raw in (False, True):
            out += ["", "", *self._class(node, raw)]

    def _class(self, node: _Node, raw: bool) -> list[str]:
        dotted = ".".join(node.path)
        bases = ["Namespace"]
        if not raw and len(node.path) == 1 and node.path[0] in _CALLABLE:
            module, base = _CALLABLE[node.path[0]]
            self.imports.add(module, base)
            bases = [base]
        what = "raw responses of " if raw else ""
        lines = [
            f"class {node.class_name(raw)}({', '.join(bases)}):",
            *_docstring(f"The typed methods of `client.{dotted}` ({what}the API).", "    "),
            "",
            "    __slots__ = ()",
        ]
        if not raw:
            lines += [
                "",
                "    @property",
                f"    def with_raw_response(self) -> {node.class_name(True)}:",
                '        """The same methods, returning the raw response with `parse()`."""',
                f"        return {node.class_name(True)}(self._client, raw=True)",
            ]
        for name, child in node.children.items():
            lines += [
                "",
                "    @property",
                f"    def {name}(self) -> {child.class_name(raw)}:",
                f'        """`client.{".".join(child.path)}`."""',
                f"        return {child.class_name(raw)}(self._client, raw=self._raw)",
            ]
        for name, op in node.operations:
            lines += ["", *self._method(name, op, node, raw)]
        return lines

    def _constant(self, name: str, op: Operation, node: _Node) -> str:
        return "_" + "_".join((*node.path, name)).upper()

    def _method(self, name: str, op: Operation, node: _Node, raw: bool) -> list[str]:
        owner = f"{op.sdk_name}"
        constant = self._constant(name, op, node)
        params: list[str] = ["self"]
        spec = {"method": json.dumps(op.method.upper()), "path": json.dumps(op.path)}
        taken: set[str] = set()
        path_params = [p for p in op.parameters if p.location == "path"]
        for p in path_params:
            ident = _identifier(p.name)
            taken.add(ident)
            params.append(f"{ident}: {self.type(p.type, owner)}")
        if path_params:
            pairs = (
                f"({json.dumps(_identifier(p.name))}, {json.dumps(p.name)})" for p in path_params
            )
            spec["path_params"] = "(" + "".join(f"{pair}, " for pair in pairs) + ")"
            params.append("/")
        params.append("*")
        required: list[str] = []
        optional: list[str] = []

        def add(ident: str, annotation: str, is_required: bool) -> None:
            if not is_required and not annotation.endswith("| None") and annotation != "Any":
                annotation += " | None"
            if len(ident) + len(annotation) > 72:
                # Parenthesised, the formatter can give a long type a line of its own.
                annotation = f"({annotation})"
            if is_required:
                required.append(f"{ident}: {annotation}")
            else:
                optional.append(f"{ident}: {annotation} = None")

        for location in ("query", "header"):
            entries = []
            for p in (p for p in op.parameters if p.location == location):
                ident = self._unique(_identifier(p.name), taken)
                rendered = self.type(p.type, owner)
                add(ident, rendered, p.required)
                runtime = self._runtime_type(p)
                entries.append(f"{json.dumps(ident)}: ({json.dumps(p.name)}, {runtime})")
            if entries:
                key = "query" if location == "query" else "headers"
                spec[key] = "{" + ", ".join(entries) + "}"
        stream = self._stream_of(op, owner)
        switch = ""
        body = op.body
        if body is not None and body.type is not None:
            definition = (
                self.model.definitions.get(body.type.name) if isinstance(body.type, Named) else None
            )
            spec["body"] = self.type(body.type, owner)
            if body.content_type.startswith("multipart/"):
                spec["multipart"] = "True"
                if body.json_unless_file:
                    spec["json_unless_file"] = "True"
            if isinstance(definition, Struct):
                fields = []
                for f in definition.fields:
                    ident = self._unique(f.name, taken)
                    where = f"{definition.name}.{f.name}"
                    if spec.get("multipart") and self._holds_bytes(f.type):
                        rendered = self._file_input(self.type(f.type, where))
                    else:
                        rendered = self.param_type(f.type, where)
                    if f.nullable and "None" not in rendered.split(" | "):
                        rendered += " | None"
                    add(ident, rendered, f.required and definition.side == "request")
                    if stream is not None and f.wire_name in _STREAM_SWITCHES:
                        switch = ident
                        rendered_switch = f.wire_name
                    fields.append(f"{json.dumps(ident)}: {json.dumps(f.wire_name)}")
                spec["body_fields"] = "{" + ", ".join(fields) + "}"
            else:
                spec["whole_body"] = "True"
                add("body", self.param_type(body.type, owner), body.required)
        if stream is not None and switch:
            spec["streaming"] = stream[0]
        params += required + optional
        params += [
            "extra_headers: Mapping[str, str] | None = None",
            "extra_query: Mapping[str, Any] | None = None",
            "extra_body: Mapping[str, Any] | None = None",
            "timeout: float | httpx.Timeout | None = None",
            "options: RequestOptions | None = None",
        ]
        item = _page_item(op, self.model)
        kinds = {r.kind for r in op.results}
        if item is not None:
            item_type = self.type(item, owner)
            self.imports.add("openai_ergo._pagination", "Paginator")
            spec["kind"] = '"list"'
            spec["result"] = item_type
            returns = f"Paginator[{item_type}]"
            call = f"return self._paginate({constant}, locals())"
            is_async = False
        else:
            json_result = next((r for r in op.results if r.kind == "json"), None)
            if "binary" in kinds:
                # File, video and skill content: the spec also lists a JSON string, which the
                # API does not send. The body is streamed, never held whole.
                self.imports.add("openai_ergo._response", "BinaryResponse")
                returns = "BinaryResponse"
                spec["kind"] = '"binary"'
            elif json_result is not None and json_result.type is not None:
                returns = self.type(json_result.type, owner)
                spec["result"] = returns
            elif "text" in kinds:
                returns = "str"
                spec["kind"] = '"text"'
            elif json_result is not None:
                returns = "Any"
            else:
                returns = "None"
                spec["kind"] = '"empty"'
            call = f"return await self._call({constant}, locals())  # type: ignore[no-any-return]"
            if returns == "None" and not raw:
                call = f"await self._call({constant}, locals())"
            is_async = True
            if raw and returns != "BinaryResponse":
                self.imports.add(_BASE, "RawResponse")
                returns = f"RawResponse[{returns}]"
        if not raw:
            self.constants += [
                f"{constant} = Operation(",
                *(f"    {key}={value}," for key, value in spec.items()),
                ")",
            ]
        doc = op.summary or f"`{op.method.upper()} {op.path}`."
        if op.deprecated and not doc.startswith("Deprecated"):
            doc = "Deprecated. " + doc
        signature = f"    {'async def' if is_async else 'def'} {name}("
        overloads: list[str] = []
        if stream is not None and switch:
            # The type checker sees what the call returns: the stream handle when it streams
            # (`stream=True`), the object when it does not, either for a plain `bool`.
            handle = stream[1]
            on, off = _STREAM_SWITCHES[rendered_switch][1:]
            streaming = [p.split(":")[0] == switch for p in params]
            for annotation, variant_returns in (
                (on, handle),
                (f"{off} = None", returns),
                (None, f"{returns} | {handle}"),
            ):
                variant = [
                    f"{switch}: {annotation}" if annotation and is_switch else p
                    for p, is_switch in zip(params, streaming, strict=True)
                ]
                overloads += [
                    "    @overload",
                    signature,
                    *(f"        {p}," for p in variant),
                    f"    ) -> {variant_returns}: ...",
                    "",
                ]
            returns = f"{returns} | {handle}"
        return [
            *overloads,
            "    @checked",
            signature,
            *(f"        {p}," for p in params),
            f"    ) -> {returns}:",
            *_docstring(doc, "        "),
            f"        {call}",
        ]

    def _stream_of(self, op: Operation, owner: str) -> tuple[str, str] | None:
        """(the `Streaming` of an operation that can stream, its handle's annotation)."""
        result = next((r for r in op.results if r.kind == "stream" and r.type), None)
        body = op.body
        if result is None or body is None or not isinstance(body.type, Named):
            return None
        definition = self.model.definitions.get(body.type.name)
        if not isinstance(definition, Struct):
            return None
        switch = next((f for f in definition.fields if f.wire_name in _STREAM_SWITCHES), None)
        assert result.type is not None
        if switch is None:
            return None
        value = _STREAM_SWITCHES[switch.wire_name][0]
        events = self.type(result.type, owner)
        target = (
            self.model.definitions.get(result.type.name) if isinstance(result.type, Named) else None
        )
        handle, annotation = "events", f"TypedEventStream[{events}]"
        if isinstance(target, External) and target.attr in _HANDLES:
            handle, annotation = _HANDLES[target.attr]
        self.type_only.add(annotation.split("[")[0])
        envelope = self._tag_field(result.type) == "event"
        spec = (
            f"Streaming({json.dumps(switch.wire_name)}, {value}, {events}, {json.dumps(handle)}"
            + (", envelope=True)" if envelope else ")")
        )
        return spec, annotation

    def _tag_field(self, kind: Type) -> str | None:
        """The tag field of an event type (of the first tagged member of a union)."""
        if isinstance(kind, UnionOf):
            return next(filter(None, (self._tag_field(m) for m in kind.members)), None)
        if not isinstance(kind, Named):
            return None
        definition = self.model.definitions[kind.name]
        if isinstance(definition, Alias):
            return self._tag_field(definition.type)
        return definition.tag_field

    def _runtime_type(self, p: Parameter) -> str:
        kind = p.type
        if isinstance(kind, Prim):
            return "Any" if kind.name == "Any" else kind.name
        return self.type(kind, p.name)

    @staticmethod
    def _unique(ident: str, taken: set[str]) -> str:
        while ident in taken:
            ident += "_"
        taken.add(ident)
        return ident


def _index(tops: dict[str, _Node], model: Model) -> str:
    """The package's `__init__.py`: the class `Client` inherits one property per top-level
    namespace from, each loading its module on first use."""
    lines = [
        header(model.spec_version).rstrip("\n"),
        '"""The typed namespaces of the `Client`: one property each, loading its generated module',
        'on first use (so `import openai_ergo` loads none of them)."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING",
        "",
        "from openai_ergo._namespaces._owner import NamespaceOwner",
        "",
        "if TYPE_CHECKING:",
    ]
    for name in sorted(tops):
        lines.append(f"    from {NAMESPACES_PACKAGE}.{name} import {tops[name].class_name()}")
    lines += [
        "",
        "#: The top-level namespaces, for the closest-match hint of an unknown one.",
        "NAMESPACES = (" + ", ".join(json.dumps(n) for n in sorted(tops)) + ",)",
        "",
        "",
        "class Namespaces(NamespaceOwner):",
        '    """The typed namespaces, named as the official SDK names them."""',
        "",
        "    __slots__ = ()",
    ]
    for name in sorted(tops):
        cls = tops[name].class_name()
        lines += [
            "",
            "    @property",
            f"    def {name}(self) -> {cls}:",
            f'        """`client.{name}`: typed methods (docs/api-coverage.md)."""',
            # The module, not a name from it: `from module import name` has the import
            # system look for the module's `__path__`, raising and discarding an
            # AttributeError on every read of the namespace.
            f"        import {NAMESPACES_PACKAGE}.{name} as namespace",
            "",
            f"        return namespace.{cls}(self._namespace_client())",
        ]
    return "\n".join(lines) + "\n"


def emit_namespaces(model: Model) -> Iterator[tuple[str, str]]:
    """(file name, source) of every namespace module and of the index (`__init__.py`)."""
    tops = _tree(model)
    params = ParamForms(model)
    for name in sorted(tops):
        yield f"{name}.py", _Module(tops[name], model, params).source()
    yield "__init__.py", _index(tops, model)
