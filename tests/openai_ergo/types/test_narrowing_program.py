"""The program `make typecheck` checks with mypy --strict and pyright (narrowing_program.py)
narrows every tagged union of the generated model, by every tag of its members, and names only
types that exist."""

from __future__ import annotations

import typing
from typing import Any

from openai_ergo.codegen._model import Alias, UnionOf
from openai_ergo.codegen._unions import plan_union
from tests.openai_ergo.codegen.specs import generated_model
from tests.openai_ergo.types.narrowing_program import narrowing_program


def test_every_tagged_union_is_narrowed_by_each_tag_and_its_names_exist() -> None:
    model = generated_model()
    text, unions, tags = narrowing_program(model)
    tagged = [
        name
        for name, d in model.definitions.items()
        if isinstance(d, Alias)
        and isinstance(d.type, UnionOf)
        and plan_union(d.type, model.definitions).tag_field is not None
    ]
    assert unions == len(tagged) > 60
    assert tags > 800
    for union in ("WebhookEvent", "RealtimeServerEvent", "AssistantStreamEvent", "InputItem"):
        assert f"def narrow_{union}(x: t.{union}) -> None:" in text
    assert '    if x.type == "batch.failed":\n        _3: t.WebhookBatchFailed = x\n' in text
    namespace: dict[str, Any] = {}
    exec(compile(text, "narrowing.py", "exec"), namespace)
    for union in tagged:
        # Resolving the annotation proves that the union is a name `openai_ergo.types` exports.
        hints = typing.get_type_hints(namespace[f"narrow_{union}"], namespace)
        assert hints["x"] is not None
