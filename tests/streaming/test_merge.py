"""merge on in-memory sources: order per source, fairness, errors, and closing every source."""

from __future__ import annotations

import gc
from collections import Counter
from typing import TypeVar

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming import Merged, merge
from tests.streaming.test_compose import Boom, ScriptedSource

# Hypothesis wraps async tests in a sync function, which the conftest's auto-marking cannot see;
# the module mark lets anyio's plugin run them under both backends too.
pytestmark = pytest.mark.anyio

T = TypeVar("T")


class PacedSource(ScriptedSource[tuple[int, int]]):
    """Yields (source, position) pairs, pausing a scripted number of checkpoints before each."""

    def __init__(self, source: int, pauses: list[int]) -> None:
        super().__init__([(source, position) for position in range(len(pauses))])
        self.pauses = pauses

    async def __anext__(self) -> tuple[int, int]:
        if self.reads < len(self.pauses):
            for _ in range(self.pauses[self.reads]):
                await anyio.lowlevel.checkpoint()
        return await super().__anext__()


async def _take(merged: Merged[T], count: int) -> list[T]:
    taken: list[T] = []
    async for item in merged:
        taken.append(item)
        if len(taken) == count:
            break
    return taken


@settings(max_examples=60)
@given(
    st.lists(st.lists(st.integers(0, 3), max_size=12), max_size=5),
    st.sampled_from([0, 1, 4]),
)
async def test_merge_is_a_permutation_that_keeps_each_sources_order(
    paces: list[list[int]], max_buffer: int
) -> None:
    sources = [PacedSource(index, pauses) for index, pauses in enumerate(paces)]
    async with merge(*sources, max_buffer=max_buffer) as merged:
        output = [item async for item in merged]
    expected = [
        (index, position) for index, pauses in enumerate(paces) for position in range(len(pauses))
    ]
    assert sorted(output) == expected
    for index in range(len(paces)):
        assert [item for item in output if item[0] == index] == [
            (index, position) for position in range(len(paces[index]))
        ]
    assert all(source.closed for source in sources)


async def test_ready_sources_take_turns_behind_a_slow_consumer() -> None:
    sources = [ScriptedSource([(name, n) for n in range(100)]) for name in "abc"]
    names: list[str] = []
    async with merge(*sources) as merged:
        await anyio.wait_all_tasks_blocked()
        async for name, _ in merged:
            names.append(name)
            if len(names) == 60:
                break
            # The consumer is the bottleneck: a few scheduler rounds let every source read its
            # next item and queue up with it.
            for _ in range(10):
                await anyio.lowlevel.checkpoint()
    # Round-robin: every window of three consecutive items holds one item of each source.
    for start in range(len(names) - 2):
        assert sorted(names[start : start + 3]) == ["a", "b", "c"], names
    assert all(source.closed for source in sources)


async def test_a_chatty_source_does_not_starve_a_slow_one() -> None:
    chatty = ScriptedSource(["chatty"] * 1000)
    slow = PacedSource(1, [20] * 3)
    async with merge(chatty, slow) as merged:
        output = await _take(merged, 200)
    assert output.count((1, 0)) == output.count((1, 1)) == output.count((1, 2)) == 1
    assert Counter(map(type, output))[tuple] == 3


async def test_the_first_error_closes_every_source_and_reaches_the_consumer_as_itself() -> None:
    hanging = ScriptedSource(["h"], hang=True)
    failing = ScriptedSource(["f1", "f2"], error=Boom("bad chunk"))
    received: list[str] = []

    async def consume() -> None:
        async with merge(hanging, failing) as merged:
            async for item in merged:
                received.append(item)

    with pytest.raises(Boom, match="bad chunk"):
        await consume()
    assert sorted(received) == ["f1", "f2", "h"]
    assert hanging.closed
    assert failing.closed


