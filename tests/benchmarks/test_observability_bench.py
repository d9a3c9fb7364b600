"""The observers' overhead benchmark runs every row on both measurements and reports a ratio
to the unobserved client for each, with a verdict for each target."""

from __future__ import annotations

import pytest

from benchmarks.observability import ROWS, TARGETS, main


def test_every_row_is_measured_against_the_plain_client(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--rounds", "1", "--events", "200", "--count", "5"])
    out = capsys.readouterr().out
    for scenario in ("chat_long", "requests"):
        assert f"{scenario}: µs CPU, best round per" in out
    for row in ROWS:
        assert out.count(f"  {row} ") == 2, row
    assert out.count("1.000x plain") == 2
    for scenario, row in TARGETS:
        assert f"{scenario} {row}/plain = " in out
    assert out.count(": PASS") + out.count(": MISS") == len(TARGETS)
