"""Fixtures for the pipeline tests: a fake clock and a clean environment."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest


class FakeClock:
    """Simulated time: `sleep` advances the clock instead of waiting, and records the request.

    The rate limiter computes each wait from `now()` just before sleeping, so concurrent tasks
    paced by it move simulated time forward exactly to the last one's slot.
    """

    def __init__(self) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
        await anyio.lowlevel.checkpoint()

    def advance(self, seconds: float) -> None:
        self.time += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's real OpenAI or Azure settings."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "OPENAI_API_VERSION",
        "OPENAI_WEBHOOK_SECRET",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
