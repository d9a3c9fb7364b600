"""`import openai_ergo` loads no network stack: what each step of using the package loads.

Each check runs in a fresh interpreter and reads `sys.modules`, so it fails the day an eager
import creeps back in (no clock involved: the import's cost is measured in `benchmarks/`).
"""

from __future__ import annotations

import json
import subprocess
import sys

#: Loaded by none of the steps before a `Client` is made: the HTTP stack, anyio's event-loop
#: backends, the transport and the request pipeline, the mock server, the builders, the
#: generated code (types, namespaces, the mock's operation table) and the logging library.
HEAVY = (
    "httpx",
    "httpcore",
    "httptools",
    "h11",
    "h2",
    "ssl",
    "anyio._backends",
    "trio",
    "asyncio",
    "structlog",
    "streaming",
    "openai_ergo._transport",
    "openai_ergo._pipeline._send",
    "openai_ergo._http_client",
    "openai_ergo._response",
    "openai_ergo.mock",
    "openai_ergo.resources",
    "openai_ergo.types",
    # The Redis client (the `redis` extra) and the client's Redis layer.
    "coredis",
    "openai_ergo._redis",
)


def _loaded_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running `code`, in which the package was
    not imported before."""
    program = (
        "import sys\n"
        "assert not any(m == 'openai_ergo' or m.startswith('openai_ergo.') for m in sys.modules)\n"
        f"{code}\n"
        "import json; print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", program], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m in HEAVY or m.startswith(tuple(h + "." for h in HEAVY))]


def _generated(modules: list[str]) -> list[str]:
    return [m for m in modules if m.startswith("openai_ergo.") and "._generated" in m]


def test_import_loads_the_package_and_its_errors_only() -> None:
    loaded = _loaded_after("import openai_ergo")
    ours = [m for m in loaded if m.startswith("openai_ergo")]
    assert ours == ["openai_ergo", "openai_ergo._errors"]
    assert _heavy(loaded) == []
    # `typing` alone costs several times what the package's own two modules do.
    assert "typing" not in loaded


def test_catching_an_error_loads_nothing_more() -> None:
    loaded = _loaded_after(
        "import openai_ergo\n"
        "try:\n"
        "    raise openai_ergo.NotFoundError('gone', status_code=404)\n"
        "except openai_ergo.APIError:\n"
        "    pass"
    )
    assert [m for m in loaded if m.startswith("openai_ergo")] == [
        "openai_ergo",
        "openai_ergo._errors",
    ]


def test_reading_client_leaves_httpx_and_every_namespace_for_first_use() -> None:
    loaded = _loaded_after(
        "import openai_ergo\nfrom openai_ergo import Client, RequestOptions, Timeouts\n"
        "assert Client is openai_ergo.Client"
    )
    assert _heavy(loaded) == []
    # Only the index of the typed namespaces: one property per namespace, no namespace module.
    assert _generated(loaded) == ["openai_ergo._namespaces._generated"]


def test_making_a_client_loads_the_network_stack_but_no_namespace() -> None:
    loaded = _loaded_after(
        "from openai_ergo import Client\n"
        "client = Client(api_key='sk-test', base_url='http://127.0.0.1:9')"
    )
    assert {"httpx", "openai_ergo._transport", "openai_ergo._pipeline._send"} <= set(loaded)
    assert _generated(loaded) == ["openai_ergo._namespaces._generated"]
    assert not [m for m in loaded if m.startswith(("openai_ergo.mock", "anyio._backends"))]


def test_a_namespace_loads_its_own_generated_module_on_first_use() -> None:
    loaded = _loaded_after(
        "from openai_ergo import Client\n"
        "client = Client(api_key='sk-test', base_url='http://127.0.0.1:9')\n"
        "client.batches"
    )
    namespaces = [m for m in _generated(loaded) if m.startswith("openai_ergo._namespaces.")]
    assert namespaces == [
        "openai_ergo._namespaces._generated",
        "openai_ergo._namespaces._generated.batches",
    ]


def test_every_lazy_name_resolves_to_where_it_is_defined_once() -> None:
    import importlib

    import openai_ergo

    lazy: dict[str, str] = openai_ergo._LAZY
    assert lazy.keys() <= set(openai_ergo.__all__)
    for name, module in lazy.items():
        value = getattr(openai_ergo, name)
        assert value is getattr(importlib.import_module(module), name), name
        assert vars(openai_ergo)[name] is value, f"{name} is resolved again on every access"
    star: dict[str, object] = {}
    exec("from openai_ergo import *", star)
    assert set(openai_ergo.__all__) <= star.keys()


def test_every_lazy_name_is_imported_for_type_checkers_and_the_docs() -> None:
    # Type checkers and the API reference (mkdocstrings reads the source) see a lazy name only
    # through the package's `if TYPE_CHECKING:` imports.
    import ast
    from pathlib import Path

    import openai_ergo

    source = Path(openai_ergo.__file__).read_text(encoding="utf-8")
    declared: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in ast.walk(node):
                if isinstance(statement, ast.ImportFrom):
                    declared.update(alias.asname or alias.name for alias in statement.names)
    missing = sorted(set(openai_ergo._LAZY) - declared)
    assert not missing, f"lazy names missing from the TYPE_CHECKING imports: {missing}"
