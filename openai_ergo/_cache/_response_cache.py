"""`ResponseCache`: answers a request the client has answered before, without the network.

The key is the canonical request: method, URL and the JSON body with its keys sorted and the
fields that do not change the answer left out (`user`, `metadata`, `store`, ...). A plain hit
is an `APIResponse` with `attempts == 0`; a streamed hit is an `EventStream` that replays the
stored events, so the builders' `ChatStream` / `ResponseStream` read it as a live stream and
aggregate the same `final()`. Only whole answers are stored (`_entries.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast, final

import httpx
import msgspec

from openai_ergo._cache._backend import CacheBackend, MemoryCacheBackend
from openai_ergo._cache._entries import (
    KEPT_HEADERS,
    Entry,
    HeldEntry,
    complete_body,
    complete_events,
    decode_entry,
    encode_entry,
)
from openai_ergo._errors import InvalidRequestError
from openai_ergo._pipeline._logging import log_event
from openai_ergo._pipeline._middleware import Middleware, RequestState
from openai_ergo._response import APIResponse, EventStream

if TYPE_CHECKING:
    from openai_ergo._cache._semantic import SemanticMatcher
    from openai_ergo._pipeline._call import Call
    from streaming import EventSource, ServerSentEvent

__all__ = ["CacheStatistics", "ResponseCache"]

#: Logged (as a warning, once structlog is configured) when a backend call raises.
CACHE_FAILED_EVENT = "openai_ergo.cache.backend_failed"

#: The endpoints whose answers depend only on the request.
DEFAULT_PATHS = ("/responses", "/chat/completions", "/completions", "/embeddings", "/moderations")
#: Body fields that say who asked or how to bill and store, not what to answer.
VOLATILE_FIELDS = frozenset(
    {
        "user",
        "safety_identifier",
        "metadata",
        "store",
        "prompt_cache_key",
        "prompt_cache_retention",
        "service_tier",
    }
)


@final
@dataclass(frozen=True, slots=True)
class CacheStatistics:
    """What a `ResponseCache` did: lookups answered (`hits`, of which `semantic_hits` by
    similarity) or not (`misses`), answers `stored`, answers `refused` because they were
    not whole (errors, incomplete, refused), and backend calls that raised (`errors`: each
    counted as a miss or a store skipped, never a failed request)."""

    hits: int
    misses: int
    semantic_hits: int
    stored: int
    refused: int
    errors: int = 0

    @property
    def hit_rate(self) -> float:
        """Hits over lookups (0.0 before any lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class _ReplaySource:
    """An event source that hands back stored events: one batch, then the end."""

    __slots__ = ("_events", "response")

    def __init__(self, response: httpx.Response, events: list[ServerSentEvent]) -> None:
        self.response = response
        self._events: list[ServerSentEvent] | None = events

    async def next_batch(self) -> list[ServerSentEvent]:
        events, self._events = self._events, None
        return events or []

    async def aclose(self) -> None:
        self._events = None


def _kept(headers: httpx.Headers) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k in KEPT_HEADERS]


#: The body of a replayed stream's response: its events are replayed by the source instead.
_NO_BODY = httpx.ByteStream(b"")


def _nothing() -> None:
    return None


class _Recorder(Middleware):
    """Keeps a live stream's events, and stores them when the stream ended whole."""

    __slots__ = ("_cache", "_events", "_key", "headers")

    def __init__(self, cache: ResponseCache, key: str) -> None:
        self._cache = cache
        self._key = key
        self._events: list[ServerSentEvent] = []
        #: The live response's headers worth replaying (set once it opened).
        self.headers: list[tuple[str, str]] = []

    def on_event(self, event: ServerSentEvent, state: RequestState) -> None:
        self._events.append(event)

    async def on_stream_end(self, state: RequestState, error: BaseException | None) -> None:
        events, self._events = self._events, []
        if error is None and complete_events(events):
            await self._cache._put(self._key, Entry(200, self.headers, events=events))
            if self._cache.semantic is not None:
                self._cache.semantic.remember(self._key)
        else:
            self._cache._refused += 1


