"""The base classes every model derives from, and the fallback for objects of unknown tags.

Every model is a `msgspec.Struct` with keyword-only fields that omits defaults when encoded, so a
request body or a re-encoded object carries only what was set. `gc=False` is safe because decoded
API objects are trees: they never reference themselves, so the cycle collector has nothing to find
and skipping it makes allocation of large responses cheaper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

import msgspec

__all__ = [
    "UNKNOWN_TAG",
    "APIObject",
    "TaggedObject",
    "UnknownObject",
    "UnknownTypeVariant",
    "UnknownVariant",
    "read_tag",
]


class APIObject(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """Base of every API model: keyword-only fields, defaults omitted when encoded."""

    #: Whether this object stands for a payload it keeps whole in `raw` (an unknown object):
    #: as plain data it is that payload.
    _keeps_raw: ClassVar[bool] = False

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers), as it goes on the wire:
        unset fields left out, tags included, an object of an unknown type as the payload the
        server sent. The equivalent of the SDK's `model_dump()`."""
        return cast("dict[str, Any]", _with_raw_payloads(self, msgspec.to_builtins(self)))

    def to_json(self) -> bytes:
        """This object encoded as JSON, as `to_dict()` gives it."""
        return msgspec.json.encode(self.to_dict())


def _with_raw_payloads(value: Any, data: Any) -> Any:
    """`data` (what msgspec made of `value`) with every unknown object inside replaced by its
    raw payload: msgspec would write the wrapper (`{"type": ..., "raw": ...}`)."""
    if isinstance(value, APIObject):
        if value._keeps_raw:
            return dict(getattr(value, "raw", {}))
        for field in msgspec.structs.fields(value):
            if field.encode_name in data:
                data[field.encode_name] = _with_raw_payloads(
                    getattr(value, field.name), data[field.encode_name]
                )
    elif isinstance(value, list):
        return [_with_raw_payloads(v, d) for v, d in zip(value, data, strict=True)]
    elif isinstance(value, dict):
        return {k: _with_raw_payloads(value[k], d) for k, d in data.items()}
    return data


#: The tag every unknown variant carries: no server sends it, so the fast path never picks it.
UNKNOWN_TAG = "<unknown>"


def read_tag(self: msgspec.Struct) -> str:
    """The tag of a tagged object: its class's, the property every tag field reads."""
    return cast(str, self.__struct_config__.tag)


class TaggedObject(APIObject, tag_field="type"):
    """Base of the models that are members of a union told apart by their `type` field.

    The tag is the class's identity: it is not a field, so `type` is read-only and always matches
    the class (`OutputMessage().type == "message"`). Each tagged class declares its tag to type
    checkers as a `Literal` class variable, so `if item.type == "message":` narrows a union to
    its member, as `isinstance` and `match` do.
    """

    if not TYPE_CHECKING:
        type = property(read_tag, doc="The `type` tag this object carries on the wire.")


class UnknownVariant(APIObject, kw_only=True):
    """A member of a tagged union whose tag this version does not know: `raw` is the whole
    payload as the server sent it, and `to_dict()` returns it (send `raw` back to round-trip
    it)."""

    _keeps_raw: ClassVar[bool] = True

    raw: dict[str, Any] = {}


class UnknownTypeVariant(TaggedObject, UnknownVariant, tag=UNKNOWN_TAG, kw_only=True):
    """An object of a `type` this version does not know; the tag sent is `raw["type"]`.

    Its own `type` reads `"<unknown>"` (a `Literal` to type checkers), so comparing `.type` with
    a known tag narrows a union away from it. Decoding never fails on a new kind of item, part
    or event from a newer API: it becomes one of these, keeping everything the server sent.
    """

    if TYPE_CHECKING:
        type: ClassVar[Literal["<unknown>"]]


#: The name the hand-written fallbacks (`UnknownEvent`, `UnknownOutputItem`, ...) knew their base
#: by: the same class, kept so code written against it keeps working.
UnknownObject = UnknownTypeVariant
