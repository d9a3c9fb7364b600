"""Every operation through its typed method, under asyncio and trio, against a test double built
from the spec: the request goes where the spec says, a request example of the spec encodes to
a body equal in meaning, and the result is the typed object (a `Paginator` of typed items for a
list, `None` for an empty body). test_round_trips.py runs every method against the mock itself;
this double stays for what the mock cannot prove, the exact body each request example sends.

The double answers each operation with its spec response example when it has one that parses
(`{}` otherwise, which every tolerant response type accepts).
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
import msgspec
import pytest

import openai_ergo.types
from openai_ergo import BinaryResponse, Client, InvalidRequestError, Paginator
from openai_ergo.codegen._model import ListOf, Named, Operation, Prim, Struct, Type
from openai_ergo.resources import TypedEventStream
from openai_ergo.types import APIObject
from tests.openai_ergo.codegen.specs import generated_model, repository_spec
from tests.openai_ergo.types.test_generated_examples import EXCEPTIONS

MODEL = generated_model()
OPERATIONS = sorted(MODEL.operations, key=lambda o: o.sdk_name)
_CURL_BODY = re.compile(r"-d '(\{.*?\})'\s*$", re.S | re.M)

#: Request examples whose body the typed method does not send as written, and why. The test
#: checks each still differs (or is refused), so a fixed one must leave this list.
_BEST_FIT = (
    "an item of a union whose members share a tag (`message`) is converted to the member that"
    " fits best, which drops the fields of the others"
)
REQUEST_EXCEPTIONS: dict[str, str] = {
    "CreateChatSessionMethod": "the example's `scope` is not in `CreateChatSessionBody`",
    "create-realtime-session": "the example's `model` is not in `RealtimeSessionCreateRequest`",
    "Compactconversation": _BEST_FIT,
    "beta_Compactconversation": _BEST_FIT,
    "createEval": _BEST_FIT,
    "runGrader": _BEST_FIT,
    "createEvalRun": "the example's `data_source` is a string; the schema says an object",
}


def without_nulls(value: Any) -> Any:
    """`value` with every `null` member left out: equal in meaning to leaving it unset, which is
    what the typed methods send for `None`."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def request_example(op: Operation) -> dict[str, Any] | None:
    """The JSON body of the spec's curl example for `op`, if it has one."""
    item = repository_spec()["paths"][op.path][op.method]
    examples = item.get("x-oaiMeta", {}).get("examples")
    candidates = examples if isinstance(examples, list) else [examples]
    for example in candidates:
        request = (example or {}).get("request", {})
        curl = request.get("curl", "") if isinstance(request, dict) else ""
        match = _CURL_BODY.search(curl)
        if match:
            try:
                body = json.loads(match.group(1))
            except json.JSONDecodeError:
                continue
            if isinstance(body, dict):
                return body
    return None


def response_example(op: Operation) -> bytes:
    if op.operation_id not in EXCEPTIONS:
        for text in op.response_examples:
            try:
                body = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(body, dict) and body.get("has_more"):
                # One page: the double has no second one to give.
                body["has_more"] = False
            return json.dumps(body).encode()
    return b"{}"


def sample(kind: Type) -> Any:
    """A value of a simple type, for a required parameter no example gives."""
    if isinstance(kind, Prim):
        return {"str": "a", "int": 1, "float": 1.0, "bool": True}.get(kind.name, "a")
    if isinstance(kind, ListOf):
        return [sample(kind.item)]
    if isinstance(kind, Named):
        definition = MODEL.definitions[kind.name]
        if isinstance(definition, Struct):
            return {
                f.wire_name: sample(f.type)
                for f in definition.fields
                if f.required and definition.side == "request"
            }
    return "a"


FILE_BYTES = b"\x89the file's own bytes"


def _file_fields(struct: Struct) -> set[str]:
    """The wire names of the generated Struct's fields whose type holds `bytes`."""

    def holds_bytes(kind: Any) -> bool:
        return kind is bytes or any(holds_bytes(k) for k in typing.get_args(kind))

    fields = msgspec.structs.fields(getattr(openai_ergo.types, struct.name))
    return {f.encode_name for f in fields if holds_bytes(f.type)}


def _body_struct(op: Operation) -> Struct | None:
    if op.body is None or not isinstance(op.body.type, Named):
        return None
    definition = MODEL.definitions.get(op.body.type.name)
    return definition if isinstance(definition, Struct) else None


def _method(client: Client, op: Operation) -> Any:
    target: Any = client
    for part in op.sdk_name.split("."):
        target = getattr(target, part)
    return target


