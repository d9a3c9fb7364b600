"""What generated types stand on: tagged bases, the unknown-variant fallback, tolerant decoding.

A generated Struct with a constant field (`type`, `object`, `event`, `role`) is tagged on it:
msgspec writes the tag on every encode and picks the member of a union by it. For type checkers
each tagged class declares its tag as a `Literal` class variable, so `if item.type == "x":`
narrows a union to its member, as `isinstance` and `match` do.

Every tagged union of the generated types also holds the `Unknown*Variant` of its tag field. It
never matches a payload on the fast path (its tag, `<unknown>`, is never sent); when msgspec
rejects a document for a tag it does not know, `decode` decodes it again, slowly, and puts an
`Unknown*Variant` holding the raw payload where the unknown object was. Only unknown tags are
tolerated: a known object with a field of the wrong type still raises, naming its path.
"""

from __future__ import annotations

import re
from types import UnionType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, Union, get_args, overload
from typing import get_origin as _origin

import msgspec

from openai_ergo.types._base import (
    UNKNOWN_TAG,
    APIObject,
    TaggedObject,
    UnknownObject,
    UnknownTypeVariant,
    UnknownVariant,
    read_tag,
)

__all__ = [
    "UNKNOWN_TAG",
    "EventTagged",
    "ObjectTagged",
    "RoleTagged",
    "TypeTagged",
    "UnknownEventVariant",
    "UnknownObjectVariant",
    "UnknownRoleVariant",
    "UnknownTypeVariant",
    "UnknownVariant",
    "UntaggedVariants",
    "decode",
]

_T = TypeVar("_T")

#: The field `UntaggedVariants` requires: no server sends it either.
UNTAGGED_FIELD = "<untagged>"


#: Generated objects tagged by `type` share the hand-written base: one definition of the tag.
TypeTagged = TaggedObject


class ObjectTagged(APIObject, tag_field="object"):
    """Base of generated objects tagged by `object`; `obj.object` reads the tag."""

    if not TYPE_CHECKING:
        object = property(read_tag, doc="The `object` tag this object carries on the wire.")


class EventTagged(APIObject, tag_field="event"):
    """Base of generated objects tagged by `event`; `obj.event` reads the tag."""

    if not TYPE_CHECKING:
        event = property(read_tag, doc="The `event` tag this object carries on the wire.")


class RoleTagged(APIObject, tag_field="role"):
    """Base of generated objects tagged by `role`; `obj.role` reads the tag."""

    if not TYPE_CHECKING:
        role = property(read_tag, doc="The `role` tag this object carries on the wire.")


class UntaggedVariants(UnknownVariant, kw_only=True):
    """Stands, at run time, for the members of a union that carry no common tag (the
    transcription responses; two filters): a required field no payload carries makes the fast
    path fail, and the fallback decodes the payload as the member it fits best (`colliders`,
    set by each generated subclass). Never returned by a decode."""

    never_sent: None = msgspec.field(name=UNTAGGED_FIELD)


class UnknownObjectVariant(ObjectTagged, UnknownVariant, tag=UNKNOWN_TAG, kw_only=True):
    """An object of an `object` this version does not know; the tag sent is `raw["object"]`."""

    if TYPE_CHECKING:
        object: ClassVar[Literal["<unknown>"]]


class UnknownEventVariant(EventTagged, UnknownVariant, tag=UNKNOWN_TAG, kw_only=True):
    """An event this version does not know; the tag sent is `raw["event"]`."""

    if TYPE_CHECKING:
        event: ClassVar[Literal["<unknown>"]]


class UnknownRoleVariant(RoleTagged, UnknownVariant, tag=UNKNOWN_TAG, kw_only=True):
    """A message of a `role` this version does not know; the tag sent is `raw["role"]`."""

    if TYPE_CHECKING:
        role: ClassVar[Literal["<unknown>"]]


# ---- decoding ------------------------------------------------------------------------------------

_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}
_UNKNOWN_TAG_ERROR = re.compile(
    r"(Invalid value .* - at `\$.*\.(type|object|event|role)`"
    r"|Object missing required field `(type|object|event|role|<untagged>)`.*)$"
)


@overload
def decode(data: bytes | str, /, *, type: type[_T]) -> _T: ...
@overload
def decode(data: bytes | str, /, *, type: Any) -> Any: ...
def decode(data: bytes | str, /, *, type: Any) -> Any:
    """Decode JSON into a generated (or hand-written) type, keeping objects of unknown tags.

    The fast path is one msgspec decode with a cached decoder. A document msgspec rejects for a
    tag it does not know is decoded again with each such object replaced by the
    `Unknown*Variant` of its union, holding its raw payload. Invalid JSON raises
    `msgspec.DecodeError`; a known object with a field of the wrong type
    `msgspec.ValidationError`, naming the field.
    """
    decoder = _DECODERS.get(type)
    if decoder is None:
        decoder = _DECODERS[type] = msgspec.json.Decoder(type)
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        if not _UNKNOWN_TAG_ERROR.match(str(exc)):
            raise
        return _lenient(msgspec.json.decode(data), type, "$")


def _hand_written_fallbacks() -> dict[frozenset[Any], type[UnknownObject]]:
    # The hand-written unions keep their own fallback classes (their static types name them).
    from openai_ergo.types import _response_content, _response_items, _response_stream

    return {
        frozenset(get_args(_response_items.OutputItem)): _response_items.UnknownOutputItem,
        frozenset(get_args(_response_content.OutputContent)): _response_content.UnknownContent,
        frozenset(get_args(_response_content.Annotation)): _response_content.UnknownAnnotation,
        frozenset(get_args(_response_stream.ResponseStreamEvent)): _response_stream.UnknownEvent,
    }


