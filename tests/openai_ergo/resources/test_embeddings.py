"""The Embeddings builder: base64 decoded into float32 arrays, large inputs split and joined."""

from __future__ import annotations

import base64
import json
import struct
import sys
from array import array
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import msgspec
import pytest

from openai_ergo import (
    APIResponseValidationError,
    BadRequestError,
    Client,
    Embeddings,
    InvalidRequestError,
    RateLimiter,
    RetryPolicy,
)
from openai_ergo.mock import MockServer
from openai_ergo.resources._embeddings import estimate_tokens, split_inputs

MODEL = "text-embedding-3-small"


def _client(server: MockServer, **kwargs: Any) -> Client:
    return Client(api_key="sk-mock", base_url=server.url, rate_limiter=False, **kwargs)


def _float32(values: list[float]) -> list[float]:
    """`values` rounded to float32, as they travel in base64."""
    return array("f", values).tolist()


async def test_awaited_it_asks_for_base64_and_gives_the_vectors_as_float32(
    mock_openai: MockServer,
) -> None:
    texts = ["the cat sat", "on the mat", "quantum chromodynamics"]
    async with _client(mock_openai) as client:
        result = await client.embeddings(MODEL).input(texts).dimensions(64)
        floats = await client.embeddings.create(
            model=MODEL, input=texts, dimensions=64, encoding_format="float"
        )
    sent = mock_openai.requests[0].json
    assert sent == {"model": MODEL, "input": texts, "dimensions": 64, "encoding_format": "base64"}
    assert isinstance(result, Embeddings)
    assert (len(result), result.dimensions, result.model) == (3, 64, MODEL)
    assert isinstance(result.data, array)
    assert result.data.typecode == "f"
    assert len(result.data) == 3 * 64
    assert floats.data is not None
    for i, item in enumerate(floats.data):
        assert item.embedding is not None
        assert result[i].tolist() == _float32(item.embedding)
    assert result[-1].tolist() == result.tolist()[2]
    assert [v.tolist() for v in result[1:]] == result.tolist()[1:]
    assert floats.usage is not None
    assert result.usage.total_tokens == floats.usage.total_tokens
    assert result.requests == 1


