"""Shared test configuration: every async test runs under asyncio and trio."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The shared folder beside the repository (conformance corpus, OpenAPI spec).
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


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


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared conformance data lives beside the repository")
    return path
