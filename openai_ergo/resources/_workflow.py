"""The immutable base of the workflow builders (vector stores, fine-tuning jobs, searches):
request fields and a client, each setter returning a changed copy, as the request builders do,
without their model-and-tools machinery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from openai_ergo.resources._builder import with_field

if TYPE_CHECKING:
    from openai_ergo._client import Client

__all__ = ["WorkflowBuilder"]

T = TypeVar("T")
V = TypeVar("V", bound="WorkflowBuilder")


class WorkflowBuilder:
    """An immutable bag of request fields with a client: each setter returns a changed copy."""

    __slots__ = ("_client", "_fields")

    def __init__(self, client: Client, fields: Mapping[str, Any] | None = None) -> None:
        self._client = client
        self._fields: dict[str, Any] = dict(fields or {})

    def _clone(self: V) -> V:
        return copy_slots(self)

    def _set(self: V, name: str, value: Any) -> V:
        clone = self._clone()
        clone._fields = with_field(self._fields, name, value)
        return clone


def copy_slots(value: T) -> T:
    """A shallow copy of an immutable builder with `__slots__` (its own and its bases'): the
    one copy every workflow builder's setters start from."""
    clone = object.__new__(type(value))
    for klass in type(value).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            object.__setattr__(clone, slot, getattr(value, slot))
    return clone
