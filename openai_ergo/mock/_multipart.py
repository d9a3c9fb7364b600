"""A streaming `multipart/form-data` reader: file parts go to a sink chunk by chunk, never whole.

Uploads can be hundreds of megabytes, so the body is parsed as it arrives from ASGI: the reader
keeps only a boundary's length of look-behind, hands file bytes to the part's sink as they come,
and collects small text fields (bounded). Malformed input is a `BadRequest` naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from openai_ergo.mock._endpoints import BadRequest
from openai_ergo.mock._routes import BodyChunks

__all__ = ["FilePart", "Form", "Sink", "boundary_of", "read_form"]

_MAX_HEADERS = 16 * 1024
_MAX_FIELD = 64 * 1024
_MAX_PARTS = 64


class Sink(Protocol):
    """Where a file part's bytes go."""

    def write(self, data: bytes, /) -> object:
        """Append bytes."""


@dataclass
class FilePart:
    """A file field: its name, filename, content type and how many bytes went to its sink."""

    name: str
    filename: str
    content_type: str
    sink: Sink
    size: int = 0


@dataclass
class Form:
    """A parsed form: text fields by name (the last value of a repeated one), every value of
    each (for `include[]`-style arrays), and file parts."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[FilePart] = field(default_factory=list)
    repeated: dict[str, list[str]] = field(default_factory=dict)

    def as_json(
        self,
        *,
        integers: Iterable[str] = (),
        numbers: Iterable[str] = (),
        flags: Iterable[str] = (),
        arrays: Iterable[str] = (),
    ) -> dict[str, Any]:
        """The text fields as the JSON body they stand for, so one validation serves a form and
        a JSON body alike: the named fields become integers, numbers, booleans or arrays (an
        array from `name[]` or `name`), a value that is none of them is a 400 naming it."""
        body: dict[str, Any] = dict(self.fields)
        for name in integers:
            if name in body:
                body[name] = _converted(name, body[name], int, "an integer")
        for name in numbers:
            if name in body:
                body[name] = _converted(name, body[name], float, "a number")
        for name in flags:
            if name in body:
                value = body[name].lower()
                if value not in ("true", "false"):
                    raise BadRequest(
                        f"Invalid value for '{name}': expected a boolean, got '{body[name]}'.",
                        param=name,
                        code="invalid_type",
                    )
                body[name] = value == "true"
        for name in arrays:
            values = self.repeated.get(name + "[]", []) + self.repeated.get(name, [])
            body.pop(name + "[]", None)
            if values:
                body[name] = values
        return body


def _converted(name: str, value: str, kind: Callable[[str], Any], noun: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise BadRequest(
            f"Invalid value for '{name}': expected {noun}, got '{value}'.",
            param=name,
            code="invalid_type",
        ) from None


def boundary_of(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` content type, or a 400 saying what is missing."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise BadRequest(
            "This endpoint expects a multipart/form-data body, not "
            f"'{kind.strip() or 'no content type'}'."
        )
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value.strip('"'):
            boundary = value.strip('"').encode("latin-1")
            if len(boundary) <= 70:
                return boundary
    raise BadRequest("The multipart/form-data content type has no valid boundary.")


def _disposition(headers: bytes) -> tuple[str, str | None, str]:
    name: str | None = None
    filename: str | None = None
    content_type = "application/octet-stream"
    for line in headers.decode("utf-8", "replace").split("\r\n"):
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "content-type":
            content_type = value.strip()
        elif key == "content-disposition":
            for param in value.split(";")[1:]:
                pname, _, pvalue = param.strip().partition("=")
                pvalue = pvalue.strip().strip('"')
                if pname.lower() == "name":
                    name = pvalue
                elif pname.lower() == "filename":
                    filename = pvalue
    if name is None:
        raise BadRequest("A multipart part has no Content-Disposition name.")
    return name, filename, content_type


async def read_form(
    chunks: BodyChunks,
    boundary: bytes,
    new_sink: Callable[[str, str], Sink],
    *,
    max_file_bytes: int,
) -> Form:
    """Parse the body from `chunks`; each file part's bytes go to `new_sink(name, filename)`.

    A file part longer than `max_file_bytes` is a 413. Whatever the outcome, the rest of the
    body is read, so the answer reaches a client that is still sending.
    """
    try:
        return await _read_form(chunks, boundary, new_sink, max_file_bytes)
    except BadRequest:
        await chunks.drain()
        raise


async def _read_form(
    chunks: BodyChunks,
    boundary: bytes,
    new_sink: Callable[[str, str], Sink],
    max_file_bytes: int,
) -> Form:
    form = Form()
    delimiter = b"\r\n--" + boundary
    buffer = bytearray()
    stream = chunks.__aiter__()
    ended = False

    async def more() -> bool:
        nonlocal ended
        if ended:
            return False
        try:
            buffer.extend(await stream.__anext__())
        except StopAsyncIteration:
            ended = True
            return False
        return True

    # The preamble ends at the first boundary (which has no CRLF before it at the very start).
    opening = b"--" + boundary
    while True:
        at = buffer.find(opening)
        if at >= 0:
            del buffer[: at + len(opening)]
            break
        if len(buffer) > _MAX_HEADERS or not await more():
            raise BadRequest("The multipart body has no opening boundary.")
    too_large: FilePart | None = None
    while True:
        while len(buffer) < 2:
            if not await more():
                raise BadRequest("The multipart body ends without its closing boundary.")
        if buffer[:2] == b"--":
            break  # the closing boundary
        if buffer[:2] != b"\r\n":
            raise BadRequest("The multipart body has a malformed boundary line.")
        del buffer[:2]
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > _MAX_HEADERS:
                raise BadRequest("A multipart part's headers are too long.")
            if not await more():
                raise BadRequest("The multipart body ends inside a part's headers.")
        name, filename, content_type = _disposition(bytes(buffer[:end]))
        del buffer[: end + 4]
        if len(form.fields) + len(form.files) >= _MAX_PARTS:
            raise BadRequest(f"A multipart body may have at most {_MAX_PARTS} parts.")
        part: FilePart | None = None
        value = bytearray()
        if filename is not None:
            part = FilePart(name, filename, content_type, new_sink(name, filename))
            form.files.append(part)
        while True:
            at = buffer.find(delimiter)
            # Everything but a possible start of the delimiter is this part's data.
            cut = at if at >= 0 else max(0, len(buffer) - len(delimiter) + 1)
            if cut:
                data = bytes(buffer[:cut])
                del buffer[:cut]
                if part is None:
                    value += data
                    if len(value) > _MAX_FIELD:
                        raise BadRequest(f"The form field '{name}' is too long.", param=name)
                elif too_large is None:
                    part.size += len(data)
                    if part.size > max_file_bytes:
                        too_large = part
                    else:
                        part.sink.write(data)
            if at >= 0:
                del buffer[: len(delimiter)]
                break
            if not await more():
                raise BadRequest("The multipart body ends inside a part.")
        if part is None:
            form.fields[name] = value.decode("utf-8", "replace")
            form.repeated.setdefault(name, []).append(form.fields[name])
    await chunks.drain()  # an epilogue after the closing boundary
    if too_large is not None:
        raise BadRequest(
            f"File '{too_large.filename}' is too large: the limit is {max_file_bytes} bytes.",
            status=413,
            param=too_large.name,
            code="file_too_large",
        )
    return form
