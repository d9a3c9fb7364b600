"""tee on in-memory sources: every consumer sees every item, bounds hold, errors reach everyone."""

from __future__ import annotations

import math
from typing import TypeVar

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming import StreamingError, TeeConsumer, TeeInterruptedError, TeeLagError, tee
from tests.streaming.test_compose import Boom, ScriptedSource

# Hypothesis wraps async tests in a sync function, which the conftest's auto-marking cannot see;
# the module mark lets anyio's plugin run them under both backends too.
pytestmark = pytest.mark.anyio

T = TypeVar("T")


async def _read_all(consumer: TeeConsumer[T], into: list[T], pauses: int = 0) -> None:
    async for item in consumer:
        into.append(item)
        for _ in range(pauses):
            await anyio.lowlevel.checkpoint()


@settings(max_examples=60)
@given(
    items=st.lists(st.integers(), max_size=30),
    pauses=st.lists(st.integers(0, 3), min_size=1, max_size=4),
    max_buffer=st.sampled_from([1, 2, 3, 8, math.inf]),
)
async def test_every_consumer_sees_exactly_the_source_in_order(
    items: list[int], pauses: list[int], max_buffer: float
) -> None:
    source = ScriptedSource(items)
    seen: list[list[int]] = [[] for _ in pauses]
    split = tee(source, len(pauses), max_buffer=max_buffer)
    async with split as consumers, anyio.create_task_group() as group:
        for consumer, into, pause in zip(consumers, seen, pauses, strict=True):
            group.start_soon(_read_all, consumer, into, pause)
    assert seen == [items] * len(pauses)
    assert source.reads == len(items)
    assert source.closed


async def test_wait_mode_blocks_the_fast_consumer_at_the_bound() -> None:
    source = ScriptedSource(range(6))
    fast: list[int] = []
    split = tee(source, 2, max_buffer=2, on_lag="wait")
    async with split as (ahead, stalled), anyio.create_task_group() as group:
        group.start_soon(_read_all, ahead, fast)
        await anyio.wait_all_tasks_blocked()
        # The stalled consumer holds 2 items: the fast one may not read a third.
        assert fast == [0, 1]
        assert source.reads == 2
        assert stalled.buffered == 2
        assert split.statistics().buffered == (0, 2)

        assert await stalled.__anext__() == 0
        await anyio.wait_all_tasks_blocked()
        assert fast == [0, 1, 2]
        assert source.reads == 3

        slow = [item async for item in stalled]
    assert fast == [0, 1, 2, 3, 4, 5]
    assert slow == [1, 2, 3, 4, 5]


async def test_error_mode_cuts_off_the_laggard_after_what_it_was_given() -> None:
    source = ScriptedSource(range(5))
    async with tee(source, 2, max_buffer=2, on_lag="error") as (ahead, stalled):
        assert [item async for item in ahead] == [0, 1, 2, 3, 4]
        assert await stalled.__anext__() == 0
        assert await stalled.__anext__() == 1
        with pytest.raises(TeeLagError, match=r"consumer 1 fell more than max_buffer=2") as info:
            await stalled.__anext__()
        assert info.value.consumer == 1
        assert info.value.max_buffer == 2
        assert isinstance(info.value, StreamingError)
        with pytest.raises(TeeLagError):
            await stalled.__anext__()


async def test_an_error_from_the_source_reaches_every_consumer_after_its_items() -> None:
    error = Boom("connection reset")
    source = ScriptedSource([1, 2, 3], error=error)
    async with tee(source, 3) as (first, second, third):
        received: list[int] = []
        with pytest.raises(Boom) as raised_first:
            await _read_all(first, received)
        assert received == [1, 2, 3]
        assert source.closed

        for consumer in (second, third):
            received = []
            with pytest.raises(Boom) as raised:
                await _read_all(consumer, received)
            assert received == [1, 2, 3]
            assert raised.value is raised_first.value is error


async def test_leaving_the_block_early_closes_the_source() -> None:
    source = ScriptedSource(range(1000))
    async with tee(source, 2) as (left, right):
        async for item in left:
            if item == 3:
                break
        assert await right.__anext__() == 0
    assert source.closed
    assert source.reads == 4
    # What was buffered for the other consumer is still there; then the tee says it was closed.
    assert [await right.__anext__() for _ in range(3)] == [1, 2, 3]
    with pytest.raises(anyio.ClosedResourceError, match="the tee was closed"):
        await right.__anext__()


async def test_closing_every_consumer_closes_the_source() -> None:
    source = ScriptedSource(range(10))
    split = tee(source, 2)
    left, right = split
    assert await left.__anext__() == 0
    await left.aclose()
    assert source.closes == 0
    await right.aclose()
    assert source.closes == 1
    with pytest.raises(anyio.ClosedResourceError, match="consumer 0 was closed"):
        await left.__anext__()
    await split.aclose()


async def test_a_closed_consumer_does_not_hold_the_others_back() -> None:
    source = ScriptedSource(range(20))
    split = tee(source, 2, max_buffer=1)
    async with split as (reader, quitter):
        assert await quitter.__anext__() == 0
        await quitter.aclose()
        assert [item async for item in reader] == list(range(20))
    assert split.statistics().buffered == (0, 0)
    assert split.statistics().active_consumers == 1


