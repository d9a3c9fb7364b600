"""The immutable base of the workflow builders (vector stores, fine-tuning jobs, searches):
request fields and a client, each setter returning a changed copy, as the request builders do,
without their model-and-tools machinery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from openai_ergo._client import Client

__all__ = ["WorkflowBuilder"]

V = TypeVar("V", bound="WorkflowBuilder")


class WorkflowBuilder:
    """An immutable bag of request fields with a client: each setter returns a changed copy."""

    __slots__ = ("_client", "_fields")

    def __init__(self, client: Client, fields: Mapping[str, Any] | None = None) -> None:
        self._client = client
        self._fields: dict[str, Any] = dict(fields or {})

    def _clone(self: V) -> V:
        clone = object.__new__(type(self))
        for slot in _slots(type(self)):
            object.__setattr__(clone, slot, getattr(self, slot))
        return clone

    def _set(self: V, name: str, value: Any) -> V:
        clone = self._clone()
        fields = dict(self._fields)
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
        clone._fields = fields
        return clone


def _slots(cls: type) -> list[str]:
    return [slot for klass in cls.__mro__ for slot in getattr(klass, "__slots__", ())]
