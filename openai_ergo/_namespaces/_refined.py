"""Generated namespaces with their hand-written bases added, until the generator adds them.

The generator makes `client.responses` and `client.chat` callable by deriving them from the
bases it lists (`_CALLABLE` in `codegen/_emit_namespaces.py`). `client.embeddings` and
`client.moderations` need the same, and `client.conversations` a base with hand-written methods
(`start`, `resume`); until the generator lists `EmbeddingsCall`, `ModerationsCall` and
`ConversationsStart` there (and this module goes away), these classes combine each generated
namespace with its base, and the `Client` returns them. Loaded on first use, as the generated
namespaces are.
"""

from __future__ import annotations

from openai_ergo._namespaces._builders import ConversationsStart, EmbeddingsCall, ModerationsCall
from openai_ergo._namespaces._generated.conversations import ConversationsNamespace
from openai_ergo._namespaces._generated.embeddings import EmbeddingsNamespace
from openai_ergo._namespaces._generated.moderations import ModerationsNamespace

__all__ = [
    "CallableEmbeddingsNamespace",
    "CallableModerationsNamespace",
    "ConversationsWorkflowNamespace",
]


class CallableEmbeddingsNamespace(EmbeddingsCall, EmbeddingsNamespace):
    """`client.embeddings`: the typed methods, and called with a model, the builder."""

    __slots__ = ()


class CallableModerationsNamespace(ModerationsCall, ModerationsNamespace):
    """`client.moderations`: the typed methods, and called, the builder."""

    __slots__ = ()


class ConversationsWorkflowNamespace(ConversationsStart, ConversationsNamespace):
    """`client.conversations`: the typed methods, and `start` / `resume` for a handle."""

    __slots__ = ()
