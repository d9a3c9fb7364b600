"""The cache-hit benchmark measures hits that are hits: it refuses to report a row whose
"hit" reached the network, and reports every row, ratio and verdict. Its requests are bounded
alike: the raw httpx row waits as long as our client does (httpx's own 5 s default failed it on
a loaded machine while the mock served its first, slow request), and no longer."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from benchmarks.cache_hit import REQUEST_TIMEOUT, TARGET, main, measure

#: A structlog console line: it starts with its timestamp.
_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d")


def test_every_row_is_measured_and_the_hits_never_reach_the_network(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--runs", "1", "--count", "3"]) == 0
    # A log line of the client's requests may come through stdout when an earlier test in this
    # process left logging printing there: the report is every other line.
    printed = capsys.readouterr().out.splitlines()
    *table, line = [row for row in printed if not _LOG_LINE.match(row)]
    assert table[0].startswith("Response-cache hits")
    assert sum(row.lstrip().startswith(("PASS ", "MISS ")) for row in table) == 2
    result = json.loads(line)
    for row in ("raw_httpx", "round_trip", "hit", "stream_round_trip", "stream_hit"):
        assert result[f"{row}_us"] > 0
    # Plain and streamed: the warm-up's first request of each is the miss that stores it.
    assert result["hits"] == (3 - 1) * 2 + 3 * 2
    assert abs(result["hit_ratio"] - result["hit_us"] / result["round_trip_us"]) < 1e-3
    assert result["target_ratio"] == TARGET
    assert result["pass"] == (result["hit_ratio"] < TARGET and result["stream_hit_ratio"] < TARGET)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers: a mock that stopped."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"


def test_a_server_that_never_answers_ends_the_run_at_the_bound(silent_server: str) -> None:
    assert REQUEST_TIMEOUT >= 30  # far above a loaded machine's slowest loopback round trip
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):  # the raw row runs first
        measure(runs=1, count=1, timeout=0.5, url=silent_server)
    assert time.monotonic() - started < 0.5 + 10
