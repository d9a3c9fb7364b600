"""The two base classes every model derives from, and the fallback for unknown tagged objects.

Every model is a `msgspec.Struct` with keyword-only fields that omits defaults when encoded, so a
request body or a re-encoded object carries only what was set. `gc=False` is safe because decoded
API objects are trees: they never reference themselves, so the cycle collector has nothing to find
and skipping it makes allocation of large responses cheaper.
"""

from __future__ import annotations

from typing import Any, cast

import msgspec

__all__ = ["APIObject", "TaggedObject", "UnknownObject"]


class APIObject(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """Base of every API model: keyword-only fields, defaults omitted when encoded."""

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers), as it goes on the wire:
        unset fields left out, tags included. The equivalent of the SDK's `model_dump()`."""
        return cast("dict[str, Any]", msgspec.to_builtins(self))

    def to_json(self) -> bytes:
        """This object encoded as JSON, as it goes on the wire."""
        return msgspec.json.encode(self)


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

    type: str
    raw: dict[str, Any] = {}
