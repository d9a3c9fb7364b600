"""A client clock tied to the mock server's: sleeping on it moves the mock's clock on by as much,
at once, so a workflow's poll takes no real time and every deadline fires at an exact reading."""

from __future__ import annotations

import anyio.lowlevel

from openai_ergo import Client
from openai_ergo.mock import MockServer


class FakeClock:
    """`Clock` in simulated seconds: `sleep(s)` moves `now()` on by `s` at once and records
    it in `sleeps`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.seconds += seconds
        await anyio.lowlevel.checkpoint()


class MockTime(FakeClock):
    """`Clock` for a client of the mock: sleeping also advances the mock's clock (stopped,
    `speed = 0`) by as much."""

    def __init__(self, server: MockServer) -> None:
        super().__init__()
        self.server = server
        server.app.clock.speed = 0

    async def sleep(self, seconds: float) -> None:
        self.server.app.clock.advance(seconds)
        await super().sleep(seconds)


def client_on(server: MockServer) -> tuple[Client, MockTime]:
    """A client of the mock whose waits run on the mock's clock."""
    time = MockTime(server)
    client = Client(api_key="sk-mock", base_url=server.url, rate_limiter=False, clock=time)
    return client, time
