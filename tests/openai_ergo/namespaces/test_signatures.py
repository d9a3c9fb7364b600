"""The shape of every typed method, read from its signature against the spec's operation: path
parameters positional, everything else keyword-only; what the spec requires has no default,
what it does not has one; and every method takes the request options."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from openai_ergo import Client
from openai_ergo.codegen._build import python_name
from openai_ergo.codegen._model import Named, Operation, Struct
from tests.openai_ergo.codegen.specs import generated_model

MODEL = generated_model()
OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout", "options")


def _method(client: Client, op: Operation) -> Any:
    method: Any = client
    for part in op.sdk_name.split("."):
        method = getattr(method, part)
    return method


@pytest.fixture(scope="module")
def client() -> Client:
    return Client("sk-test", base_url="http://127.0.0.1:9/v1")


@pytest.mark.parametrize("op", MODEL.operations, ids=[o.sdk_name for o in MODEL.operations])
def test_a_method_s_parameters_follow_the_spec(op: Operation, client: Client) -> None:
    parameters = inspect.signature(_method(client, op)).parameters
    path = [python_name(p.name) for p in op.parameters if p.location == "path"]
    positional = [
        name
        for name, p in parameters.items()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and name != "self"
    ]
    assert positional == path
    assert all(parameters[name].default is inspect.Parameter.empty for name in path)
    for name in OPTIONS:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default is None
    assert all(p.kind is p.KEYWORD_ONLY for name, p in parameters.items() if name not in path), (
        "every parameter but the path's is keyword-only"
    )
    # A list in the query is spelt `name[]` on the wire, and `name` in Python.
    expected: dict[str, bool] = {
        python_name(p.name.removesuffix("[]")): p.required
        for p in op.parameters
        if p.location != "path"
    }
    body = op.body
    if body is not None and isinstance(body.type, Named):
        struct = MODEL.definitions[body.type.name]
        if isinstance(struct, Struct):
            expected |= {f.name: f.required for f in struct.fields}
    for name, required in expected.items():
        has_default = parameters[name].default is not inspect.Parameter.empty
        assert has_default != required, f"{op.sdk_name}({name}): required={required}"