async def test_floats_on_request_give_the_same_result(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        base = client.embeddings(MODEL).input(["alpha", "beta"]).dimensions(16)
        packed = await base
        floats = await base.encoding_format("float")
    assert mock_openai.requests[1].json["encoding_format"] == "float"
    assert floats.tolist() == packed.tolist()
    assert floats.data.typecode == "f"


async def test_numpy_is_a_view_over_the_same_memory(mock_openai: MockServer) -> None:
    numpy = pytest.importorskip("numpy")
    async with _client(mock_openai) as client:
        result = await client.embeddings(MODEL).input(["a", "b", "c"]).dimensions(8)
    matrix = result.numpy()
    assert matrix.shape == (3, 8)
    assert matrix.dtype == numpy.float32
    assert matrix[1].tolist() == result[1].tolist()
    result.data[8] = 42.0  # the matrix is a view, not a copy
    assert matrix[1, 0] == 42.0


async def test_without_numpy_everything_but_numpy_works(
    mock_openai: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    async with _client(mock_openai) as client:
        result = await client.embeddings(MODEL).input("hello").dimensions(4)
    assert len(result[0].tolist()) == 4
    with pytest.raises(ModuleNotFoundError, match="needs numpy"):
        result.numpy()


async def test_beyond_2048_inputs_it_splits_and_keeps_input_order(
    mock_openai: MockServer,
) -> None:
    texts = [f"document number {i}" for i in range(4500)]
    async with _client(mock_openai) as client:
        result = await client.embeddings(MODEL).input(texts).dimensions(4)
        spot = (
            await client.embeddings(MODEL).input([texts[0], texts[2048], texts[4499]]).dimensions(4)
        )
    sizes = [len(r.json["input"]) for r in mock_openai.requests[:3]]
    assert sorted(sizes) == [404, 2048, 2048]
    assert (len(result), result.requests) == (4500, 3)
    assert [result[0].tolist(), result[2048].tolist(), result[4499].tolist()] == spot.tolist()
    sent_tokens = sum(estimate_tokens(t) for t in texts)
    assert result.usage.total_tokens is not None
    assert result.usage.total_tokens > 0
    assert sent_tokens >= result.usage.total_tokens  # the estimate errs on the large side


def test_the_token_estimate_is_a_third_of_the_utf8_bytes() -> None:
    assert estimate_tokens("abcdef") == 2
    assert estimate_tokens("abcdefg") == 3  # rounded up
    assert estimate_tokens("日本語") == 3  # 9 bytes: a token a character
    assert estimate_tokens([101, 102, 103, 104]) == 4  # token ids count themselves


def test_splitting_respects_both_limits_and_never_drops_an_input() -> None:
    texts = ["x" * 30, "y" * 30, "z" * 300, "w" * 3]  # 10, 10, 100 and 1 estimated tokens
    assert split_inputs(texts, max_inputs=10, max_tokens=25) == [(0, 2), (2, 3), (3, 4)]
    assert split_inputs(texts, max_inputs=3, max_tokens=1000) == [(0, 3), (3, 4)]
    assert split_inputs(texts, max_inputs=1, max_tokens=1000) == [(0, 1), (1, 2), (2, 3), (3, 4)]


async def test_a_token_budget_splits_requests(mock_openai: MockServer) -> None:
    texts = ["a" * 300, "b" * 300, "c" * 300]  # 100 estimated tokens each
    async with _client(mock_openai) as client:
        result = await client.embeddings(MODEL).input(texts).split(max_tokens=250).dimensions(4)
    sent = sorted(len(r.json["input"]) for r in mock_openai.requests)
    assert sent == [1, 2]
    assert result.requests == 2
    assert len(result) == 3


def _embeddings_transport(in_flight: list[int], peak: list[int], fail_on: str = "") -> Any:
    """A transport answering embeddings of 2 dimensions (the text's length, its index) after
    yielding a few times, so concurrent requests overlap; it counts the requests in flight."""

    async def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        try:
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
        finally:
            in_flight[0] -= 1
        if fail_on and fail_on in body["input"]:
            return httpx.Response(400, json={"error": {"message": "bad input", "param": "input"}})
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(struct.pack("<2f", len(text), i)).decode(),
            }
            for i, text in enumerate(body["input"])
        ]
        usage = {"prompt_tokens": len(data), "total_tokens": len(data)}
        return httpx.Response(
            200, json={"object": "list", "data": data, "model": "m", "usage": usage}
        )

    return httpx.MockTransport(handle)


async def test_parts_run_concurrently_up_to_the_cap_and_usage_is_summed() -> None:
    in_flight, peak = [0], [0]
    texts = ["a" * (i + 1) for i in range(10)]
    transport = _embeddings_transport(in_flight, peak)
    async with Client(api_key="sk-x", base_url="http://e.test/v1", transport=transport) as client:
        result = await client.embeddings("m").input(texts).split(max_inputs=2, concurrency=3)
    assert peak[0] == 3
    assert [v.tolist()[0] for v in result] == [float(i + 1) for i in range(10)]
    assert result.usage.prompt_tokens == 10
    assert result.usage.total_tokens == 10
    assert result.requests == 5


async def test_the_clients_rate_limiter_paces_the_parts() -> None:
    in_flight, peak = [0], [0]
    transport = _embeddings_transport(in_flight, peak)
    limiter = RateLimiter(max_concurrency=1)
    async with Client(
        api_key="sk-x", base_url="http://e.test/v1", transport=transport, rate_limiter=limiter
    ) as client:
        result = await client.embeddings("m").input(list("abcdef")).split(max_inputs=1)
    assert peak[0] == 1  # the builder would run 4 at once; the limiter lets one through
    assert len(result) == 6
    assert limiter.statistics()["admitted"] == 6


