"""The generator of the typed tier: OpenAPI spec -> model -> Python modules.

`python -m openai_ergo.codegen SPEC OUT_DIR` reads the spec (the repository carries the official
one, with its license, in `openai_ergo/codegen/spec/`) and writes, under the project root
`OUT_DIR`, the generated types (`openai_ergo/types/_generated/`), the typed namespaces
(`openai_ergo/_namespaces/_generated/`), the mock server's operation table
(`openai_ergo/mock/_generated/`) and the table of every
operation with the name of its typed method (`docs/api-coverage.md`). `make codegen` runs it;
CI runs it too and fails if the committed output differs. Reading YAML needs
`openai-ergo[codegen]`; the output is formatted with ruff when it is installed (it is in the
`codegen` and `dev` extras).

The stages, each its own module: `_spec` loads the document; `_build` turns it into the
intermediate model (`_model`: definitions and operations); `_unions` decides how each union
decodes; `_names` names each operation as the official SDK does; `_emit_types` writes the
modules, `_emit_params` the dict forms of the request types (`TypedDict`s), `_emit_namespaces`
the typed methods, `_emit_mock` the mock's operation table and `_emit_docs` the coverage table.
`_handwritten` names the schemas that hand-written classes already define, which the generated
code imports instead of redefining.
See `openai_ergo/codegen/README.md` for the rules and what is not typed fully.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from openai_ergo.codegen._build import build_model
from openai_ergo.codegen._emit_docs import COVERAGE_PATH, emit_coverage
from openai_ergo.codegen._emit_mock import MOCK_PACKAGE, emit_mock
from openai_ergo.codegen._emit_namespaces import NAMESPACES_PACKAGE, emit_namespaces
from openai_ergo.codegen._emit_types import PACKAGE, emit_types
from openai_ergo.codegen._model import Model
from openai_ergo.codegen._spec import SpecError, load_spec

__all__ = ["SPEC_PATH", "SpecError", "build_model", "generate", "load_spec", "main"]

#: The repository's copy of the official spec.
SPEC_PATH = Path(__file__).parent / "spec" / "openai-openapi.yaml"


def generate(spec: str | Path, out_dir: str | Path, *, format: bool = True) -> Model:
    """Write every generated file for the spec under the project root `out_dir`.

    The generated package is replaced whole, so a type removed from the spec disappears. With
    `format`, ruff formats the output (skipped, with a note, when ruff is not installed).
    """
    document = load_spec(spec)
    model = build_model(document)
    for package, files in (
        (PACKAGE, emit_types(model)),
        (NAMESPACES_PACKAGE, emit_namespaces(model)),
        (MOCK_PACKAGE, emit_mock(model, document)),
    ):
        target = Path(out_dir).joinpath(*package.split("."))
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for name, source in files:
            (target / name).write_text(source, encoding="utf-8")
        if format:
            _format(target)
    coverage = Path(out_dir).joinpath(*COVERAGE_PATH)
    coverage.parent.mkdir(parents=True, exist_ok=True)
    coverage.write_text(emit_coverage(model), encoding="utf-8")
    return model


def _format(target: Path) -> None:
    # Isolated from any configuration file, so the output is the same wherever it is written.
    options = ["--isolated", "--line-length", "100", "--target-version", "py310", "--quiet"]
    try:
        subprocess.run(
            [sys.executable, "-m", "ruff", "format", *options, str(target)],
            check=True,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(f"note: ruff did not format the output: {detail.decode().strip()}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: `python -m openai_ergo.codegen SPEC OUT_DIR`."""
    parser = argparse.ArgumentParser(
        prog="python -m openai_ergo.codegen",
        description="Generate openai-ergo's typed tier from an OpenAPI spec.",
    )
    parser.add_argument("spec", type=Path, help="the OpenAPI spec (YAML or JSON)")
    parser.add_argument("out_dir", type=Path, help="the project root to write under")
    args = parser.parse_args(argv)
    try:
        model = generate(args.spec, args.out_dir)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kinds = {"Struct": 0, "Alias": 0, "External": 0}
    for definition in model.definitions.values():
        kinds[type(definition).__name__] += 1
    print(
        f"{len(model.schema_names)} schemas, {len(model.operations)} operations:"
        f" {kinds['Struct']} Structs and {kinds['Alias']} aliases generated"
        f" (inline objects included), {kinds['External']} hand-written"
    )
    return 0