@final
class ResponseCache:
    """Answers repeated requests from a `CacheBackend` (an in-memory LRU by default).

    `ttl` bounds an entry's age in seconds (None: until evicted); `max_entries` bounds the
    default backend. `paths` are the endpoints cached (Responses, Chat Completions, legacy
    completions, embeddings and moderations); `ignore_fields` the body fields left out of the
    key. A request opts out with `RequestOptions(cache=False)`. `semantic` adds a similarity
    match (`SemanticMatcher`) behind the exact one. Install it with `Client(cache=...)`; one
    cache may serve several clients.
    """

    def __init__(
        self,
        backend: CacheBackend | None = None,
        *,
        ttl: float | None = 3600.0,
        max_entries: int = 1024,
        paths: Iterable[str] = DEFAULT_PATHS,
        ignore_fields: Iterable[str] = VOLATILE_FIELDS,
        semantic: SemanticMatcher | None = None,
    ) -> None:
        if ttl is not None and (not isinstance(ttl, int | float) or ttl <= 0):
            raise InvalidRequestError(f"ttl must be seconds > 0 or None, not {ttl!r}", param="ttl")
        if backend is not None and not isinstance(backend, CacheBackend):
            raise InvalidRequestError(
                f"backend must implement CacheBackend (get, set, delete, clear), not "
                f"{type(backend).__name__}",
                param="backend",
            )
        self.backend: CacheBackend = (
            backend if backend is not None else MemoryCacheBackend(max_entries=max_entries)
        )
        self.ttl = ttl
        self.paths = tuple(paths)
        self.ignore_fields = frozenset(ignore_fields)
        self.semantic = semantic
        self._hits = 0
        self._misses = 0
        self._semantic_hits = 0
        self._stored = 0
        self._refused = 0
        self._errors = 0

    # -- keys --------------------------------------------------------------------------------

    def key(self, method: str, url: str, body: Any) -> str | None:
        """The cache key of a request, or None when it is not cacheable (another endpoint,
        no JSON body)."""
        if method != "POST" or not url.endswith(self.paths):
            return None
        if isinstance(body, bytes | bytearray):
            try:
                body = msgspec.json.decode(body)
            except msgspec.DecodeError:
                return None
        elif not isinstance(body, dict):
            try:
                body = msgspec.to_builtins(body)
            except TypeError:
                return None
        if not isinstance(body, dict):
            return None
        ignored = self.ignore_fields
        canonical = {k: v for k, v in body.items() if k not in ignored}
        blob = msgspec.json.encode([method, url, canonical], order="sorted")
        return hashlib.sha256(blob).hexdigest()

    # -- the pipeline's side -----------------------------------------------------------------

    async def _lookup(self, key: str, call: Call) -> APIResponse | EventStream | None:
        replay: dict[Any, Any] | None = None
        backend = self.backend
        if type(backend) is MemoryCacheBackend:
            # In memory, the entry is held as objects: nothing to decode, and a streamed
            # hit replays what typed handles decoded of it before.
            held = backend.get_held(key)
            if isinstance(held, HeldEntry):
                entry: Entry | None = held.entry
                replay = held.replay
            else:
                entry = decode_entry(held) if isinstance(held, bytes) else None
        else:
            try:
                data = await backend.get(key)
            except Exception as exc:  # a cache that fails is a miss, not a failed request
                self._backend_failed("get", exc)
                data = None
            entry = decode_entry(data) if data is not None else None
        if entry is None and self.semantic is not None:
            entry = await self.semantic.lookup(self, key, call)
            if entry is not None:
                self._semantic_hits += 1
        if entry is None or (entry.events is None) == bool(call.stream):
            self._misses += 1
            return None
        self._hits += 1
        if entry.events is None:
            return APIResponse(
                status_code=entry.status,
                headers=httpx.Headers(entry.headers),
                content=entry.body,
                method=call.method,
                url=call.url,
                attempts=0,
            )
        # With a stream given, httpx neither reads a body nor adds headers: the response is
        # as unread as a live stream's (its events come from the source).
        response = httpx.Response(entry.status, headers=entry.headers, stream=_NO_BODY)
        source = _ReplaySource(response, list(entry.events))
        return EventStream(
            cast("EventSource", source),
            first_batch=await source.next_batch(),
            state={"method": call.method, "path": call.path, "attempt": 0},
            observers=(),
            enders=(),
            on_close=_nothing,
            replay=replay,
        )

    def _recorder(self, key: str) -> _Recorder:
        return _Recorder(self, key)

    def _opened(self, recorder: Middleware, stream: EventStream) -> None:
        if isinstance(recorder, _Recorder):
            recorder.headers = _kept(stream.headers)

    async def _keep(self, key: str, call: Call, response: APIResponse) -> None:
        if response.status_code == 200 and complete_body(response.content):
            entry = Entry(response.status_code, _kept(response.headers), body=response.content)
            await self._put(key, entry)
            if self.semantic is not None:
                self.semantic.remember(key)
        else:
            self._refused += 1

    async def _put(self, key: str, entry: Entry) -> None:
        backend = self.backend
        try:
            if type(backend) is MemoryCacheBackend:
                # Serialised once, to count its size against the byte bound.
                backend.set_held(key, HeldEntry(entry, len(encode_entry(entry))), ttl=self.ttl)
            else:
                await backend.set(key, encode_entry(entry), ttl=self.ttl)
        except Exception as exc:  # the answer was delivered; only keeping it failed
            self._backend_failed("set", exc)
            return
        self._stored += 1

    async def _entry(self, key: str) -> Entry | None:
        backend = self.backend
        if type(backend) is MemoryCacheBackend:
            held = backend.get_held(key)
            if isinstance(held, HeldEntry):
                return held.entry
        try:
            data = await self.backend.get(key)
        except Exception as exc:
            self._backend_failed("get", exc)
            return None
        return decode_entry(data) if data is not None else None

    def _backend_failed(self, operation: str, exc: Exception) -> None:
        self._errors += 1
        log_event(
            CACHE_FAILED_EVENT,
            (),
            failed=True,
            operation=operation,
            backend=type(self.backend).__name__,
            error=type(exc).__name__,
        )

    # -- for people --------------------------------------------------------------------------

    def statistics(self) -> CacheStatistics:
        """Hits, misses, stored and refused answers so far."""
        return CacheStatistics(
            hits=self._hits,
            misses=self._misses,
            semantic_hits=self._semantic_hits,
            stored=self._stored,
            refused=self._refused,
            errors=self._errors,
        )

    async def clear(self) -> None:
        """Forget every entry (the statistics stay)."""
        await self.backend.clear()
        if self.semantic is not None:
            self.semantic.clear()

    def __repr__(self) -> str:
        s = self.statistics()
        return (
            f"ResponseCache(backend={self.backend!r}, ttl={self.ttl!r}, hits={s.hits}, "
            f"misses={s.misses})"
        )
