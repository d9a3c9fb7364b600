"""The admission benchmark measures what it says: every row, and round trips counted by Redis."""

from __future__ import annotations

import json

import pytest

from benchmarks.redis_admission import TARGET_CPU_US, main, measure


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


def test_each_verdict_names_the_limiters_own_share_over_a_bare_round_trip(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--redis", redis_url, "--runs", "1", "--count", "20"]) == 0
    *table, last = capsys.readouterr().out.strip().splitlines()
    result = json.loads(last)
    for backend in ("asyncio", "trio"):
        rows = result[backend]
        share = rows["redis_cpu_us"] - rows["evalsha_cpu_us"]
        (verdict,) = [
            line
            for line in table
            if line.lstrip().startswith(("PASS", "MISS")) and f" {backend}:" in line
        ]
        assert verdict.endswith(f"the limiter's own share over a bare EVALSHA: {share:.1f} µs")
