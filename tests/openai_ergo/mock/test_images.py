"""Images: generations, edits and variations answer real, deterministic PNGs (checked here with
zlib and struct: signature, IHDR, every chunk's CRC, the scanlines), as `b64_json` or as a URL
the mock serves for an hour on its clock; partial images stream; bad parameters are OpenAI's
400s; and the official SDK and our typed methods both round-trip them.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any, NamedTuple, TypeVar

import httpx
import msgspec
import openai
import pytest
from openai import AsyncOpenAI

from openai_ergo import Client
from openai_ergo.mock import MockOpenAI, MockServer
from openai_ergo.types._generated.images import (
    ImageEditCompletedEvent,
    ImageGenCompletedEvent,
    ImageGenPartialImageEvent,
    ImagesResponse,
)
from tests.openai_ergo.mock.sse import frames

PROMPT = "A cute baby sea otter"
T = TypeVar("T")


@pytest.fixture
def app() -> MockOpenAI:
    mock = MockOpenAI()
    mock.clock.speed = 0  # time moves only when a test says so
    return mock


class Decoded(NamedTuple):
    """A palette PNG, read: its size, its colours (and their opacity) and its rows of indices."""

    width: int
    height: int
    palette: list[bytes]
    alpha: bytes | None
    rows: list[bytes]


def decode_png(data: bytes) -> Decoded:
    """Read a PNG as a reader does, asserting every check it makes: signature, chunk CRCs,
    IHDR fields, the palette before the data, IDAT size, filter bytes, indices in range."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks = 8, {}
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        tag, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(tag + body), tag
        assert tag not in chunks
        chunks[tag] = body
        at += 12 + length
    order = list(chunks)
    assert (order[0], order[-1]) == (b"IHDR", b"IEND")
    width, height, depth, color, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", chunks[b"IHDR"]
    )
    assert (depth, color, compression, filtering, interlace) == (8, 3, 0, 0, 0)
    assert order.index(b"PLTE") < order.index(b"IDAT")
    palette = chunks[b"PLTE"]
    assert len(palette) % 3 == 0
    colors = [palette[i : i + 3] for i in range(0, len(palette), 3)]
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + width
    assert len(raw) == height * stride
    rows = [raw[i + 1 : i + stride] for i in range(0, len(raw), stride)]
    assert all(raw[i] == 0 for i in range(0, len(raw), stride))  # filter type None
    assert max(max(row) for row in set(rows)) < len(colors)
    return Decoded(width, height, colors, chunks.get(b"tRNS"), rows)


def _decoded(kind: type[T], data: bytes) -> T:
    return msgspec.json.decode(data, type=kind)


def _image(entry: dict[str, Any]) -> bytes:
    return base64.b64decode(entry["b64_json"])


async def _ok(answer: Any) -> dict[str, Any]:
    response: httpx.Response = await answer
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _error(answer: Any, status: int = 400) -> dict[str, Any]:
    response: httpx.Response = await answer
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _png(width: int = 64, height: int = 64) -> bytes:
    from openai_ergo.mock._images import png

    return png(width, height, 7)


async def test_a_generation_is_a_valid_png_of_the_asked_size_with_usage(
    http: httpx.AsyncClient,
) -> None:
    body = {"model": "gpt-image-1", "prompt": PROMPT, "size": "1536x1024", "quality": "low"}
    answer = await _ok(http.post("/images/generations", json=body))
    decoded = decode_png(_image(answer["data"][0]))
    assert (decoded.width, decoded.height) == (1536, 1024)
    assert len(set(decoded.rows)) == 8  # eight bands of tiles...
    assert len(set(decoded.rows[0])) == 8  # ...of eight colours each
    assert len(set(decoded.palette)) == 16
    assert (answer["size"], answer["quality"], answer["output_format"]) == (
        "1536x1024", "low", "png",
    )  # fmt: skip
    assert answer["background"] == "opaque"
    usage = answer["usage"]
    assert usage["output_tokens"] == 408  # the service's low-quality 1536x1024 figure
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"] == {"text_tokens": 6, "image_tokens": 0}
    msgspec_decoded = _decoded(ImagesResponse, json.dumps(answer).encode())
    assert msgspec_decoded.usage is not None
    assert msgspec_decoded.usage.output_tokens == 408


