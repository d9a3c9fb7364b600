"""A client clock tied to the mock server's: sleeping on it moves the mock's clock on by as much,
at once, so a workflow's poll takes no real time and every deadline fires at an exact reading."""

from __future__ import annotations

from openai_ergo import Client
from openai_ergo.mock import MockServer
from tests.openai_ergo.pipeline.conftest import FakeClock

__all__ = ["FakeClock", "MockTime", "client_on", "client_with"]


class MockTime(FakeClock):
    """`Clock` for a client of the mock, from 0: sleeping (recorded in `sleeps`) also advances
    the mock's clock (stopped, `speed = 0`) by as much."""

    def __init__(self, server: MockServer) -> None:
        super().__init__()
        self.time = 0.0
        self.server = server
        server.app.clock.speed = 0

    async def sleep(self, seconds: float) -> None:
        self.server.app.clock.advance(seconds)
        await super().sleep(seconds)


def client_on(server: MockServer) -> tuple[Client, MockTime]:
    """A client of the mock whose waits run on the mock's clock."""
    time = MockTime(server)
    return client_with(time), time


def client_with(time: MockTime) -> Client:
    """A client of `time`'s mock server whose waits run on `time`."""
    return Client(api_key="sk-mock", base_url=time.server.url, rate_limiter=False, clock=time)
