"""Images, files and audio as request inputs: from a URL, a path or bytes, encoded for you.

One value renders into both wire shapes: the Responses content parts (`input_image`,
`input_file`, `input_audio`) and the Chat Completions ones (`image_url`, `file`, `input_audio`).
Local files are read when the value is made (they are small, and a value that is read once can
be shared between requests); bytes become base64 data URLs with the right media type.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from typing import Any, Literal, final

from openai_ergo._errors import InvalidRequestError

__all__ = ["AudioInput", "FileInput", "ImageInput", "audio", "file", "image"]

Source = str | os.PathLike[str] | bytes | bytearray | memoryview
ImageDetail = Literal["auto", "low", "high", "original"]

_URL_SCHEMES = ("http://", "https://", "data:")

# Magic numbers of the formats the API accepts, for bytes that come without a name.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"\xff\xf3", "audio/mpeg"),
    (b"\xff\xf2", "audio/mpeg"),
)


def _sniff(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    return None


def _read(source: Source, param: str) -> tuple[bytes, str | None, str | None]:
    """The bytes, the file name (if any) and the media type guessed from the name."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None, None
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidRequestError(
            f"{param}: cannot read {str(path)!r} ({exc.strerror or exc}); pass a URL "
            "(http://, https:// or data:), a path to an existing file, or bytes",
            param=param,
        ) from None
    return data, path.name, mimetypes.guess_type(path.name)[0]


def _is_url(source: Source) -> bool:
    # Schemes are case-insensitive (RFC 3986): `HTTPS://` is a URL, not a file name.
    return isinstance(source, str) and source[:8].lower().startswith(_URL_SCHEMES)


def _is_data_url(source: Source) -> bool:
    return isinstance(source, str) and source[:5].lower() == "data:"


def _data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


@final
class ImageInput:
    """An image for the model: a URL (kept as is), or bytes sent inline as a data URL.

    Make one with `image(...)`; pass it to `.input(...)` or `.user(...)`.
    """

    __slots__ = ("detail", "file_id", "url")

    def __init__(
        self, *, url: str | None = None, file_id: str | None = None, detail: str | None = None
    ) -> None:
        self.url = url
        self.file_id = file_id
        self.detail = detail

    def for_responses(self) -> dict[str, Any]:
        """The Responses `input_image` content part."""
        part: dict[str, Any] = {"type": "input_image", "detail": self.detail or "auto"}
        if self.url is not None:
            part["image_url"] = self.url
        if self.file_id is not None:
            part["file_id"] = self.file_id
        return part

    def for_chat(self) -> dict[str, Any]:
        """The Chat Completions `image_url` content part."""
        if self.url is None:
            raise InvalidRequestError(
                "image: Chat Completions takes images by URL or bytes, not by file id; "
                "use the Responses API for uploaded files",
                param="image",
            )
        image_url: dict[str, Any] = {"url": self.url}
        if self.detail is not None:
            image_url["detail"] = self.detail
        return {"type": "image_url", "image_url": image_url}

    def __repr__(self) -> str:
        shown = self.file_id or _shorten(self.url or "")
        return f"ImageInput({shown!r}, detail={self.detail!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageInput):
            return NotImplemented
        return (self.url, self.file_id, self.detail) == (other.url, other.file_id, other.detail)

    def __hash__(self) -> int:
        return hash((self.url, self.file_id, self.detail))


@final
class FileInput:
    """A document for the model (PDF and friends): a URL, an uploaded file id, or inline bytes.

    Make one with `file(...)`.
    """

    __slots__ = ("file_data", "file_id", "filename", "url")

    def __init__(
        self,
        *,
        url: str | None = None,
        file_id: str | None = None,
        file_data: str | None = None,
        filename: str | None = None,
    ) -> None:
        self.url = url
        self.file_id = file_id
        self.file_data = file_data
        self.filename = filename

    def for_responses(self) -> dict[str, Any]:
        """The Responses `input_file` content part."""
        part: dict[str, Any] = {"type": "input_file"}
        if self.url is not None:
            part["file_url"] = self.url
        if self.file_id is not None:
            part["file_id"] = self.file_id
        if self.file_data is not None:
            part["file_data"] = self.file_data
        if self.filename is not None:
            part["filename"] = self.filename
        return part

    def for_chat(self) -> dict[str, Any]:
        """The Chat Completions `file` content part."""
        if self.url is not None:
            raise InvalidRequestError(
                "file: Chat Completions does not fetch files by URL; pass a path or bytes, "
                "or use the Responses API",
                param="file",
            )
        inner: dict[str, Any] = {}
        if self.file_id is not None:
            inner["file_id"] = self.file_id
        if self.file_data is not None:
            inner["file_data"] = self.file_data
        if self.filename is not None:
            inner["filename"] = self.filename
        return {"type": "file", "file": inner}

    def __repr__(self) -> str:
        shown = self.file_id or self.filename or _shorten(self.url or "")
        return f"FileInput({shown!r})"


