"""The fixture every OpenTelemetry test of this folder reads its spans and points from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.openai_ergo.observability.telemetry import Telemetry


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """In-memory OpenTelemetry providers of the test's own, shut down after it."""
    found = Telemetry()
    yield found
    found.close()
