"""A law of the typed methods, checked with hypothesis: the fields of any value `x` of an
operation's JSON request type, passed as keyword arguments, send exactly `x` as the body (an
optional field's `None` left out, a required one's sent as `null`), for every operation with a
JSON body Struct."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings

from openai_ergo import APIResponseValidationError, Client
from openai_ergo.codegen._model import Named, Operation, Struct
from openai_ergo.types import APIObject
from tests.openai_ergo.codegen.specs import generated_model
from tests.openai_ergo.types.test_generated_roundtrip import values

MODEL = generated_model()


def _json_body(op: Operation) -> Struct | None:
    if op.body is None or op.body.content_type != "application/json":
        return None
    if not isinstance(op.body.type, Named):
        return None
    definition = MODEL.definitions.get(op.body.type.name)
    return definition if isinstance(definition, Struct) else None


OPERATIONS = sorted(
    (op for op in MODEL.operations if _json_body(op) is not None), key=lambda o: o.sdk_name
)


async def _sent(op: Operation, kwargs: dict[str, Any]) -> Any:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(answer)
    client = Client(api_key="sk-law", base_url="http://127.0.0.1:9/v1", transport=transport)
    async with client:
        target: Any = client
        for part in op.sdk_name.split("."):
            target = getattr(target, part)
        path_values = [f"{p.name}-1" for p in op.parameters if p.location == "path"]
        # The answer `{}` may not decode into every result type: only the request counts here.
        with contextlib.suppress(APIResponseValidationError):
            await target(*path_values, **kwargs)
    return json.loads(seen[0].content)


@pytest.mark.parametrize("op", OPERATIONS, ids=[o.sdk_name for o in OPERATIONS])
def test_the_keyword_arguments_of_a_value_send_that_value(op: Operation) -> None:
    struct = _json_body(op)
    assert struct is not None
    kind = getattr(__import__("openai_ergo.types", fromlist=[struct.name]), struct.name)
    taken = {p.name for p in op.parameters}

    @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
    @given(values(kind))
    def check(value: APIObject) -> None:
        # Streaming is the builders' (the typed methods refuse it, tested elsewhere).
        assume(getattr(value, "stream", None) is not True)
        kwargs = {}
        for field in msgspec.structs.fields(value):
            name = field.name
            while name in taken:
                name += "_"
            item = getattr(value, field.name)
            if item is not None or field.required:
                kwargs[name] = item
        sent = anyio.run(_sent, op, kwargs)
        assert sent == value.to_dict()

    check()
