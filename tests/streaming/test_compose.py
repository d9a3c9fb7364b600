"""collect_text, accumulate and TextAccumulator on in-memory sources.

`ScriptedSource` is the in-memory source the composition tests share: it yields its items (with a
checkpoint before each, like a network read), then ends, raises, or hangs, and records how often
it was read and closed.
"""

from __future__ import annotations

import gc
import itertools
import operator
from collections.abc import AsyncIterator, Iterable
from typing import Generic, TypeVar

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streaming import TextAccumulator, accumulate, collect_text

# Hypothesis wraps async tests in a sync function, which the conftest's auto-marking cannot see;
# the module mark lets anyio's plugin run them under both backends too.
pytestmark = pytest.mark.anyio

T = TypeVar("T")


class Boom(Exception):
    """The error a scripted source raises."""


class ScriptedSource(Generic[T]):
    """Yields `items`, then raises `error` (if given), hangs (if `hang`), or ends."""

    def __init__(
        self,
        items: Iterable[T],
        *,
        error: BaseException | None = None,
        hang: bool = False,
        checkpoints: bool = True,
    ) -> None:
        self.items = list(items)
        self.error = error
        self.hang = hang
        self.checkpoints = checkpoints
        self.reads = 0
        self.closes = 0

    @property
    def closed(self) -> bool:
        return self.closes > 0

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self.closed:
            raise StopAsyncIteration
        if self.checkpoints:
            await anyio.lowlevel.checkpoint()
        if self.reads < len(self.items):
            self.reads += 1
            return self.items[self.reads - 1]
        if self.error is not None:
            raise self.error
        if self.hang:
            await anyio.sleep_forever()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self.closes += 1


class PlainSource(Generic[T]):
    """An async iterable without `aclose`: nothing to release, so nothing to warn about."""

    def __init__(self, items: Iterable[T]) -> None:
        self.items = list(items)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        for item in self.items:
            yield item


# -- TextAccumulator ------------------------------------------------------------------------------


def test_text_accumulator_joins_pieces_in_order() -> None:
    text = TextAccumulator()
    assert text.text == ""
    assert len(text) == 0
    assert not text
    text.append("Hel")
    text += "lo"
    text.extend([",", " ", "world"])
    assert text.text == "Hello, world"
    assert str(text) == "Hello, world"
    assert len(text) == 12
    assert text


def test_text_accumulator_caches_the_join_until_the_next_piece() -> None:
    text = TextAccumulator("a")
    text.append("b")
    first = text.text
    assert text.text is first
    text.append("c")
    assert text.text == "abc"
    assert text.text is text.text


def test_text_accumulator_clear_and_repr_show_no_text() -> None:
    text = TextAccumulator("secret-ish content")
    assert "secret" not in repr(text)
    assert "18 chars" in repr(text)
    text.clear()
    assert text.text == ""
    assert len(text) == 0
    text.append("x")
    assert text.text == "x"


@given(st.lists(st.text(max_size=5), max_size=30), st.integers(min_value=0, max_value=30))
def test_text_accumulator_equals_join_whenever_read(pieces: list[str], read_at: int) -> None:
    text = TextAccumulator()
    for index, piece in enumerate(pieces):
        text.append(piece)
        if index == read_at:
            assert text.text == "".join(pieces[: index + 1])
    assert text.text == "".join(pieces)
    assert len(text) == sum(map(len, pieces))


# -- collect_text -----------------------------------------------------------------------------


@given(st.lists(st.text(max_size=8), max_size=40))
async def test_collect_text_is_the_join_of_the_pieces(pieces: list[str]) -> None:
    source = ScriptedSource(pieces)
    assert await collect_text(source) == "".join(pieces)
    assert source.closed


async def test_collect_text_with_a_key_skips_none() -> None:
    events = ScriptedSource([{"text": "a"}, {}, {"text": "b"}, {"text": ""}, {"text": "c"}])
    assert await collect_text(events, key=lambda event: event.get("text")) == "abc"


async def test_collect_text_reads_plain_async_iterables() -> None:
    assert await collect_text(PlainSource(["x", "y"])) == "xy"