async def test_closing_the_tee_mid_read_leaves_the_closing_to_the_reader() -> None:
    send, receive = anyio.create_memory_object_stream[int](1)
    outcome: list[object] = []

    async def read(consumer: TeeConsumer[int]) -> None:
        try:
            async for item in consumer:
                outcome.append(item)
        except anyio.ClosedResourceError as error:
            outcome.append(error)

    split = tee(receive, 2)
    with send:
        async with anyio.create_task_group() as group:
            group.start_soon(read, split[0])
            await anyio.wait_all_tasks_blocked()
            await split.aclose()
            # The reader is inside the source's read: the source stays open until it returns.
            await send.send(1)
        assert len(outcome) == 1
        assert isinstance(outcome[0], anyio.ClosedResourceError)
        with pytest.raises(anyio.BrokenResourceError):
            send.send_nowait(2)


async def test_a_consumer_cancelled_mid_read_fails_the_others_instead_of_truncating() -> None:
    source = ScriptedSource([1, 2], hang=True)
    async with tee(source, 2) as (impatient, patient):
        async with anyio.create_task_group() as group:
            group.start_soon(_read_all, impatient, [])
            await anyio.wait_all_tasks_blocked()
            group.cancel_scope.cancel()
        # The impatient consumer read both items before its read of a third was cancelled.
        assert [await patient.__anext__(), await patient.__anext__()] == [1, 2]
        with pytest.raises(TeeInterruptedError, match="consumer 0 was cancelled") as info:
            await patient.__anext__()
        assert info.value.consumer == 0
        assert source.closed


async def test_cancelling_a_consumer_waiting_for_room_leaves_the_tee_usable() -> None:
    source = ScriptedSource(range(4))
    async with tee(source, 2, max_buffer=1) as (ahead, stalled):
        assert await ahead.__anext__() == 0
        async with anyio.create_task_group() as group:
            group.start_soon(ahead.__anext__)
            await anyio.wait_all_tasks_blocked()
            assert source.reads == 1
            group.cancel_scope.cancel()
        assert source.reads == 1
        rest: tuple[list[int], list[int]] = ([], [])
        async with anyio.create_task_group() as group:
            group.start_soon(_read_all, stalled, rest[0])
            group.start_soon(_read_all, ahead, rest[1])
        assert rest == ([0, 1, 2, 3], [1, 2, 3])


async def test_a_single_consumer_reads_straight_through() -> None:
    source = ScriptedSource(range(5), checkpoints=False)
    async with tee(source, 1, max_buffer=1) as (only,):
        assert [item async for item in only] == [0, 1, 2, 3, 4]


async def test_statistics_report_buffers_and_laggards() -> None:
    source = ScriptedSource(range(4))
    split = tee(source, 3, max_buffer=2, on_lag="error")
    async with split as (ahead, lagging, _idle):
        assert split.statistics().buffered == (0, 0, 0)
        assert await ahead.__anext__() == 0
        assert await lagging.__anext__() == 0
        stats = split.statistics()
        assert stats.items_read == 1
        assert stats.buffered == (0, 0, 1)
        assert [item async for item in ahead] == [1, 2, 3]
        stats = split.statistics()
        assert stats.items_read == 4
        # Item 2 found the idle consumer full, item 3 the lagging one: both were cut off.
        assert stats.buffered == (0, 2, 2)
        assert stats.lagged == (1, 2)
        assert stats.active_consumers == 1
        assert stats.finished
        assert stats.max_buffer == 2


def test_tee_rejects_bad_arguments() -> None:
    source = ScriptedSource([1])
    with pytest.raises(ValueError, match="n >= 1"):
        tee(source, 0)
    with pytest.raises(ValueError, match="max_buffer must be an int >= 1"):
        tee(source, 2, max_buffer=0)
    with pytest.raises(ValueError, match="on_lag must be"):
        tee(source, 2, on_lag="drop")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tee's source must be an async iterable"):
        tee([1], 2)  # type: ignore[arg-type]


async def test_a_tee_dropped_unclosed_warns_at_once_and_closes_its_source() -> None:
    source = ScriptedSource(range(3))
    held = [tee(source, 2)]
    assert await held[0][0].__anext__() == 0
    with pytest.warns(ResourceWarning, match="tee"):
        held.clear()  # the last reference: finalised here, without the cycle collector
    for _ in range(10):  # the close runs on the event loop, within a few turns
        if source.closed:
            break
        await anyio.lowlevel.checkpoint()
    assert source.closed


async def test_consumers_are_values_of_their_tee_and_index() -> None:
    split = tee(ScriptedSource(range(3)), 2)
    async with split as consumers:
        assert consumers == tuple(split) == (split[0], split[-1])
        assert len({split[0], split[0], split[1]}) == 2
        assert split[1] != tee(ScriptedSource([]), 2)[1]
        with pytest.raises(IndexError):
            split[2]
