"""The Images builder: generations, edits and variations, awaited or streamed.

`client.images("gpt-image-1").prompt("An otter").size("1024x1024")` is a request; awaiting it
gives `Images`, whose images carry their bytes (`.data`, decoded from base64 or downloaded from
the URL the service answered) and `await image.save(path)`. `.image(path)` (and `.mask(path)`)
make it an edit, `.variation(path)` a variation. `.stream()` yields the typed partial-image
events as they arrive, then the completed ones.
"""

from __future__ import annotations

import base64
import os
import re
import struct
from collections.abc import Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, final, overload

import anyio
import httpx

from openai_ergo._errors import APIConnectionError, InvalidRequestError
from openai_ergo._metadata import RawResponse
from openai_ergo._multipart import FileInput, FileUpload
from openai_ergo.resources._builder import check_int, check_str
from openai_ergo.resources._media import MediaBuilder, StreamHandle, check_choice, upload_of
from openai_ergo.types._generated.images import (
    ImageEditCompletedEvent,
    ImageEditPartialImageEvent,
    ImageGenCompletedEvent,
    ImageGenPartialImageEvent,
    ImageGenUsage,
    ImagesResponse,
    ImagesUsage,
)

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo.resources._event_streams import TypedEventStream
    from openai_ergo.types._generated.images import ImageEditStreamEvent, ImageGenStreamEvent

__all__ = ["GeneratedImage", "ImageStream", "Images", "ImagesBuilder"]

#: What an image stream yields: the generated event unions of generations and edits.
ImageStreamEvent: TypeAlias = "ImageGenStreamEvent | ImageEditStreamEvent"

_SIZE = re.compile(r"[1-9][0-9]*x[1-9][0-9]*")
_PNG = b"\x89PNG\r\n\x1a\n"
_PARTIAL = (ImageGenPartialImageEvent, ImageEditPartialImageEvent)
_COMPLETED = (ImageGenCompletedEvent, ImageEditCompletedEvent)


@final
class GeneratedImage:
    """One image: its bytes (`data`), the `url` it was served at (when the service answered a
    URL), the `revised_prompt` (dall-e-3), and whether it is a `partial` image of a stream
    (`partial_index` 0, 1, 2) or a finished one (`index` among the request's `n`)."""

    __slots__ = ("data", "index", "partial_index", "revised_prompt", "url")

    def __init__(
        self,
        data: bytes,
        *,
        index: int = 0,
        url: str | None = None,
        revised_prompt: str | None = None,
        partial_index: int | None = None,
    ) -> None:
        #: The image file's bytes (PNG unless `output_format` asked for another).
        self.data = data
        #: The image's place among the request's `n` images (or streamed events).
        self.index = index
        #: Where the service served the image (it expires), or None for a base64 answer.
        self.url = url
        #: The prompt dall-e-3 actually drew from.
        self.revised_prompt = revised_prompt
        #: For a partial image of a stream, which one (0 is the coarsest); else None.
        self.partial_index = partial_index

    @classmethod
    def from_event(cls, event: Any, index: int = 0) -> GeneratedImage:
        """The image an image stream's partial or completed event carries (its base64 data
        decoded)."""
        if not isinstance(event, _PARTIAL + _COMPLETED) or not event.b64_json:
            raise InvalidRequestError(f"{type(event).__name__} carries no image", param="event")
        partial = event.partial_image_index if isinstance(event, _PARTIAL) else None
        return cls(
            base64.b64decode(event.b64_json),
            index=index,
            partial_index=0 if isinstance(event, _PARTIAL) and partial is None else partial,
        )

    @property
    def partial(self) -> bool:
        """Whether this is a partial (coarser, in-progress) image of a stream."""
        return self.partial_index is not None

    @property
    def format(self) -> str | None:
        """`png`, `jpeg` or `webp`, read from the bytes' signature (None if none of those)."""
        data = self.data
        if data.startswith(_PNG):
            return "png"
        if data.startswith(b"\xff\xd8\xff"):
            return "jpeg"
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return "webp"
        return None

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) read from a PNG's header, or None for another format."""
        if not self.data.startswith(_PNG) or len(self.data) < 24:
            return None
        width, height = struct.unpack(">II", self.data[16:24])
        return width, height

    async def save(self, path: str | os.PathLike[str]) -> int:
        """Write the image to the file at `path`; returns the number of bytes written."""
        async with await anyio.open_file(path, "wb") as file:
            await file.write(self.data)
        return len(self.data)

    def __repr__(self) -> str:
        kind = f"partial {self.partial_index}" if self.partial else f"#{self.index}"
        return f"<GeneratedImage {kind} {self.format or 'unknown format'} {len(self.data)} bytes>"


