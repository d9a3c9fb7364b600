"""The admission benchmark measures what it says: every row, on a busy and an idle core, and
round trips counted by Redis."""

from __future__ import annotations

import json
import os
import sys

import pytest

from benchmarks.redis_admission import TARGET_CPU_US, cores_kept_busy, main, measure

_ROWS = ("local", "evalsha", "coredis_evalsha", "redis", "redis_slots")


def test_every_row_is_measured_and_an_admission_is_one_round_trip(redis_url: str) -> None:
    result = measure(runs=1, count=20, url=redis_url)
    assert result["target_cpu_us"] == TARGET_CPU_US
    cores = ("busy_cores", "idle_cores") if sys.platform == "linux" else ("idle_cores",)
    assert result["judged"] == cores[0]
    for backend in ("asyncio", "trio"):
        for core in cores:
            rows = result[backend][core]
            for row in _ROWS:
                assert rows[f"{row}_cpu_us"] >= 0
            assert rows["local_round_trips"] == 0
            assert rows["evalsha_round_trips"] == 1
            assert rows["coredis_evalsha_round_trips"] == 1
            assert rows["redis_round_trips"] == 1
            # A slot's release travels with the next admission, or alone in the background.
            assert 1 <= rows["redis_slots_round_trips"] <= 2
    assert isinstance(result["pass"], bool)
    assert isinstance(result["pass_idle_cores"], bool)


@pytest.mark.skipif(sys.platform != "linux", reason="SCHED_IDLE is Linux's")
def test_the_cores_are_kept_busy_by_idle_class_spinners_that_stop_after() -> None:
    def idle_class_children() -> set[int]:
        found = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields[1] is the parent's pid, fields[38] the scheduling policy (5: SCHED_IDLE).
            if int(fields[1]) == os.getpid() and int(fields[38]) == os.SCHED_IDLE:
                found.add(int(entry))
        return found

    with cores_kept_busy() as kept:
        assert kept
        assert len(idle_class_children()) == len(os.sched_getaffinity(0))
    assert idle_class_children() == set()


def test_each_verdict_names_the_limiters_own_share_over_a_bare_round_trip(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--redis", redis_url, "--runs", "1", "--count", "20"]) == 0
    *table, last = capsys.readouterr().out.strip().splitlines()
    result = json.loads(last)
    for backend in ("asyncio", "trio"):
        verdicts = [
            line
            for line in table
            if line.lstrip().startswith(("PASS", "MISS")) and f" {backend}," in line
        ]
        cores = [core for core in ("busy_cores", "idle_cores") if core in result[backend]]
        assert len(verdicts) == len(cores)
        for core, verdict in zip(cores, verdicts, strict=True):
            rows = result[backend][core]
            share = rows["redis_cpu_us"] - rows["evalsha_cpu_us"]
            assert verdict.endswith(f"the limiter's own share over a bare EVALSHA: {share:.1f} µs")
            assert ("[the verdict]" in verdict) == (core == result["judged"])
            missed = verdict.lstrip().startswith("MISS")
            assert missed == (rows["redis_cpu_us"] > TARGET_CPU_US)
            # An idle core's MISS says what the floor costs there and why.
            follows = table[table.index(verdict) + 1] if verdict != table[-1] else ""
            floor = f"a bare EVALSHA round trip, costs {rows['evalsha_cpu_us']:.1f} µs"
            if missed and core == "idle_cores":
                assert floor in follows
