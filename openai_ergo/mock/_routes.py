"""The mock's routing table: method and path template to a handler, in one lookup per request.

Templates read like the spec's (`/v1/responses/{response_id}/input_items`). Fixed paths, which
the hot endpoints are, resolve with one dict lookup; templated ones by their segment count and
then segment by segment, so adding operations costs a request nothing beyond its own bucket. A
path no template matches is a 404, a known path with another method a 405, both in OpenAI's
error shape (the caller raises them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from openai_ergo.mock._exchange import Disconnected, Exchange, Receive
from openai_ergo.mock._faults import Fault
from openai_ergo.mock._replies import RecordedRequest
from openai_ergo.mock._store import Query

__all__ = ["Call", "Match", "RouteTable", "openai_path"]

_AZURE_DEPLOYMENTS = "/openai/deployments/"

H = TypeVar("H")


def openai_path(path: str) -> str:
    """The OpenAI path an Azure OpenAI path stands for, so one table serves both: a deployment's
    `/openai/deployments/{name}/chat/completions` (the body names the deployment as its
    `model`), the v1 API's `/openai/v1/files` and the dated API's `/openai/files` all answer as
    `/v1/...`. Any other path is returned as it is; the `api-version` query is not read."""
    if not path.startswith("/openai/"):
        return path
    if path.startswith(_AZURE_DEPLOYMENTS):
        _, slash, rest = path[len(_AZURE_DEPLOYMENTS) :].partition("/")
        return "/v1/" + rest if slash else path
    rest = path[len("/openai/") :]
    return "/" + rest if rest.startswith("v1/") else "/v1/" + rest


@dataclass(frozen=True)
class Call:
    """One routed request, as a handler sees it."""

    request: RecordedRequest
    reply: Exchange
    fault: Fault | None
    params: Mapping[str, str]
    #: The query string, parsed (None when there is none: the hot paths never parse one).
    query: Query | None

    def queried(self) -> Query:
        """The query, empty when there was none."""
        return self.query if self.query is not None else Query("")

    def body_chunks(self) -> BodyChunks:
        """The request body as it arrives, for routes that stream it (uploads)."""
        return BodyChunks(self.reply.receive)


class BodyChunks:
    """A request body's chunks as ASGI delivers them (an iterator class: no async generator
    is left to the garbage collector when a reader stops early)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._done = False

    def __aiter__(self) -> BodyChunks:
        return self

    async def __anext__(self) -> bytes:
        while not self._done:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            self._done = not message.get("more_body", False)
            chunk: bytes = message.get("body", b"")
            if chunk:
                return chunk
        raise StopAsyncIteration

    async def drain(self) -> None:
        """Read and drop the rest, so an early answer still reaches a client that is sending."""
        async for _ in self:
            pass


@dataclass(frozen=True)
class Match(Generic[H]):
    """What a path resolved to: a handler per allowed method, and the template's parameters."""

    methods: Mapping[str, H]
    params: Mapping[str, str] = field(default_factory=dict)


class RouteTable(Generic[H]):
    """Routes from (method, template) to handlers; `match(path)` finds a path's handlers."""

    def __init__(self) -> None:
        self._fixed: dict[str, dict[str, H]] = {}
        # Per segment count: (segments, where each is a literal or None for a parameter,
        # the parameter names, the handlers by method).
        self._templates: dict[
            int, list[tuple[tuple[str | None, ...], tuple[str, ...], dict[str, H]]]
        ]
        self._templates = {}

    def add(self, method: str, template: str, handler: H) -> None:
        """Route `method template` (e.g. `GET /v1/models/{model}`) to `handler`."""
        parts = tuple(template.strip("/").split("/"))
        if not any(p.startswith("{") for p in parts):
            self._fixed.setdefault("/" + "/".join(parts), {})[method] = handler
            return
        shape = tuple(None if p.startswith("{") else p for p in parts)
        names = tuple(p.strip("{}") for p in parts if p.startswith("{"))
        bucket = self._templates.setdefault(len(parts), [])
        for existing, existing_names, methods in bucket:
            if existing == shape and existing_names == names:
                methods[method] = handler
                return
        bucket.append((shape, names, {method: handler}))
        # Literal segments beat parameters (`/v1/responses/compact` over `/{response_id}`).
        bucket.sort(key=lambda entry: sum(p is None for p in entry[0]))

    def match(self, path: str) -> Match[H] | None:
        """The handlers for `path` (trailing slash ignored), or None when nothing routes it."""
        path = path.rstrip("/") or "/"
        fixed = self._fixed.get(path)
        if fixed is not None:
            return Match(fixed)
        parts = path.strip("/").split("/")
        for shape, names, methods in self._templates.get(len(parts), ()):
            values = []
            for want, got in zip(shape, parts, strict=True):
                if want is None:
                    if not got:
                        break
                    values.append(got)
                elif want != got:
                    break
            else:
                return Match(methods, dict(zip(names, values, strict=True)))
        return None

    def templates(self) -> list[tuple[str, str]]:
        """Every (method, template) routed, for docs and tests."""
        routes = [(m, path) for path, methods in self._fixed.items() for m in methods]
        for bucket in self._templates.values():
            for shape, names, methods in bucket:
                rest = iter(names)
                path = "/" + "/".join(p if p is not None else "{" + next(rest) + "}" for p in shape)
                routes.extend((m, path) for m in methods)
        return sorted(routes, key=lambda r: (r[1], r[0]))