@final
class Images(Sequence[GeneratedImage]):
    """The images a request made, in order, with the service's answer (`response`, None for a
    streamed request) and its `usage` (GPT image models)."""

    __slots__ = ("images", "response", "usage")

    def __init__(
        self,
        images: list[GeneratedImage],
        *,
        response: ImagesResponse | None = None,
        usage: ImageGenUsage | ImagesUsage | None = None,
    ) -> None:
        #: The images, in the order the service answered them.
        self.images = images
        #: The typed answer of the typed method (None when the images were streamed).
        self.response = response
        #: The token usage the service billed, when it reports one.
        self.usage = usage

    @overload
    def __getitem__(self, index: int) -> GeneratedImage: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[GeneratedImage]: ...

    def __getitem__(self, index: int | slice) -> GeneratedImage | Sequence[GeneratedImage]:
        return self.images[index]

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self) -> Iterator[GeneratedImage]:
        return iter(self.images)

    def __repr__(self) -> str:
        return f"<Images {len(self.images)}: {self.images!r}>"


@final
class ImageStream(StreamHandle["TypedEventStream[Any]", "ImageStreamEvent"]):
    """A streamed image request: `async with builder.stream() as stream:` then `async for
    event in stream:` yields the typed events, `image_generation.partial_image` (or
    `image_edit.partial_image`) as each partial image arrives, then the completed image of
    each of `n`. `GeneratedImage.from_event(event)` gives an event's image; `final()` the
    completed images once the stream ended."""

    __slots__ = ()

    def final(self) -> Images:
        """The completed images (what awaiting the builder gives), once the stream ended."""
        events = self._opened_handle().final()
        completed = [e for e in events if isinstance(e, _COMPLETED)]
        images = [GeneratedImage.from_event(e, i) for i, e in enumerate(completed)]
        usage = next((e.usage for e in reversed(completed) if e.usage is not None), None)
        return Images(images, usage=usage)


_QUALITIES = ("auto", "low", "medium", "high", "standard", "hd")
_BACKGROUNDS = ("auto", "transparent", "opaque")
_FORMATS = ("png", "jpeg", "webp")


