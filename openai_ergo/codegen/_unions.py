"""How a union of the spec becomes a union msgspec can decode: the generator's union rule.

msgspec decodes a union without trying its members one by one: at most one member of each JSON
kind (one str-like, one array, one object-like ...), and several objects only when they are
Structs tagged on the same field with distinct tags. The spec's unions are mapped as follows:

1. Nested unions are flattened (a member that is itself a union contributes its members).
2. Members that are the same JSON kind merge: enums and strings -> `str` (enum-like values stay
   open: a new value never fails a decode); several arrays -> one array of the union of their
   items; `int` and `float` stay side by side (msgspec tells them apart).
3. Several object members form a tagged union on the tag field most of them carry (`type`,
   `object`, `event`, `role`). A member whose tag field is an open enum (`WebSearchTool`:
   `web_search` or a dated name) is tagged with its first value (`_build`). A member without
   that tag field is handled like the members of rule 5; so is any payload that lacks the tag.
4. Every tagged union also holds an `Unknown*Variant` of its tag field (`UnknownTypeVariant`
   for `type`): a payload whose tag is not known (a newer API) decodes to it with its raw
   payload, through `openai_ergo.types.decode`'s fallback.
5. Members that share one tag (the spec's mixed unions: in `InputItem` the easy message, the
   input message and the output message are all `type: "message"`) stay in the union for type
   checkers, so `if item.type == "message":` narrows to the three of them. msgspec cannot tell
   them apart, so the runtime union leaves them out and registers them with
   `with_colliders`: their payloads take the fallback path, which decodes each candidate and
   keeps the one that explains the payload best (fewest unknown parts, most known fields).
6. Objects with no common constant tag (two filters whose `type` is an open enum; the three
   transcription responses) are told apart by shape: the runtime union holds an
   `UntaggedVariants` in their place, which no payload matches, and the fallback decodes each
   member and keeps the one that fits best (most known fields). An object beside a free-form
   map becomes `dict[str, Any]`. Each such union is noted on its definition's docstring.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from openai_ergo.codegen._model import (
    Alias,
    Definition,
    External,
    ListOf,
    MapOf,
    Named,
    Prim,
    Struct,
    Type,
    UnionOf,
)

__all__ = ["UNKNOWN_VARIANTS", "UnionPlan", "flatten", "plan_union"]

#: The fallback class of a tagged union, by tag field (`openai_ergo.types._variants`).
UNKNOWN_VARIANTS = {
    "type": "UnknownTypeVariant",
    "object": "UnknownObjectVariant",
    "event": "UnknownEventVariant",
    "role": "UnknownRoleVariant",
}

_ANY_OBJECT = MapOf(Prim("Any"))


@dataclass
class UnionPlan:
    """The members msgspec decodes, the fallback variant (if tagged) and what was left out."""

    members: list[Type]
    tag_field: str | None = None
    left_out: list[str] = field(default_factory=list)
    #: Members sharing a tag (rule 5): in the static union, not in the runtime one.
    colliders: list[Type] = field(default_factory=list)
    note: str = ""


def flatten(kind: Type, definitions: Mapping[str, Definition], seen: frozenset[str]) -> list[Type]:
    """The members of a union, with nested unions (inline or named aliases) expanded."""
    if isinstance(kind, UnionOf):
        return [m for member in kind.members for m in flatten(member, definitions, seen)]
    if isinstance(kind, Named) and kind.name not in seen:
        target = definitions[kind.name]
        if isinstance(target, Alias) and isinstance(target.type, UnionOf):
            return flatten(target.type, definitions, seen | {kind.name})
        if isinstance(target, External) and target.members:
            return [Named(member) for member in target.members]
    return [kind]


def json_kind(kind: Type, definitions: Mapping[str, Definition]) -> str:
    """The JSON kind a type decodes from: what msgspec allows once per union."""
    if isinstance(kind, Prim):
        return {"str": "str", "bytes": "str", "float": "number"}.get(kind.name, kind.name)
    if isinstance(kind, ListOf):
        return "array"
    if isinstance(kind, MapOf):
        return "map"
    if isinstance(kind, UnionOf):
        return "union"
    target = definitions[kind.name]
    if isinstance(target, Alias):
        return json_kind(target.type, definitions)
    if isinstance(target, External) and target.members:
        return "union"
    return "object"


def _tag(kind: Type, definitions: Mapping[str, Definition]) -> tuple[str | None, str | None]:
    if not isinstance(kind, Named):
        return None, None
    target = definitions[kind.name]
    if isinstance(target, Struct | External):
        return target.tag_field, target.tag
    return None, None


def plan_union(kind: UnionOf, definitions: Mapping[str, Definition]) -> UnionPlan:
    """Apply the union rule (module docstring) to one union."""
    members: list[Type] = []
    targets: set[tuple[str, str]] = set()
    for member in flatten(kind, definitions, frozenset()):
        target = definitions.get(member.name) if isinstance(member, Named) else None
        if isinstance(target, External):
            # Two schemas one hand-written class defines are one member.
            if (target.module, target.attr) in targets:
                continue
            targets.add((target.module, target.attr))
        if member not in members:
            members.append(member)
    if Prim("Any") in members:
        return UnionPlan([Prim("Any")])
    by_kind: dict[str, list[Type]] = {}
    for member in members:
        by_kind.setdefault(json_kind(member, definitions), []).append(member)
    plan = UnionPlan([])
    out: list[Type] = []
    objects = by_kind.pop("object", [])
    maps = by_kind.pop("map", [])
    unions = by_kind.pop("union", [])
    for json, group in by_kind.items():
        if json == "str":
            named = [m for m in group if isinstance(m, Named)]
            out.append(named[0] if len(group) == 1 and named else Prim("str"))
        elif json == "array":
            items = [m.item for m in group if isinstance(m, ListOf)]
            if len(group) == 1:
                out.append(group[0])
            else:
                out.append(ListOf(UnionOf(tuple(items))))
        elif json != "None":
            out.append(group[0])
    objects += unions
    if maps and objects:
        out.append(_ANY_OBJECT)
        plan.note = "objects beside a free-form map: kept as a plain dict"
    elif len(maps) > 0:
        out.append(maps[0] if len(maps) == 1 else _ANY_OBJECT)
    elif len(objects) == 1 and not unions:
        out.append(objects[0])
    elif objects:
        _plan_objects(objects, definitions, plan, out)
    if "None" in by_kind:
        out.append(Prim("None"))
    plan.members = out
    return plan


def _plan_objects(
    objects: list[Type], definitions: Mapping[str, Definition], plan: UnionPlan, out: list[Type]
) -> None:
    tags = [_tag(m, definitions) for m in objects]
    fields = Counter(f for f, t in tags if f is not None and t is not None)
    if not fields:
        # Rule 6: told apart by shape, on the slow path.
        plan.colliders = list(objects)
        plan.note = "objects without a common tag: told apart on decode by their fields"
        return
    tag_field = fields.most_common(1)[0][0]
    by_tag: dict[str, list[Type]] = {}
    for member, (member_field, tag) in zip(objects, tags, strict=True):
        if member_field == tag_field and tag is not None:
            by_tag.setdefault(tag, []).append(member)
        else:
            plan.left_out.append(member.name if isinstance(member, Named) else str(member))
            plan.colliders.append(member)
    for members in by_tag.values():
        if len(members) == 1:
            out.extend(members)
        else:
            plan.colliders.extend(members)
    plan.tag_field = tag_field
    notes = []
    shared = sorted(t for t, m in by_tag.items() if len(m) > 1)
    if shared:
        notes.append(
            f"members sharing the tag {', '.join(f'`{t}`' for t in shared)}"
            " are told apart on decode"
        )
    if plan.left_out:
        notes.append(
            f"members without a `{tag_field}` tag are told apart on decode by their fields: "
            + ", ".join(f"`{name}`" for name in plan.left_out)
        )
    plan.note = "; ".join(notes)
