"""The two distributions built from this repository stay in lockstep."""

from __future__ import annotations

import ast
import re
import sys
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
    # Exactly what its modules import when loaded: a module missing here breaks
    # `import streaming` from its wheel alone; optional extras are imported on first use.
    dependencies = re.search(
        r"^dependencies = \[(.*?)\]", (TOOLKIT / "pyproject.toml").read_text(), re.M | re.S
    )
    assert dependencies is not None
    names = re.findall(r'"([A-Za-z0-9_.-]+)', dependencies.group(1))
    assert sorted(names) == sorted(_imported_at_load(ROOT / "streaming"))
    # The toolkit's promise: anyio and httpx, nothing else (extras aside).
    assert sorted(names) == ["anyio", "httpx"]


def _extra(pyproject: Path, name: str) -> list[str]:
    match = re.search(rf"^{name} = \[(.*?)\]", pyproject.read_text(encoding="utf-8"), re.M | re.S)
    assert match is not None, f"{pyproject} has no extra {name}"
    return re.findall(r'"([A-Za-z0-9_.-]+)', match.group(1))


def test_the_websocket_extra_brings_what_the_websocket_modules_import() -> None:
    # The WebSocket stream loads on first use; what it imports beyond the toolkit's own
    # dependencies is the `websocket` extra: websockets' sans-IO protocol, and nothing else.
    pyproject = TOOLKIT / "pyproject.toml"
    modules = ["_websocket", "_websocket_connect"]
    needed = _imported_at_load(ROOT / "streaming", modules) - set(_extra(pyproject, "dependencies"))
    assert sorted(_extra(pyproject, "websocket")) == sorted(needed) == ["websockets"]
    # The toolkit's tests run with the extra (and wsproto, which their loopback server speaks).
    assert {"websockets", "wsproto"} <= set(_extra(pyproject, "test"))
    assert '"ergo-streaming[websocket]==' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def _imported_at_load(package: Path, start: list[str] | None = None) -> set[str]:
    """The third-party top-level modules `import package` loads (or, with `start`, those
    modules): the module-level imports (outside functions and `if TYPE_CHECKING:` blocks) of
    `__init__.py` and of every package module it reaches that way. Modules the package loads
    on first use are not reached."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(start or ["__init__"])
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in ast.parse((package / f"{name}.py").read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                todo.append(node.module)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"__future__", package.name}
