"""Every test run is bounded: an async test that hangs fails on either backend, names itself,
and the run goes on (tests/conftest.py cancels it in its own event loop before pytest-timeout's
backstop would end the process)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

HUNG_TESTS = """
import anyio
from hypothesis import Phase, given, settings, strategies as st


async def test_hangs() -> None:
    await anyio.sleep_forever()


@settings(deadline=None, max_examples=5, database=None, phases=[Phase.generate])
@given(st.integers())
async def test_property_hangs(number: int) -> None:
    await anyio.sleep_forever()


async def test_after_them_the_run_goes_on() -> None:
    await anyio.sleep(0)
"""


def test_a_hung_async_test_is_cancelled_in_its_event_loop_and_the_run_goes_on(
    pytester: pytest.Pytester,
) -> None:
    # The suite's own conftest, with the event loop's bound at half the timeout: 4 s of an 8 s
    # timeout. The backstop's timer still runs while the failure's report is written, and on a
    # loaded machine writing it took more than the 1.2 s that 80% of a short timeout leaves.
    conftest = CONFTEST.read_text()
    assert "\nIN_LOOP_SHARE = 0.8\n" in conftest
    pytester.makeconftest(conftest.replace("\nIN_LOOP_SHARE = 0.8\n", "\nIN_LOOP_SHARE = 0.5\n"))
    pytester.makeini("[pytest]\nanyio_mode = auto\ntimeout = 8\ntimeout_method = thread\n")
    pytester.makepyfile(test_hung=HUNG_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--tb=short", "--durations=0", "--durations-min=0"
    )
    output = result.stdout.str()
    # Had the backstop fired instead, it would have ended the process with a stack dump.
    assert "+ Timeout +" not in output
    result.assert_outcomes(failed=4, passed=2)
    for backend in ("asyncio", "trio"):
        for test in ("test_hangs", "test_property_hangs"):
            nodeid = f"test_hung.py::{test}[{backend}]"
            assert f"{nodeid} ran past its bound of 4 s and was cancelled" in output
            # It fired at the bound, not before it and not at the backstop.
            duration = re.search(rf"([\d.]+)s call\s+{re.escape(nodeid)}", output)
            assert duration is not None, output
            assert 4.0 <= float(duration[1]) < 8.0
    # Where the test waited is in its report.
    assert "await anyio.sleep_forever()" in output
