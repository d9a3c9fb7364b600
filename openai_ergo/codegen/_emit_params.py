"""The dict forms of the request types: a `TypedDict` per request-side object, so SDK-style
calls type-check (`client.responses.create(input=[{"role": "user", "content": "hi"}])`).

Decision (docs/design.md, "Decision: SDK-style dict arguments"): generated `TypedDict`s, the
official SDK's way, rather than `Struct | Mapping[str, Any]`: a misspelt key or a value of the
wrong type is a type error, as it is with the SDK, and they cost nothing at run time. They live
in one module, `openai_ergo.types._generated.params` (re-exported by `openai_ergo.types`), which
the namespaces import for type checkers only: calling a typed method never loads it.

- Every object a request body reaches gets `<Name>Param` (`<Name>ParamDict` where a schema is
  already named so), `total=False`: the keys the spec requires are `Required`, the tag key too
  where the spec requires it (a chat message's `role`; an input message's `type` may be left
  out, as the API allows). A union, an array or a map of objects gets a `<Name>Param` alias.
- Inside a dict, values are dicts (`Sequence` for arrays, `Mapping` for maps); a typed method's
  parameter takes either form (`Struct | StructParam`), and converts a dict to the Struct before
  sending, as it always has.
- The hand-written Responses and Chat classes get dict forms too, made from their schemas
  (`Model.shadows`): passing back an output item as input type-checks.
- The module is read by type checkers only: its imports are under `TYPE_CHECKING` and its
  aliases are strings, so importing a name at run time (an annotation in user code) costs one
  module of `TypedDict` classes and nothing else.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Iterable

from openai_ergo.codegen._build import _names_in, references, trim_doc
from openai_ergo.codegen._emit_types import _WIDTH, _comment, _docstring, header
from openai_ergo.codegen._model import (
    Alias,
    Definition,
    External,
    ListOf,
    MapOf,
    Model,
    Prim,
    Struct,
    Type,
    UnionOf,
)

__all__ = ["PARAMS_MODULE", "ParamForms"]

#: Where the dict forms live, in the generated types package.
PARAMS_MODULE = "openai_ergo.types._generated.params"


class ParamForms:
    """Which definitions a request reaches, and how each is written as a dict."""

    def __init__(self, model: Model) -> None:
        self.model = model
        taken = set(model.definitions) | set(model.shadows)
        self._names: dict[str, str] = {}
        self.reached: list[str] = []
        self._dicts: dict[str, bool] = {}
        roots = [op.body.type for op in model.operations if op.body is not None and op.body.type]
        seen: set[str] = set()
        stack = [name for kind in roots for name in _names_in(kind)]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            definition = self.definition(name)
            if definition is None:
                continue
            self.reached.append(name)
            stack.extend(references(definition))
        self.reached.sort()
        for name in self.reached:
            # `ToolParam` for `Tool`; a schema named `...Param` already, or a name taken, ends
            # in `Dict` instead.
            candidate = name + ("Dict" if name.endswith("Param") else "Param")
            if candidate in taken:
                candidate = name + "Dict"
            while candidate in taken:
                candidate += "_"
            taken.add(candidate)
            self._names[name] = candidate

    def definition(self, name: str) -> Struct | Alias | None:
        """What a name stands for in a request: a hand-written class stands for its shadow."""
        definition: Definition | None = self.model.definitions.get(name)
        if definition is None or isinstance(definition, External):
            definition = self.model.shadows.get(name)
        return definition if isinstance(definition, Struct | Alias) else None

    def has_dict(self, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether the name's dict form differs from its type (it holds an object)."""
        if name not in self._dicts:
            definition = self.definition(name)
            if isinstance(definition, Struct):
                self._dicts[name] = True
            elif definition is None or name in seen:
                return False
            else:
                inner = seen | {name}
                self._dicts[name] = any(self.has_dict(n, inner) for n in _names_in(definition.type))
        return self._dicts[name]

    def name(self, name: str) -> str:
        """The dict form's name (`ChatCompletionToolParam`)."""
        return self._names[name]

    def names(self) -> list[str]:
        """Every dict form the module defines."""
        return sorted(self._names[n] for n in self.reached if self.has_dict(n))

    # ---- rendering ------------------------------------------------------------------------

    def render(self, kind: Type, depth: int = 0) -> str:
        """A type as a dict-only annotation (inside a `TypedDict`)."""
        if depth > 20:
            return "Any"
        if isinstance(kind, Prim):
            return kind.name
        if isinstance(kind, ListOf):
            return f"Sequence[{self.render(kind.item, depth + 1)}]"
        if isinstance(kind, MapOf):
            return f"Mapping[str, {self.render(kind.value, depth + 1)}]"
        if isinstance(kind, UnionOf):
            members = dict.fromkeys(_flat(self.render(m, depth + 1) for m in kind.members))
            # `None` last, as the formatters write unions.
            return " | ".join(
                [*(m for m in members if m != "None"), *(["None"] * ("None" in members))]
            )
        if self.has_dict(kind.name):
            return self.name(kind.name)
        definition = self.definition(kind.name)
        if isinstance(definition, Alias):
            return self.render(definition.type, depth + 1)
        return "Any"

    def source(self) -> str:
        """The `params` module."""
        body: list[str] = []
        for name in self.reached:
            if not self.has_dict(name):
                continue
            definition = self.definition(name)
            if isinstance(definition, Struct):
                body += ["", "", *self._typed_dict(definition)]
            elif isinstance(definition, Alias):
                body += ["", *_string_alias(self.name(name), self.render(definition.type))]
                body += _docstring(f"The dict form of `{name}`.", "")
        names = self.names()
        lines = [
            header(self.model.spec_version).rstrip("\n"),
            '"""The request types as plain data: a `TypedDict` per object a request reaches, for',
            "SDK-style calls that type-check (`openai_ergo.codegen._emit_params` says how).",
            '"""',
            "",
            "from __future__ import annotations",
            "",
            "from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict",
            "",
            "if TYPE_CHECKING:",
            "    from collections.abc import Mapping, Sequence",
            "",
            "    from typing_extensions import Required",
            "",
            "__all__ = [",
            *(f'    "{n}",' for n in names),
            "]",
            *body,
        ]
        return "\n".join(lines) + "\n"

    def _typed_dict(self, struct: Struct) -> list[str]:
        name = self.name(struct.name)
        doc = struct.doc or f"The `{struct.schema or struct.name}` object."
        doc = trim_doc(f"The dict form of `{struct.name}`: {doc}", 400)
        fields: list[tuple[str, str, str]] = []
        if struct.tag_field is not None:
            tag = f"Literal[{json.dumps(struct.tag)}]"
            required = struct.tag_required
            fields.append((struct.tag_field, f"Required[{tag}]" if required else tag, ""))
        for item in struct.fields:
            rendered = self.render(item.type)
            if item.nullable and "None" not in _flat([rendered]):
                rendered += " | None"
            annotation = f"Required[{rendered}]" if item.required else rendered
            fields.append((item.wire_name, annotation, item.doc))
        if all(w.isidentifier() and not keyword.iskeyword(w) for w, _, _ in fields):
            lines = [f"class {name}(TypedDict, total=False):", *_docstring(doc, "    ")]
            for wire, annotation, comment in fields:
                lines += [*_comment(comment, "    "), f"    {wire}: {annotation}"]
            return lines
        # A key that is no identifier (`$ref`, `from`): the functional form, annotations quoted.
        entries = [f'    "{w}": "{a}",' for w, a, _ in fields]
        return [f'{name} = TypedDict("{name}", {{', *entries, "}, total=False)", f'"""{doc}"""']


def _string_alias(name: str, value: str) -> list[str]:
    """`name: TypeAlias = "value"`, the string cut in pieces (implicitly joined) at `|`s where
    it is long: a formatter does not split a string."""
    line = f'{name}: TypeAlias = "{value}"'
    if len(line) <= _WIDTH:
        return [line]
    pieces: list[str] = []
    # The pieces are joined back into one string, so a cut may fall inside brackets too.
    for member in value.split(" | "):
        if pieces and len(pieces[-1]) + len(member) + 3 <= _WIDTH - 10:
            pieces[-1] += f" | {member}"
        else:
            pieces.append(member)
    quoted = [f'    "{p}{" | " if i < len(pieces) - 1 else ""}"' for i, p in enumerate(pieces)]
    return [f"{name}: TypeAlias = (", *quoted, ")"]


def _flat(members: Iterable[str]) -> Iterable[str]:
    """The members of rendered unions, split at their top-level `|` only."""
    for member in members:
        depth, start = 0, 0
        for i, char in enumerate(member):
            depth += (char == "[") - (char == "]")
            if depth == 0 and member.startswith(" | ", i):
                yield member[start:i]
                start = i + 3
        yield member[start:]
