"""The admission benchmark measures what it says: every row, and round trips counted by Redis."""

from __future__ import annotations

from benchmarks.redis_admission import TARGET_CPU_US, measure


def test_every_row_is_measured_and_an_admission_is_one_round_trip(redis_url: str) -> None:
    result = measure(runs=1, count=20, url=redis_url)
    assert result["target_cpu_us"] == TARGET_CPU_US
    for backend in ("asyncio", "trio"):
        rows = result[backend]
        for row in ("local", "evalsha", "coredis_evalsha", "redis", "redis_slots"):
            assert rows[f"{row}_cpu_us"] >= 0
        assert rows["local_round_trips"] == 0
        assert rows["evalsha_round_trips"] == 1
        assert rows["coredis_evalsha_round_trips"] == 1
        assert rows["redis_round_trips"] == 1
        # A slot's release travels with the next admission, or alone in the background.
        assert 1 <= rows["redis_slots_round_trips"] <= 2
    assert isinstance(result["pass"], bool)
