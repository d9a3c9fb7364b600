"""Shared test configuration: every async test runs under asyncio and trio."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

#: The shared folder beside the repository (conformance corpus, OpenAPI spec); TESTS_SHARED_DIR
#: points elsewhere, as when the toolkit's tests run from a scratch copy against its wheel.
SHARED = Path(
    os.environ.get("TESTS_SHARED_DIR") or Path(__file__).resolve().parent.parent.parent / "shared"
)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param("trio", id="trio"),
    ],
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each async test once per backend (anyio_mode = "auto" applies it to every one)."""
    return str(request.param)


#: In CI a missing prerequisite (the shared data, an extra, a server binary) is a failure: a
#: skipped test there would pass a build that proved nothing.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """Under CI=true, turn every skip into a failure that keeps the skip's reason."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"CI=true: a prerequisite is missing, and CI never skips: {reason}"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared conformance data lives beside the repository")
    return path


# -- Redis: a real redis-server per test session (each pytest-xdist worker starts its own) -----


def _redis_server_or_skip(directory: Path) -> RedisServer:
    from tests.redis_server import INSTALL_HINT, RedisServer, redis_server_binary

    if redis_server_binary() is None:
        pytest.skip(f"redis-server is not installed: run `{INSTALL_HINT}` (CI installs it)")
    return RedisServer(directory)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One `redis-server` for the session, on a free loopback port; killed at the end."""
    server = _redis_server_or_skip(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test: its `redis://` URL."""
    redis_server.start()  # a test that stopped it must not break the next one
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A `redis-server` of this test's own, which it may stop and start again (outages)."""
    server = _redis_server_or_skip(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()
