"""The mock's CPU benchmark runs both mixes, and every request of each is answered 2xx (the
benchmark refuses to time a mix with a request the mock refuses)."""

from __future__ import annotations

from benchmarks.mock_cpu import GENERIC, HOT, measure


def test_both_mixes_are_answered_and_timed() -> None:
    for mix in (HOT, GENERIC):
        assert measure(mix, runs=1, count=len(mix)) > 0
