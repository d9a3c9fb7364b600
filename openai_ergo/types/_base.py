"""The two base classes every model derives from, and the fallback for unknown tagged objects.

Every model is a `msgspec.Struct` with keyword-only fields that omits defaults when encoded, so a
request body or a re-encoded object carries only what was set. `gc=False` is safe because decoded
API objects are trees: they never reference themselves, so the cycle collector has nothing to find
and skipping it makes allocation of large responses cheaper.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import msgspec

__all__ = ["APIObject", "TaggedObject", "UnknownObject"]


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


class TaggedObject(APIObject, tag_field="type"):
    """Base of the models that are members of a union told apart by their `type` field.

    The tag is the class's identity: it is not a field, so `type` is read-only and always matches
    the class (`OutputMessage().type == "message"`).
    """

    @property
    def type(self) -> str:
        """The `type` tag this object carries on the wire."""
        return cast(str, self.__struct_config__.tag)


class UnknownObject(APIObject, kw_only=True):
    """An object whose `type` this version of the library does not know.

    Decoding never fails on a new kind of item, part or event from a newer API: it becomes one of
    these, keeping everything the server sent in `raw` (send `raw` back to round-trip it).
    """

    _keeps_raw: ClassVar[bool] = True

    type: str
    raw: dict[str, Any] = {}
