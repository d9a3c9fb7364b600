"""`SemanticMatcher`: answers a request from the cache when an earlier one asked nearly the same.

Behind the exact match, a request whose prompt is close enough in meaning to a cached one
(cosine similarity of their embeddings at or above `threshold`) gets that answer. Only the
prompt may differ: every other field (model, tools, temperature, stream, ...) must match
exactly. The embeddings come through the client itself, so they are rate limited, retried
and counted like any request, and cost what any embedding costs.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from typing import TYPE_CHECKING, Any, final

import msgspec

from openai_ergo._errors import InvalidRequestError

if TYPE_CHECKING:
    from openai_ergo._cache._entries import Entry
    from openai_ergo._cache._response_cache import ResponseCache
    from openai_ergo._client import Client
    from openai_ergo._pipeline._call import Call

__all__ = ["SemanticMatcher"]

#: The endpoints whose prompt can be read: conversations in text.
_PATHS = ("/responses", "/chat/completions")
_PROMPT_FIELDS = ("messages", "input", "instructions")


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        found = []
        for key in ("role", "content", "text"):
            if key in value:
                found.extend(_texts(value[key]))
        return found
    return []


def _split(body: Any) -> tuple[str, str] | None:
    """The request's prompt as text, and a hash of everything else in it."""
    if not isinstance(body, dict):
        try:
            body = msgspec.to_builtins(body)
        except TypeError:
            return None
    if not isinstance(body, dict):
        return None
    prompt = "\n".join(text for name in _PROMPT_FIELDS for text in _texts(body.get(name)))
    if not prompt:
        return None
    rest = {k: v for k, v in body.items() if k not in _PROMPT_FIELDS}
    shape = hashlib.sha256(msgspec.json.encode(rest, order="sorted")).hexdigest()
    return prompt, shape


def _unit(vector: Any) -> array[float]:
    values = array("f", vector)
    norm = math.sqrt(math.fsum(v * v for v in values)) or 1.0
    return array("f", (v / norm for v in values))


@final
class SemanticMatcher:
    """The similarity match of a `ResponseCache` (`ResponseCache(semantic=...)`).

    `client` makes the embeddings with `model`; `threshold` (0 to 1) is the least cosine
    similarity that counts as the same question: too low and different questions share an
    answer, too high and rephrasings miss. `max_entries` bounds the vectors kept (oldest out
    first); the search is linear, in Python, so keep it in the hundreds.
    """

    def __init__(
        self,
        client: Client,
        *,
        model: str = "text-embedding-3-small",
        threshold: float = 0.95,
        max_entries: int = 512,
    ) -> None:
        if not isinstance(threshold, int | float) or not 0.0 < threshold <= 1.0:
            raise InvalidRequestError(
                f"threshold must be in (0, 1], not {threshold!r}", param="threshold"
            )
        if not isinstance(max_entries, int) or max_entries < 1:
            raise InvalidRequestError(
                f"max_entries must be a whole number >= 1, not {max_entries!r}",
                param="max_entries",
            )
        self.client = client
        self.model = model
        self.threshold = float(threshold)
        self.max_entries = max_entries
        #: (shape, unit vector, cache key), oldest first.
        self._vectors: list[tuple[str, array[float], str]] = []
        #: The vector a missed lookup computed, kept until its answer is stored.
        self._pending: dict[str, tuple[str, array[float]]] = {}

    async def _embed(self, text: str) -> array[float]:
        result = await self.client.embeddings(self.model).input(text)
        return _unit(result[0])

    def similarity(self, a: array[float], b: array[float]) -> float:
        """The cosine similarity of two unit vectors."""
        return math.fsum(x * y for x, y in zip(a, b, strict=True))

    async def lookup(self, cache: ResponseCache, key: str, call: Call) -> Entry | None:
        """The cached answer of the nearest earlier request with the same shape, if near
        enough; None otherwise (and the request's vector is kept for `remember`)."""
        if not call.url.endswith(_PATHS):
            return None
        split = _split(call.body)
        if split is None:
            return None
        prompt, shape = split
        vector = await self._embed(prompt)
        best, best_key = -1.0, None
        for other_shape, other, other_key in self._vectors:
            if other_shape == shape and len(other) == len(vector):
                score = self.similarity(vector, other)
                if score > best:
                    best, best_key = score, other_key
        if best_key is not None and best >= self.threshold:
            entry = await cache._entry(best_key)
            if entry is not None:
                return entry
            self._vectors = [v for v in self._vectors if v[2] != best_key]
        if len(self._pending) >= self.max_entries:
            self._pending.pop(next(iter(self._pending)))
        self._pending[key] = (shape, vector)
        return None

    def remember(self, key: str) -> None:
        """Keep the vector of the request whose answer was just stored under `key`."""
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        self._vectors.append((pending[0], pending[1], key))
        if len(self._vectors) > self.max_entries:
            del self._vectors[0]

    def clear(self) -> None:
        """Forget every vector."""
        self._vectors.clear()
        self._pending.clear()

    def __len__(self) -> int:
        return len(self._vectors)

    def __repr__(self) -> str:
        return (
            f"SemanticMatcher(model={self.model!r}, threshold={self.threshold}, "
            f"vectors={len(self._vectors)})"
        )
