"""Cursor pagination: `after` = the last item's id, while the page says `has_more`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

import msgspec

from openai_ergo._pydantic import is_model, json_decoder
from openai_ergo._response import APIResponse, decoder_for

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._config import RequestOptions

T = TypeVar("T")


class _PageBody(msgspec.Struct, Generic[T]):
    data: list[T] = msgspec.field(default_factory=list)
    has_more: bool = False
    last_id: str | None = None


def _item_id(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, Mapping) else getattr(item, "id", None)
    return value if isinstance(value, str) else None


@final
class Page(Generic[T]):
    """One page of a list endpoint: its items, whether more follow, and the raw response."""

    __slots__ = ("has_more", "items", "next_after", "response")

    def __init__(
        self, items: list[T], *, has_more: bool, next_after: str | None, response: APIResponse
    ) -> None:
        self.items = items
        self.has_more = has_more
        #: The cursor for the next page (`after=`), `None` on the last page.
        self.next_after = next_after
        self.response = response

    def __repr__(self) -> str:
        return f"<Page {len(self.items)} items has_more={self.has_more}>"


@final
class PageIterator(Generic[T]):
    """An async iterator over the pages of a list endpoint, one request per page."""

    def __init__(self, paginator: Paginator[T]) -> None:
        self._paginator = paginator
        self._after: str | None = paginator.after
        self._done = False

    def __aiter__(self) -> PageIterator[T]:
        return self

    async def __anext__(self) -> Page[T]:
        if self._done:
            raise StopAsyncIteration
        page = await self._paginator._fetch(self._after)
        self._after = page.next_after
        self._done = page.next_after is None
        return page


@final
class Paginator(Generic[T]):
    """An async iterator over every item of a cursor-paginated list endpoint.

    `async for item in client.paginate("/files", item_type=FileObject)` walks all pages;
    `async for page in client.paginate(...).pages()` hands out whole pages. Each walk starts
    afresh from the first page.
    """

    def __init__(
        self,
        client: Client,
        path: str,
        *,
        query: Mapping[str, Any] | None,
        item_type: type[T],
        headers: Mapping[str, str] | None = None,
        options: RequestOptions | None = None,
    ) -> None:
        self._client = client
        self.path = path
        self._query = dict(query or {})
        self._headers = headers or None
        self._options = options
        #: Where the walk starts (the `after` in `query`, if any).
        self.after: str | None = self._query.pop("after", None)
        self._item_type = item_type
        # A pydantic model validates each item itself: msgspec reads the page around them.
        self._model_decoder = json_decoder(item_type) if is_model(item_type) else None
        page_item: Any = msgspec.Raw if self._model_decoder is not None else item_type
        self._decoder = decoder_for(_PageBody[page_item])
        self._pages: PageIterator[T] | None = None
        self._items: list[T] = []
        self._index = 0

    async def _fetch(self, after: str | None) -> Page[T]:
        query = dict(self._query)
        if after is not None:
            query["after"] = after
        response = await self._client.request(
            "GET", self.path, query=query, headers=self._headers, options=self._options
        )
        if self._model_decoder is not None:
            name = getattr(self._item_type, "__name__", "item")
            body: _PageBody[T] = response.decode(self._decode_models, f"page of {name}")
        else:
            try:
                body = self._decoder.decode(response.content)
            except msgspec.ValidationError:
                body = self._tolerant(response.content)
        next_after = None
        if body.has_more and body.data:
            next_after = body.last_id or _item_id(body.data[-1])
        return Page(body.data, has_more=body.has_more, next_after=next_after, response=response)

    def _decode_models(self, content: bytes) -> _PageBody[T]:
        """The page with each item validated by its pydantic model."""
        body: _PageBody[Any] = self._decoder.decode(content)
        decode = self._model_decoder
        assert decode is not None
        body.data = [decode(bytes(raw)) for raw in body.data]
        return body

    def _tolerant(self, content: bytes) -> _PageBody[T]:
        """The page decoded the slow way, keeping items of unknown tags (as
        `openai_ergo.types.decode` does); a bad field still raises, naming its path."""
        from openai_ergo.types import decode

        raw = msgspec.json.decode(content)
        items = raw.get("data") if isinstance(raw, dict) else None
        head = {k: v for k, v in raw.items() if k != "data"} if isinstance(raw, dict) else raw
        body: _PageBody[T] = self._decoder.decode(msgspec.json.encode(head))
        body.data = decode(msgspec.json.encode(items or []), type=list[self._item_type])  # type: ignore[name-defined]
        return body

    def pages(self) -> PageIterator[T]:
        """An async iterator over whole pages."""
        return PageIterator(self)

    def __aiter__(self) -> Paginator[T]:
        self._pages = PageIterator(self)
        self._items = []
        self._index = 0
        return self

    async def __anext__(self) -> T:
        while self._index >= len(self._items):
            if self._pages is None:
                self._pages = PageIterator(self)
            page = await self._pages.__anext__()
            self._items = page.items
            self._index = 0
        item = self._items[self._index]
        self._index += 1
        return item

    def __repr__(self) -> str:
        return f"<Paginator GET {self.path}>"
