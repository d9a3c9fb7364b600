"""Files and Uploads: multipart bodies read as a stream, content kept spooled, downloads streamed.

A file's bytes live in a `SpooledTemporaryFile` (memory up to 1 MiB, then an unlinked temporary
file), so neither an upload nor a download holds a large file whole in memory. Uploads take
parts in any order, concurrently; `complete` joins them in the order given, checks the declared
size and the md5, and makes a file.

Upload: pending ──complete──▶ completed (with `file`)
           ├──────cancel────▶ cancelled
           └──(expires_at)──▶ expired
"""

from __future__ import annotations

import hashlib
import tempfile
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from openai_ergo.mock._endpoints import BadRequest, missing_parameter
from openai_ergo.mock._multipart import FilePart, Form, boundary_of, read_form
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import Collection, MockClock, page
from openai_ergo.mock._wire import new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["FileStore"]

#: Purposes a client may upload for.
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
#: The service's size limits (bytes): 512 MB a file, 200 MB a batch input, 64 MB an upload
#: part, 8 GB an upload.
FILE_LIMIT = 512 * 1024 * 1024
BATCH_LIMIT = 200 * 1024 * 1024
PART_LIMIT = 64 * 1024 * 1024
UPLOAD_LIMIT = 8 * 1024 * 1024 * 1024
#: An upload expires an hour after it was created, as on the service.
UPLOAD_SECONDS = 3600
_SPOOL = 1024 * 1024
_CHUNK = 64 * 1024
_JSONL_PURPOSES = ("batch", "fine-tune")


def new_spool() -> IO[bytes]:
    """A spooled temporary file: memory up to 1 MiB, then an unlinked file on disk."""
    return tempfile.SpooledTemporaryFile(max_size=_SPOOL)