def _arguments(op: Operation) -> tuple[list[str], dict[str, Any], dict[str, Any] | None]:
    """Positional path values, keyword arguments, and the body the request should carry."""
    path_values = [f"{p.name}-1" for p in op.parameters if p.location == "path"]
    kwargs: dict[str, Any] = {}
    taken = {re.sub(r"\W", "_", p.name) for p in op.parameters if p.location == "path"}
    for p in op.parameters:
        if p.location != "path" and p.required:
            kwargs[re.sub(r"\W", "_", p.name.replace("[]", "")).strip("_")] = sample(p.type)
    struct = _body_struct(op)
    expected: dict[str, Any] | None = None
    if struct is None and op.body is not None and op.body.type is not None:
        example = request_example(op) or sample(op.body.type)
        kwargs["body"] = expected = example
    if struct is not None:
        example = request_example(op)
        if example is None:
            example = sample(Named(struct.name))
        assert isinstance(example, dict)
        expected = example
        if struct.tag_field is not None:
            # The encoder writes a tagged body's constant tag, which an example may leave out.
            expected = {struct.tag_field: struct.tag, **example}
        names = {f.wire_name: f.name for f in struct.fields}
        for wire, value in example.items():
            name = names.get(wire)
            if name is None and op.operation_id in REQUEST_EXCEPTIONS:
                continue
            assert name is not None, f"the example's {wire!r} is not in {struct.name}"
            while name in taken or name in kwargs:
                name += "_"
            kwargs[name] = value
    return path_values, kwargs, expected


@pytest.fixture
async def double() -> AsyncIterator[tuple[Client, list[httpx.Request]]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        op = _current[0]
        kinds = {r.kind for r in op.results}
        if request.headers["accept"] == "text/event-stream":
            # A call that streams (the speech example asks for `sse`): a whole, empty stream.
            return httpx.Response(
                200, content=b"data: [DONE]\n\n", headers={"content-type": "text/event-stream"}
            )
        if kinds == {"empty"}:
            return httpx.Response(204)
        if "binary" in kinds:
            return httpx.Response(200, content=b"\x00\x01", headers={"content-type": "audio/mpeg"})
        json_result = next(r for r in op.results if r.kind == "json") if "json" in kinds else None
        if json_result is not None and isinstance(json_result.type, Prim):
            return httpx.Response(200, content=json.dumps(sample(json_result.type)).encode())
        if json_result is not None:
            return httpx.Response(200, content=response_example(op), headers=_JSON)
        return httpx.Response(200, text="hello")

    transport = httpx.MockTransport(answer)
    async with Client(
        api_key="sk-double", base_url="http://127.0.0.1:9/v1", transport=transport
    ) as client:
        yield client, seen


_JSON = {"content-type": "application/json"}
_current: list[Operation] = []


@pytest.mark.parametrize("op", OPERATIONS, ids=[o.sdk_name for o in OPERATIONS])
async def test_every_operation_through_its_typed_method(
    op: Operation, double: tuple[Client, list[httpx.Request]]
) -> None:
    client, seen = double
    _current[:] = [op]
    path_values, kwargs, expected = _arguments(op)
    method = _method(client, op)
    multipart = op.body is not None and op.body.content_type.startswith("multipart/")
    files: dict[str, str] = {}
    if multipart:
        # A file field takes a file (bytes here), where the sample holds a placeholder.
        struct = _body_struct(op)
        assert struct is not None
        file_fields = _file_fields(struct)
        for f in struct.fields:
            name = f.name if f.name in kwargs else None
            if name is not None and f.wire_name in file_fields:
                many = isinstance(kwargs[name], list)
                kwargs[name] = [FILE_BYTES] if many else FILE_BYTES
                files[f.wire_name + ("[]" if many else "")] = f.wire_name
        # Offered as JSON too (container files): with no file given, the body goes as JSON.
        multipart = bool(files) or not (op.body is not None and op.body.json_unless_file)
    if op.operation_id in REQUEST_EXCEPTIONS:
        try:
            await method(*path_values, **kwargs)
        except InvalidRequestError:
            assert seen == []
            return
    result = method(*path_values, **kwargs)
    if isinstance(result, Paginator):
        items = [item async for item in result]
        assert all(isinstance(i, APIObject | dict | str) for i in items)
    else:
        result = await result
    request = seen[-1]
    assert request.method == op.method.upper()
    path = unquote(request.url.path).removeprefix("/v1")
    template, _, fixed_query = op.path.partition("?")
    assert path == re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1)}-1", template)
    assert fixed_query in request.url.query.decode()
    if multipart:
        assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
        form = request.content
        for name in files:
            assert f'name="{name}"; filename="upload"'.encode() in form
        assert form.count(FILE_BYTES) == len(files)
        for wire, value in (expected or {}).items():
            if isinstance(value, str) and wire not in files.values():
                assert f'name="{wire}"\r\n\r\n{value}\r\n'.encode() in form
    elif expected is not None:
        if op.operation_id in REQUEST_EXCEPTIONS:
            assert without_nulls(json.loads(request.content)) != without_nulls(expected)
        else:
            assert without_nulls(json.loads(request.content)) == without_nulls(expected)
    kinds = {r.kind for r in op.results}
    if request.headers["accept"] == "text/event-stream":
        assert "stream" in kinds
        assert isinstance(result, TypedEventStream)
        assert await result.until_done() == []
    elif kinds == {"empty"}:
        assert result is None
    elif "binary" in kinds:
        assert isinstance(result, BinaryResponse)
        assert await result.read() == b"\x00\x01"
        assert result.closed
    elif "json" in kinds and not isinstance(result, Paginator):
        assert isinstance(result, APIObject | list | dict | str | int | float)
