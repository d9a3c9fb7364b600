"""The namespaces that are callable: `client.responses("gpt-5")`, `client.chat("m")`,
`client.embeddings("m")` and `client.moderations()` are the builders (the ergonomic tier),
beside the generated typed methods (`client.responses.retrieve(id)`,
`client.chat.completions.create(...)`, `client.embeddings.create(...)`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openai_ergo._namespaces._base import Namespace

if TYPE_CHECKING:
    from openai_ergo.resources import (
        ChatBuilder,
        EmbeddingsBuilder,
        ModerationsBuilder,
        ResponsesBuilder,
    )

__all__ = ["ChatCall", "EmbeddingsCall", "ModerationsCall", "ResponsesCall"]


class ResponsesCall(Namespace):
    """`client.responses`: called with a model, the Responses builder."""

    __slots__ = ()

    def __call__(self, model: str) -> ResponsesBuilder:
        """A Responses API builder for `model`."""
        from openai_ergo.resources import ResponsesBuilder

        return ResponsesBuilder(self._client, model)


class ChatCall(Namespace):
    """`client.chat`: called with a model, the Chat Completions builder."""

    __slots__ = ()

    def __call__(self, model: str) -> ChatBuilder:
        """A Chat Completions builder for `model`."""
        from openai_ergo.resources import ChatBuilder

        return ChatBuilder(self._client, model)


class EmbeddingsCall(Namespace):
    """`client.embeddings`: called with a model, the Embeddings builder."""

    __slots__ = ()

    def __call__(self, model: str) -> EmbeddingsBuilder:
        """An Embeddings API builder for `model`."""
        from openai_ergo.resources import EmbeddingsBuilder

        return EmbeddingsBuilder(self._client, model)


class ModerationsCall(Namespace):
    """`client.moderations`: called (with a model, or `omni-moderation-latest`), the
    Moderations builder."""

    __slots__ = ()

    def __call__(self, model: str = "omni-moderation-latest") -> ModerationsBuilder:
        """A Moderations API builder for `model`."""
        from openai_ergo.resources import ModerationsBuilder

        return ModerationsBuilder(self._client, model)
