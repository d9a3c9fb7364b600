"""`StarletteSSEResponse`: `SSEResponse` as a Starlette `Response`, for FastAPI.

FastAPI sends what an endpoint returns as it is only when it is a `starlette.responses.Response`
(anything else is serialised as JSON), so the plain ASGI response needs this subclass there. It
is loaded on first use, and needs Starlette (which FastAPI brings); `SSEResponse` needs nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Mapping
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._asgi import DEFAULT_HEARTBEAT, Encodable, SSEResponse

__all__ = ["StarletteSSEResponse"]


class StarletteSSEResponse(Response):
    """`SSEResponse` (same arguments, same behaviour) as a `starlette.responses.Response`: what
    a FastAPI endpoint returns to relay a stream. `relay` is the `SSEResponse` doing the work;
    `background` runs after the stream ends, as Starlette's responses do.

    Not generic, unlike `SSEResponse`: FastAPI reads an endpoint's return annotation, and takes
    `-> StarletteSSEResponse` for a response class only when it is a plain class.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        source: AsyncIterable[Any],
        /,
        *,
        serializer: Callable[[Any], Encodable] | None = None,
        heartbeat: float | None = DEFAULT_HEARTBEAT,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        on_error: Callable[[Exception], Encodable | None] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        # Response.__init__ is not called: it renders a body, and this response has none.
        self.relay: SSEResponse[Any] = SSEResponse(
            source,
            serializer=serializer,
            heartbeat=heartbeat,
            status_code=status_code,
            headers=headers,
            on_error=on_error,
        )
        self.status_code = status_code
        self.background = background
        self.raw_headers = self.relay.raw_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.relay(scope, receive, send)
        if self.background is not None:
            await self.background()
