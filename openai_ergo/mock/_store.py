"""The mock's memory: stored objects per server instance, one pagination, and a speedable clock.

Every stateful resource is a `Collection` of records keyed by id, in creation order, with the
same not-found error and the same list page (`limit`/`after`/`before`/`order`, `has_more`,
`first_id`, `last_id`). State machines (a background response's queued → in_progress →
completed) are computed from the `MockClock` when an object is read, not driven by tasks: a
test moves them on with `clock.advance(seconds)` or `clock.speed`, and `reset()` forgets all.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl

from openai_ergo.mock._endpoints import BadRequest

__all__ = ["Collection", "MockClock", "Query", "metadata_param", "page"]

T = TypeVar("T")

_MAX_LIMIT = 100


class MockClock:
    """Seconds for the mock's state machines: real time, run `speed` times faster, plus whatever
    `advance()` added. Safe to use from any thread."""

    def __init__(self, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._origin = time.monotonic()
        self._at_origin = 0.0
        self._speed = speed

    def time(self) -> float:
        """The clock's reading, in seconds."""
        with self._lock:
            return self._at_origin + (time.monotonic() - self._origin) * self._speed

    def advance(self, seconds: float) -> None:
        """Move the clock forward at once (background work due by then is done)."""
        if seconds < 0:
            raise ValueError(f"the mock's clock only goes forward, not by {seconds}")
        with self._lock:
            self._at_origin += seconds

    @property
    def speed(self) -> float:
        """How many clock seconds pass per real second."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            raise ValueError(f"the mock's clock speed cannot be negative: {value}")
        with self._lock:
            now = time.monotonic()
            self._at_origin += (now - self._origin) * self._speed
            self._origin, self._speed = now, value


class Query:
    """A request's query string, read the way OpenAI's list endpoints read it."""

    def __init__(self, raw: str) -> None:
        self.pairs = parse_qsl(raw, keep_blank_values=True)
        self.values = dict(self.pairs)

    def get(self, name: str) -> str | None:
        """The last value given for `name`."""
        return self.values.get(name)

    def flag(self, name: str) -> bool:
        """A boolean parameter (`stream=true`)."""
        return (self.values.get(name) or "").lower() in ("true", "1")

    def integer(self, name: str) -> int | None:
        """An integer parameter, or a 400 naming it."""
        raw = self.values.get(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise BadRequest(
                f"Invalid '{name}': expected an integer, but got '{raw}' instead.",
                param=name,
                code="invalid_type",
            ) from None

    def prefixed(self, prefix: str) -> dict[str, str]:
        """Bracketed parameters: `metadata[k]=v` as {k: v} for prefix "metadata"."""
        start = prefix + "["
        return {
            k[len(start) : -1]: v for k, v in self.pairs if k.startswith(start) and k[-1] == "]"
        }


class Collection(Generic[T]):
    """Records of one kind by id, oldest first, bounded (the oldest go when it is full)."""

    def __init__(self, noun: str, *, capacity: int | None = None) -> None:
        self.noun = noun
        self.capacity = capacity
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, value: T) -> T:
        """Keep `value` under `key`."""
        with self._lock:
            self._items[key] = value
            if self.capacity is not None and len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return value

    def get(self, key: str) -> T:
        """The record, or OpenAI's 404 naming it."""
        try:
            return self._items[key]
        except KeyError:
            raise self.missing(key) from None

    def find(self, key: str) -> T | None:
        """The record, or None."""
        return self._items.get(key)

    def delete(self, key: str) -> T:
        """Remove and return the record, or OpenAI's 404 naming it."""
        with self._lock:
            try:
                return self._items.pop(key)
            except KeyError:
                raise self.missing(key) from None

    def missing(self, key: str) -> BadRequest:
        """The 404 for an id this collection does not hold."""
        return BadRequest(f"{self.noun} with id '{key}' not found.", status=404)

    def values(self) -> list[T]:
        """Every record, oldest first."""
        with self._lock:
            return list(self._items.values())

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.values())


def page(
    items: Sequence[T],
    query: Query,
    *,
    render: Callable[[T], Mapping[str, Any]],
    key: Callable[[T], str],
    default_order: str = "desc",
    default_limit: int = 20,
    max_limit: int = _MAX_LIMIT,
) -> dict[str, Any]:
    """One page of a list endpoint, from `items` in creation order.

    `after`/`before` are ids (cursors) in the requested order; an id not in the list is a 400
    naming the parameter, as is a `limit` outside 1..`max_limit` or an `order` other than
    asc/desc.
    """
    limit = query.integer("limit")
    if limit is None:
        limit = default_limit
    if not 1 <= limit <= max_limit:
        raise BadRequest(
            f"Invalid 'limit': integer out of range. Expected a value between 1 and "
            f"{max_limit}, but got {limit} instead.",
            param="limit",
            code="integer_out_of_range",
        )
    order = query.get("order") or default_order
    if order not in ("asc", "desc"):
        raise BadRequest(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            param="order",
            code="invalid_value",
        )
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [key(item) for item in ordered]
    start, stop = 0, len(ordered)
    after, before = query.get("after"), query.get("before")
    if after:
        start = _position(ids, after, "after") + 1
    if before:
        stop = _position(ids, before, "before")
    window = ordered[start:stop]
    # `before` pages backwards: the items right before the cursor, still in list order.
    chosen = window[-limit:] if before and not after else window[:limit]
    data = [render(item) for item in chosen]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(window) > len(chosen),
    }


def metadata_param(value: Any) -> dict[str, str]:
    """A `metadata` parameter (null is none), or a 400: an object of at most 16 strings."""
    if value is None:
        return {}
    if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
        raise BadRequest(
            "Invalid type for 'metadata': expected an object of strings.",
            param="metadata",
            code="invalid_type",
        )
    if len(value) > 16:
        raise BadRequest(
            f"Invalid 'metadata': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(value)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    return value


def _position(ids: list[str], cursor: str, name: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise BadRequest(
            f"Invalid '{name}': no object with id '{cursor}' in this list.", param=name
        ) from None
