"""StreamMetrics with a fake clock: what it counts, what it times, and that it closes its source."""

from __future__ import annotations

import anyio
import pytest

from streaming import MetricsSnapshot, StreamMetrics
from tests.streaming.test_compose import Boom, ScriptedSource


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TickingSource(ScriptedSource[str]):
    """Each read advances the fake clock by the scripted number of seconds first."""

    def __init__(self, clock: FakeClock, pieces: list[str], delays: list[float]) -> None:
        super().__init__(pieces)
        self.clock = clock
        self.delays = delays

    async def __anext__(self) -> str:
        if self.reads < len(self.delays):
            self.clock.now += self.delays[self.reads]
        return await super().__anext__()


async def test_it_hands_every_item_on_and_measures_the_stream() -> None:
    clock = FakeClock()
    source = TickingSource(clock, ["ab", "cde", "f"], [0.5, 0.25, 0.25])
    async with StreamMetrics(source, size=len, clock=clock) as measured:
        assert measured.snapshot() == MetricsSnapshot(
            state="pending", items=0, bytes=0, time_to_first_item=None, duration=0.0
        )
        assert [piece async for piece in measured] == ["ab", "cde", "f"]
    snapshot = measured.snapshot()
    assert snapshot.state == "completed"
    assert snapshot.items == 3
    assert snapshot.bytes == 6
    assert snapshot.time_to_first_item == 0.5
    assert snapshot.duration == 1.0
    assert snapshot.items_per_second == 3.0
    assert snapshot.bytes_per_second == 6.0
    assert source.closed


async def test_the_duration_runs_on_while_the_stream_is_open() -> None:
    clock = FakeClock()
    async with StreamMetrics(ScriptedSource(["a", "b"]), clock=clock) as measured:
        assert await measured.__anext__() == "a"
        clock.now += 2.0
        running = measured.snapshot()
        assert running.state == "running"
        assert running.duration == 2.0
        assert running.time_to_first_item == 0.0
        assert running.bytes is None
        assert running.bytes_per_second is None
    clock.now += 5.0
    closed = measured.snapshot()
    assert closed.state == "closed"
    assert closed.duration == 2.0
    assert closed.items == 1


async def test_started_at_counts_the_time_before_the_first_read() -> None:
    clock = FakeClock(now=10.0)
    source = TickingSource(clock, ["x"], [1.0])
    async with StreamMetrics(source, clock=clock, started_at=7.0) as measured:
        assert [piece async for piece in measured] == ["x"]
    snapshot = measured.snapshot()
    assert snapshot.time_to_first_item == 4.0
    assert snapshot.duration == 4.0


async def test_a_failure_stops_the_clock_and_closes_the_source() -> None:
    clock = FakeClock()
    source = ScriptedSource(["a"], error=Boom("reset"))
    measured = StreamMetrics(source, clock=clock)
    assert await measured.__anext__() == "a"
    clock.now += 3.0
    with pytest.raises(Boom):
        await measured.__anext__()
    clock.now += 3.0
    snapshot = measured.snapshot()
    assert snapshot.state == "failed"
    assert snapshot.duration == 3.0
    assert source.closed
    with pytest.raises(StopAsyncIteration):
        await measured.__anext__()


async def test_an_empty_stream_has_no_first_item_and_no_rate() -> None:
    clock = FakeClock()
    empty: ScriptedSource[str] = ScriptedSource([])
    async with StreamMetrics(empty, clock=clock) as measured:
        assert [item async for item in measured] == []
    snapshot = measured.snapshot()
    assert snapshot.state == "completed"
    assert snapshot.time_to_first_item is None
    assert snapshot.duration == 0.0
    assert snapshot.items_per_second is None


async def test_the_default_clock_is_the_event_loops() -> None:
    before = anyio.current_time()
    async with StreamMetrics(ScriptedSource(["a"])) as measured:
        assert [item async for item in measured] == ["a"]
    after = anyio.current_time()
    assert 0.0 <= measured.snapshot().duration <= after - before


async def test_closing_before_reading_measures_nothing() -> None:
    source = ScriptedSource(["a"])
    measured = StreamMetrics(source, clock=FakeClock())
    await measured.aclose()
    assert measured.snapshot().state == "closed"
    assert measured.snapshot().duration == 0.0
    assert source.closed


async def test_a_dropped_running_stream_warns() -> None:
    async def read_one_and_drop() -> None:
        measured = StreamMetrics(ScriptedSource(["a", "b"]))
        assert await measured.__anext__() == "a"

    with pytest.warns(ResourceWarning, match="StreamMetrics"):
        await read_one_and_drop()


def test_it_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="source must be an async iterable"):
        StreamMetrics(["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="size must be callable"):
        StreamMetrics(ScriptedSource(["a"]), size=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock must be callable"):
        StreamMetrics(ScriptedSource(["a"]), clock=1.0)  # type: ignore[arg-type]
