"""Multipart request bodies (file uploads) that stream: never read whole into memory.

A `FileUpload` names where a file's bytes come from — a path, bytes, a binary file object or an
async iterable of bytes — with its filename and content type, and reports progress. A
`MultipartBody` lays the form out (RFC 7578) as an `httpx.AsyncByteStream` that the transport
pulls a chunk at a time, so a 1 GiB upload holds one chunk in memory, not the file. Each attempt
iterates the body afresh: a path, bytes or a seekable file is read again from its start, which
lets the retry policy replay the request; an async iterable (or an unseekable file) can be read
once, so the pipeline does not retry a request whose one-shot body was sent.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Sequence
from typing import IO, Any, Protocol, TypeAlias, final

import anyio
import httpx

from openai_ergo._errors import InvalidRequestError

__all__ = ["FileInput", "FileUpload", "MultipartBody"]

#: How much of a file is read per chunk: small enough to keep memory flat, large enough that
#: the per-chunk cost is noise next to the socket's.
CHUNK_SIZE = 256 * 1024

#: What a typed method's file parameter takes: a `FileUpload`, or a source one is made from.
FileInput: TypeAlias = (
    "FileUpload | bytes | bytearray | memoryview | os.PathLike[str] | IO[bytes] | "
    "AsyncIterable[bytes]"
)


class _Reader(Protocol):
    async def read(self) -> bytes: ...

    async def aclose(self) -> None: ...


@final
class FileUpload:
    """One file of a multipart upload: where its bytes come from, its filename and type.

    `source` is a path (`pathlib.Path` or `str`), `bytes`, a binary file object opened for
    reading, or an async iterable of bytes. `filename` defaults to the path's or file's name
    (else `"upload"`); `content_type` is guessed from the filename (else
    `application/octet-stream`). `on_progress(sent, total)` is called after each chunk goes to
    the transport, `total` being `None` when the size is unknown (an async iterable); a retried
    request starts again from 0.

    A path, bytes or a seekable file can be read again, so a failed upload is retried like any
    request. An async iterable or an unseekable file can be read once (`replayable` is False):
    a request that sent it is not retried, and its error says so.
    """

    __slots__ = (
        "_consumed",
        "_source",
        "_start",
        "content_type",
        "filename",
        "on_progress",
        "size",
    )

    def __init__(
        self,
        source: bytes
        | bytearray
        | memoryview
        | str
        | os.PathLike[str]
        | IO[bytes]
        | AsyncIterable[bytes],
        /,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        on_progress: Callable[[int, int | None], object] | None = None,
    ) -> None:
        self._start = 0
        self._consumed = False
        #: The size in bytes, when it is known before sending.
        self.size: int | None
        if isinstance(source, bytes | bytearray | memoryview):
            self._source: Any = bytes(source) if isinstance(source, memoryview) else source
            self.size = len(source)
            default = "upload"
        elif isinstance(source, str | os.PathLike):
            path = os.fspath(source)
            if not os.path.isfile(path):
                raise InvalidRequestError(f"no file to upload at {path!r}", param="file")
            self._source = path
            self.size = os.path.getsize(path)
            default = os.path.basename(path)
        elif callable(getattr(source, "read", None)):
            self._source = source
            self.size = None
            seekable = getattr(source, "seekable", None)
            if seekable is not None and seekable():
                self._start = source.tell()  # type: ignore[union-attr]
                self.size = source.seek(0, os.SEEK_END) - self._start  # type: ignore[union-attr]
                source.seek(self._start)  # type: ignore[union-attr]
            name = getattr(source, "name", None)
            default = os.path.basename(name) if isinstance(name, str) else "upload"
        elif isinstance(source, AsyncIterable):
            self._source = source
            self.size = None
            default = "upload"
        else:
            raise InvalidRequestError(
                "a file to upload is a path, bytes, a binary file object or an async iterable "
                f"of bytes, not {type(source).__name__}",
                param="file",
            )
        #: The filename sent in the part's `Content-Disposition`.
        self.filename = filename or default
        if content_type is None:
            import mimetypes  # only for an upload: not worth its import time up front

            content_type = mimetypes.guess_type(self.filename)[0] or "application/octet-stream"
        if "\r" in content_type or "\n" in content_type:
            raise InvalidRequestError(
                f"the content type of an upload is one header value, not {content_type!r}",
                param="content_type",
            )
        #: The part's `Content-Type`.
        self.content_type = content_type
        self.on_progress = on_progress

    @classmethod
    def of(cls, value: FileInput | str) -> FileUpload:
        """`value` itself if it is a `FileUpload`, else one made from it."""
        return value if isinstance(value, FileUpload) else cls(value)

    @property
    def replayable(self) -> bool:
        """Whether the bytes can be read again (a path, bytes, a seekable file)."""
        source = self._source
        if isinstance(source, bytes | bytearray | str):
            return True
        if callable(getattr(source, "read", None)):
            return self.size is not None
        return False

    def _open(self) -> _Reader:
        if self._consumed and not self.replayable:
            raise InvalidRequestError(
                f"the upload {self.filename!r} reads a one-shot source (an async iterable or "
                "an unseekable file) that was already sent: pass a path, bytes or a seekable "
                "file to send it again",
                param="file",
            )
        self._consumed = True
        source = self._source
        if isinstance(source, bytes | bytearray):
            return _BytesReader(source)
        if isinstance(source, str):
            return _PathReader(source)
        if callable(getattr(source, "read", None)):
            return _FileReader(self, source)
        return _IterableReader(self, source)

    def __repr__(self) -> str:
        size = "unknown size" if self.size is None else f"{self.size} bytes"
        return f"<FileUpload {self.filename!r} {self.content_type} {size}>"


class _BytesReader:
    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes | bytearray) -> None:
        self._data = memoryview(data)
        self._offset = 0

    async def read(self) -> bytes:
        start = self._offset
        chunk = bytes(self._data[start : start + CHUNK_SIZE])
        self._offset = start + len(chunk)
        return chunk

    async def aclose(self) -> None:
        self._data.release()


class _PathReader:
    __slots__ = ("_file", "_path")

    def __init__(self, path: str) -> None:
        self._path = path
        self._file: anyio.AsyncFile[bytes] | None = None

    async def read(self) -> bytes:
        if self._file is None:
            self._file = await anyio.open_file(self._path, "rb")
        return await self._file.read(CHUNK_SIZE)

    async def aclose(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with anyio.CancelScope(shield=True):
                await file.aclose()


class _FileReader:
    __slots__ = ("_file", "_upload")

    def __init__(self, upload: FileUpload, file: IO[bytes]) -> None:
        self._upload = upload
        self._file = file
        if upload.replayable:
            file.seek(upload._start)

    async def read(self) -> bytes:
        # A file object's read blocks: in a worker thread, as anyio's own files do.
        import anyio.to_thread

        chunk = await anyio.to_thread.run_sync(self._file.read, CHUNK_SIZE)
        if not isinstance(chunk, bytes | bytearray):
            raise InvalidRequestError(
                f"the file object of the upload {self._upload.filename!r} returned "
                f"{type(chunk).__name__}, not bytes: open it in binary mode ('rb')",
                param="file",
            )
        return bytes(chunk)

    async def aclose(self) -> None:
        pass  # the caller's file: the caller closes it


class _IterableReader:
    __slots__ = ("_iterator", "_upload")

    def __init__(self, upload: FileUpload, source: AsyncIterable[bytes]) -> None:
        self._upload = upload
        self._iterator: AsyncIterator[bytes] = source.__aiter__()

    async def read(self) -> bytes:
        while True:
            try:
                chunk = await self._iterator.__anext__()
            except StopAsyncIteration:
                return b""
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise InvalidRequestError(
                    f"the async iterable of the upload {self._upload.filename!r} yielded "
                    f"{type(chunk).__name__}, not bytes",
                    param="file",
                )
            if chunk:
                return bytes(chunk)

    async def aclose(self) -> None:
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()


def _quote(name: str) -> str:
    # What browsers do to a form's names and filenames (WHATWG "multipart/form-data encoding").
    return name.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def _flatten(name: str, value: Any) -> Iterator[tuple[str, str]]:
    """Plain data as form fields, the way the official SDK sends them: `a[b]` for a mapping's
    entries, `a[]` for a list's items, `true`/`false` for booleans."""
    if value is None:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(f"{name}[{key}]", item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(f"{name}[]", item)
    elif isinstance(value, bool):
        yield name, "true" if value else "false"
    else:
        yield name, str(value)


@final
class MultipartBody(httpx.AsyncByteStream):
    """A `multipart/form-data` request body, streamed: text fields, then files read a chunk at a
    time. Pass it as `body=` to `client.request(...)`; the typed methods make one from their
    arguments. `content_type` carries the boundary; `content_length` is known unless a file's
    size is not (then the body goes out chunked)."""

    def __init__(
        self,
        fields: dict[str, Any] | None = None,
        files: Sequence[tuple[str, FileInput | str]] | None = None,
    ) -> None:
        data = dict(fields or {})
        #: The `model` field, for Azure's deployment routing.
        self.model: str | None = data.get("model") if isinstance(data.get("model"), str) else None
        self._boundary = os.urandom(16).hex().encode()
        self._fields = [
            (name, text) for key, value in data.items() for name, text in _flatten(key, value)
        ]
        self._files = [(name, FileUpload.of(value)) for name, value in files or []]

    @property
    def content_type(self) -> str:
        """The `Content-Type` header, with the boundary."""
        return f"multipart/form-data; boundary={self._boundary.decode()}"

    @property
    def files(self) -> list[FileUpload]:
        """The files, in the order they are sent."""
        return [upload for _, upload in self._files]

    @property
    def replayable(self) -> bool:
        """Whether every file can be read again, so that the request can be retried."""
        return all(upload.replayable for _, upload in self._files)

    @property
    def content_length(self) -> int | None:
        """The body's size in bytes, or `None` when a file's size is unknown."""
        total = 0
        for segment in self._segments():
            if isinstance(segment, bytes):
                total += len(segment)
            elif segment.size is None:
                return None
            else:
                total += segment.size
        return total

    def _head(self, name: str, file: FileUpload | None = None) -> bytes:
        """A part's boundary line and headers, up to the blank line its content follows."""
        disposition = f'form-data; name="{_quote(name)}"'
        if file is None:
            return b"--%b\r\nContent-Disposition: %b\r\n\r\n" % (
                self._boundary,
                disposition.encode(),
            )
        disposition += f'; filename="{_quote(file.filename)}"'
        return b"--%b\r\nContent-Disposition: %b\r\nContent-Type: %b\r\n\r\n" % (
            self._boundary,
            disposition.encode(),
            file.content_type.encode(),
        )

    def _segments(self) -> Iterator[bytes | FileUpload]:
        for name, text in self._fields:
            yield self._head(name) + text.encode() + b"\r\n"
        for name, upload in self._files:
            yield self._head(name, upload)
            yield upload
            yield b"\r\n"
        yield b"--%b--\r\n" % self._boundary

    def __aiter__(self) -> _BodyIterator:
        # A fresh pass for each attempt: replayable files are read again from their start.
        return _BodyIterator(self._segments())

    async def aclose(self) -> None:
        """Nothing to release: each pass closes what it opened."""

    def __repr__(self) -> str:
        names = [name for name, _ in self._fields] + [name for name, _ in self._files]
        return f"<MultipartBody fields={names} length={self.content_length}>"


@final
class _BodyIterator:
    """One pass over a body, class-based so that an early stop leaves no async generator
    behind (trio reports those)."""

    __slots__ = ("_reader", "_segments", "_sent", "_upload")

    def __init__(self, segments: Iterator[bytes | FileUpload]) -> None:
        self._segments = segments
        self._reader: _Reader | None = None
        self._upload: FileUpload | None = None
        self._sent = 0

    def __aiter__(self) -> _BodyIterator:
        return self

    async def __anext__(self) -> bytes:
        while True:
            reader = self._reader
            if reader is not None:
                chunk = await reader.read()
                if chunk:
                    upload = self._upload
                    assert upload is not None
                    self._sent += len(chunk)
                    if upload.on_progress is not None:
                        upload.on_progress(self._sent, upload.size)
                    return chunk
                self._reader = None
                await reader.aclose()
            segment = next(self._segments, None)
            if segment is None:
                raise StopAsyncIteration
            if isinstance(segment, bytes):
                return segment
            self._reader = segment._open()
            self._upload = segment
            self._sent = 0

    async def aclose(self) -> None:
        """Close the file being read, if any (an interrupted send)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.aclose()
