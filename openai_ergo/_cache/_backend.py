"""Where cached responses live: an async key-value interface of bytes, and its in-memory LRU.

The interface is small on purpose, so a shared store (Redis, say) implements it in a few
lines: `get`, `set` with a time to live, `delete` and `clear`. Values are opaque bytes: the
cache serialises its entries itself, so a backend never needs to know their shape. The
in-memory LRU alone also holds entries as objects (`get_held` / `set_held`), so that a hit
in the same process decodes nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, final, runtime_checkable

from openai_ergo._errors import InvalidRequestError
from openai_ergo._pipeline._clock import SYSTEM_CLOCK, Clock

__all__ = ["CacheBackend", "HeldValue", "MemoryCacheBackend"]


@runtime_checkable
class CacheBackend(Protocol):
    """Storage for a `ResponseCache`: bytes under string keys, each with a time to live."""

    async def get(self, key: str) -> bytes | None:
        """The value stored under `key`, or None when absent or expired."""
        ...

    async def set(self, key: str, value: bytes, *, ttl: float | None) -> None:
        """Store `value` under `key` for `ttl` seconds (None: until evicted)."""
        ...

    async def delete(self, key: str) -> None:
        """Forget `key` (no error when absent)."""
        ...

    async def clear(self) -> None:
        """Forget every key."""
        ...


class HeldValue(Protocol):
    """A value the in-memory backend keeps as objects, not bytes (`ResponseCache` stores its
    entries so, already decoded): its size in bytes when serialised, and those bytes."""

    @property
    def size(self) -> int:
        """The bytes it serialises to (what the byte bound counts)."""
        ...

    def to_bytes(self) -> bytes:
        """The value as the bytes `get` returns."""
        ...


@final
class MemoryCacheBackend:
    """An in-process LRU: at most `max_entries` values and `max_bytes` bytes of them (the
    least recently used go first), each dropped once its time to live passed on `clock`."""

    __slots__ = ("_bytes", "_clock", "_entries", "evictions", "max_bytes", "max_entries")

    def __init__(
        self,
        *,
        max_entries: int = 1024,
        max_bytes: int | None = 64 * 1024 * 1024,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(max_entries, int) or max_entries < 1:
            raise InvalidRequestError(
                f"max_entries must be a whole number >= 1, not {max_entries!r}",
                param="max_entries",
            )
        if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes < 1):
            raise InvalidRequestError(
                f"max_bytes must be a whole number >= 1 or None, not {max_bytes!r}",
                param="max_bytes",
            )
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock or SYSTEM_CLOCK
        #: key -> (expires at on the clock, or None; value, as bytes or as held objects)
        self._entries: OrderedDict[str, tuple[float | None, bytes | HeldValue]] = OrderedDict()
        self._bytes = 0
        #: Values dropped to make room (not counting expired ones).
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """The bytes held now."""
        return self._bytes

    async def get(self, key: str) -> bytes | None:
        """The value under `key`, marked as just used; None when absent or expired."""
        value = self.get_held(key)
        if value is None or isinstance(value, bytes):
            return value
        return value.to_bytes()

    async def set(self, key: str, value: bytes, *, ttl: float | None) -> None:
        """Store `value`, evicting the least recently used values past the bounds. A value
        larger than `max_bytes` is not stored."""
        if not isinstance(value, bytes):
            raise InvalidRequestError(
                f"a cached value must be bytes, not {type(value).__name__}", param="value"
            )
        self.set_held(key, value, ttl=ttl)

    def get_held(self, key: str) -> bytes | HeldValue | None:
        """The value under `key` as it is held (bytes, or the objects `set_held` stored),
        marked as just used; None when absent or expired. No I/O, so no await."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires is not None and self._clock.now() >= expires:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    def set_held(self, key: str, value: bytes | HeldValue, *, ttl: float | None) -> None:
        """Store `value` as it is (bytes, or objects counted at their serialised `size`),
        under the same bounds as `set`."""
        size = _size(value)
        if self.max_bytes is not None and size > self.max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        expires = None if ttl is None else self._clock.now() + ttl
        self._entries[key] = (expires, value)
        self._bytes += size
        while len(self._entries) > self.max_entries or (
            self.max_bytes is not None and self._bytes > self.max_bytes
        ):
            oldest = next(iter(self._entries))
            self._drop(oldest)
            self.evictions += 1

    async def delete(self, key: str) -> None:
        """Forget `key`."""
        if key in self._entries:
            self._drop(key)

    async def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= _size(value)

    def __repr__(self) -> str:
        return (
            f"MemoryCacheBackend(entries={len(self._entries)}/{self.max_entries}, "
            f"bytes={self._bytes}/{self.max_bytes})"
        )


def _size(value: bytes | HeldValue) -> int:
    return len(value) if isinstance(value, bytes) else value.size
