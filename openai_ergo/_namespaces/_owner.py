"""What the `Client` inherits its namespace properties through, apart from the call machinery.

The generated index (`_generated/__init__.py`) derives `Namespaces` from `NamespaceOwner`, and
the `Client` derives from `Namespaces`: so this module is loaded when the `Client` class is read,
and imports nothing but the standard library (msgspec and the pipeline load with the first
`Client`, `_base` with the first namespace).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai_ergo._client import Client

__all__ = ["NamespaceOwner", "no_such"]


def no_such(owner: object, name: str, what: str) -> AttributeError:
    """The error for a name `owner` lacks, naming the closest ones it has."""
    import difflib  # only for a misspelt name: not worth its import time up front

    known = [n for n in dir(type(owner)) if not n.startswith("_")]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(n) for n in close)}?" if close else ""
    return AttributeError(f"{what} {name!r}{hint}", name=name, obj=owner)


class NamespaceOwner:
    """What the `Client` inherits the namespace properties through (`_generated/__init__.py`):
    the client each namespace serves, and the closest-match hint for a name it lacks."""

    __slots__ = ()

    def _namespace_client(self) -> Client:
        return self  # type: ignore[return-value]

    # Hidden from type checkers, so that a misspelt name stays a static error.
    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only reached for a name the class does not have.
            if name.startswith("_"):
                raise AttributeError(name, name=name, obj=self)
            raise no_such(self, name, "Client has no namespace or method")
