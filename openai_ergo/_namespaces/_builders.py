"""The two namespaces that are callable: `client.responses("gpt-5")` and `client.chat("m")`
are the builders (the ergonomic tier), beside the generated typed methods
(`client.responses.retrieve(id)`, `client.chat.completions.create(...)`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openai_ergo._namespaces._base import Namespace

if TYPE_CHECKING:
    from openai_ergo.resources import ChatBuilder, ImagesBuilder, ResponsesBuilder

__all__ = ["ChatCall", "ImagesCall", "ResponsesCall"]


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


class ImagesCall(Namespace):
    """`client.images`: called with a model, the Images builder (generations, edits and
    variations)."""

    __slots__ = ()

    def __call__(self, model: str) -> ImagesBuilder:
        """An Images API builder for `model` (docs/images-and-audio.md)."""
        from openai_ergo.resources import ImagesBuilder

        return ImagesBuilder(self._client, model)
