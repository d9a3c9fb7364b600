"""A conversation kept on the server, and the Responses turns that extend it.

`conv = await client.conversations.start("gpt-5-mini")` creates a conversation and returns a
`Conversation` handle; `await conv.say("Hi")` sends one turn (a Responses request naming the
conversation, so the server prepends the earlier items and appends this turn's), and
`conv.turn("Hi")` is that request as a builder, for `.stream()`, `.run()` or `.parse(T)`. The
handle sends everything through the typed methods (`client.conversations...`) and the Responses
builder; it holds no history of its own: the server's is the one truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

from openai_ergo._errors import InvalidRequestError
from openai_ergo.resources._builder import check_metadata, check_str
from openai_ergo.resources._inputs import Content
from openai_ergo.resources._responses import ResponsesBuilder

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._pagination import Paginator
    from openai_ergo.resources._streams import ResponseStream
    from openai_ergo.types import Response
    from openai_ergo.types._generated.conversations import (
        ConversationItem,
        ConversationItemList,
        ConversationResource,
        DeletedConversationResource,
    )

__all__ = ["Conversation", "resume_conversation", "start_conversation"]

#: The service takes at most this many items when a conversation is created or extended.
MAX_ITEMS_PER_CALL = 20


def _template(client: Client, model: str | ResponsesBuilder) -> ResponsesBuilder:
    if isinstance(model, ResponsesBuilder):
        if "previous_response_id" in model.request_body(input="-"):
            raise InvalidRequestError(
                "a conversation's turns cannot also continue from previous_response_id: "
                "drop previous_response(...) from the template",
                param="previous_response_id",
            )
        return model
    if isinstance(model, str):
        return ResponsesBuilder(client, model)
    raise InvalidRequestError(
        f"a conversation needs a model name or a Responses builder, not {model!r:.60}",
        param="model",
    )


def _message(index: int, item: str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(item, str):
        if not item:
            raise InvalidRequestError(f"items[{index}] is an empty string", param="items")
        return {"type": "message", "role": "user", "content": item}
    if isinstance(item, Mapping):
        return item
    raise InvalidRequestError(
        f"items[{index}] must be text or an input item, not {item!r:.60}", param="items"
    )


def _items(items: Sequence[str | Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if isinstance(items, str):
        items = [items]
    if len(items) > MAX_ITEMS_PER_CALL:
        raise InvalidRequestError(
            f"at most {MAX_ITEMS_PER_CALL} items go in one call, not {len(items)}: add the "
            "rest with conversation.add(...)",
            param="items",
        )
    return [_message(i, item) for i, item in enumerate(items)]


@final
class Conversation:
    """A conversation on the server, and the Responses builder its turns start from.

    `await conv.say(...)` sends a turn and returns the `Response`; `conv.turn(...)` is the same
    request as a builder (`async with conv.turn("Hi").stream() as s:`, `await
    conv.turn(...).run()` for tools); `conv.items()` lists what the conversation holds;
    `await conv.add(...)` appends items without a reply; `await conv.delete()` deletes it.
    Turns of one conversation are meant to go one after the other: the server orders them by
    arrival.
    """

    __slots__ = ("_client", "resource", "template")

    def __init__(
        self, client: Client, resource: ConversationResource, template: ResponsesBuilder
    ) -> None:
        self._client = client
        #: The conversation as the API returned it (`id`, `metadata`, `created_at`).
        self.resource = resource
        #: The builder every turn starts from, with `.conversation(id)` set.
        self.template = template.conversation(resource.id or "")

    @property
    def id(self) -> str:
        """The conversation's id (`conv_...`): keep it to resume the conversation later."""
        return self.resource.id or ""

    def turn(self, *content: Content | Sequence[Mapping[str, Any]]) -> ResponsesBuilder:
        """The next turn as a Responses builder: the template with this input. Await it,
        `.stream()` it, `.run()` its tools, or change it first (`.with_model(...)`)."""
        return self.template.input(*content)

    async def say(self, *content: Content | Sequence[Mapping[str, Any]]) -> Response:
        """Send the next turn and return the `Response` (`.output_text` is the answer)."""
        return await self.turn(*content)

    def stream(self, *content: Content | Sequence[Mapping[str, Any]]) -> ResponseStream:
        """Stream the next turn: `async with conv.stream("Hi") as stream:`."""
        return self.turn(*content).stream()

    def items(
        self, *, limit: int | None = None, order: str | None = None
    ) -> Paginator[ConversationItem]:
        """The conversation's items (`async for item in conv.items(order="asc")`): newest
        first unless `order="asc"`; `limit` is the page size."""
        return self._client.conversations.items.list(self.id, limit=limit, order=order)

    async def add(self, *items: str | Mapping[str, Any]) -> ConversationItemList:
        """Append items (text becomes a user message) without asking for a reply; at most 20
        a call."""
        if not items:
            raise InvalidRequestError("add needs at least one item", param="items")
        return await self._client.conversations.items.create(self.id, items=_items(items))  # type: ignore[arg-type]

    async def delete(self) -> DeletedConversationResource:
        """Delete the conversation (its items stay retrievable by their own ids, as the API
        keeps them)."""
        return await self._client.conversations.delete(self.id)

    def __repr__(self) -> str:
        return f"<Conversation {self.id} model={self.template.model!r}>"


async def start_conversation(
    client: Client,
    model: str | ResponsesBuilder,
    *,
    items: Sequence[str | Mapping[str, Any]] = (),
    metadata: Mapping[str, str] | None = None,
) -> Conversation:
    """Create a conversation (with up to 20 starting `items` and its `metadata`) and return
    its handle; `model` is a model name or the Responses builder every turn starts from."""
    template = _template(client, model)
    checked = check_metadata(metadata) if metadata else None
    resource = await client.conversations.create(
        items=_items(items) if items else None,  # type: ignore[arg-type]
        metadata=checked,
    )
    return Conversation(client, resource, template)


async def resume_conversation(
    client: Client, conversation_id: str, model: str | ResponsesBuilder
) -> Conversation:
    """The handle of an existing conversation, read from the server (a deleted or unknown id
    raises `NotFoundError` here, not at the first turn)."""
    template = _template(client, model)
    resource = await client.conversations.retrieve(check_str("conversation_id", conversation_id))
    return Conversation(client, resource, template)
