"""The observers' overhead benchmark runs every row on both measurements and reports a ratio
to the unobserved client for each, the OpenTelemetry SDK's own floor beside the requests, and
a verdict for each target."""

from __future__ import annotations

import pytest

from benchmarks._otel_floor import FLOORS, floor_loop
from benchmarks.observability import ROWS, TARGETS, disabled_verdict, floor_report, main


def test_every_row_is_measured_against_the_plain_client(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--rounds", "1", "--events", "200", "--count", "5"])
    out = capsys.readouterr().out
    for scenario in ("chat_long", "requests"):
        assert f"{scenario}: µs CPU, best round per" in out
    for row in ROWS:
        assert out.count(f"  {row} ") == 2 + (row == "otel"), row  # otel: also "otel over plain"
    assert out.count("1.000x plain") == 2
    for kind in FLOORS:
        assert out.count(f"  {kind} ") == 1, kind
    assert out.count("  otel over plain: ") == 1
    for scenario, row in TARGETS:
        assert f"{scenario} {row}/plain = " in out
    # Observability installed but not enabled runs none of its code, per event or request.
    for scenario in ("chat_long", "requests"):
        assert (
            f"  {scenario} disabled: 0 calls into the observing code per unit (target 0): PASS"
            in out
        )
    assert out.count(": PASS") + out.count(": MISS") == len(TARGETS) + 2


def test_quick_is_a_smoke_run_of_every_row_and_target(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--quick", "--rounds", "1", "--scenario", "requests"])
    out = capsys.readouterr().out
    assert "chat_long:" not in out
    assert "requests: µs CPU, best round per request" in out
    for row in ROWS:
        assert f"  {row} " in out, row
    assert "  requests disabled: 0 calls into the observing code per unit" in out


def test_the_disabled_verdict_names_the_calls_that_should_not_happen() -> None:
    assert disabled_verdict("requests", 0, []).endswith("(target 0): PASS")
    missed = disabled_verdict("requests", 3.0, ["_observed.py:begin", "_otel.py:started"])
    assert missed.endswith("MISS (first calls: _observed.py:begin, _otel.py:started)")


def test_the_report_says_the_target_is_out_of_reach_when_the_sdk_floor_alone_exceeds_it() -> None:
    per_request = {"plain": 700_000.0, "otel": 1_300_000.0}
    lines, reason = floor_report(
        per_request, {"sdk_floor": 185_000.0, "sdk_same_records": 550_000.0}
    )
    assert "bare SDK floor alone is 26.4% of a request, over the 10% budget" in reason
    assert "  otel over plain: 600,000.00 = 3.24x the bare SDK floor;" in lines[-1]
    assert lines[-1].endswith("the SDK's share 550,000.00, ours 50,000.00 (7.1% of plain)")
    close, _ = floor_report(
        {"plain": 700_000.0, "otel": 1_245_000.0},
        {"sdk_floor": 185_000.0, "sdk_same_records": 550_000.0},
    )
    assert close[-1].endswith("ours -5,000.00 (-0.7% of plain) (within run-to-run variation)")


def test_the_report_blames_no_floor_that_fits_the_budget() -> None:
    per_request = {"plain": 700_000.0, "otel": 900_000.0}
    _, reason = floor_report(per_request, {"sdk_floor": 50_000.0, "sdk_same_records": 150_000.0})
    assert reason == ""


def test_an_unknown_floor_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="unknown floor 'sdk_nothing'"):
        floor_loop("sdk_nothing")