@final
class ImagesBuilder(MediaBuilder):
    """A request to the Images API: `client.images(model)`, then setters. It generates from
    the prompt; with `.image(...)` it edits those images (with `.mask(...)` on the first);
    `.variation(image)` asks for variations of one image (dall-e-2).

    Awaiting it gives `Images`; `with_raw_response()` the same with the response's request id,
    headers and rate limits; `.stream()` streams partial images (GPT image models). Bad
    values raise `InvalidRequestError` naming the parameter where they are set, and rules that
    span fields (an edit needs a prompt, a variation takes none) where the request is sent.
    """

    __slots__ = ("_images", "_mask", "_variation")

    def __init__(self, client: Client, model: str) -> None:
        super().__init__(client, model)
        self._images: tuple[FileUpload, ...] = ()
        self._mask: FileUpload | None = None
        self._variation = False

    # -- what to draw -----------------------------------------------------------------------

    def prompt(self, text: str) -> ImagesBuilder:
        """What to draw (or, for an edit, how to change the images): at most 32,000
        characters."""
        return self._set("prompt", check_str("prompt", text, max_length=32000))

    def image(self, *images: FileInput | str) -> ImagesBuilder:
        """Images to edit (up to 16), each a path, bytes, a binary file or a `FileUpload`:
        makes the request an edit."""
        added = tuple(upload_of("image", source, stem="image") for source in images)
        combined = self._images + added
        if not added or len(combined) > 16:
            raise InvalidRequestError(
                f"image takes 1 to 16 images in all, not {len(combined)}", param="image"
            )
        clone = self._copy()
        clone._images = combined
        return clone

    def edit(self, *images: FileInput | str, mask: FileInput | str | None = None) -> ImagesBuilder:
        """An edit of `images` (paths, bytes, files), with an optional `mask` whose transparent
        pixels mark where the first image is changed."""
        edited = self.image(*images)
        return edited if mask is None else edited.mask(mask)

    def mask(self, source: FileInput | str | None) -> ImagesBuilder:
        """A PNG the size of the first image whose transparent pixels mark what to change."""
        clone = self._copy()
        clone._mask = None if source is None else upload_of("mask", source, stem="mask")
        return clone

    def variation(self, image: FileInput | str) -> ImagesBuilder:
        """Variations of one square PNG (dall-e-2), instead of a generation."""
        clone = self.image(image)
        clone._variation = True
        return clone

    # -- how ----------------------------------------------------------------------------------

    def size(self, value: str) -> ImagesBuilder:
        """`WIDTHxHEIGHT` (`1024x1024`, `1536x1024`, ... as the model makes) or `auto`."""
        if not isinstance(value, str) or not (value == "auto" or _SIZE.fullmatch(value)):
            raise InvalidRequestError(
                f"size must be 'auto' or WIDTHxHEIGHT such as '1024x1024', not {value!r}",
                param="size",
            )
        return self._set("size", value)

    def quality(self, value: str) -> ImagesBuilder:
        """`low`, `medium`, `high` or `auto` (GPT image models); `standard` or `hd`
        (dall-e-3)."""
        return self._set("quality", check_choice("quality", value, _QUALITIES))

    def n(self, count: int) -> ImagesBuilder:
        """How many images to make, 1 to 10 (dall-e-3 makes 1)."""
        return self._set("n", check_int("n", count, 1, 10))

    def background(self, value: str) -> ImagesBuilder:
        """`transparent`, `opaque` or `auto` (GPT image models)."""
        return self._set("background", check_choice("background", value, _BACKGROUNDS))

    def output_format(self, value: str) -> ImagesBuilder:
        """`png`, `jpeg` or `webp` (GPT image models)."""
        return self._set("output_format", check_choice("output_format", value, _FORMATS))

    def output_compression(self, percent: int) -> ImagesBuilder:
        """Compression, 0 to 100, of a `jpeg` or `webp` image."""
        return self._set("output_compression", check_int("output_compression", percent, 0, 100))

    def partial_images(self, count: int) -> ImagesBuilder:
        """How many partial images, 0 to 3, a stream sends before each finished one."""
        return self._set("partial_images", check_int("partial_images", count, 0, 3))

    def moderation(self, value: str) -> ImagesBuilder:
        """Content moderation for GPT image models: `auto` or `low`."""
        return self._set("moderation", check_choice("moderation", value, ("auto", "low")))

    def style(self, value: str) -> ImagesBuilder:
        """dall-e-3's style: `vivid` or `natural`."""
        return self._set("style", check_choice("style", value, ("vivid", "natural")))

    def response_format(self, value: str) -> ImagesBuilder:
        """How dall-e models answer: `url` (downloaded when awaited) or `b64_json`."""
        return self._set(
            "response_format", check_choice("response_format", value, ("url", "b64_json"))
        )

    def input_fidelity(self, value: str) -> ImagesBuilder:
        """How closely an edit keeps the input images' details: `high` or `low`."""
        return self._set("input_fidelity", check_choice("input_fidelity", value, ("high", "low")))

    def end_user(self, value: str) -> ImagesBuilder:
        """The `user` field: a stable id of your end user, for abuse monitoring."""
        return self._set("user", check_str("user", value))

    # -- sending ------------------------------------------------------------------------------

    @property
    def kind(self) -> Literal["generation", "edit", "variation"]:
        """What the request is: a generation, an edit (images given) or a variation."""
        if self._variation:
            return "variation"
        return "edit" if self._images else "generation"

    def _checked_args(self, *, stream: bool = False) -> dict[str, Any]:
        kind = self.kind
        args = self._call_args()
        if kind == "variation":
            if len(self._images) != 1:
                raise InvalidRequestError("a variation is of exactly one image", param="image")
            for name in ("prompt", "partial_images", "quality", "background", "output_format"):
                if name in args:
                    raise InvalidRequestError(
                        f"a variation takes no {name} (it is dall-e-2's)", param=name
                    )
            if self._mask is not None or stream:
                param = "mask" if self._mask is not None else "stream"
                raise InvalidRequestError(f"a variation takes no {param}", param=param)
            return {**args, "image": self._images[0]}
        if "prompt" not in args:
            raise InvalidRequestError(
                f"an image {kind} needs a prompt: set .prompt(...)", param="prompt"
            )
        if self._mask is not None and kind != "edit":
            raise InvalidRequestError(
                "a mask is for an edit: give the image to edit with .image(...)", param="mask"
            )
        if kind == "edit":
            args["image"] = list(self._images) if len(self._images) > 1 else self._images[0]
            if self._mask is not None:
                args["mask"] = self._mask
        elif "input_fidelity" in args:
            raise InvalidRequestError("input_fidelity is for an edit", param="input_fidelity")
        return args

    def _method(self, *, raw: bool = False) -> Any:
        """The typed method this request calls (its `with_raw_response` twin for `raw`)."""
        images: Any = self._client.images.with_raw_response if raw else self._client.images
        if self.kind == "variation":
            return images.create_variation
        return images.edit if self.kind == "edit" else images.generate

    async def _create(self) -> Images:
        args = self._checked_args()
        response: ImagesResponse = await self._method()(**args)
        return _images(response, await _downloads(self._client, response))

    async def with_raw_response(self) -> RawResponse[Images]:
        """Send the request and return the Images API's response as it came: `request_id`,
        `headers`, `rate_limit`, `status_code`, and `parse()`, the `Images` that `await`
        gives. Images answered as URLs are downloaded before it returns, as `await` does;
        the metadata is the API's response, not the downloads'."""
        args = self._checked_args()
        raw: RawResponse[ImagesResponse] = await self._method(raw=True)(**args)
        downloaded = await _downloads(self._client, raw.parse())

        def parse(_: Any) -> Images:
            return _images(raw.parse(), downloaded)

        return RawResponse(raw.response, parse)

    def __await__(self) -> Generator[Any, None, Images]:
        return self._create().__await__()

    def stream(self) -> ImageStream:
        """Stream the request: partial images as they are drawn, then each finished one (GPT
        image models). The request is checked now and sent on `async with`."""
        args = self._checked_args(stream=True)
        images = self._client.images
        if self.kind == "edit":

            async def open_edit() -> TypedEventStream[Any]:
                stream: TypedEventStream[Any] = await images.edit(**args, stream=True)
                return stream

            return ImageStream(open_edit)

        async def open_generation() -> TypedEventStream[Any]:
            stream: TypedEventStream[Any] = await images.generate(**args, stream=True)
            return stream

        return ImageStream(open_generation)

    def __repr__(self) -> str:
        text = super().__repr__()[:-1]
        if self._images:
            text += f", {self.kind}_of={[u.filename for u in self._images]}"
        if self._mask is not None:
            text += f", mask={self._mask.filename!r}"
        return text + ")"


