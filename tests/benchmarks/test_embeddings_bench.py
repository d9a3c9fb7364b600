"""The embeddings benchmark measures both clients on the same vectors."""

from __future__ import annotations


def test_the_embeddings_benchmark_decodes_every_vector_on_both_sides() -> None:
    from benchmarks import _embeddings_bench

    result = _embeddings_bench.run(vectors=12, dimensions=32, repeats=1)
    assert (result["vectors"], result["dimensions"]) == (12, 32)
    assert result["ergo_cpu_s"] >= 0
    assert result["sdk_cpu_s"] > 0
    # Ours keeps 4 bytes a float; the SDK a Python float object and a list slot each.
    assert result["ergo_retained_bytes"] >= 12 * 32 * 4
    assert result["sdk_retained_bytes"] > result["ergo_retained_bytes"]
    for ratio in ("cpu_ratio", "retained_ratio", "peak_ratio"):
        assert result[ratio] > 0
