"""The poll every workflow waits with: its backoff, its deadline, and its checked settings."""

from __future__ import annotations

import pytest

from openai_ergo import InvalidRequestError, WaitTimeoutError
from openai_ergo.resources._polling import Poll

from .clocks import FakeClock


async def test_backs_off_to_the_cap_and_returns_when_finished() -> None:
    clock = FakeClock()
    readings: list[int] = []
    count = iter(range(100))

    async def fetch() -> int:
        return next(count)

    poll = Poll(timeout=100, interval=1, max_interval=3, backoff=2)
    result = await poll.until(
        clock,
        fetch,
        lambda n: n == 4,
        what="job",
        state=str,
        detail=str,
        progress=readings.append,
    )
    assert result == 4
    assert readings == [0, 1, 2, 3, 4]
    assert clock.sleeps == [1, 2, 3, 3]


async def test_the_deadline_is_met_exactly_and_named() -> None:
    clock = FakeClock()

    async def fetch() -> str:
        return "running"

    poll = Poll(timeout=4, interval=3, max_interval=3)
    with pytest.raises(WaitTimeoutError) as caught:
        await poll.until(
            clock, fetch, lambda s: False, what="job 1", state=str, detail=lambda s: "step 2"
        )
    assert clock.sleeps == [3, 1]
    assert caught.value.waited == 4
    assert (caught.value.what, caught.value.state, caught.value.detail) == (
        "job 1",
        "running",
        "step 2",
    )
    assert str(caught.value).startswith("job 1 was still running after 4s (step 2)")


@pytest.mark.parametrize(
    ("settings", "param"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": 1, "interval": 0}, "interval"),
        ({"timeout": 1, "interval": float("nan")}, "interval"),
        ({"timeout": 1, "interval": 2, "max_interval": 1}, "max_interval"),
        ({"timeout": 1, "backoff": 0.5}, "backoff"),
        ({"timeout": 1, "backoff": True}, "backoff"),
    ],
)
def test_settings_are_checked(settings: dict[str, float], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        Poll(**settings)
    assert caught.value.param == param
