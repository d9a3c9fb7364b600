"""The mock never answers 500 because of a request body: random JSON, bodies shaped like each
route's own (with random values), random multipart, truncated bodies and random query strings
go to every stateful route and to the routes the generic handler answers (bodies shaped like
their request schemas), and the answer is a 2xx or a 4xx whose error names the problem.
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
import httpx
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openai_ergo.mock import MockOpenAI
from openai_ergo.mock._app import _ROUTES
from openai_ergo.mock._generated.operations import OPERATIONS
from openai_ergo.mock._generic import GenericOperation as Generic

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
#: The fields each route reads, so random values reach its validation, not only its 400 for
#: a missing field.
_FIELDS = [
    "model", "input", "messages", "store", "metadata", "background", "previous_response_id",
    "conversation", "tools", "tool_choice", "response_format", "text", "stream", "n",
    "max_output_tokens", "part_ids", "md5", "filename", "purpose", "bytes", "mime_type",
    "input_file_id", "endpoint", "completion_window", "prompt", "instructions", "items",
    "name", "file_ids", "files", "file_id", "chunking_strategy", "attributes", "expires_after",
    "query", "filters", "max_num_results", "ranking_options", "role", "content", "description",
    "temperature", "top_p", "tool_resources", "reasoning_effort", "attachments", "assistant_id",
    "additional_messages", "additional_instructions", "tool_outputs", "truncation_strategy",
    "max_completion_tokens", "max_prompt_tokens", "parallel_tool_calls", "thread",
    "memory_limit", "network_policy",
    "training_file", "validation_file", "suffix", "seed", "hyperparameters", "method",
    "project_ids", "size", "quality", "output_format", "background", "partial_images",
    "images", "mask", "style", "output_compression", "moderation", "voice", "speed",
    "stream_format",
]  # fmt: skip
_shaped = st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=8)
_schema = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(
                ["object", "array", "string", "integer", "number", "boolean", "null", "weird"]
            ),
            "minimum": _scalars,
            "maximum": _scalars,
            "multipleOf": _scalars,
            "minItems": _scalars,
            "maxItems": _scalars,
            "minLength": _scalars,
            "maxLength": _scalars,
            "enum": _json,
            "format": _scalars,
            "$ref": st.sampled_from(["#/$defs/A", "#/nowhere", "#", "http://x"]),
        },
    ),
    lambda inner: st.fixed_dictionaries(
        {},
        optional={
            "properties": st.dictionaries(st.text(max_size=4), inner, max_size=3),
            "items": inner,
            "anyOf": st.lists(inner, max_size=3),
            "allOf": st.lists(inner, max_size=2),
            "$defs": st.fixed_dictionaries({"A": inner}),
            "required": _json,
            "type": st.just("object"),
        },
    ),
    max_leaves=10,
)
FILE_HEADERS = b'Content-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n'
AUDIO_HEADERS = (
    b'Content-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF\x00\x00\x00\x00WAVE'
)
IMAGE_HEADERS = (
    b'Content-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG\r\n\x1a\n'
)
#: The multipart routes of images and audio.
_MEDIA_PATHS = ["/images/edits", "/images/variations", "/audio/transcriptions",
                "/audio/translations", "/audio/voice_consents", "/audio/voices"]  # fmt: skip
_PATHS = [
    "/responses", "/chat/completions", "/responses/compact", "/uploads", "/batches",
    "/chat/completions/{chat}", "/uploads/{upload}/complete", "/responses/{response}/cancel",
    "/batches/{batch}/cancel", "/uploads/{upload}/cancel", "/conversations",
    "/conversations/{conversation}", "/conversations/{conversation}/items", "/vector_stores",
    "/vector_stores/{store}", "/vector_stores/{store}/files", "/vector_stores/{store}/search",
    "/vector_stores/{store}/files/{text}", "/vector_stores/{store}/file_batches",
    "/vector_stores/{store}/file_batches/{store_batch}/cancel", "/assistants",
    "/assistants/{assistant}", "/threads", "/threads/{thread}", "/threads/{thread}/messages",
    "/threads/{thread}/messages/{message}", "/threads/runs", "/threads/{thread}/runs",
    "/threads/{run_thread}/runs/{run}", "/threads/{run_thread}/runs/{run}/cancel",
    "/threads/{run_thread}/runs/{run}/submit_tool_outputs",
    "/containers",
    "/containers/{container}/files", "/fine_tuning/jobs", "/fine_tuning/jobs/{job}/cancel",
    "/fine_tuning/jobs/{job}/pause", "/fine_tuning/jobs/{job}/resume",
    "/fine_tuning/checkpoints/{checkpoint}/permissions",
    "/images/generations",
    "/images/edits", "/audio/speech", "/audio/voice_consents/{consent}",
]  # fmt: skip
_LISTS = [
    "/chat/completions", "/files", "/batches", "/responses/{response}/input_items",
    "/chat/completions/{chat}/messages", "/responses/{response}",
    "/conversations/{conversation}/items", "/vector_stores", "/vector_stores/{store}/files",
    "/vector_stores/{store}/file_batches/{store_batch}/files", "/assistants",
    "/threads/{thread}/messages", "/threads/{run_thread}/runs",
    "/threads/{run_thread}/runs/{run}/steps",
    "/containers",
    "/containers/{container}/files", "/fine_tuning/jobs", "/fine_tuning/jobs/{job}/events",
    "/fine_tuning/jobs/{job}/checkpoints", "/fine_tuning/checkpoints/{checkpoint}/permissions",
    "/audio/voice_consents",
]  # fmt: skip


async def _setup(http: httpx.AsyncClient) -> dict[str, str]:
    """One object of each kind, so id-taking routes reach their validation."""
    user = [{"role": "user", "content": "Hi"}]
    chat = await http.post(
        "/chat/completions", json={"model": "gpt-4o", "messages": user, "store": True}
    )
    response = await http.post("/responses", json={"model": "gpt-5", "input": "Hi"})
    upload = await http.post(
        "/uploads",
        json={"filename": "a.jsonl", "purpose": "batch", "bytes": 4, "mime_type": "text/jsonl"},
    )
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o", "messages": user}}  # fmt: skip
    file = await http.post(
        "/files", data={"purpose": "batch"}, files={"file": ("b.jsonl", json.dumps(line))}
    )
    batch = await http.post(
        "/batches",
        json={"input_file_id": file.json()["id"], "endpoint": "/v1/chat/completions",
              "completion_window": "24h"},
    )  # fmt: skip
    conversation = await http.post("/conversations", json={"items": user})
    text = await http.post(
        "/files", data={"purpose": "assistants"}, files={"file": ("t.txt", "water and rivers")}
    )
    store = await http.post("/vector_stores", json={"file_ids": [text.json()["id"]]})
    store_batch = await http.post(
        f"/vector_stores/{store.json()['id']}/file_batches", json={"file_ids": [file.json()["id"]]}
    )
    assistant = await http.post("/assistants", json={"model": "gpt-4o"})
    thread = await http.post("/threads", json={"messages": user})
    message = await http.get(f"/threads/{thread.json()['id']}/messages")
    tool = {"type": "function", "function": {"name": "Hi", "parameters": {"type": "object"}}}
    caller = await http.post("/assistants", json={"model": "gpt-4o", "tools": [tool]})
    run = await http.post(
        "/threads/runs",
        json={"assistant_id": caller.json()["id"], "thread": {"messages": user}},
    )
    container = await http.post("/containers", json={"name": "c", "file_ids": [text.json()["id"]]})
    example = {"messages": [{"role": "user", "content": "Hi"},
                            {"role": "assistant", "content": "Hello"}]}  # fmt: skip
    training = await http.post(
        "/files",
        data={"purpose": "fine-tune"},
        files={"file": ("t.jsonl", (json.dumps(example) + "\n") * 10)},
    )
    job = await http.post(
        "/fine_tuning/jobs", json={"model": "gpt-4o-mini", "training_file": training.json()["id"]}
    )
    # The job's first checkpoint, whether or not it is made yet: both answers are 4xx or 2xx.
    checkpoint = f"ft:gpt-4o-mini:mock-org::{job.json()['id'][-8:]}:ckpt-step-10"
    recording = {"recording": ("c.wav", b"RIFF\x04\x00\x00\x00WAVE", "audio/wav")}
    consent = await http.post(
        "/audio/voice_consents", data={"name": "A", "language": "en"}, files=recording
    )
    return {
        "run": run.json()["id"],
        "run_thread": run.json()["thread_id"],
        "assistant": assistant.json()["id"],
        "thread": thread.json()["id"],
        "message": message.json()["data"][0]["id"],
        "checkpoint": checkpoint,
        "job": job.json()["id"],
        "container": container.json()["id"],
        "consent": consent.json()["id"],
        "store": store.json()["id"],
        "text": text.json()["id"],
        "store_batch": store_batch.json()["id"],
        "conversation": conversation.json()["id"],
        "chat": chat.json()["id"],
        "response": response.json()["id"],
        "upload": upload.json()["id"],
        "batch": batch.json()["id"],
        "file": file.json()["id"],
    }


def _check(answer: httpx.Response) -> None:
    assert answer.status_code < 500, (answer.status_code, answer.text)
    if answer.status_code >= 400:
        assert answer.json()["error"]["message"]


def _run(requests: list[tuple[str, str, dict[str, Any]]]) -> None:
    async def main() -> None:
        app = MockOpenAI(max_file_bytes=4096)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as http:
            ids = await _setup(http)
            for method, path, options in requests:
                # An option may be made from the ids (a body naming a vector store).
                made = {k: v(ids) if callable(v) else v for k, v in options.items()}
                _check(await http.request(method, path.format(**ids), **made))
        app.reset()

    anyio.run(main)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_PATHS), body=st.one_of(_json, _shaped))
def test_random_json_to_every_post_route_is_never_a_500(path: str, body: Any) -> None:
    _run([("POST", path, {"json": body})])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(["/chat/completions", "/responses"]),
    schema=_schema,
    where=st.sampled_from(["chat", "responses", "tool"]),
)
def test_random_schemas_for_structured_output_and_tools_are_never_a_500(
    path: str, schema: dict[str, Any], where: str
) -> None:
    body: dict[str, Any] = {"model": "gpt-5", "input": "use f", "messages": [
        {"role": "user", "content": "use f"}]}  # fmt: skip
    if where == "tool":
        body["tools"] = [{"type": "function", "name": "f", "parameters": schema,
                          "function": {"name": "f", "parameters": schema}}]  # fmt: skip
        body["tool_choice"] = "required"
    elif path == "/chat/completions":
        body["response_format"] = {"type": "json_schema", "json_schema": {"schema": schema}}
    else:
        body["text"] = {"format": {"type": "json_schema", "name": "x", "schema": schema}}
    _run([("POST", path, {"json": body})])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tool=st.dictionaries(
        st.sampled_from(["vector_store_ids", "max_num_results", "filters", "ranking_options"]),
        _json,
        max_size=4,
    ),
    known=st.booleans(),
    include=_json,
    stream=st.booleans(),
)
def test_random_file_search_tools_are_never_a_500(
    tool: dict[str, Any], known: bool, include: Any, stream: bool
) -> None:

    def body(ids: dict[str, str]) -> dict[str, Any]:
        if known:
            tool["vector_store_ids"] = [ids["store"]]
        return {"model": "gpt-5", "input": "water", "include": include, "stream": stream,
                "tools": [{"type": "file_search", **tool}]}  # fmt: skip

    _run([("POST", "/responses", {"json": body})])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(
        ["/files", "/uploads/{upload}/parts", "/containers/{container}/files", *_MEDIA_PATHS]
    ),
    body=st.binary(max_size=600),
    boundary=st.sampled_from(["B", "", "x" * 80, "=="]),
    prefix=st.sampled_from(
        [
            b"",
            b"--B\r\n",
            b"--B\r\n" + FILE_HEADERS,
            b"--B\r\n" + IMAGE_HEADERS,
            b"--B\r\n" + AUDIO_HEADERS,
        ]
    ),
)
def test_random_multipart_is_never_a_500(
    path: str, body: bytes, boundary: str, prefix: bytes
) -> None:
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    _run([("POST", path, {"content": prefix + body, "headers": headers})])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(_LISTS),
    params=st.dictionaries(
        st.sampled_from(["limit", "after", "before", "order", "stream", "starting_after",
                         "model", "metadata[k]", "purpose", "filter", "run_id"]),
        st.text(max_size=6),
        max_size=4,
    ),
)  # fmt: skip
def test_random_queries_to_the_lists_are_never_a_500(path: str, params: dict[str, str]) -> None:
    _run([("GET", path, {"params": params})])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_PATHS), cut=st.integers(min_value=0, max_value=60))
def test_truncated_bodies_are_never_a_500(path: str, cut: int) -> None:
    whole = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}],
                        "input": "Hi", "metadata": {"a": "b"}}).encode()  # fmt: skip
    _run([("POST", path, {"content": whole[:cut]})])


_MEDIA_FIELDS = ["model", "prompt", "n", "size", "response_format", "stream", "partial_images",
                 "background", "quality", "output_format", "language", "temperature",
                 "include[]", "timestamp_granularities[]", "speed", "name",
                 "consent"]  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(_MEDIA_PATHS),
    fields=st.dictionaries(st.sampled_from(_MEDIA_FIELDS), st.text(max_size=8), max_size=5),
    name=st.sampled_from(["file", "image", "image[]", "mask", "recording", "audio_sample"]),
    filename=st.sampled_from(["a.wav", "a.png", "a.mp3", "a"]),
    head=st.sampled_from(
        [
            b"",
            b"RIFF",
            b"RIFF\x24\x00\x00\x00WAVEfmt ",
            b"\x89PNG\r\n\x1a\n",
            b"fLaC\x80\x00\x00\x22",
        ]
    ),
    content=st.binary(max_size=300),
)
def test_well_formed_forms_with_random_fields_and_files_are_never_a_500(
    path: str, fields: dict[str, str], name: str, filename: str, head: bytes, content: bytes
) -> None:
    """The form parses, so random values and file bytes reach the handlers' own checks (the
    WAV and PNG readers among them)."""
    data = {"model": "whisper-1", **fields}
    files = {name: (filename, head + content)}
    _run([("POST", path, {"data": data, "files": files})])


def _generic(method: str, *, json_body: bool) -> list[tuple[str, tuple[str, ...]]]:
    """The routes the generic handler answers (`path`, the body fields its schema names)."""
    found = []
    for op in OPERATIONS:
        route = _ROUTES.match(op.template)
        handler = route.methods.get(op.method) if route is not None else None
        if op.method != method or not isinstance(getattr(handler, "handler", None), Generic):
            continue
        if json_body != (op.content_type == "application/json"):
            continue
        kind = op.request_type()
        fields = tuple(f.encode_name for f in msgspec.structs.fields(kind)) if kind else ()
        path = re.sub(r"\{\w+\}", "x_1", op.template.removeprefix("/v1"))
        found.append((path, fields))
    return found


_GENERIC_POSTS = _generic("POST", json_body=True)
_GENERIC_LISTS = [path for path, _ in _generic("GET", json_body=False)]


def _run_generic(method: str, path: str, options: dict[str, Any]) -> None:
    async def main() -> None:
        transport = httpx.ASGITransport(app=MockOpenAI())
        async with httpx.AsyncClient(transport=transport, base_url="http://mock/v1") as http:
            _check(await http.request(method, path, **options))

    anyio.run(main)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route_body=st.sampled_from(_GENERIC_POSTS).flatmap(
        lambda route: st.tuples(
            st.just(route[0]),
            st.one_of(
                _json,
                st.dictionaries(st.sampled_from(route[1] or ("x",)), _json, max_size=6),
            ),
        )
    )
)
def test_random_json_to_the_generic_routes_is_never_a_500(route_body: tuple[str, Any]) -> None:
    path, body = route_body
    _run_generic("POST", path, {"json": body})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(_GENERIC_LISTS),
    params=st.dictionaries(
        st.sampled_from(["limit", "after", "order", "start_time"]), st.text(max_size=6), max_size=3
    ),
)
def test_random_queries_to_the_generic_routes_are_never_a_500(
    path: str, params: dict[str, str]
) -> None:
    _run_generic("GET", path, {"params": params})