@dataclass
class StoredFile:
    """One file: its object fields and its spooled bytes."""

    id: str
    filename: str
    purpose: str
    content: IO[bytes]
    size: int
    created_at: int = field(default_factory=now)
    expires_at: int | None = None

    def render(self) -> dict[str, Any]:
        """The File object."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.size,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }

    def chunks(self) -> Iterator[bytes]:
        """The bytes, a chunk at a time (for a streamed download)."""
        self.content.seek(0)
        while chunk := self.content.read(_CHUNK):
            yield chunk

    def lines(self) -> Iterator[bytes]:
        """The bytes, a line at a time (for a batch's input)."""
        self.content.seek(0)
        yield from self.content


@dataclass
class StoredUpload:
    """One upload and its parts (each spooled on its own, joined on completion)."""

    id: str
    filename: str
    purpose: str
    size: int
    mime_type: str
    started: float
    created_at: int = field(default_factory=now)
    parts: dict[str, IO[bytes]] = field(default_factory=dict)
    state: str = "pending"
    file: StoredFile | None = None

    def status(self, clock_now: float) -> str:
        """pending, completed, cancelled, or expired once its hour is up."""
        if self.state == "pending" and clock_now - self.started >= UPLOAD_SECONDS:
            return "expired"
        return self.state

    def render(self, clock_now: float) -> dict[str, Any]:
        """The Upload object."""
        return {
            "id": self.id,
            "object": "upload",
            "bytes": self.size,
            "created_at": self.created_at,
            "expires_at": self.created_at + UPLOAD_SECONDS,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status(clock_now),
            "file": None if self.file is None else self.file.render(),
        }

    def close(self) -> None:
        """Release the parts' spooled bytes."""
        for part in self.parts.values():
            part.close()
        self.parts.clear()


def _close_all(files: Collection[StoredFile], uploads: Collection[StoredUpload]) -> None:
    for stored in files:
        stored.content.close()
    for upload in uploads:
        upload.close()


class FileStore:
    """The files and uploads of one mock server."""

    def __init__(self, clock: MockClock, owner: object) -> None:
        self.clock = clock
        self.files: Collection[StoredFile] = Collection("File")
        self.uploads: Collection[StoredUpload] = Collection("Upload")
        # Spooled files that rolled to disk warn when collected open: close them when the
        # owner goes, even if nobody called reset().
        weakref.finalize(owner, _close_all, self.files, self.uploads)

    def clear(self) -> None:
        """Forget (and close) every file and upload."""
        _close_all(self.files, self.uploads)
        self.files.clear()
        self.uploads.clear()

    def add(self, filename: str, purpose: str, content: IO[bytes], size: int) -> StoredFile:
        """Keep a file (an upload's, a batch's output)."""
        stored = StoredFile(new_id("file-"), filename, purpose, content, size)
        return self.files.put(stored.id, stored)

    def add_bytes(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        """Keep a file made by the mock itself."""
        content = new_spool()
        content.write(data)
        return self.add(filename, purpose, content, len(data))

    def delete(self, file_id: str) -> StoredFile:
        """Remove a file and release its bytes."""
        stored = self.files.delete(file_id)
        stored.content.close()
        return stored

    def upload(self, upload_id: str, *, pending: bool) -> StoredUpload:
        """An upload by id; with `pending`, one that still takes parts (else a 400 says why)."""
        upload = self.uploads.get(upload_id)
        status = upload.status(self.clock.time())
        if pending and status != "pending":
            raise BadRequest(
                f"Upload '{upload_id}' is {status}: it no longer accepts parts or completion.",
                param="upload_id",
            )
        return upload


def _purpose(value: Any) -> str:
    if value is None or value == "":
        raise missing_parameter("purpose")
    if value not in UPLOAD_PURPOSES:
        raise BadRequest(
            f"Invalid value: '{value}'. Supported values are: "
            + ", ".join(f"'{p}'" for p in UPLOAD_PURPOSES)
            + ".",
            param="purpose",
            code="invalid_value",
        )
    return str(value)


def _check_kind(filename: str, purpose: str, size: int) -> None:
    if purpose in _JSONL_PURPOSES and not filename.lower().endswith(".jsonl"):
        raise BadRequest(
            f"Invalid file format for purpose '{purpose}': '{filename}' must be a .jsonl file.",
            param="file",
            code="invalid_file_format",
        )
    limit = BATCH_LIMIT if purpose == "batch" else FILE_LIMIT
    if size > limit:
        raise BadRequest(
            f"File '{filename}' is too large for purpose '{purpose}': the limit is {limit} bytes.",
            status=413,
            param="file",
            code="file_too_large",
        )
    if size == 0:
        raise BadRequest(f"File '{filename}' is empty.", param="file", code="empty_file")


# -- files --------------------------------------------------------------------------------------


async def receive_file(
    call: Call, *, max_file_bytes: int, check: Callable[[Form, FilePart], None]
) -> tuple[Form, FilePart, IO[bytes]]:
    """A multipart body read as it arrives, its `file` part spooled: the form, the part and
    its spool, which is the caller's to keep or close (every other part's is closed).

    `check` may refuse the form and its file (by raising): then nothing is kept.
    """
    boundary = boundary_of(call.request.headers.get("content-type", ""))
    spools: list[IO[bytes]] = []

    def sink(_name: str, _filename: str) -> IO[bytes]:
        spools.append(new_spool())
        return spools[-1]

    keep: IO[bytes] | None = None
    try:
        form = await read_form(call.body_chunks(), boundary, sink, max_file_bytes=max_file_bytes)
        part = next((f for f in form.files if f.name == "file"), None)
        if part is None:
            raise missing_parameter("file")
        check(form, part)
        keep = next(spool for spool in spools if spool is part.sink)
        return form, part, keep
    finally:
        for spool in spools:
            if spool is not keep:
                spool.close()


async def create_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/files`: multipart `file` and `purpose`, read as it arrives."""

    def check(form: Form, part: FilePart) -> None:
        _check_kind(part.filename, _purpose(form.fields.get("purpose")), part.size)

    form, part, content = await receive_file(call, max_file_bytes=app.max_file_bytes, check=check)
    stored = app.files.add(part.filename, form.fields["purpose"], content, part.size)
    seconds = form.fields.get("expires_after[seconds]")
    if seconds and seconds.isdigit():
        stored.expires_at = stored.created_at + int(seconds)
    return stored.render()


async def list_files(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/files`: newest first, filtered by `purpose`."""
    query = call.queried()
    purpose = query.get("purpose")
    chosen = [f for f in app.files.files if not purpose or f.purpose == purpose]
    return page(
        chosen,
        query,
        render=StoredFile.render,
        key=lambda f: f.id,
        max_limit=10_000,
        default_limit=10_000,
    )


async def retrieve_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/files/{file_id}`."""
    return app.files.files.get(call.params["file_id"]).render()


async def delete_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/files/{file_id}`."""
    stored = app.files.delete(call.params["file_id"])
    return {"id": stored.id, "object": "file", "deleted": True}


async def file_content(app: MockOpenAI, call: Call) -> None:
    """`GET /v1/files/{file_id}/content`: the bytes, streamed a chunk at a time."""
    await send_content(call, app.files.files.get(call.params["file_id"]))


async def send_content(call: Call, stored: StoredFile) -> None:
    """Answer with a file's bytes, streamed a chunk at a time (whole under a fault)."""
    content_type = b"application/octet-stream"
    if call.fault is not None:
        # A fault acts on a whole body; the files faults are tried on are small.
        await call.reply.raw(200, b"".join(stored.chunks()), call.fault, content_type=content_type)
        return
    extra = [(b"content-disposition", f'attachment; filename="{stored.filename}"'.encode())]
    await call.reply.start(200, call.reply.headers(content_type, extra))
    for chunk in stored.chunks():
        await call.reply.body(chunk, more=True)
    await call.reply.body(b"")


# -- uploads ------------------------------------------------------------------------------------


async def create_upload(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/uploads`: declare the file; parts come next."""
    body = call.request.json
    for name in ("filename", "purpose", "bytes", "mime_type"):
        if body.get(name) is None:
            raise missing_parameter(name)
    purpose = _purpose(body["purpose"])
    size = body["bytes"]
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= UPLOAD_LIMIT:
        raise BadRequest(
            f"Invalid 'bytes': expected an integer from 1 to {UPLOAD_LIMIT}, got {size!r}.",
            param="bytes",
            code="invalid_value",
        )
    filename = str(body["filename"])
    if purpose in _JSONL_PURPOSES:
        _check_kind(filename, purpose, 1)
    upload = StoredUpload(
        id=new_id("upload_"),
        filename=filename,
        purpose=purpose,
        size=size,
        mime_type=str(body["mime_type"]),
        started=app.clock.time(),
    )
    app.files.uploads.put(upload.id, upload)
    return upload.render(app.clock.time())


async def add_upload_part(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/uploads/{upload_id}/parts`: one multipart `data` part, up to 64 MB."""
    upload = app.files.upload(call.params["upload_id"], pending=True)
    boundary = boundary_of(call.request.headers.get("content-type", ""))
    spool = new_spool()
    try:
        form = await read_form(
            call.body_chunks(), boundary, lambda _n, _f: spool, max_file_bytes=PART_LIMIT
        )
        part = next((f for f in form.files if f.name == "data"), None)
        if part is None:
            raise missing_parameter("data")
        # Checked again now: the upload may have been cancelled while this part arrived.
        app.files.upload(upload.id, pending=True)
    except BaseException:
        spool.close()
        raise
    part_id = new_id("part_")
    upload.parts[part_id] = spool
    return {
        "id": part_id,
        "object": "upload.part",
        "created_at": now(),
        "upload_id": upload.id,
    }


async def complete_upload(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/uploads/{upload_id}/complete`: join the parts in order into a file."""
    upload = app.files.upload(call.params["upload_id"], pending=True)
    body = call.request.json
    part_ids = body.get("part_ids")
    if not isinstance(part_ids, list) or not part_ids:
        raise missing_parameter("part_ids")
    unknown = [p for p in part_ids if p not in upload.parts]
    if unknown or len(set(part_ids)) != len(part_ids):
        raise BadRequest(
            f"Invalid 'part_ids': {unknown[0] if unknown else 'a repeated id'} is not a part of "
            f"upload '{upload.id}' (each part once).",
            param="part_ids",
        )
    joined = new_spool()
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    for part_id in part_ids:
        part = upload.parts[part_id]
        part.seek(0)
        while chunk := part.read(_CHUNK):
            joined.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    problem = None
    if size != upload.size:
        problem = BadRequest(
            f"The parts hold {size} bytes, but the upload declared {upload.size}.",
            param="part_ids",
        )
    md5 = body.get("md5")
    if problem is None and md5 is not None and md5 != digest.hexdigest():
        problem = BadRequest(
            "The md5 checksum does not match the parts' bytes.", param="md5", code="invalid_md5"
        )
    if problem is not None:
        joined.close()
        raise problem
    upload.file = app.files.add(upload.filename, upload.purpose, joined, size)
    upload.state = "completed"
    upload.close()
    return upload.render(app.clock.time())


async def cancel_upload(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/uploads/{upload_id}/cancel`: no parts may be added after this."""
    upload = app.files.upload(call.params["upload_id"], pending=True)
    upload.state = "cancelled"
    upload.close()
    return upload.render(app.clock.time())