async def test_a_failing_part_fails_the_whole_input_with_its_own_error() -> None:
    in_flight, peak = [0], [0]
    transport = _embeddings_transport(in_flight, peak, fail_on="poison")
    async with Client(
        api_key="sk-x",
        base_url="http://e.test/v1",
        transport=transport,
        retry=RetryPolicy(max_attempts=1),
    ) as client:
        builder = client.embeddings("m").input(["fine", "poison", "fine too"]).split(max_inputs=1)
        with pytest.raises(BadRequestError, match="bad input"):
            await builder
    assert in_flight[0] == 0  # nothing left running


async def test_a_body_with_too_few_vectors_is_a_validation_error() -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        vector = base64.b64encode(struct.pack("<2f", 1, 2)).decode()
        data = [{"object": "embedding", "index": 0, "embedding": vector}]
        return httpx.Response(200, json={"object": "list", "data": data, "model": "m"})

    transport = httpx.MockTransport(handle)
    async with Client(api_key="sk-x", base_url="http://e.test/v1", transport=transport) as client:
        with pytest.raises(APIResponseValidationError, match="1 embeddings for 2 inputs"):
            await client.embeddings("m").input(["a", "b"])


@pytest.mark.parametrize(
    ("make", "param"),
    [
        (lambda b: b.dimensions(0), "dimensions"),
        (lambda b: b.dimensions(True), "dimensions"),
        (lambda b: b.encoding_format("hex"), "encoding_format"),
        (lambda b: b.input([]), "input"),
        (lambda b: b.input(["ok", ""]), "input"),
        (lambda b: b.input([[1, 2], [1.5]]), "input"),
        (lambda b: b.user(""), "user"),
        (lambda b: b.split(max_inputs=2049), "max_inputs"),
        (lambda b: b.split(max_tokens=0), "max_tokens"),
        (lambda b: b.split(concurrency=0), "concurrency"),
    ],
)
async def test_bad_values_are_refused_naming_the_parameter(make: Any, param: str) -> None:
    async with Client(api_key="sk-x", base_url="http://e.test/v1") as client:
        with pytest.raises(InvalidRequestError) as caught:
            make(client.embeddings(MODEL))
    assert caught.value.param == param


async def test_nothing_to_embed_is_refused_before_sending(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        with pytest.raises(InvalidRequestError) as caught:
            await client.embeddings(MODEL).dimensions(8)
    assert caught.value.param == "input"
    assert mock_openai.requests == []


async def test_the_builder_is_a_value_and_token_inputs_travel_as_lists(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        base = client.embeddings(MODEL).dimensions(8)
        tokens = base.input([[1, 2, 3], [4, 5]]).user("user-1")
        result = await tokens
        assert base.inputs == ()  # the template never changed
        assert tokens.request_body()["dimensions"] == 8
    assert mock_openai.requests[0].json["input"] == [[1, 2, 3], [4, 5]]
    assert mock_openai.requests[0].json["user"] == "user-1"
    assert len(result) == 2
    assert "inputs=2" in repr(tokens)


def test_a_stored_body_decodes_to_the_same_result_in_either_encoding() -> None:
    vectors = [[0.5, -1.25, 2.0], [3.0, 0.0, -0.5]]
    floats = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 1 - i, "embedding": v}
            for i, v in enumerate(vectors[::-1])
        ],
        "model": "m",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    packed = json.loads(json.dumps(floats))
    for item in packed["data"]:
        item["embedding"] = base64.b64encode(struct.pack("<3f", *item["embedding"])).decode()
    from_floats = Embeddings.from_json(json.dumps(floats).encode())
    from_base64 = Embeddings.from_json(json.dumps(packed).encode())
    assert from_floats.tolist() == from_base64.tolist() == vectors  # in index order
    assert from_base64.usage.total_tokens == 4
    ragged = json.loads(json.dumps(floats))
    ragged["data"][0]["embedding"] = [1.0]
    with pytest.raises(
        msgspec.ValidationError, match="embedding 1 has 1 values, the ones before it 3"
    ):
        Embeddings.from_json(json.dumps(ragged).encode())
