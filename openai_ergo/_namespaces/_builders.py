"""The namespaces that are callable: `client.responses("gpt-5")`, `client.chat("m")`,
`client.embeddings("m")` and `client.moderations()` are the builders (the ergonomic tier),
beside the generated typed methods (`client.responses.retrieve(id)`,
`client.chat.completions.create(...)`, `client.embeddings.create(...)`); and hand-written
methods on a generated namespace (`client.conversations.start(model)`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from openai_ergo._namespaces._base import Namespace

if TYPE_CHECKING:
    from openai_ergo.resources import (
        ChatBuilder,
        Conversation,
        EmbeddingsBuilder,
        ImagesBuilder,
        ModerationsBuilder,
        RealtimeBuilder,
        ResponsesBuilder,
    )
    from openai_ergo.resources._responses_socket import ResponsesSocketConnection

__all__ = [
    "ChatCall",
    "ConversationsStart",
    "EmbeddingsCall",
    "ImagesCall",
    "ModerationsCall",
    "RealtimeCall",
    "ResponsesCall",
]


class ResponsesCall(Namespace):
    """`client.responses`: called with a model, the Responses builder."""

    __slots__ = ()

    def __call__(self, model: str) -> ResponsesBuilder:
        """A Responses API builder for `model`."""
        # The module itself, not a name from it: `from package import name` runs
        # importlib's `_handle_fromlist` (Python code) on every call, and `from module import
        # name` has the import system look for the module's `__path__`, which raises and
        # discards an AttributeError (its message formatted) on every call.
        import openai_ergo.resources._responses as responses_module

        return responses_module.ResponsesBuilder(self._client, model)

    def connect(
        self,
        *,
        idle_timeout: float | None = None,
        deadline: float | None = None,
        connect_timeout: float | None = 10.0,
        ping_interval: float | None = 20.0,
    ) -> ResponsesSocketConnection:
        """A persistent WebSocket connection to the Responses API: `async with
        client.responses.connect() as socket:`, then `await socket.create(builder)` or
        `async with socket.stream(builder) as stream:`, as many as needed, one after the other.
        `idle_timeout` bounds each wait for an event, `deadline` the connection's life."""
        from openai_ergo.resources._responses_socket import ResponsesSocketConnection

        options = {
            "idle_timeout": idle_timeout,
            "deadline": deadline,
            "connect_timeout": connect_timeout,
            "ping_interval": ping_interval,
        }
        return ResponsesSocketConnection(self._client, options)


class RealtimeCall(Namespace):
    """`client.realtime`: called with a model, the Realtime session builder
    (`client.realtime("gpt-realtime").instructions(...).connect()`)."""

    __slots__ = ()

    def __call__(self, model: str) -> RealtimeBuilder:
        """A Realtime session builder for `model` (on Azure: the deployment)."""
        from openai_ergo.resources import RealtimeBuilder

        return RealtimeBuilder(self._client, model)


class ChatCall(Namespace):
    """`client.chat`: called with a model, the Chat Completions builder."""

    __slots__ = ()

    def __call__(self, model: str) -> ChatBuilder:
        """A Chat Completions builder for `model`."""
        import openai_ergo.resources._chat as chat_module

        return chat_module.ChatBuilder(self._client, model)


class ImagesCall(Namespace):
    """`client.images`: called with a model, the Images builder (generations, edits and
    variations)."""

    __slots__ = ()

    def __call__(self, model: str) -> ImagesBuilder:
        """An Images API builder for `model` (docs/images-and-audio.md)."""
        import openai_ergo.resources._images as images_module

        return images_module.ImagesBuilder(self._client, model)


class EmbeddingsCall(Namespace):
    """`client.embeddings`: called with a model, the Embeddings builder."""

    __slots__ = ()

    def __call__(self, model: str) -> EmbeddingsBuilder:
        """An Embeddings API builder for `model`."""
        import openai_ergo.resources._embeddings as embeddings_module

        return embeddings_module.EmbeddingsBuilder(self._client, model)


class ModerationsCall(Namespace):
    """`client.moderations`: called (with a model, or `omni-moderation-latest`), the
    Moderations builder."""

    __slots__ = ()

    def __call__(self, model: str = "omni-moderation-latest") -> ModerationsBuilder:
        """A Moderations API builder for `model`."""
        import openai_ergo.resources._moderations as moderations_module

        return moderations_module.ModerationsBuilder(self._client, model)


class ConversationsStart(Namespace):
    """`client.conversations.start(model)` and `.resume(id, model)`: a `Conversation` handle
    whose turns are Responses requests, beside the typed methods."""

    __slots__ = ()

    async def start(
        self,
        model: str | ResponsesBuilder,
        *,
        items: Sequence[str | Mapping[str, Any]] = (),
        metadata: Mapping[str, str] | None = None,
    ) -> Conversation:
        """Create a conversation (up to 20 starting `items`, text or input items, and its
        `metadata`) and return its handle; `model` is a model name or the Responses builder
        every turn starts from (instructions, tools, ...)."""
        from openai_ergo.resources._conversations import start_conversation

        return await start_conversation(self._client, model, items=items, metadata=metadata)

    async def resume(self, conversation_id: str, model: str | ResponsesBuilder) -> Conversation:
        """The handle of an existing conversation, checked on the server (an unknown or
        deleted id raises `NotFoundError` here)."""
        from openai_ergo.resources._conversations import resume_conversation

        return await resume_conversation(self._client, conversation_id, model)
