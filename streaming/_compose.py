"""Folding a stream: joining text, running values, and the text accumulator under both.

Everything here works on any async iterable. A function that consumes a source owns it: when it
stops, for any reason, it closes the source (its `aclose()`, when it has one), so a stream over
HTTP hands its connection back even when the caller breaks out early or an error interrupts it.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from functools import partial
from typing import Any, Generic, TypeVar, final, overload

import anyio
from anyio.abc import AsyncResource

from ._finalizer import close_soon, finish_async_generator

__all__ = ["RunningValues", "TextAccumulator", "accumulate", "collect_text"]

T = TypeVar("T")
R = TypeVar("R")

_MISSING: Any = object()


async def close_source(iterator: object, source: object = None) -> None:
    """Close an iterator and the iterable it came from, each when it has `aclose()`.

    Shielded, so a closing stream still hands its connection back when the caller is cancelled.
    """
    with anyio.CancelScope(shield=True):
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
        if source is not None and source is not iterator:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()


def release_unclosed(message: str, *pairs: tuple[object, object]) -> bool:
    """From the finaliser of a composition dropped unclosed: when any `(iterator, source)` pair
    holds something to release, close every pair soon, as `close_source` does, and warn
    `ResourceWarning` with `message`. Returns whether it did.

    The close runs on the event loop (see `close_soon`); without one, the async generators
    among them are ended synchronously instead, so none is collected unfinished.
    """
    if not any(_closable(iterator, source) for iterator, source in pairs):
        return False
    if not close_soon(partial(_close_sources, pairs)):
        for iterator, source in pairs:
            finish_async_generator(iterator)
            finish_async_generator(source)
    warnings.warn(message, ResourceWarning, stacklevel=2)
    return True


async def _close_sources(pairs: tuple[tuple[object, object], ...]) -> None:
    for iterator, source in pairs:
        await close_source(iterator, source)


def _closable(iterator: object, source: object) -> bool:
    """Whether closing is observable: the iterator or its source holds something to release."""
    return hasattr(iterator, "aclose") or hasattr(source, "aclose")


def iterate(source: AsyncIterable[T], role: str) -> AsyncIterator[T]:
    """`aiter(source)`, with a message that names the argument when `source` is not iterable."""
    try:
        return aiter(source)
    except TypeError:
        raise TypeError(
            f"{role} must be an async iterable (it needs __aiter__), not {type(source).__name__}"
        ) from None


@final
class TextAccumulator:
    """Text that arrives in pieces: `append` is O(1), `.text` joins once and caches the result.

    The usual way to rebuild a streamed message from its deltas without quadratic copying::

        text = TextAccumulator()
        text.append("Hel")
        text.append("lo")
        assert text.text == "Hello" and len(text) == 5

    Reading `.text` after every piece costs a join each time; read it when you need it.
    """

    __slots__ = ("_cached", "_length", "_pieces")

    def __init__(self, initial: str = "", /) -> None:
        self._pieces: list[str] = [initial] if initial else []
        self._length = len(initial)
        self._cached: str | None = initial

    def append(self, piece: str, /) -> None:
        """Add one piece at the end."""
        self._pieces.append(piece)
        self._length += len(piece)
        self._cached = None

    def extend(self, pieces: Iterable[str], /) -> None:
        """Add several pieces at the end, in order."""
        for piece in pieces:
            self.append(piece)

    def __iadd__(self, piece: str) -> TextAccumulator:
        self.append(piece)
        return self

    @property
    def text(self) -> str:
        """Everything appended so far, as one string (joined on first read after a change)."""
        cached = self._cached
        if cached is None:
            cached = "".join(self._pieces)
            # Keep one piece, so the next join copies the prefix once rather than every piece.
            self._pieces = [cached] if cached else []
            self._cached = cached
        return cached

    def clear(self) -> None:
        """Forget everything appended so far."""
        self._pieces = []
        self._length = 0
        self._cached = ""

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<TextAccumulator {self._length} chars in {len(self._pieces)} pieces>"


@overload
async def collect_text(
    source: AsyncIterable[str], /, *, into: TextAccumulator | None = None
) -> str: ...


@overload
async def collect_text(
    source: AsyncIterable[T],
    /,
    key: Callable[[T], str | None],
    *,
    into: TextAccumulator | None = None,
) -> str: ...


async def collect_text(
    source: AsyncIterable[Any],
    /,
    key: Callable[[Any], str | None] | None = None,
    *,
    into: TextAccumulator | None = None,
) -> str:
    """Read `source` to its end and return its strings joined, in O(1) per item.

    `key` pulls the text out of each item (return `None` to skip an item), for example
    `collect_text(events, key=lambda event: event.data)`. The source is closed when this returns
    or raises. An error from the source propagates unchanged; to keep what arrived before it,
    pass `into=TextAccumulator()` and read its `.text` in your handler: the pieces are appended to
    it as they arrive, and the return value is then `into.text`.
    """
    iterator = iterate(source, "collect_text's source")
    pieces: list[str] = []
    append = pieces.append if into is None else into.append
    try:
        if key is None:
            async for piece in iterator:
                append(piece)
        else:
            async for item in iterator:
                piece = key(item)
                if piece is not None:
                    append(piece)
    finally:
        await close_source(iterator, source)
    return "".join(pieces) if into is None else into.text


@final
class RunningValues(AsyncResource, Generic[T]):
    """The async iterator `accumulate` returns: running values of a fold over a source.

    An async context manager that owns the source: leaving the block or `aclose()` closes it;
    reaching the end or an error from the source closes it too.
    """

    __slots__ = ("_closed", "_function", "_iterator", "_source", "_started", "_value")

    def __init__(
        self,
        source: AsyncIterable[Any],
        function: Callable[[Any, Any], T],
        initial: Any,
    ) -> None:
        # Flags first: `__del__` reads them even when `iterate` below raises.
        self._started = False
        self._closed = False
        self._source = source
        self._iterator: AsyncIterator[Any] = iterate(source, "accumulate's source")
        self._function = function
        self._value: Any = initial

    def __aiter__(self) -> RunningValues[T]:
        return self

    async def __anext__(self) -> T:
        if not self._started:
            self._started = True
            if self._value is not _MISSING:
                return self._value  # type: ignore[no-any-return]
        if self._closed:
            raise StopAsyncIteration
        try:
            item = await self._iterator.__anext__()
        except Exception:  # StopAsyncIteration included: the end closes the source too
            await self.aclose()
            raise
        value = self._value
        value = item if value is _MISSING else self._function(value, item)
        self._value = value
        return value

    async def aclose(self) -> None:
        """Close the source (idempotent; finishes even when the caller is cancelled)."""
        if not self._closed:
            self._closed = True
            await close_source(self._iterator, self._source)

    def __del__(self) -> None:
        if self._started and not self._closed:
            self._closed = release_unclosed(
                "accumulate(...) was not closed: use `async with accumulate(...) as values:` "
                "or `await values.aclose()` so its source is closed",
                (self._iterator, self._source),
            )


@overload
def accumulate(source: AsyncIterable[T], /) -> RunningValues[T]: ...


@overload
def accumulate(source: AsyncIterable[T], function: Callable[[T, T], T], /) -> RunningValues[T]: ...


@overload
def accumulate(
    source: AsyncIterable[T], function: Callable[[R, T], R], /, *, initial: R
) -> RunningValues[R]: ...


def accumulate(
    source: AsyncIterable[Any],
    function: Callable[[Any, Any], Any] = operator.add,
    /,
    *,
    initial: Any = _MISSING,
) -> RunningValues[Any]:
    """Running values of `function` over `source`: the async counterpart of
    `itertools.accumulate`, with the same rules.

    Yields the first item (or `initial`, when given, before any item), then
    `function(previous, item)` for each item; `function` defaults to `+`. One call of `function`
    per item, nothing else kept. Use it as an async context manager so the source is closed when
    you stop early::

        async with accumulate(token_counts) as totals:
            async for tokens_so_far in totals:
                ...

    (For text, `TextAccumulator` joins pieces in O(1) each; `accumulate` with `+` on strings
    copies the whole prefix for every piece.)
    """
    if not callable(function):
        raise TypeError(f"accumulate's function must be callable, not {type(function).__name__}")
    return RunningValues(source, function, initial)
