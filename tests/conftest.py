"""Shared test configuration: every async test runs under asyncio and trio."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

#: The shared folder beside the repository (conformance corpus, OpenAPI spec).
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param("trio", id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each async test once per backend."""
    return str(request.param)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every coroutine test for anyio's plugin, so no async test can miss a backend."""
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and inspect.iscoroutinefunction(function):
            item.add_marker(pytest.mark.anyio)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared conformance data lives beside the repository")
    return path
