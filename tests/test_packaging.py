"""The two distributions built from this repository stay in lockstep."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLKIT = ROOT / "packaging" / "ergo-streaming"


def _field(pyproject: Path, name: str) -> str:
    match = re.search(rf'^{name} = "([^"]+)"', pyproject.read_text(encoding="utf-8"), re.M)
    assert match is not None, f"{pyproject} has no {name}"
    return match.group(1)


def test_openai_ergo_depends_on_the_toolkit_at_its_own_version() -> None:
    version = _field(ROOT / "pyproject.toml", "version")
    assert _field(TOOLKIT / "pyproject.toml", "version") == version
    assert f'"ergo-streaming=={version}"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_toolkit_ships_the_repositorys_streaming_package() -> None:
    assert (TOOLKIT / "streaming").resolve() == ROOT / "streaming"
    assert (TOOLKIT / "LICENSE").resolve() == ROOT / "LICENSE"
    # anyio and httpx only: everything else it needs at run time is the standard library.
    dependencies = re.search(
        r"^dependencies = \[(.*?)\]", (TOOLKIT / "pyproject.toml").read_text(), re.M | re.S
    )
    assert dependencies is not None
    names = re.findall(r'"([A-Za-z0-9_.-]+)', dependencies.group(1))
    assert names == ["anyio", "httpx"]
