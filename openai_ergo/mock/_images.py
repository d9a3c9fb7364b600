"""Images: generations, edits and variations answered with real, deterministic PNG images.

An image is a mosaic of coloured tiles whose palette comes from the request (model, prompt,
size, background, the input images' bytes, the seed and the image's index), written with zlib
and struct as an 8-bit palette PNG: the same request always gives the same bytes, and any PNG
reader decodes it. The tiles' layout depends only on the size, so it is compressed once and
kept; a request pays for its palette and its base64. A `transparent` background makes a third
of the colours see-through (a `tRNS` chunk). `url` answers point at the
mock's own `GET /v1/mock/images/{image}` route, which serves the image for 60 minutes on the
app's clock, as the service's URLs last:

    served ──(60 minutes on the clock)──▶ expired (404)

With `stream=true` (the GPT image models), `partial_images` (0–3) coarser versions of each image
come first as `image_generation.partial_image` events (`image_edit.` for edits), then the
image as `image_generation.completed` with its `usage`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openai_ergo.mock._endpoints import (
    BadRequest,
    bounded,
    choice,
    invalid,
    missing_parameter,
    text_parameter,
)
from openai_ergo.mock._exchange import Frame
from openai_ergo.mock._multipart import Form, boundary_of, read_form
from openai_ergo.mock._replies import estimate_tokens, request_key
from openai_ergo.mock._routes import BodyChunks, Call
from openai_ergo.mock._store import Collection
from openai_ergo.mock._wire import decode_json, error_event_frames, new_id, now, sse_frame

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["PNG_SIGNATURE", "new_images", "png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: How long an image URL serves its image, on the app's clock (as the service's URLs).
URL_SECONDS = 3600
#: How many images the URL route keeps (the oldest go first).
KEPT_IMAGES = 500
_TILES = 8
_COLORS = 16
_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536")
#: The sizes each known model makes; other models (gpt-image-2, deployments) take any
#: `WIDTHxHEIGHT` the spec allows them.
_SIZES = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image-1": _GPT_SIZES,
    "gpt-image-1-mini": _GPT_SIZES,
    "gpt-image-1.5": _GPT_SIZES,
    "chatgpt-image-latest": _GPT_SIZES,
}
_DALL_E = ("dall-e-2", "dall-e-3")
_PROMPT_LIMITS = {"dall-e-2": 1000, "dall-e-3": 4000}
_MAX_EDGE, _MAX_PIXELS = 3840, 3840 * 2160
#: Image tokens of a 1024x1024 image per quality, as the service bills them.
_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
#: Input tokens an input image costs (a fixed figure: the mock does not tile images).
_IMAGE_INPUT_TOKENS = 388
_FORMATS = ("png", "jpeg", "webp")
#: Fields only the GPT image models take: a generation naming one defaults to them.
_GPT_ONLY = (
    "output_format",
    "output_compression",
    "background",
    "moderation",
    "stream",
    "partial_images",
)
_INTEGERS = ("n", "partial_images", "output_compression")
_MAX_IMAGE = 50 * 1024 * 1024
_DALL_E_2_IMAGE = 4 * 1024 * 1024


# -- PNG ----------------------------------------------------------------------------------------


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


@functools.lru_cache(maxsize=32)
def _tile_layout(width: int, height: int, tiles: int) -> bytes:
    """The IDAT chunk of a `tiles` x `tiles` mosaic of palette indices: the same for every
    picture of this size, so only the palette is made per request (cheap, and cached)."""
    columns = [round(i * width / tiles) for i in range(tiles + 1)]
    rows = [round(i * height / tiles) for i in range(tiles + 1)]
    compressor = zlib.compressobj(9)
    data = bytearray()
    for row in range(tiles):
        line = bytearray(b"\x00")  # filter type 0 (None) for every scanline
        for column in range(tiles):
            index = (row * 3 + column * 5) % _COLORS
            line += bytes((index,)) * (columns[column + 1] - columns[column])
        data += compressor.compress(bytes(line) * (rows[row + 1] - rows[row]))
    data += compressor.flush()
    return _chunk(b"IDAT", bytes(data))


def png(width: int, height: int, key: int, *, alpha: bool = False, tiles: int = _TILES) -> bytes:
    """A `width` x `height` PNG of `tiles` x `tiles` coloured tiles, its palette of sixteen
    colours from `key` (a third of them see-through when `alpha`). The same arguments give the
    same bytes."""
    palette = hashlib.blake2b(key.to_bytes(8, "big"), digest_size=3 * _COLORS).digest()
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit palette indices
    opacity = bytes(0 if i % 3 == 0 else 255 for i in range(_COLORS))
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"tRNS", opacity) if alpha else b"",
            _tile_layout(width, height, tiles),
            _chunk(b"IEND", b""),
        )
    )


def png_size(head: bytes) -> tuple[int, int] | None:
    """The width and height a PNG's first bytes declare, or None when they are not a PNG's."""
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


# -- the store behind image URLs ----------------------------------------------------------------


@dataclass
class StoredImage:
    """An image an URL answer points at, and when (on the clock) it was made."""

    id: str
    data: bytes
    made: float


def new_images() -> Collection[StoredImage]:
    """The images behind URL answers, bounded (`KEPT_IMAGES`)."""
    return Collection("Image", capacity=KEPT_IMAGES)


async def image_content(app: MockOpenAI, call: Call) -> None:
    """`GET /v1/mock/images/{image}`: the PNG behind an URL answer, for 60 minutes."""
    image_id = call.params["image"].removesuffix(".png")
    stored = app.images.get(image_id)
    # Compared as `now >= made + 60 min`, not `now - made >= 60 min`: the clock moved on by
    # exactly an hour must read as expired, and the subtraction can round to just under it.
    if app.clock.time() >= stored.made + URL_SECONDS:
        raise BadRequest(
            f"Image '{image_id}' has expired: image URLs are valid for 60 minutes.", status=404
        )
    await call.reply.raw(200, stored.data, call.fault, content_type=b"image/png")


# -- the requests -------------------------------------------------------------------------------


@dataclass
class _Input:
    """An input image as it arrived: its digest, its first bytes and its size."""

    name: str
    filename: str
    digest: Any = field(default_factory=lambda: hashlib.blake2b(digest_size=16))
    head: bytearray = field(default_factory=bytearray)
    size: int = 0

    def write(self, data: bytes, /) -> None:
        """Take the next bytes (the form reader's sink)."""
        self.digest.update(data)
        if len(self.head) < 32:
            self.head += data[: 32 - len(self.head)]
        self.size += len(data)

    @property
    def kind(self) -> str | None:
        """png, jpeg or webp by the file's signature, or None."""
        head = bytes(self.head)
        if head.startswith(PNG_SIGNATURE):
            return "png"
        if head.startswith(b"\xff\xd8\xff"):
            return "jpeg"
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "webp"
        return None


def _size(model: str, value: Any, allowed: tuple[str, ...] | None) -> tuple[int, int]:
    if value is None or value == "auto":
        return 1024, 1024
    if not isinstance(value, str):
        raise invalid("size", "Invalid type for 'size': expected a string.", "invalid_type")
    if allowed is not None and value not in allowed:
        raise invalid(
            "size",
            f"Invalid size '{value}' for model '{model}'. Supported sizes are "
            + ", ".join(allowed)
            + ".",
        )
    width, _, height = value.partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise invalid("size", f"Invalid size '{value}': expected 'auto' or WIDTHxHEIGHT.")
    w, h = int(width), int(height)
    if allowed is None and (
        not (w and h)
        or w % 16
        or h % 16
        or max(w, h) > _MAX_EDGE
        or w * h > _MAX_PIXELS
        or max(w, h) > 3 * min(w, h)
    ):
        raise invalid(
            "size",
            f"Invalid size '{value}': width and height must be multiples of 16, at most "
            f"{_MAX_EDGE} pixels a side and {_MAX_PIXELS} in all, in a ratio of at most 3:1.",
        )
    return w, h


@dataclass(frozen=True)
class _Plan:
    """What to make: the images' count, size and look, and how to answer."""

    kind: str  # generation, edit or variation: the stream's event prefix follows it
    model: str
    prompt: str
    n: int
    width: int
    height: int
    transparent: bool
    quality: str
    output_format: str
    response_format: str
    stream: bool
    partial_images: int
    inputs: tuple[str, ...]

    @property
    def gpt(self) -> bool:
        """Whether a GPT image model makes it (they answer usage and stream)."""
        return self.model not in _DALL_E

    @property
    def size(self) -> str:
        """The size as the API writes it."""
        return f"{self.width}x{self.height}"

    def key(self, seed: int, index: int) -> int:
        """The number image `index` is drawn from."""
        conversation = [self.kind, self.prompt, self.size, self.transparent, list(self.inputs)]
        return request_key(self.model, conversation, seed, index)

    def usage(self) -> dict[str, Any]:
        """The tokens the service would bill for the request."""
        text = estimate_tokens(self.prompt, self.model)
        images = _IMAGE_INPUT_TOKENS * len(self.inputs)
        per_image = _OUTPUT_TOKENS[self.quality] * self.width * self.height // (1024 * 1024)
        output = per_image * self.n
        return {
            "input_tokens": text + images,
            "output_tokens": output,
            "total_tokens": text + images + output,
            "input_tokens_details": {"text_tokens": text, "image_tokens": images},
        }


def _plan(kind: str, body: dict[str, Any], inputs: tuple[str, ...]) -> _Plan:
    model = body.get("model")
    if model is None:
        # As the service: generations default to dall-e-2 unless a GPT-only field is given.
        gpt_field = any(body.get(name) is not None for name in _GPT_ONLY)
        dall_e = kind == "variation" or (kind == "generation" and not gpt_field)
        model = "dall-e-2" if dall_e else "gpt-image-1.5"
    if not isinstance(model, str):
        raise invalid("model", "Invalid type for 'model': expected a string.", "invalid_type")
    if kind == "variation" and model in _SIZES and model != "dall-e-2":
        raise invalid("model", f"Image variations are only made by 'dall-e-2', not '{model}'.")
    prompt = ""
    if kind != "variation":
        limit = _PROMPT_LIMITS.get(model, 32_000)
        prompt = text_parameter(body, "prompt", required=True, limit=limit)
    gpt = model not in _DALL_E
    n = bounded(body, "n", 1, 10, 1, integer=True)
    if model == "dall-e-3" and n != 1:
        raise invalid("n", "You must provide n=1 for this model.")
    allowed = _SIZES.get(model)
    if kind == "variation":
        allowed = _SIZES["dall-e-2"]
    width, height = _size(model, body.get("size"), allowed)
    background = choice(body, "background", ("transparent", "opaque", "auto"), "auto")
    output_format = choice(body, "output_format", _FORMATS, "png")
    if output_format != "png":
        raise invalid(
            "output_format",
            f"The mock cannot make output_format '{output_format}': it makes 'png' only.",
            "unsupported_value",
        )
    quality = choice(body, "quality", ("standard", "hd", "low", "medium", "high", "auto"), "auto")
    response_format = choice(
        body, "response_format", ("url", "b64_json"), "b64_json" if gpt else "url"
    )
    choice(body, "style", ("vivid", "natural"), "vivid")
    choice(body, "moderation", ("low", "auto"), "auto")
    bounded(body, "output_compression", 0, 100, 100, integer=True)
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise invalid("stream", "Invalid type for 'stream': expected a boolean.", "invalid_type")
    if stream and not gpt:
        raise invalid("stream", f"Streaming is not supported for model '{model}'.")
    partial_images = bounded(body, "partial_images", 0, 3, 0, integer=True)
    return _Plan(
        kind=kind,
        model=model,
        prompt=prompt,
        n=n,
        width=width,
        height=height,
        transparent=background == "transparent",
        quality={"low": "low", "high": "high", "hd": "high"}.get(quality, "medium"),
        output_format=output_format,
        response_format=response_format,
        stream=stream,
        partial_images=partial_images,
        inputs=inputs,
    )


def _made(plan: _Plan, seed: int, index: int, tiles: int = _TILES) -> bytes:
    return png(plan.width, plan.height, plan.key(seed, index), alpha=plan.transparent, tiles=tiles)


def _answer(app: MockOpenAI, plan: _Plan, seed: int, host: str) -> dict[str, Any]:
    data = []
    for index in range(plan.n):
        image = _made(plan, seed, index)
        entry: dict[str, Any] = {}
        if plan.response_format == "url":
            stored = StoredImage(new_id("img_"), image, app.clock.time())
            app.images.put(stored.id, stored)
            entry["url"] = f"http://{host}/v1/mock/images/{stored.id}.png"
        else:
            entry["b64_json"] = base64.b64encode(image).decode("ascii")
        if plan.model == "dall-e-3":
            entry["revised_prompt"] = plan.prompt
        data.append(entry)
    answer: dict[str, Any] = {"created": now(), "data": data}
    if plan.gpt:
        answer.update(
            background="transparent" if plan.transparent else "opaque",
            output_format=plan.output_format,
            size=plan.size,
            quality=plan.quality,
            usage=plan.usage(),
        )
    return answer


def _frames(plan: _Plan, seed: int) -> Iterator[Frame]:
    prefix = "image_generation" if plan.kind == "generation" else "image_edit"
    common = {
        "size": plan.size,
        "quality": plan.quality,
        "background": "transparent" if plan.transparent else "opaque",
        "output_format": plan.output_format,
    }
    for index in range(plan.n):
        # Partial images are the same picture, coarser: 1, 2, then 4 tiles a side.
        for partial in range(plan.partial_images):
            event: dict[str, Any] = {
                "type": f"{prefix}.partial_image",
                "b64_json": _b64(_made(plan, seed, index, tiles=2**partial)),
                "created_at": now(),
                **common,
                "partial_image_index": partial,
            }
            yield sse_frame(event, f"{prefix}.partial_image"), True
        event = {
            "type": f"{prefix}.completed",
            "b64_json": _b64(_made(plan, seed, index)),
            "created_at": now(),
            **common,
            "usage": plan.usage(),
        }
        yield sse_frame(event, f"{prefix}.completed"), True


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def _respond(app: MockOpenAI, call: Call, plan: _Plan) -> dict[str, Any] | None:
    seed, _ = app._limits(call.request.headers)
    if plan.stream:
        tokens = plan.usage()["input_tokens"]
        frames = _frames(plan, seed)
        await app._stream(call.reply, frames, call.fault, error_event_frames, tokens=tokens)
        return None
    return _answer(app, plan, seed, call.request.headers.get("host", "127.0.0.1"))


async def generate(app: MockOpenAI, call: Call) -> dict[str, Any] | None:
    """`POST /v1/images/generations`."""
    return await _respond(app, call, _plan("generation", call.request.json, ()))


async def _form(app: MockOpenAI, call: Call, inputs: list[_Input]) -> Form:
    boundary = boundary_of(call.request.headers.get("content-type", ""))

    def sink(name: str, filename: str) -> _Input:
        inputs.append(_Input(name, filename))
        return inputs[-1]

    return await read_form(call.body_chunks(), boundary, sink, max_file_bytes=_MAX_IMAGE)


def _checked_images(images: list[_Input], model: str, *, square: bool) -> None:
    for image in images:
        kind = image.kind
        if kind is None or (model == "dall-e-2" and kind != "png"):
            wanted = "a PNG" if model == "dall-e-2" else "a PNG, JPEG or WEBP"
            raise invalid(
                image.name,
                f"Invalid input image '{image.filename}': it must be {wanted} file.",
                "invalid_image_format",
            )
        if model == "dall-e-2" and image.size > _DALL_E_2_IMAGE:
            raise invalid(
                image.name,
                f"Invalid input image '{image.filename}': it must be less than 4 MB.",
                "image_too_large",
            )
        size = png_size(bytes(image.head))
        if square and size is not None and size[0] != size[1]:
            raise invalid(
                image.name,
                f"Invalid input image '{image.filename}': it must be square, not "
                f"{size[0]}x{size[1]}.",
                "invalid_image",
            )


async def _json_body(chunks: BodyChunks) -> dict[str, Any]:
    raw = bytearray()
    async for chunk in chunks:
        raw += chunk
        if len(raw) > _MAX_IMAGE:
            await chunks.drain()
            raise BadRequest("Request body too large.", status=413)
    try:
        body = decode_json(bytes(raw))
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BadRequest("We could not parse the JSON body of your request.")
    return body


def _referenced(app: MockOpenAI, name: str, reference: Any) -> str:
    """A JSON edit's image reference (`{"file_id"}` or `{"image_url"}`) as a digest input."""
    if isinstance(reference, dict):
        file_id, url = reference.get("file_id"), reference.get("image_url")
        if isinstance(file_id, str):
            app.files.files.get(file_id)  # an unknown file is a 404
            return "file:" + file_id
        if isinstance(url, str):
            return "url:" + url
    raise invalid(name, f"Invalid '{name}': expected an object with 'file_id' or 'image_url'.")


async def edit(app: MockOpenAI, call: Call) -> dict[str, Any] | None:
    """`POST /v1/images/edits`: multipart images (and a mask) read as they arrive, or JSON
    naming uploaded files or URLs."""
    content_type = call.request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "application/json":
        body = await _json_body(call.body_chunks())
        references = body.get("images")
        if not isinstance(references, list) or not references:
            raise missing_parameter("images")
        inputs = tuple(_referenced(app, f"images[{i}]", r) for i, r in enumerate(references))
        if body.get("mask") is not None:
            inputs += (_referenced(app, "mask", body["mask"]),)
        return await _respond(app, call, _plan("edit", body, inputs))
    files: list[_Input] = []
    form = await _form(app, call, files)
    body = form.as_json(integers=_INTEGERS, flags=("stream",))
    images = [f for f in files if f.name in ("image", "image[]")]
    if not images:
        raise missing_parameter("image")
    if len(images) > 16:
        raise invalid("image", f"Invalid 'image': at most 16 images, got {len(images)}.")
    mask = next((f for f in files if f.name == "mask"), None)
    plan = _plan(
        "edit", body, tuple(f.digest.hexdigest() for f in [*images, *filter(None, [mask])])
    )
    if plan.model == "dall-e-2" and len(images) > 1:
        raise invalid("image", "Model 'dall-e-2' edits one image at a time.")
    _checked_images(images, plan.model, square=plan.model == "dall-e-2")
    if mask is not None:
        size, wanted = png_size(bytes(mask.head)), png_size(bytes(images[0].head))
        if size is None:
            raise invalid("mask", "Invalid mask: it must be a PNG file.", "invalid_image_format")
        if wanted is not None and size != wanted:
            raise invalid(
                "mask",
                f"Invalid mask: its size {size[0]}x{size[1]} is not the image's "
                f"{wanted[0]}x{wanted[1]}.",
                "invalid_image",
            )
    return await _respond(app, call, plan)


async def create_variation(app: MockOpenAI, call: Call) -> dict[str, Any] | None:
    """`POST /v1/images/variations`: one square PNG, read as it arrives."""
    files: list[_Input] = []
    form = await _form(app, call, files)
    body = form.as_json(integers=_INTEGERS)
    image = next((f for f in files if f.name == "image"), None)
    if image is None:
        raise missing_parameter("image")
    plan = _plan("variation", body, (image.digest.hexdigest(),))
    _checked_images([image], "dall-e-2", square=True)
    return await _respond(app, call, plan)
