"""Generated namespaces with their hand-written bases added, until the generator adds them.

The generator makes `client.responses` and `client.chat` callable by deriving them from the
bases it lists (`_CALLABLE` in `codegen/_emit_namespaces.py`). `client.embeddings` and
`client.moderations` need the same; until the generator lists `EmbeddingsCall` and
`ModerationsCall` there (and this module goes away), these classes combine each generated
namespace with its base, and the `Client` returns them. Loaded on first use, as the generated
namespaces are.
"""

from __future__ import annotations

from openai_ergo._namespaces._builders import EmbeddingsCall, ModerationsCall
from openai_ergo._namespaces._generated.embeddings import EmbeddingsNamespace
from openai_ergo._namespaces._generated.moderations import ModerationsNamespace

__all__ = ["CallableEmbeddingsNamespace", "CallableModerationsNamespace"]


class CallableEmbeddingsNamespace(EmbeddingsCall, EmbeddingsNamespace):
    """`client.embeddings`: the typed methods, and called with a model, the builder."""

    __slots__ = ()


class CallableModerationsNamespace(ModerationsCall, ModerationsNamespace):
    """`client.moderations`: the typed methods, and called, the builder."""

    __slots__ = ()
