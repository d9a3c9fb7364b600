"""`client.files` with the upload workflow beside the generated typed methods:
`await client.files.upload(path, purpose=...)` picks one request or the Uploads API by size."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from openai_ergo._namespaces._base import Namespace

if TYPE_CHECKING:
    from openai_ergo.resources._uploads import Progress, UploadHandle
    from openai_ergo.types._generated.files import OpenAIFile

__all__ = ["FilesCall"]

_MB = 1024 * 1024


class FilesCall(Namespace):
    """`client.files`'s hand-written base: the upload workflow (`upload`, `start_upload`)
    beside the generated typed methods (`create`, `retrieve`, `list`, `content`, `delete`)."""

    __slots__ = ()

    async def upload(
        self,
        path: str | os.PathLike[str],
        *,
        purpose: str,
        on_progress: Progress | None = None,
        expires_after: Any = None,
        single_request_limit: int = 512 * _MB,
        part_size: int = 64 * _MB,
        concurrency: int = 4,
        mime_type: str | None = None,
        resume: UploadHandle | None = None,
    ) -> OpenAIFile:
        """Upload the file at `path`, streamed from disk, and return its `OpenAIFile`.

        Up to `single_request_limit` bytes it is one `POST /files`; a larger file goes through
        the Uploads API: parts of `part_size` bytes (at most 64 MB) sent `concurrency` at a
        time, each retried on its own by the client's retry policy, then completed in order
        with the file's md5. `on_progress(sent, total)` reports bytes sent across all parts.
        A part that still fails raises `UploadPartError` naming the part and the upload id;
        `resume=error.handle` (or a handle from `start_upload`) sends only the missing parts.
        """
        from openai_ergo.resources._uploads import upload_file

        return await upload_file(
            self._client,
            path,
            purpose=purpose,
            on_progress=on_progress,
            expires_after=expires_after,
            single_request_limit=single_request_limit,
            part_size=part_size,
            concurrency=concurrency,
            mime_type=mime_type,
            resume=resume,
        )

    async def start_upload(
        self,
        path: str | os.PathLike[str],
        *,
        purpose: str,
        part_size: int = 64 * _MB,
        mime_type: str | None = None,
        expires_after: Any = None,
    ) -> UploadHandle:
        """Create the Upload for the file at `path` and return its `UploadHandle`, sending no
        part: save `handle.to_json()` first when the upload must survive a crash, then pass
        `resume=handle` to `upload()`."""
        from openai_ergo.resources._uploads import start_upload

        return await start_upload(
            self._client,
            path,
            purpose=purpose,
            part_size=part_size,
            mime_type=mime_type,
            expires_after=expires_after,
        )
