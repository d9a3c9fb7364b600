"""The repository's spec and the generator's model of it, each built once per test session."""

from __future__ import annotations

import functools
from typing import Any

from openai_ergo.codegen import SPEC_PATH, build_model, load_spec
from openai_ergo.codegen._model import Model


@functools.cache
def repository_spec() -> dict[str, Any]:
    """The spec the generated code comes from (openai_ergo/codegen/spec/)."""
    return load_spec(SPEC_PATH)


@functools.cache
def generated_model() -> Model:
    """The generator's model of that spec."""
    return build_model(repository_spec())
