"""Routing and validation from the spec: every operation is routed (hand-written handlers first,
the generic handler for the rest), every request is checked against its operation's request
schema before anything changes, and the generic handler answers the spec's example made fresh."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from openai_ergo.mock import MockOpenAI
from openai_ergo.mock._generated.operations import OPERATIONS


@pytest.fixture
def app() -> MockOpenAI:
    app = MockOpenAI(seed=5)
    app.clock.speed = 0  # timestamps are read off a clock that stands still
    return app


def _concrete(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1)}-7", template).removeprefix("/v1")


async def test_every_operation_of_the_spec_is_routed(http: httpx.AsyncClient) -> None:
    routed = 0
    for op in OPERATIONS:
        answer = await http.request(op.method, _concrete(op.template))
        if answer.status_code in (404, 405):
            # A hand-written handler's own 404 (an unknown id) is not the router's.
            message = answer.json()["error"]["message"]
            assert not message.startswith(("Invalid URL", "Invalid method")), op.operation_id
        routed += 1
    assert routed == len(OPERATIONS) == 288


async def test_an_unknown_route_is_404_and_a_wrong_method_405(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/evals/eval_1/nonsense")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Invalid URL (GET /v1/evals/eval_1/nonsense)"
    wrong = await http.put("/evals/eval_1")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["message"] == "Invalid method for URL (PUT /v1/evals/eval_1)"


async def test_a_generic_answer_is_the_example_with_fresh_ids_timestamps_and_path_values(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    body = {"data_source": {"type": "jsonl", "source": {"type": "file_id", "id": "file-1"}}}
    first = await http.post("/evals/eval_abc/runs", json=body)
    second = await http.post("/evals/eval_abc/runs", json=body)
    assert first.status_code == second.status_code == 201
    run, other = first.json(), second.json()
    assert run["object"] == "eval.run"
    assert run["id"].startswith("evalrun_")
    assert run["id"] != other["id"]
    assert run["eval_id"] == "eval_abc"  # the path's value, where the example has the field
    assert run["created_at"] == int(app.clock.time())
    app.clock.advance(100)
    later = (await http.post("/evals/eval_abc/runs", json=body)).json()
    assert later["created_at"] == run["created_at"] + 100


async def test_the_object_a_path_names_keeps_the_id_asked_for(http: httpx.AsyncClient) -> None:
    evaluation = (await http.get("/evals/eval_42")).json()
    assert (evaluation["object"], evaluation["id"]) == ("eval", "eval_42")
    cancelled = (await http.post("/organization/projects/proj_9/archive")).json()
    assert (cancelled["id"], cancelled["status"]) == ("proj_9", "archived")
    deleted = (await http.delete("/evals/eval_42")).json()
    assert deleted == {"object": "eval.deleted", "deleted": True, "eval_id": "eval_42"}


async def test_a_generic_list_has_the_shared_shape_and_honours_limit(
    http: httpx.AsyncClient,
) -> None:
    whole = (await http.get("/chatkit/threads")).json()
    assert whole["object"] == "list"
    assert len(whole["data"]) == 2
    assert whole["has_more"] is False
    assert whole["first_id"] == whole["data"][0]["id"]
    assert whole["last_id"] == whole["data"][-1]["id"]
    assert all(item["id"].startswith("cthr_") for item in whole["data"])
    one = (await http.get("/chatkit/threads", params={"limit": 1})).json()
    assert len(one["data"]) == 1
    assert one["first_id"] == one["last_id"] == one["data"][0]["id"]
    users = (await http.get("/organization/projects/proj_3/users")).json()
    assert users["has_more"] is False


async def test_binary_text_and_empty_answers_have_the_specs_media_types(
    http: httpx.AsyncClient,
) -> None:
    archive = await http.get("/skills/skill_1/content")
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    assert archive.content.startswith(b"PK\x03\x04")
    video = await http.get("/videos/video_1/content")
    assert video.headers["content-type"] == "video/mp4"
    assert video.content
    sdp = await http.post("/realtime/calls", files={"sdp": ("offer.sdp", b"v=0\r\n")})
    assert sdp.status_code == 201
    assert sdp.headers["content-type"].startswith("application/sdp")
    assert sdp.text.startswith("v=0")
    hangup = await http.post("/realtime/calls/rtc_1/hangup")
    assert (hangup.status_code, hangup.content) == (200, b"")


_BAD: list[tuple[str, str, dict[str, Any], str, str]] = [
    # A generic route and the hand-written hot paths, all checked against the spec's schema.
    ("POST", "/evals", {"name": "x"}, "data_source_config", "missing_required_parameter"),
    ("POST", "/evals", {"data_source_config": 3, "testing_criteria": []}, "data_source_config",
     "invalid_type"),
    ("POST", "/organization/projects", {"name": 5}, "name", "invalid_type"),
    ("POST", "/chat/completions", {"model": "m", "messages": [{"role": "bogus", "content": "x"}]},
     "messages[0].role", "invalid_value"),
    ("POST", "/responses", {"model": "m", "input": "x", "tools": [{"type": "zzz"}]},
     "tools[0].type", "invalid_value"),
    ("POST", "/chat/completions", {"model": "m", "messages": [{"role": "user"}]},
     "messages[0].content", "missing_required_parameter"),
    ("POST", "/chat/completions", {"model": "m", "messages": "hi"}, "messages", "invalid_type"),
    # A missing tag (`role`) goes through the lenient decode, and is still named as missing.
    ("POST", "/threads", {"messages": [{}]}, "messages[0].role", "missing_required_parameter"),
    ("POST", "/responses", {"model": "m", "input": [{"type": "nope"}]}, "input[0].type",
     "invalid_value"),
    ("POST", "/embeddings", {"model": "m", "input": "a", "dimensions": "big"}, "dimensions",
     "invalid_type"),
    ("POST", "/vector_stores", {"name": ["x"]}, "name", "invalid_type"),
    # Closed enums of the spec, at any depth through objects and arrays.
    ("POST", "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "x"}],
     "service_tier": "turbo"}, "service_tier", "invalid_value"),
    ("POST", "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "x"}],
     "modalities": ["text", "smell"]}, "modalities[1]", "invalid_value"),
    ("POST", "/responses", {"model": "m", "input": "x", "reasoning": {"effort": "ultra"}},
     "reasoning.effort", "invalid_value"),
    ("POST", "/embeddings", {"model": "m", "input": "a", "encoding_format": "hex"},
     "encoding_format", "invalid_value"),
    ("POST", "/organization/projects", {"name": "p", "residency": "MARS"}, "residency",
     "invalid_value"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "param", "code"), _BAD)
async def test_a_request_that_breaks_its_schema_is_openais_400(
    http: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], param: str, code: str
) -> None:
    answer = await http.request(method, path, json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    if code == "invalid_value":
        # OpenAI's words: the value, then every value the field takes.
        value = body_value(body, param)
        assert error["message"].startswith(f"Invalid value: '{value}'. Supported values are: ")
        assert error["message"].count("'") >= 4  # the value and at least one supported one
    else:
        assert f"'{param}'" in error["message"]


async def test_a_refused_request_changes_no_state(app: MockOpenAI, http: httpx.AsyncClient) -> None:
    refused = await http.post("/vector_stores", json={"name": "docs", "file_ids": "file-1"})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "file_ids"
    listed = (await http.get("/vector_stores")).json()
    assert listed["data"] == []
    chat = {"model": "m", "store": True, "messages": [{"role": "user", "content": 5}]}
    assert (await http.post("/chat/completions", json=chat)).status_code == 400
    assert (await http.get("/chat/completions")).json()["data"] == []
    assert len(app.requests) == 4  # refused requests are still recorded


async def test_a_message_without_its_type_tag_is_accepted_as_the_service_infers_it(
    http: httpx.AsyncClient,
) -> None:
    body = {"model": "m", "input": [{"role": "user", "content": "Hi"}]}
    answer = await http.post("/responses", json=body)
    assert answer.status_code == 200, answer.text


def body_value(body: dict[str, Any], param: str) -> Any:
    """The value at a dotted `param` path (`modalities[1]`, `reasoning.effort`) of `body`."""
    value: Any = body
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", param):
        value = value[int(part[1:-1])] if part.startswith("[") else value[part]
    return value
