"""What a result tells of the HTTP response it came from, read in one way everywhere.

`APIResponse` (a whole body), `EventStream` and `BinaryResponse` (a body still streaming) read
the headers themselves. Everything built on one of them — the typed tier's `RawResponse`, the
typed stream handles, a builder's `with_raw_response()` — gives the same four properties through
`ResponseMetadata`, which asks the subclass for that one source and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, final

from openai_ergo._errors import StreamError

if TYPE_CHECKING:
    import httpx

    from openai_ergo._pipeline._ratelimit import RateLimitInfo
    from openai_ergo._response import APIResponse

__all__ = ["RawResponse", "ResponseHead", "ResponseMetadata"]

T = TypeVar("T")


class ResponseHead(Protocol):
    """What a response that arrived tells before its body is used: `APIResponse`,
    `EventStream` and `BinaryResponse` all have it."""

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        ...

    @property
    def status_code(self) -> int:
        """The response status."""
        ...

    @property
    def request_id(self) -> str | None:
        """The request id."""
        ...

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The parsed `x-ratelimit-*` headers."""
        ...


class ResponseMetadata:
    """`headers`, `status_code`, `request_id` and `rate_limit` of the response behind a result.

    A subclass says where the response is (`_response_head()`); a stream handle that has not
    been opened yet has none: its `request_id` is then `None`, and the other three raise
    `StreamError` (the headers arrive when `async with` opens the stream)."""

    __slots__ = ()

    def _response_head(self) -> ResponseHead | None:
        raise NotImplementedError

    def _arrived_head(self) -> ResponseHead:
        head = self._response_head()
        if head is None:
            raise StreamError(
                "the stream is not open yet, so no response has arrived: read its headers "
                "inside `async with ... as stream:`"
            )
        return head

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self._arrived_head().headers

    @property
    def status_code(self) -> int:
        """The response status (2xx: an error status is raised, not returned)."""
        return self._arrived_head().status_code

    @property
    def request_id(self) -> str | None:
        """The request id (the `x-request-id` header, or a compatible server's equivalent):
        quote it when asking OpenAI about this request. `None` before a stream is open."""
        head = self._response_head()
        return head.request_id if head is not None else None

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The parsed `x-ratelimit-*` headers (limits, what remains, when they reset), or
        `None` when the server sent none."""
        return self._arrived_head().rate_limit


@final
class RawResponse(ResponseMetadata, Generic[T]):
    """A response as it came, with the typed object on demand: what a typed method called
    through `with_raw_response` returns (`client.files.with_raw_response.retrieve(id)`) and
    what a builder's `with_raw_response()` returns (`await builder.with_raw_response()`).

    `headers`, `status_code`, `request_id`, `rate_limit`, `response` (the `APIResponse`:
    body bytes, attempts), and `parse()`: the typed object the plain call returns."""

    __slots__ = ("_parse", "response")

    def __init__(self, response: APIResponse, parse: Callable[[APIResponse], T]) -> None:
        #: The `APIResponse`: status, headers, body bytes, attempts.
        self.response = response
        self._parse = parse

    def _response_head(self) -> APIResponse:
        return self.response

    def parse(self) -> T:
        """The body as the typed object the plain call returns."""
        return self._parse(self.response)

    def __repr__(self) -> str:
        return f"<RawResponse {self.response.status_code} request_id={self.request_id!r}>"