async def _downloads(client: Client, response: ImagesResponse) -> list[bytes | None]:
    """The bytes of each image the answer gives as a URL, downloaded concurrently (None for
    an image given as base64)."""
    data = response.data or []
    found: list[bytes | None] = [None] * len(data)
    urls = [(i, item.url) for i, item in enumerate(data) if not item.b64_json and item.url]
    if not urls:
        return found
    failures: list[Exception] = []

    async def download(index: int, url: str) -> None:
        try:
            found[index] = await _download(client, url)
        except Exception as exc:
            # The first failure is the caller's error as it is, not an exception group; the
            # other downloads are pointless now.
            failures.append(exc)
            group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        for index, url in urls:
            group.start_soon(download, index, url)
    if failures:
        raise failures[0]
    return found


def _images(response: ImagesResponse, downloaded: list[bytes | None]) -> Images:
    """The answer's images with their bytes: base64 decoded, URLs' from `downloaded`."""
    images = []
    for index, item in enumerate(response.data or []):
        data = downloaded[index]
        if data is None:
            data = base64.b64decode(item.b64_json) if item.b64_json else b""
        images.append(
            GeneratedImage(data, index=index, url=item.url, revised_prompt=item.revised_prompt)
        )
    return Images(images, response=response, usage=response.usage)


async def _download(client: Client, url: str) -> bytes:
    """An image the service serves at `url`, read as it streams in. It goes to the host the
    URL names with none of the API's credentials, and without the URL's query (a signature)
    in any error."""
    from openai_ergo._pipeline._errors_map import status_error

    where = httpx.URL(url)
    shown = str(where.copy_with(query=None))
    try:
        async with client.http_client.stream("GET", where) as response:
            chunks = [chunk async for chunk in response.aiter_bytes()]
            if response.status_code >= 300:
                raise status_error(
                    response,
                    b"".join(chunks),
                    method="GET",
                    path=where.path,
                    url=shown,
                    attempts=(),
                    secrets=(),
                )
    except httpx.HTTPError as exc:
        raise APIConnectionError(
            f"GET {shown} failed: {type(exc).__name__}", method="GET", url=shown
        ) from exc
    return b"".join(chunks)