async def test_the_same_request_gives_the_same_image_and_another_prompt_another(
    http: httpx.AsyncClient,
) -> None:
    body = {"model": "gpt-image-1", "prompt": PROMPT, "size": "1024x1024", "n": 3}
    first = await _ok(http.post("/images/generations", json=body))
    again = await _ok(http.post("/images/generations", json=body))
    other = await _ok(http.post("/images/generations", json={**body, "prompt": "A heron"}))
    images = [_image(e) for e in first["data"]]
    assert images == [_image(e) for e in again["data"]]
    assert len(set(images)) == 3  # each of the n images differs
    assert not set(images) & {_image(e) for e in other["data"]}
    seeded = await _ok(http.post("/images/generations", json=body, headers={"x-mock-seed": "9"}))
    assert _image(seeded["data"][0]) != images[0]


async def test_a_transparent_background_has_clear_pixels(http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-image-1.5", "prompt": PROMPT, "background": "transparent"}
    answer = await _ok(http.post("/images/generations", json=body))
    decoded = decode_png(_image(answer["data"][0]))
    assert answer["background"] == "transparent"
    assert decoded.alpha is not None
    shown = {decoded.alpha[index] for row in set(decoded.rows) for index in set(row)}
    assert shown == {0, 255}
    opaque = await _ok(http.post("/images/generations", json={**body, "background": "opaque"}))
    assert decode_png(_image(opaque["data"][0])).alpha is None


async def test_dall_e_answers_a_url_that_the_mock_serves_for_an_hour(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    answer = await _ok(http.post("/images/generations", json={"prompt": PROMPT}))
    assert set(answer) == {"created", "data"}  # dall-e-2 by default: no usage
    url = answer["data"][0]["url"]
    assert url.startswith("http://mock/v1/mock/images/img_")
    assert url.endswith(".png")
    served = await http.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert decode_png(served.content)[:2] == (1024, 1024)
    b64 = await _ok(
        http.post("/images/generations", json={"prompt": PROMPT, "response_format": "b64_json"})
    )
    assert _image(b64["data"][0]) == served.content
    app.clock.advance(3599)
    assert (await http.get(url)).status_code == 200
    app.clock.advance(1)
    expired = await _error(http.get(url), 404)
    assert "expired" in expired["message"]
    missing = await _error(http.get("/mock/images/img_nothing.png"), 404)
    assert missing["message"] == "Image with id 'img_nothing' not found."
    app.reset()
    assert (await http.get(url)).status_code == 404


async def test_dall_e_3_revises_the_prompt_and_makes_one_image(http: httpx.AsyncClient) -> None:
    body = {"model": "dall-e-3", "prompt": PROMPT, "size": "1792x1024",
            "response_format": "b64_json", "style": "natural"}  # fmt: skip
    answer = await _ok(http.post("/images/generations", json=body))
    assert answer["data"][0]["revised_prompt"] == PROMPT
    assert decode_png(_image(answer["data"][0]))[:2] == (1792, 1024)
    error = await _error(http.post("/images/generations", json={**body, "n": 2}))
    assert (error["param"], error["message"]) == ("n", "You must provide n=1 for this model.")


async def test_gpt_image_2_takes_any_size_the_spec_allows(http: httpx.AsyncClient) -> None:
    body = {"model": "gpt-image-2", "prompt": PROMPT, "size": "1536x864"}
    answer = await _ok(http.post("/images/generations", json=body))
    assert decode_png(_image(answer["data"][0]))[:2] == (1536, 864)
    for size in ("1530x864", "3840x800", "4096x4096", "0x0"):
        error = await _error(http.post("/images/generations", json={**body, "size": size}))
        assert error["param"] == "size"


@pytest.mark.parametrize(
    ("change", "param", "says"),
    [
        ({"prompt": None}, "prompt", "Missing required parameter: 'prompt'."),
        ({"n": 11}, "n", "expected a value from 1 to 10"),
        ({"n": "two"}, "n", "expected an integer"),
        ({"size": "640x480"}, "size", "Supported sizes are 1024x1024, 1536x1024, 1024x1536"),
        ({"output_format": "jpeg"}, "output_format", "cannot make output_format 'jpeg'"),
        ({"output_format": "gif"}, "output_format", "Invalid value: 'gif'"),
        ({"quality": "ultra"}, "quality", "Invalid value: 'ultra'"),
        ({"background": "pink"}, "background", "Invalid value: 'pink'"),
        ({"partial_images": 4}, "partial_images", "expected a value from 0 to 3"),
        ({"model": "dall-e-2", "stream": True}, "stream", "not supported for model 'dall-e-2'"),
        ({"prompt": "x" * 32_001}, "prompt", "maximum length 32000"),
    ],
)
async def test_bad_generation_parameters_are_400s_naming_them(
    http: httpx.AsyncClient, change: dict[str, Any], param: str, says: str
) -> None:
    body = {"model": "gpt-image-1", "prompt": PROMPT, **change}
    error = await _error(http.post("/images/generations", json=body))
    assert error["param"] == param
    assert says in error["message"]
    assert error["type"] == "invalid_request_error"


async def test_a_streamed_generation_sends_partial_images_then_the_image(
    http: httpx.AsyncClient,
) -> None:
    body = {"model": "gpt-image-1", "prompt": PROMPT, "stream": True, "partial_images": 3}
    response = await http.post("/images/generations", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = frames(response.content)
    assert [e.event for e in events] == ["image_generation.partial_image"] * 3 + [
        "image_generation.completed"
    ]
    payloads = [json.loads(e.data) for e in events]
    assert [p.get("partial_image_index") for p in payloads] == [0, 1, 2, None]
    images = [base64.b64decode(p["b64_json"]) for p in payloads]
    assert all(decode_png(image)[:2] == (1024, 1024) for image in images)
    assert len(set(images)) == 4  # coarser first, then the finished image
    whole = await _ok(http.post("/images/generations", json={**body, "stream": False}))
    assert images[-1] == _image(whole["data"][0])
    assert payloads[-1]["usage"] == whole["usage"]
    assert _decoded(ImageGenCompletedEvent, events[-1].data.encode()).usage is not None
    assert _decoded(ImageGenPartialImageEvent, events[0].data.encode()).partial_image_index == 0


def _files(*parts: tuple[str, str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [(name, (filename, data, "image/png")) for name, filename, data in parts]


async def test_an_edit_reads_images_and_a_mask_and_depends_on_them(
    http: httpx.AsyncClient,
) -> None:
    first, second = _png(), _png(32, 48)
    files = _files(("image[]", "a.png", first), ("image[]", "b.png", second))
    data = {"prompt": "Add a hat", "n": "2", "size": "1024x1536"}
    answer = await _ok(http.post("/images/edits", files=files, data=data))
    assert answer["usage"]["input_tokens_details"]["image_tokens"] == 2 * 388
    assert [decode_png(_image(e))[:2] for e in answer["data"]] == [(1024, 1536)] * 2
    again = await _ok(http.post("/images/edits", files=files, data=data))
    assert again["data"] == answer["data"]
    swapped = _files(("image[]", "a.png", second), ("image[]", "b.png", first))
    other = await _ok(http.post("/images/edits", files=swapped, data=data))
    assert other["data"] != answer["data"]
    masked = _files(("image", "a.png", first), ("mask", "m.png", _png()))
    assert (await _ok(http.post("/images/edits", files=masked, data=data)))["data"]
    wrong_mask = _files(("image", "a.png", first), ("mask", "m.png", _png(32, 32)))
    error = await _error(http.post("/images/edits", files=wrong_mask, data=data))
    assert (error["param"], error["code"]) == ("mask", "invalid_image")
    text = [("image", ("notes.txt", b"just text", "text/plain"))]
    error = await _error(http.post("/images/edits", files=text, data=data))
    assert (error["param"], error["code"]) == ("image", "invalid_image_format")
    error = await _error(
        http.post("/images/edits", files=[("other", ("x", b"", "a/b"))], data=data)
    )
    assert error["message"] == "Missing required parameter: 'image'."
    error = await _error(http.post("/images/edits", files=files, data={**data, "n": "many"}))
    assert (error["param"], error["code"]) == ("n", "invalid_type")


async def test_a_streamed_edit_sends_image_edit_events(http: httpx.AsyncClient) -> None:
    files = _files(("image", "a.png", _png()))
    data = {"prompt": "Add a hat", "stream": "true", "partial_images": "1"}
    response = await http.post("/images/edits", files=files, data=data)
    events = frames(response.content)
    assert [e.event for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    completed = _decoded(ImageEditCompletedEvent, events[-1].data.encode())
    assert decode_png(base64.b64decode(completed.b64_json or ""))[:2] == (1024, 1024)


async def test_a_json_edit_names_uploaded_files_or_urls(http: httpx.AsyncClient) -> None:
    upload = {"file": ("a.png", _png(), "image/png")}
    file = await _ok(http.post("/files", data={"purpose": "vision"}, files=upload))
    body = {"model": "gpt-image-1.5", "prompt": "Snow", "images": [{"file_id": file["id"]}]}
    by_file = await _ok(http.post("/images/edits", json=body))
    by_url = await _ok(
        http.post("/images/edits", json={**body, "images": [{"image_url": "https://x/a.png"}]})
    )
    assert decode_png(_image(by_file["data"][0]))[:2] == (1024, 1024)
    assert by_file["data"] != by_url["data"]
    missing = await _error(
        http.post("/images/edits", json={**body, "images": [{"file_id": "file-nope"}]}), 404
    )
    assert missing["message"] == "File with id 'file-nope' not found."
    error = await _error(http.post("/images/edits", json={**body, "images": [{"x": 1}]}))
    assert error["param"] == "images[0]"


async def test_a_variation_takes_one_square_png(http: httpx.AsyncClient) -> None:
    files = _files(("image", "a.png", _png()))
    answer = await _ok(
        http.post("/images/variations", files=files, data={"n": "2", "size": "256x256",
                                                             "response_format": "b64_json"})
    )  # fmt: skip
    assert [decode_png(_image(e))[:2] for e in answer["data"]] == [(256, 256)] * 2
    error = await _error(
        http.post("/images/variations", files=_files(("image", "a", _png(64, 32))))
    )
    assert (error["param"], error["code"]) == ("image", "invalid_image")
    error = await _error(
        http.post("/images/variations", files=files, data={"model": "gpt-image-1"})
    )
    assert error["param"] == "model"
    error = await _error(http.post("/images/variations", files=files, data={"size": "1536x1024"}))
    assert error["param"] == "size"


async def test_faults_and_the_log_reach_the_image_routes(
    app: MockOpenAI, http: httpx.AsyncClient
) -> None:
    app.fail_next("rate_limit", path="/v1/images/generations")
    assert (await http.post("/images/generations", json={"prompt": PROMPT})).status_code == 429
    app.fail_next("server_error", path="/v1/images/edits")
    files = _files(("image", "a.png", _png()))
    assert (await http.post("/images/edits", files=files, data={"prompt": "x"})).status_code == 500
    assert [r.path for r in app.requests] == ["/v1/images/generations", "/v1/images/edits"]


# -- the official SDK and our typed methods --------------------------------------------------


async def test_the_sdk_generates_edits_and_varies_images(
    mock_openai: MockServer, sdk: AsyncOpenAI
) -> None:
    made = await sdk.images.generate(model="gpt-image-1", prompt=PROMPT, size="1024x1536", n=2)
    assert made.data is not None
    assert len(made.data) == 2
    assert decode_png(base64.b64decode(made.data[0].b64_json or ""))[:2] == (1024, 1536)
    assert made.usage is not None
    assert made.usage.output_tokens == 2 * 1584
    by_url = await sdk.images.generate(prompt=PROMPT, size="256x256")
    assert by_url.data is not None
    assert by_url.data[0].url is not None
    async with httpx.AsyncClient() as http:
        assert decode_png((await http.get(by_url.data[0].url)).content)[:2] == (256, 256)
    edited = await sdk.images.edit(
        image=[("a.png", _png(), "image/png"), ("b.png", _png(), "image/png")],
        mask=("m.png", _png(), "image/png"),
        prompt="Add a hat",
    )
    assert edited.data is not None
    assert edited.data[0].b64_json
    with pytest.warns(
        DeprecationWarning, match="deprecated"
    ):  # the SDK's own notice: dall-e-2 is on its way out
        varied = await sdk.images.create_variation(
            image=("a.png", _png(), "image/png"), response_format="b64_json", size="512x512"
        )
    assert varied.data is not None
    assert decode_png(base64.b64decode(varied.data[0].b64_json or ""))[:2] == (512, 512)
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk.images.generate(model="gpt-image-1", prompt=PROMPT, output_format="webp")
    assert raised.value.param == "output_format"


async def test_the_sdk_streams_generations_and_edits(sdk: AsyncOpenAI) -> None:
    stream = await sdk.images.generate(
        model="gpt-image-1", prompt=PROMPT, stream=True, partial_images=2
    )
    kinds = [event.type async for event in stream]
    assert kinds == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    edits = await sdk.images.edit(
        image=("a.png", _png(), "image/png"), prompt="Add a hat", stream=True, partial_images=1
    )
    events = [event async for event in edits]
    assert [e.type for e in events] == ["image_edit.partial_image", "image_edit.completed"]
    assert events[-1].type == "image_edit.completed"
    assert events[-1].usage.total_tokens > 0


async def test_a_stream_that_fails_ends_with_an_error_event_the_sdk_raises(
    sdk: AsyncOpenAI,
) -> None:
    stream = await sdk.images.generate(
        model="gpt-image-1",
        prompt=PROMPT,
        stream=True,
        partial_images=2,
        extra_headers={"x-mock-fault": "error_event; after=1; code=image_generation_failed"},
    )
    seen: list[str] = []

    async def read() -> None:
        async for event in stream:
            seen.append(event.type)

    with pytest.raises(openai.APIError) as raised:
        await read()
    assert seen == ["image_generation.partial_image"]
    assert raised.value.code == "image_generation_failed"


async def test_our_typed_methods_generate_edit_and_vary_images(mock_openai: MockServer) -> None:
    async with Client(api_key="sk-mock", base_url=mock_openai.url) as client:
        made = await client.images.generate(prompt=PROMPT, model="gpt-image-1", n=2)
        assert made.data is not None
        assert len(made.data) == 2
        assert made.usage is not None
        assert made.usage.output_tokens == 2 * 1056
        assert decode_png(base64.b64decode(made.data[1].b64_json or ""))[:2] == (1024, 1024)
        edited = await client.images.edit(image=[_png(), _png(32, 32)], prompt="Add a hat")
        assert edited.data is not None
        assert edited.data[0].b64_json
        request = mock_openai.requests[-1]
        assert request.path == "/v1/images/edits"
        assert request.body is None
        varied = await client.images.create_variation(image=_png(), n=3)
        assert varied.data is not None
        assert all(d.url for d in varied.data)