@final
class AudioInput:
    """A clip of audio for the model, sent inline as base64 (`wav` or `mp3`).

    Make one with `audio(...)`.
    """

    __slots__ = ("data", "format")

    def __init__(self, *, data: str, format: str) -> None:
        self.data = data
        self.format = format

    def for_responses(self) -> dict[str, Any]:
        """The Responses `input_audio` content part."""
        return {"type": "input_audio", "input_audio": {"data": self.data, "format": self.format}}

    def for_chat(self) -> dict[str, Any]:
        """The Chat Completions `input_audio` content part (the same shape)."""
        return self.for_responses()

    def __repr__(self) -> str:
        return f"AudioInput(format={self.format!r}, {len(self.data)} base64 chars)"


def image(
    source: Source | None = None,
    *,
    file_id: str | None = None,
    detail: ImageDetail | None = None,
    media_type: str | None = None,
) -> ImageInput:
    """An image input from a URL (`http://`, `https://`, `data:`), a local path, bytes, or the
    id of an uploaded file. Bytes and files are sent as a data URL; the media type comes from the
    bytes themselves (PNG, JPEG, GIF, WEBP), else from the file name, unless `media_type` says
    otherwise."""
    if (source is None) == (file_id is None):
        raise InvalidRequestError(
            "image: pass exactly one of a source (URL, path or bytes) or file_id", param="image"
        )
    if file_id is not None:
        return ImageInput(file_id=file_id, detail=detail)
    assert source is not None
    if _is_url(source):
        return ImageInput(url=str(source), detail=detail)
    data, _, guessed = _read(source, "image")
    # The bytes say what they are; a name (`upload.bin`, a wrong extension) only guesses.
    kind = media_type or _sniff(data) or guessed
    if kind is None or not kind.startswith("image/"):
        raise InvalidRequestError(
            "image: cannot tell the image format (PNG, JPEG, GIF or WEBP); pass media_type=",
            param="image",
        )
    return ImageInput(url=_data_url(data, kind), detail=detail)


def file(
    source: Source | None = None,
    *,
    file_id: str | None = None,
    filename: str | None = None,
    media_type: str | None = None,
) -> FileInput:
    """A file input (for example a PDF) from a URL, a local path, bytes, or an uploaded file id.

    Inline files travel as a base64 data URL with their `filename` (taken from the path, or made
    up from the media type for bytes)."""
    if (source is None) == (file_id is None):
        raise InvalidRequestError(
            "file: pass exactly one of a source (URL, path or bytes) or file_id", param="file"
        )
    if file_id is not None:
        return FileInput(file_id=file_id, filename=filename)
    assert source is not None
    if _is_data_url(source):
        return FileInput(file_data=str(source), filename=filename or "file")
    if _is_url(source):
        return FileInput(url=str(source), filename=filename)
    data, name, guessed = _read(source, "file")
    kind = media_type or _sniff(data) or guessed or "application/octet-stream"
    if filename is None:
        extension = mimetypes.guess_extension(kind) or ""
        filename = name or f"file{extension}"
    return FileInput(file_data=_data_url(data, kind), filename=filename)


def audio(source: Source, *, format: Literal["wav", "mp3"] | None = None) -> AudioInput:
    """An audio input from a local path or bytes (`wav` or `mp3`; told by `format`, the file
    name, or the bytes). The API takes audio inline only, so URLs are refused."""
    if _is_url(source):
        raise InvalidRequestError(
            "audio: the API takes audio inline only; pass a path or bytes, not a URL",
            param="audio",
        )
    data, _, guessed = _read(source, "audio")
    kind = format
    if kind is None:
        media_type = _sniff(data) or guessed or ""
        if media_type in ("audio/wav", "audio/x-wav", "audio/wave"):
            kind = "wav"
        elif media_type in ("audio/mpeg", "audio/mp3"):
            kind = "mp3"
    if kind not in ("wav", "mp3"):
        raise InvalidRequestError(
            "audio: cannot tell the audio format (wav or mp3); pass format=", param="audio"
        )
    return AudioInput(data=base64.b64encode(data).decode("ascii"), format=kind)


def _shorten(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


Content = str | ImageInput | FileInput | AudioInput


def responses_part(content: Content) -> dict[str, Any]:
    """One Responses content part from text or an input value."""
    if isinstance(content, str):
        return {"type": "input_text", "text": content}
    return content.for_responses()


def chat_part(content: Content) -> dict[str, Any]:
    """One Chat Completions content part from text or an input value."""
    if isinstance(content, str):
        return {"type": "text", "text": content}
    return content.for_chat()
