"""The cache-hit benchmark measures hits that are hits: it refuses to report a row whose
"hit" reached the network, and reports every row and ratio."""

from __future__ import annotations

from benchmarks.cache_hit import TARGET, measure


def test_every_row_is_measured_and_the_hits_never_reach_the_network() -> None:
    result = measure(runs=1, count=3)
    for row in ("raw_httpx", "round_trip", "hit", "stream_round_trip", "stream_hit"):
        assert result[f"{row}_us"] > 0
    # Plain and streamed: the warm-up's first request of each is the miss that stores it.
    assert result["hits"] == (3 - 1) * 2 + 3 * 2
    assert abs(result["hit_ratio"] - result["hit_us"] / result["round_trip_us"]) < 1e-3
    assert result["target_ratio"] == TARGET
