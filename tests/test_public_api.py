"""The exported names are exactly the public ones, each documented, and the layers hold."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import types

import pytest

PACKAGES = [
    "openai_ergo",
    "streaming",
    "openai_ergo.types",
    "openai_ergo.mock",
    "openai_ergo.blocking",
]


def _public_names(module: types.ModuleType) -> set[str]:
    # `dir()` rather than `vars()`: a package may load some names on first access (PEP 562), and
    # its `__dir__` lists them; `getattr` resolves each, so a listed name that fails to load fails.
    return {
        name
        for name in dir(module)
        if not name.startswith("_")
        and not isinstance(getattr(module, name), types.ModuleType)
        and name != "annotations"
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_all_lists_exactly_the_public_names(package: str) -> None:
    module = importlib.import_module(package)
    exported = set(module.__all__)
    assert exported - {"__version__"} == _public_names(module)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_a_docstring(package: str) -> None:
    module = importlib.import_module(package)
    undocumented = []
    for name in module.__all__:
        value = getattr(module, name)
        if (inspect.isclass(value) or inspect.isfunction(value)) and not inspect.getdoc(value):
            undocumented.append(name)
    assert undocumented == []


def test_streaming_imports_nothing_from_openai_ergo() -> None:
    code = "import sys, streaming; print(sorted(m for m in sys.modules if 'openai_ergo' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_library_does_not_import_the_official_sdk() -> None:
    code = "import sys, openai_ergo; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_plain_import_leaves_builders_and_typed_events_for_first_use() -> None:
    code = (
        "import sys, openai_ergo; from openai_ergo import Client; "
        "print(sorted(m for m in sys.modules if m.startswith(('openai_ergo.resources', "
        "'openai_ergo.types', 'structlog', 'httpcore', 'trio'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # httpcore (and trio, which it imports where installed) loads only when a request goes
    # through httpx's own transport: HTTP/2, a proxy, a Unix socket.
    assert out.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    import openai_ergo

    with pytest.raises(AttributeError, match="no_such_name"):
        openai_ergo.no_such_name  # noqa: B018
