"""`client.files.upload(path, purpose=...)`: one request for a small file, the Uploads API for a
large one, with progress, bounded concurrency, per-part retries, an md5 check and resumption.

The Uploads API cannot list the parts an upload already holds, so only the client knows which
parts are done: an `UploadHandle` records them as they finish. `client.files.start_upload(...)`
returns one (persist it with `to_json()` to survive a crash), an `UploadPartError` carries one,
and `client.files.upload(path, purpose=..., resume=handle)` sends only the parts it lacks.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, final

import anyio
import anyio.to_thread
import msgspec

from openai_ergo._errors import InvalidRequestError, OpenAIErgoError
from openai_ergo._multipart import FileUpload
from openai_ergo.types._generated.files import OpenAIFile

if TYPE_CHECKING:
    from openai_ergo._client import Client

__all__ = [
    "MAX_PART_BYTES",
    "SINGLE_REQUEST_LIMIT",
    "UploadHandle",
    "UploadPartError",
    "start_upload",
    "upload_file",
]

#: The largest file `POST /files` takes; a larger one goes through the Uploads API.
SINGLE_REQUEST_LIMIT = 512 * 1024 * 1024
#: The largest part the Uploads API takes.
MAX_PART_BYTES = 64 * 1024 * 1024
#: How many parts are in flight at once by default.
DEFAULT_CONCURRENCY = 4

#: `on_progress(sent, total)`: bytes sent so far (a retried part counts again from 0).
Progress = Callable[[int, int], object]


class UploadHandle(msgspec.Struct, kw_only=True):
    """Where a multi-part upload stands: its id, the file it sends, and the id of every part the
    service holds (by part number, from 1). Finished parts are added as they complete, so the
    handle an `UploadPartError` carries (or the one `start_upload` returned) resumes the upload
    without sending them again. `to_json()`/`from_json()` keep it across processes."""

    #: The Upload's id (`upload_...`).
    upload_id: str
    #: The file's path, name, size in bytes and purpose, as the upload was created with.
    path: str
    filename: str
    size: int
    purpose: str
    #: Every part but the last is this long.
    part_size: int
    #: Part number (from 1) → the service's part id, for each finished part.
    parts: dict[int, str] = msgspec.field(default_factory=dict)

    @property
    def part_count(self) -> int:
        """How many parts the file is cut into."""
        return max(1, -(-self.size // self.part_size))

    def remaining(self) -> list[int]:
        """The part numbers not yet sent."""
        return [n for n in range(1, self.part_count + 1) if n not in self.parts]

    def part_range(self, number: int) -> tuple[int, int]:
        """The (offset, length) of part `number` in the file."""
        offset = (number - 1) * self.part_size
        return offset, min(self.part_size, self.size - offset)

    def to_json(self) -> bytes:
        """The handle as JSON, for `from_json` in a later process."""
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> UploadHandle:
        """A handle saved by `to_json()`."""
        return msgspec.json.decode(data, type=cls)


class UploadPartError(OpenAIErgoError):
    """A part of a multi-part upload failed after its retries. `part_number` names it,
    `upload_id` the upload, and `handle` resumes it: `client.files.upload(path, purpose=...,
    resume=err.handle)` sends only the parts not yet finished. The cause is `__cause__`."""

    def __init__(self, part_number: int, handle: UploadHandle, cause: BaseException) -> None:
        self.part_number = part_number
        self.upload_id = handle.upload_id
        self.handle = handle
        done, total = len(handle.parts), handle.part_count
        super().__init__(
            f"part {part_number} of {total} of upload {handle.upload_id} failed: {cause}. "
            f"{done} of {total} parts are stored; resume with "
            "client.files.upload(path, purpose=..., resume=error.handle)"
        )


@final
class _FileRange:
    """A read-only, seekable window onto part of a file: what one part's `FileUpload` reads,
    so a part streams from disk and is re-read from its start when its request is retried."""

    __slots__ = ("_file", "_length", "_offset", "_position", "name")

    def __init__(self, file: IO[bytes], offset: int, length: int, name: str) -> None:
        self._file = file
        self._offset = offset
        self._length = length
        self._position = 0
        self.name = name

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, position: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._length}[whence]
        self._position = min(max(0, base + position), self._length)
        return self._position

    def read(self, size: int = -1) -> bytes:
        left = self._length - self._position
        size = left if size < 0 else min(size, left)
        if size <= 0:
            return b""
        self._file.seek(self._offset + self._position)
        chunk = self._file.read(size)
        self._position += len(chunk)
        return chunk


def _md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _checked_path(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The path as a string and the file's size (a stat: cheap enough to do in the loop)."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise InvalidRequestError(f"no file to upload at {name!r}", param="path")
    return name, os.path.getsize(name)


def _open_readers(path: str, count: int) -> list[IO[bytes]]:
    return [open(path, "rb") for _ in range(count)]


def _checked_purpose(purpose: object) -> str:
    if not isinstance(purpose, str) or not purpose:
        raise InvalidRequestError(
            f"purpose must be a non-empty string (e.g. 'batch'), not {purpose!r}", param="purpose"
        )
    return purpose


def _checked_count(param: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidRequestError(
            f"{param} must be an integer >= {low}, not {value!r}", param=param
        )
    if high is not None and value > high:
        raise InvalidRequestError(f"{param} must be at most {high}, not {value}", param=param)
    return value


async def start_upload(
    client: Client,
    path: str | os.PathLike[str],
    *,
    purpose: str,
    part_size: int = MAX_PART_BYTES,
    mime_type: str | None = None,
    expires_after: Any = None,
) -> UploadHandle:
    """Create an Upload for the file at `path` (`POST /uploads`) and return its handle; no part
    is sent. `client.files.upload(path, purpose=..., resume=handle)` sends them."""
    name, size = _checked_path(path)
    purpose = _checked_purpose(purpose)
    part_size = _checked_count("part_size", part_size, 1, MAX_PART_BYTES)
    filename = os.path.basename(name)
    if mime_type is None:
        mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    upload = await client.uploads.create(
        filename=filename,
        purpose=purpose,
        bytes=size,
        mime_type=mime_type,
        expires_after=expires_after,
    )
    if upload.id is None:
        raise OpenAIErgoError("the service created an upload without an id")
    return UploadHandle(
        upload_id=upload.id,
        path=name,
        filename=filename,
        size=size,
        purpose=purpose,
        part_size=part_size,
    )


async def upload_file(
    client: Client,
    path: str | os.PathLike[str],
    *,
    purpose: str,
    on_progress: Progress | None = None,
    expires_after: Any = None,
    single_request_limit: int = SINGLE_REQUEST_LIMIT,
    part_size: int = MAX_PART_BYTES,
    concurrency: int = DEFAULT_CONCURRENCY,
    mime_type: str | None = None,
    resume: UploadHandle | None = None,
) -> OpenAIFile:
    """Upload the file at `path` and return the `OpenAIFile` (see `FilesCall.upload`)."""
    name, size = _checked_path(path)
    purpose = _checked_purpose(purpose)
    _checked_count("single_request_limit", single_request_limit, 0)
    concurrency = _checked_count("concurrency", concurrency, 1)
    part_size = _checked_count("part_size", part_size, 1, MAX_PART_BYTES)
    if resume is None and size <= single_request_limit:
        progress = None if on_progress is None else _whole_file_progress(on_progress, size)
        return await client.files.create(
            file=FileUpload(name, on_progress=progress),
            purpose=purpose,
            expires_after=expires_after,
        )
    if resume is None:
        handle = await start_upload(
            client,
            name,
            purpose=purpose,
            part_size=part_size,
            mime_type=mime_type,
            expires_after=expires_after,
        )
    else:
        if not isinstance(resume, UploadHandle):
            raise InvalidRequestError(
                "resume takes the UploadHandle of the interrupted upload (error.handle, or "
                f"what start_upload returned), not {type(resume).__name__}",
                param="resume",
            )
        if resume.size != size:
            raise InvalidRequestError(
                f"the file at {name!r} is {size} bytes, but upload {resume.upload_id} was "
                f"started for {resume.size}: it changed, so the stored parts no longer match",
                param="resume",
            )
        handle = resume
    return await _send_parts(client, handle, name, on_progress, concurrency)


def _whole_file_progress(on_progress: Progress, size: int) -> Callable[[int, int | None], object]:
    def report(sent: int, _total: int | None) -> None:
        on_progress(sent, size)

    return report


async def _send_parts(
    client: Client,
    handle: UploadHandle,
    path: str,
    on_progress: Progress | None,
    concurrency: int,
) -> OpenAIFile:
    # The md5 is read in a worker thread while the parts go out: the disk read overlaps the
    # network instead of adding a whole pass before it.
    md5: list[str] = []
    failures: list[tuple[int, BaseException]] = []
    pending = iter(handle.remaining())
    sent = {n: handle.part_range(n)[1] for n in handle.parts}

    def progress_of(number: int) -> Callable[[int, int | None], None]:
        def report(part_sent: int, _total: int | None) -> None:
            sent[number] = part_sent
            if on_progress is not None:
                on_progress(sum(sent.values()), handle.size)

        return report

    async def digest() -> None:
        md5.append(await anyio.to_thread.run_sync(_md5, path))

    async def worker(file: IO[bytes]) -> None:
        # Workers share one iterator, so each part is taken once; after a failure no new part
        # starts, and the ones in flight finish and are recorded in the handle.
        for number in pending:
            if failures:
                return
            offset, length = handle.part_range(number)
            data = FileUpload(
                _FileRange(file, offset, length, handle.filename),  # type: ignore[arg-type]
                filename=handle.filename,
                content_type="application/octet-stream",
                on_progress=progress_of(number),
            )
            try:
                part = await client.uploads.parts.create(handle.upload_id, data=data)
            except OpenAIErgoError as exc:
                failures.append((number, exc))
                return
            if part.id is None:
                failures.append(
                    (number, OpenAIErgoError("the service answered a part without an id"))
                )
                return
            handle.parts[number] = part.id

    # One open file per worker: a part's reads seek the file, so workers must not share one.
    files = _open_readers(path, min(concurrency, len(handle.remaining()) or 1))
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(digest)
            for file in files:
                group.start_soon(worker, file)
    finally:
        for file in files:
            file.close()
    if failures:
        number, cause = min(failures, key=lambda failure: failure[0])
        raise UploadPartError(number, handle, cause) from cause
    part_ids = [handle.parts[n] for n in range(1, handle.part_count + 1)]
    upload = await client.uploads.complete(handle.upload_id, part_ids=part_ids, md5=md5[0])
    if upload.file is None:
        raise OpenAIErgoError(f"upload {handle.upload_id} completed without a file")
    return msgspec.convert(upload.file, OpenAIFile)