async def test_leaving_early_closes_every_source() -> None:
    endless = ScriptedSource(range(10**6))
    hanging = ScriptedSource([-1], hang=True)
    async with merge(endless, hanging) as merged:
        async for item in merged:
            if item == 5:
                break
    assert endless.closed
    assert hanging.closed
    # Each source is read at most one item ahead of the consumer.
    assert endless.reads <= 7


async def test_an_error_in_the_block_propagates_unwrapped() -> None:
    source = ScriptedSource([1], hang=True)

    async def fail_inside() -> None:
        async with merge(source) as merged:
            assert await merged.__anext__() == 1
            raise KeyError("from the block")

    with pytest.raises(KeyError):
        await fail_inside()
    assert source.closed


async def test_an_outer_cancellation_closes_every_source() -> None:
    sources = [ScriptedSource([1], hang=True), ScriptedSource([2], hang=True)]
    with anyio.CancelScope() as scope:
        async with merge(*sources) as merged:
            await merged.__anext__()
            await merged.__anext__()
            scope.cancel()
            await merged.__anext__()
    assert scope.cancelled_caught
    assert all(source.closed for source in sources)


async def test_merging_nothing_ends_at_once() -> None:
    nothing: tuple[ScriptedSource[int], ...] = ()
    async with merge(*nothing) as merged:
        assert [item async for item in merged] == []


async def test_reading_before_entering_or_after_leaving_is_an_error() -> None:
    merged = merge(ScriptedSource([1]))
    with pytest.raises(RuntimeError, match="enter the merge first"):
        await merged.__anext__()
    async with merged:
        pass
    with pytest.raises(anyio.ClosedResourceError):
        await merged.__anext__()


async def test_a_merge_never_entered_closes_its_sources_on_aclose_and_warns_when_dropped() -> None:
    source = ScriptedSource([1])
    await merge(source).aclose()
    assert source.closed

    def drop() -> None:
        merge(ScriptedSource([1]))
        gc.collect()

    with pytest.warns(ResourceWarning, match="never entered"):
        drop()


async def test_statistics_show_waiting_sources_and_items() -> None:
    sources = [ScriptedSource(range(3)), ScriptedSource(range(3))]
    async with merge(*sources, max_buffer=1) as merged:
        await anyio.wait_all_tasks_blocked()
        stats = merged.statistics()
        # One item in the buffer, and each source waiting with its next one.
        assert stats.buffered == 1
        assert stats.waiting_sources == 2
        assert stats.max_buffer == 1
        assert stats.open_sources == 2
        assert len([item async for item in merged]) == 6
        stats = merged.statistics()
        assert stats.items == 6
        assert stats.open_sources == 0


def test_merge_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="max_buffer must be an int >= 0"):
        merge(ScriptedSource([1]), max_buffer=-1)
    with pytest.raises(TypeError, match="merge's source 1 must be an async iterable"):
        merge(ScriptedSource([1]), [2])  # type: ignore[call-overload]


async def test_a_mapping_of_sources_tags_each_item_with_its_key() -> None:
    a, b = ScriptedSource(["x", "y"]), ScriptedSource(["x"])
    async with merge({"a": a, "b": b}) as merged:
        items = [item async for item in merged]
    assert Counter(items) == Counter([("a", "x"), ("a", "y"), ("b", "x")])
    assert [item for key, item in items if key == "a"] == ["x", "y"]
    assert a.closed
    assert b.closed


async def test_a_tagged_merge_closes_every_source_after_an_error_and_names_keys() -> None:
    good, bad = ScriptedSource([1, 2], hang=True), ScriptedSource([9], error=Boom("feed down"))
    async with merge({1: good, 2: bad}) as merged:
        with pytest.raises(Boom, match="feed down"):
            await drain(merged)
    assert good.closed
    assert bad.closed
    with pytest.raises(TypeError, match="merge's source 'prices' must be an async iterable"):
        merge({"prices": [1, 2]})  # type: ignore[arg-type]


async def drain(merged: Merged[tuple[int, int]]) -> None:
    """Read a merge to its end (or its error)."""
    async for _ in merged:
        pass