async def test_collect_text_keeps_what_arrived_before_an_error() -> None:
    source = ScriptedSource(["par", "tial"], error=Boom("disconnected"))
    received = TextAccumulator()
    with pytest.raises(Boom, match="disconnected"):
        await collect_text(source, into=received)
    assert received.text == "partial"
    assert source.closed


async def test_collect_text_into_returns_everything_it_holds() -> None:
    received = TextAccumulator("> ")
    assert await collect_text(ScriptedSource(["a", "b"]), into=received) == "> ab"


async def test_collect_text_closes_the_source_when_cancelled() -> None:
    source = ScriptedSource(["a"], hang=True)
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(collect_text, source)
            await anyio.wait_all_tasks_blocked()
            scope.cancel()
    assert source.reads == 1
    assert source.closed


async def test_collect_text_names_a_source_that_is_not_iterable() -> None:
    with pytest.raises(TypeError, match="collect_text's source must be an async iterable"):
        await collect_text(["a", "b"])  # type: ignore[call-overload]


# -- accumulate ---------------------------------------------------------------------------------


async def _collect(values: AsyncIterator[T]) -> list[T]:
    return [value async for value in values]


@given(st.lists(st.integers(-100, 100), max_size=30))
async def test_accumulate_equals_itertools_accumulate(numbers: list[int]) -> None:
    async with accumulate(ScriptedSource(numbers)) as totals:
        assert await _collect(totals) == list(itertools.accumulate(numbers))
    async with accumulate(ScriptedSource(numbers), max) as peaks:
        assert await _collect(peaks) == list(itertools.accumulate(numbers, max))


@given(st.lists(st.integers(-100, 100), max_size=30), st.integers(-5, 5))
async def test_accumulate_with_initial_equals_itertools(numbers: list[int], initial: int) -> None:
    async with accumulate(ScriptedSource(numbers), operator.sub, initial=initial) as values:
        expected = list(itertools.accumulate(numbers, operator.sub, initial=initial))
        assert await _collect(values) == expected


async def test_accumulate_folds_into_another_type() -> None:
    def count_chars(total: int, piece: str) -> int:
        return total + len(piece)

    async with accumulate(ScriptedSource(["ab", "", "cde"]), count_chars, initial=0) as sizes:
        assert await _collect(sizes) == [0, 2, 2, 5]


async def test_accumulate_closes_the_source_at_the_end_and_on_error() -> None:
    ended = ScriptedSource([1, 2])
    assert await _collect(accumulate(ended)) == [1, 3]
    assert ended.closed

    failing = ScriptedSource([1, 2], error=Boom("bad chunk"))
    values = accumulate(failing)
    assert await values.__anext__() == 1
    assert await values.__anext__() == 3
    with pytest.raises(Boom, match="bad chunk"):
        await values.__anext__()
    assert failing.closed


async def test_accumulate_closes_the_source_when_the_block_is_left_early() -> None:
    source = ScriptedSource(range(100))
    async with accumulate(source) as totals:
        async for total in totals:
            if total >= 10:
                break
    assert source.reads == 5
    assert source.closed


async def test_accumulate_warns_when_dropped_unclosed() -> None:
    async def read_one_and_drop() -> None:
        values = accumulate(ScriptedSource(range(10)))
        assert await values.__anext__() == 0

    with pytest.warns(ResourceWarning, match="accumulate"):
        await read_one_and_drop()


async def test_accumulate_does_not_warn_for_sources_with_nothing_to_close() -> None:
    values = accumulate(_Counter(3))
    assert await values.__anext__() == 0
    del values
    gc.collect()


class _Counter:
    """An async iterator without `aclose`."""

    def __init__(self, stop: int) -> None:
        self.next = 0
        self.stop = stop

    def __aiter__(self) -> _Counter:
        return self

    async def __anext__(self) -> int:
        if self.next >= self.stop:
            raise StopAsyncIteration
        self.next += 1
        return self.next - 1


def test_accumulate_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="accumulate's source must be an async iterable"):
        accumulate([1, 2])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="accumulate's function must be callable"):
        accumulate(ScriptedSource([1]), 3)  # type: ignore[call-overload]
