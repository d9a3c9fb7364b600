"""Shared test configuration: every async test runs under asyncio and trio."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Coroutine, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

#: pytester runs a scratch pytest session, for the test of this file's own bounds.
pytest_plugins = ["pytester"]

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


#: Where an async test is cancelled, as a share of its per-test timeout (pytest-timeout's, which
#: stays the backstop for what runs outside the event loop: fixtures, sync code, a stuck loop).
IN_LOOP_SHARE = 0.8


def _in_loop_bound(item: pytest.Item) -> float | None:
    """Seconds an async test may run in its event loop: a share of its pytest-timeout."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        seconds = float(marker.args[0])
    else:
        seconds = float(item.config.getini("timeout") or 0)
    return seconds * IN_LOOP_SHARE if seconds > 0 else None


AsyncTest = Callable[..., Coroutine[Any, Any, Any]]


def _bounded(test: AsyncTest, seconds: float, nodeid: str) -> AsyncTest:
    """`test` cancelled `seconds` after its first call: one deadline for every call, so the
    examples of a property test share it as they share pytest-timeout's."""
    deadline: float | None = None

    @functools.wraps(test)
    async def bounded(**kwargs: Any) -> Any:
        nonlocal deadline
        if deadline is None:
            deadline = anyio.current_time() + seconds
        with anyio.CancelScope(deadline=deadline) as scope:
            try:
                return await test(**kwargs)
            except anyio.get_cancelled_exc_class():
                if not scope.cancel_called:
                    raise
                # Raised while the cancellation is handled, so its traceback (where the test
                # waited) is printed above this failure.
                pytest.fail(
                    f"{nodeid} ran past its bound of {seconds:g} s and was cancelled in its "
                    "event loop"
                )

    setattr(bounded, "_unbounded", test)  # noqa: B010 (the next backend bounds the original)
    return bounded


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """Cancel an async test that runs past its bound inside its own event loop.

    pytest-timeout alone cannot end a hung trio test: anyio runs trio in guest mode, and the
    timeout's exception reaches the host loop in the main thread while the test's task keeps
    waiting, so the run stalls. A cancel scope with a deadline ends the test on either backend
    with a failure that names it, and the run goes on.
    """
    seconds = _in_loop_bound(pyfuncitem)
    original = pyfuncitem.obj
    hypothesis = getattr(original, "hypothesis", None)
    inner = getattr(hypothesis, "inner_test", None)
    inner = getattr(inner, "_anyio_original_func", inner)
    inner = getattr(inner, "_unbounded", inner)
    if seconds is not None and inspect.iscoroutinefunction(original):
        pyfuncitem.obj = _bounded(original, seconds, pyfuncitem.nodeid)
    elif seconds is not None and hypothesis is not None and inspect.iscoroutinefunction(inner):
        # The examples of an async property test share the bound.
        hypothesis.inner_test = _bounded(inner, seconds, pyfuncitem.nodeid)
    try:
        return (yield)
    finally:
        pyfuncitem.obj = original


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
