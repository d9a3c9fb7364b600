"""The Images builder against the mock: generations, URL downloads, partial-image streams, edits
from paths, bytes and files, variations, and bad values refused naming the parameter."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from openai_ergo import (
    BadRequestError,
    Client,
    FileUpload,
    GeneratedImage,
    Images,
    ImagesBuilder,
    InvalidRequestError,
    Middleware,
    NotFoundError,
    PermissionDeniedError,
    StreamError,
    StreamNotFinishedError,
)
from openai_ergo.mock import MockServer
from openai_ergo.types._generated.images import (
    ImageEditCompletedEvent,
    ImageEditPartialImageEvent,
    ImageGenCompletedEvent,
    ImageGenPartialImageEvent,
)


def _client(server: MockServer) -> Client:
    return Client(api_key="sk-test-secret-value", base_url=server.url, rate_limiter=False)


def _png(width: int, height: int, alpha: bool = False) -> bytes:
    """A small valid PNG (RGBA when `alpha`, for a mask), written here so the tests do not
    depend on the images the mock makes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    colour = 6 if alpha else 2
    pixel = b"\x00\x00\x00\x00" if alpha else b"\x10\x80\xf0"
    rows = b"".join(b"\x00" + pixel * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_an_awaited_generation_gives_png_bytes_of_the_size_asked(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    async with _client(mock_openai) as client:
        request = client.images("gpt-image-1").prompt("An otter").size("1536x1024")
        made = await request.quality("low")
        again = await request.quality("low")
        other = await request.prompt("A heron").quality("low")
    assert isinstance(made, Images)
    assert len(made) == 1
    image = made[0]
    assert (image.format, image.dimensions, image.partial) == ("png", (1536, 1024), False)
    assert made.usage is not None
    assert made.usage.output_tokens == 408
    assert made.response is not None
    assert made.response.size == "1536x1024"
    assert again[0].data == image.data  # the same request, the same picture
    assert other[0].data != image.data  # another prompt, another picture
    assert await image.save(tmp_path / "otter.png") == len(image.data)
    assert (tmp_path / "otter.png").read_bytes() == image.data


async def test_url_answers_are_downloaded_without_the_api_key(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        made = await client.images("dall-e-2").prompt("An otter").size("256x256").n(3)
        inline = await (
            client.images("dall-e-2")
            .prompt("An otter")
            .size("256x256")
            .n(3)
            .response_format("b64_json")
        )
    assert [image.dimensions for image in made] == [(256, 256)] * 3
    assert all(image.url and image.url.endswith(".png") for image in made)
    # The downloaded bytes are the images the base64 answer carries, each its own.
    assert [image.data for image in made] == [image.data for image in inline]
    assert len({image.data for image in made}) == 3
    downloads = [r for r in mock_openai.requests if r.path.startswith("/v1/mock/images/")]
    assert len(downloads) == 3
    assert all("authorization" not in r.headers for r in downloads)


class _HourPasses(Middleware):
    """Moves the mock's clock an hour on once the answer arrived: its URLs have expired by
    the time they are downloaded."""

    def __init__(self, server: MockServer) -> None:
        self.server = server

    async def on_response(self, response: httpx.Response, state: dict[str, Any]) -> None:
        # A second past the hour: with the clock frozen, (made + 3600) - made is 3600 only up
        # to float rounding, and came out just under it about one run in three.
        self.server.app.clock.advance(3601)


async def test_an_expired_url_is_a_typed_error(
    mock_openai: MockServer,
) -> None:
    mock_openai.app.clock.speed = 0
    async with Client(
        api_key="sk-test-secret-value",
        base_url=mock_openai.url,
        rate_limiter=False,
        middleware=[_HourPasses(mock_openai)],
    ) as client:
        with pytest.raises(NotFoundError) as expired:
            await client.images("dall-e-2").prompt("An otter").size("256x256")
    assert expired.value.method == "GET"
    assert expired.value.url is not None
    assert "/v1/mock/images/" in expired.value.url
    assert "expired" in str(expired.value)


async def test_a_signed_url_keeps_its_signature_out_of_the_error() -> None:
    signed = "https://images.example.test/img_1.png?se=2030&sig=s3cr3t-signature"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.example.test":
            return httpx.Response(200, json={"created": 1, "data": [{"url": signed}]})
        assert "authorization" not in request.headers  # the API key stays with the API
        return httpx.Response(403, text="AuthenticationFailed: signature expired")

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with Client(
        api_key="sk-test-secret-value",
        base_url="https://api.example.test/v1",
        http_client=http,
        rate_limiter=False,
    ) as client:
        with pytest.raises(PermissionDeniedError) as refused:
            await client.images("dall-e-2").prompt("An otter")
    assert "s3cr3t" not in str(refused.value)
    assert refused.value.url == "https://images.example.test/img_1.png"


async def test_a_stream_yields_typed_partial_images_then_the_final_one(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        request = client.images("gpt-image-1").prompt("A fox").partial_images(2)
        awaited = await request
        async with request.stream() as stream:
            events = [event async for event in stream]
        final = stream.final()
    assert [type(e) for e in events] == [
        ImageGenPartialImageEvent,
        ImageGenPartialImageEvent,
        ImageGenCompletedEvent,
    ]
    partials = [GeneratedImage.from_event(e) for e in events[:2]]
    assert [p.partial_index for p in partials] == [0, 1]
    assert all(p.partial and p.dimensions == (1024, 1024) for p in partials)
    assert partials[0].data != partials[1].data  # coarser, then finer
    assert [image.data for image in final] == [awaited[0].data]
    assert final.usage is not None
    assert final.usage.total_tokens


async def test_a_stream_has_no_final_images_before_it_is_read_and_opens_once(
    mock_openai: MockServer,
) -> None:
    async with _client(mock_openai) as client:
        stream = client.images("gpt-image-1").prompt("A fox").stream()
        with pytest.raises(StreamNotFinishedError):
            stream.final()
        request_ids = [stream.request_id]
        async with stream:
            request_ids.append(stream.request_id)
            with pytest.raises(StreamNotFinishedError):
                stream.final()  # opened, not read to its end
            await stream.__anext__()
        with pytest.raises(StreamError):
            await stream.__anext__()  # closed: it does not send the request again
    assert request_ids[0] is None
    assert (request_ids[1] or "").startswith("req_")  # the mock's request id, once open
    assert len(mock_openai.requests) == 1


async def test_edits_take_images_and_masks_from_paths_bytes_and_files(
    mock_openai: MockServer, tmp_path: Path
) -> None:
    (tmp_path / "photo.png").write_bytes(_png(64, 64))
    (tmp_path / "mask.png").write_bytes(_png(64, 64, alpha=True))
    async with _client(mock_openai) as client:
        base = client.images("gpt-image-1").prompt("Add a hat")
        from_path = await base.image(tmp_path / "photo.png").mask(str(tmp_path / "mask.png"))
        with (tmp_path / "photo.png").open("rb") as file:
            from_file = await base.edit(file, mask=_png(64, 64, alpha=True))
        sent: list[tuple[int, int | None]] = []
        tracked = FileUpload(
            tmp_path / "photo.png", on_progress=lambda done, total: sent.append((done, total))
        )
        from_upload = await base.image(tracked).mask(tmp_path / "mask.png")
        two = await base.image(_png(64, 64), _png(32, 32))
        generated = await base
        async with base.image(tmp_path / "photo.png").partial_images(1).stream() as stream:
            kinds = [type(event) async for event in stream]
        with pytest.raises(BadRequestError) as wrong_mask:
            await base.image(_png(64, 64)).mask(_png(32, 32, alpha=True))
    assert from_path[0].data == from_file[0].data == from_upload[0].data  # however given
    size = (tmp_path / "photo.png").stat().st_size
    assert sent[-1] == (size, size)  # a FileUpload reports its progress
    assert two[0].data != from_path[0].data != generated[0].data
    assert kinds == [ImageEditPartialImageEvent, ImageEditCompletedEvent]
    assert wrong_mask.value.param == "mask"


async def test_a_variation_is_of_one_image(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        base = client.images("dall-e-2").size("256x256").response_format("b64_json")
        made = await base.variation(_png(64, 64)).n(2)
        with pytest.raises(InvalidRequestError) as prompted:
            await base.variation(_png(64, 64)).prompt("and a hat")
    assert [image.dimensions for image in made] == [(256, 256)] * 2
    assert made[0].data != made[1].data
    assert prompted.value.param == "prompt"


@pytest.mark.parametrize(
    ("setter", "value", "param"),
    [
        ("size", "1024", "size"),
        ("size", "0x10", "size"),
        ("quality", "ultra", "quality"),
        ("n", 0, "n"),
        ("n", 11, "n"),
        ("n", True, "n"),
        ("background", "clear", "background"),
        ("output_format", "gif", "output_format"),
        ("output_compression", 101, "output_compression"),
        ("partial_images", 4, "partial_images"),
        ("style", "cubist", "style"),
        ("response_format", "json", "response_format"),
        ("prompt", "", "prompt"),
        ("prompt", "x" * 32001, "prompt"),
        ("image", 12, "image"),
        ("mask", "/no/such/mask.png", "mask"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(setter: str, value: Any, param: str) -> None:
    builder = ImagesBuilder(Client(api_key="sk-test", base_url="http://unused.test/v1"), "m")
    with pytest.raises(InvalidRequestError) as caught:
        getattr(builder, setter)(value)
    assert caught.value.param == param


async def test_rules_across_fields_are_checked_before_sending(mock_openai: MockServer) -> None:
    async with _client(mock_openai) as client:
        base = client.images("gpt-image-1")
        with pytest.raises(InvalidRequestError) as no_prompt:
            await base.size("1024x1024")
        with pytest.raises(InvalidRequestError) as lone_mask:
            base.prompt("x").mask(_png(8, 8, alpha=True)).stream()
        with pytest.raises(InvalidRequestError) as streamed_variation:
            base.variation(_png(8, 8)).stream()
        with pytest.raises(InvalidRequestError) as too_many:
            base.image(*[_png(8, 8)] * 17)
    assert [e.value.param for e in (no_prompt, lone_mask, streamed_variation, too_many)] == [
        "prompt",
        "mask",
        "stream",
        "image",
    ]
    assert mock_openai.requests == []  # nothing went out


def test_a_builder_is_an_immutable_template_and_its_repr_hides_header_values() -> None:
    client = Client(api_key="sk-test", base_url="http://unused.test/v1")
    template = client.images("gpt-image-1").size("1024x1024")
    derived = template.prompt("An otter").extra_headers({"x-api-token": "tok-secret-123"})
    edit = derived.image(_png(8, 8))
    assert (template.kind, derived.kind, edit.kind) == ("generation", "generation", "edit")
    assert "prompt" not in repr(template)
    assert "tok-secret-123" not in repr(derived)
    assert "x-api-token" in repr(derived)
    assert "image.png" in repr(edit)  # bytes are named after their signature