#: A Struct class's fields, read once: `msgspec.structs.fields` evaluates the class's annotations
#: on every call (milliseconds for a realtime item), and the lenient path asks per object.
_FIELDS: dict[Any, tuple[msgspec.structs.FieldInfo, ...]] = {}


def _fields(kind: Any) -> tuple[msgspec.structs.FieldInfo, ...]:
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = msgspec.structs.fields(kind)
    return found


def _lenient(value: Any, kind: Any, path: str) -> Any:
    """Convert decoded JSON to `kind` as msgspec would, but with objects of unknown tags kept."""
    origin = _origin(kind)
    if isinstance(kind, type) and issubclass(kind, UnknownVariant):
        # A union whose members all share tags is only its unknown variant at runtime.
        return _lenient_union(value, (kind,), path)
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct) and isinstance(value, dict):
        fields = {}
        for info in _fields(kind):
            if info.encode_name in value:
                fields[info.name] = _lenient(
                    value[info.encode_name], info.type, f"{path}.{info.encode_name}"
                )
        try:
            return kind(**fields)
        except TypeError as exc:
            raise msgspec.ValidationError(f"{exc} - at `{path}`") from None
    if origin in (Union, UnionType):
        return _lenient_union(value, get_args(kind), path)
    if origin is list and isinstance(value, list):
        (item,) = get_args(kind)
        return [_lenient(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict and isinstance(value, dict):
        _, item = get_args(kind)
        return {k: _lenient(v, item, f"{path}.{k}") for k, v in value.items()}
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise msgspec.ValidationError(f"{exc} - at `{path}`") from None


def _lenient_union(value: Any, members: tuple[Any, ...], path: str) -> Any:
    structs = [m for m in members if isinstance(m, type) and issubclass(m, msgspec.Struct)]
    untagged = [m for m in structs if issubclass(m, UntaggedVariants)]
    if isinstance(value, dict) and untagged:
        return _best_fit(value, list(getattr(untagged[0], "colliders", ())), path)
    if isinstance(value, dict) and structs:
        tag_field = structs[0].__struct_config__.tag_field
        if tag_field is None:
            return _lenient(value, structs[0], path)
        tag = value.get(tag_field)
        for member in structs:
            if member.__struct_config__.tag == tag and tag != UNKNOWN_TAG:
                return _lenient(value, member, path)
        for member in structs:
            if issubclass(member, UnknownVariant):
                colliders = getattr(member, "colliders", ())
                if tag is None:
                    # A payload without its tag may be any member: the best fit is meant.
                    known = [s for s in structs if not issubclass(s, UnknownVariant)]
                    candidates = [*known, *colliders]
                else:
                    candidates = [c for c in colliders if c.__struct_config__.tag == tag]
                if candidates:
                    return _best_fit(value, candidates, path)
                return member(raw=value)
        fallback = _FALLBACKS.get(frozenset(structs))
        if fallback is not None:
            return fallback(raw=value)
        raise msgspec.ValidationError(f"Invalid value {tag!r} - at `{path}.{tag_field}`")
    for member in members:
        origin = _origin(member)
        if (origin is list and isinstance(value, list)) or (
            origin is dict and isinstance(value, dict)
        ):
            return _lenient(value, member, path)
    return _convert(value, members, path)


def _best_fit(value: dict[str, Any], candidates: list[type[Any]], path: str) -> Any:
    """The candidate (members of one union sharing a tag) that explains `value` best: it
    decodes, with the fewest objects inside whose tag is unknown or not the one sent, and the
    most known fields; the first listed on a tie."""
    scored = []
    for order, candidate in enumerate(candidates):
        try:
            decoded = _lenient(value, candidate, path)
        except msgspec.ValidationError:
            continue
        known = sum(f.encode_name in value for f in _fields(candidate))
        scored.append((_misfits(decoded, value), -known, order, decoded))
    if not scored:
        # None fits: the first one's error names the field.
        return _lenient(value, candidates[0], path)
    return min(scored, key=lambda s: s[:3])[3]


def _misfits(value: Any, raw: Any) -> int:
    """How many objects in `value` are unknown variants, or carry a tag other than `raw`'s."""
    if isinstance(value, UnknownVariant):
        return 1
    if isinstance(value, msgspec.Struct) and isinstance(raw, dict):
        config = value.__struct_config__
        count = int(config.tag_field in raw and raw[config.tag_field] != config.tag)
        for info in _fields(type(value)):
            if info.encode_name in raw:
                count += _misfits(getattr(value, info.name), raw[info.encode_name])
        return count
    if isinstance(value, list) and isinstance(raw, list):
        return sum(_misfits(v, r) for v, r in zip(value, raw, strict=False))
    return 0


def _convert(value: Any, members: tuple[Any, ...], path: str) -> Any:
    try:
        return msgspec.convert(value, Union[members])  # noqa: UP007 (a runtime union of a tuple)
    except msgspec.ValidationError as exc:
        raise msgspec.ValidationError(f"{exc} - at `{path}`") from None


class _Fallbacks(dict[frozenset[Any], type[UnknownObject]]):
    """Loaded on the first slow decode: the hand-written modules stay unloaded until then."""

    def get(self, key: frozenset[Any], default: Any = None) -> Any:
        if not self:
            self.update(_hand_written_fallbacks())
        return super().get(key, default)


_FALLBACKS = _Fallbacks()
