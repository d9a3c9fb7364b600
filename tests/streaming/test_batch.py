"""batched on in-memory sources: nothing lost or reordered, bounds by count, flushes by time."""

from __future__ import annotations

import gc
import itertools
from typing import TypeVar

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming import Batches, batched
from tests.streaming.test_compose import Boom, ScriptedSource

# Hypothesis wraps async tests in a sync function, which the conftest's auto-marking cannot see;
# the module mark lets anyio's plugin run them under both backends too.
pytestmark = pytest.mark.anyio

T = TypeVar("T")


class GatedSource(ScriptedSource[int]):
    """Yields `before`, then waits for `gate` before yielding `after`."""

    def __init__(self, before: list[int], after: list[int]) -> None:
        super().__init__(before + after)
        self.before = len(before)
        self.gate = anyio.Event()

    async def __anext__(self) -> int:
        if self.reads == self.before:
            await self.gate.wait()
        return await super().__anext__()


class PacedSource(ScriptedSource[int]):
    """Yields 0, 1, 2, ... pausing a scripted number of checkpoints before each."""

    def __init__(self, pauses: list[int]) -> None:
        super().__init__(range(len(pauses)))
        self.pauses = pauses

    async def __anext__(self) -> int:
        if self.reads < len(self.pauses):
            for _ in range(self.pauses[self.reads]):
                await anyio.lowlevel.checkpoint()
        return await super().__anext__()


async def _all(batches: Batches[T], pause: int = 0) -> list[list[T]]:
    collected = []
    async for batch in batches:
        collected.append(batch)
        for _ in range(pause):
            await anyio.lowlevel.checkpoint()
    return collected


@settings(max_examples=60)
@given(
    pauses=st.lists(st.integers(0, 3), max_size=40),
    max_items=st.integers(1, 7),
    max_delay=st.sampled_from([None, 0.0, 0.001]),
    consumer_pause=st.integers(0, 4),
)
async def test_batches_concatenate_to_the_input_and_respect_max_items(
    pauses: list[int], max_items: int, max_delay: float | None, consumer_pause: int
) -> None:
    source = PacedSource(pauses)
    async with batched(source, max_items, max_delay) as batches:
        output = await _all(batches, consumer_pause)
    assert list(itertools.chain.from_iterable(output)) == list(range(len(pauses)))
    assert all(1 <= len(batch) <= max_items for batch in output)
    if max_delay is None:
        # Without a time limit only the last batch may be short.
        assert all(len(batch) == max_items for batch in output[:-1])
    assert source.closed


async def test_a_partial_batch_goes_out_after_max_delay() -> None:
    source = GatedSource([0, 1, 2], [3, 4, 5, 6])
    # Long enough that a loaded machine reads all three ready items before the timer fires
    # (5 ms once cut the batch after the first item).
    async with batched(source, 10, max_delay=0.25) as batches:
        # The source waits for the gate, so only the timer can deliver this batch.
        assert await batches.__anext__() == [0, 1, 2]
        source.gate.set()
        assert await _all(batches) == [[3, 4, 5, 6]]


async def test_without_max_delay_a_partial_batch_waits_for_the_end() -> None:
    source = GatedSource([0, 1, 2], [3])
    async with batched(source, 10) as batches, anyio.create_task_group() as group:
        received: list[list[int]] = []

        async def receive() -> None:
            received.extend(await _all(batches))

        group.start_soon(receive)
        await anyio.wait_all_tasks_blocked()
        assert received == []
        assert batches.statistics().buffered == 3
        source.gate.set()
    assert received == [[0, 1, 2, 3]]


async def test_a_busy_consumer_gets_everything_that_arrived_meanwhile_at_once() -> None:
    source = ScriptedSource(range(50), hang=True)
    async with batched(source, 100, max_delay=0.001) as batches:
        await anyio.wait_all_tasks_blocked()
        assert await batches.__anext__() == list(range(50))


async def test_the_items_before_an_error_come_first_then_the_error() -> None:
    source = ScriptedSource([1, 2, 3], error=Boom("disconnected"))
    async with batched(source, 2) as batches:
        assert await batches.__anext__() == [1, 2]
        assert await batches.__anext__() == [3]
        with pytest.raises(Boom, match="disconnected"):
            await batches.__anext__()
    assert source.closed


async def test_reading_ahead_is_bounded_by_max_buffer() -> None:
    source = ScriptedSource(range(100))
    async with batched(source, 2, max_buffer=5) as batches:
        await anyio.wait_all_tasks_blocked()
        assert source.reads == 5
        stats = batches.statistics()
        assert stats.buffered == 5
        assert stats.max_buffer == 5
        assert await batches.__anext__() == [0, 1]
        await anyio.wait_all_tasks_blocked()
        assert source.reads == 7
        stats = batches.statistics()
        assert (stats.batches, stats.items, stats.finished) == (1, 2, False)


async def test_leaving_early_closes_the_source_and_keeps_what_was_read() -> None:
    source = ScriptedSource([1, 2, 3], hang=True)
    async with batched(source, 2) as batches:
        assert await batches.__anext__() == [1, 2]
        await anyio.wait_all_tasks_blocked()
    assert source.closed
    assert batches.pending() == [3]
    with pytest.raises(anyio.ClosedResourceError, match="batcher was closed"):
        await batches.__anext__()


async def test_an_error_in_the_block_propagates_unwrapped() -> None:
    source = ScriptedSource([1], hang=True)

    async def fail_inside() -> None:
        async with batched(source, 1) as batches:
            assert await batches.__anext__() == [1]
            raise KeyError("from the block")

    with pytest.raises(KeyError):
        await fail_inside()
    assert source.closed


async def test_an_outer_cancellation_closes_the_source() -> None:
    source = ScriptedSource([1], hang=True)
    with anyio.CancelScope() as scope:
        async with batched(source, 5) as batches:
            scope.cancel()
            await batches.__anext__()
    assert scope.cancelled_caught
    assert source.closed


async def test_reading_before_entering_is_an_error_and_aclose_closes_the_source() -> None:
    source = ScriptedSource([1])
    batches = batched(source, 1)
    with pytest.raises(RuntimeError, match="enter the batcher first"):
        await batches.__anext__()
    await batches.aclose()
    assert source.closed


async def test_a_batcher_never_entered_warns_when_dropped() -> None:
    def drop() -> None:
        batched(ScriptedSource([1]), 1)
        gc.collect()

    with pytest.warns(ResourceWarning, match="never entered"):
        drop()


def test_batched_rejects_bad_arguments() -> None:
    source = ScriptedSource([1])
    with pytest.raises(ValueError, match="max_items must be an int >= 1"):
        batched(source, 0)
    with pytest.raises(ValueError, match="max_delay must be a finite number"):
        batched(source, 1, -1.0)
    with pytest.raises(ValueError, match="max_delay must be a finite number"):
        batched(source, 1, float("inf"))
    with pytest.raises(ValueError, match="max_buffer must be an int >= max_items=4"):
        batched(source, 4, max_buffer=3)
    with pytest.raises(TypeError, match="batched's source must be an async iterable"):
        batched([1], 1)  # type: ignore[arg-type]
