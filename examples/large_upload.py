"""A large file through the Uploads API: parts sent concurrently, an md5 check, and an upload
that survives a failing part and resumes without sending its finished parts again.

OpenAI takes up to 512 MB in one request and 64 MB a part; this example lowers both limits so a
3 MB file shows the mechanics quickly. Without OPENAI_API_KEY it runs against the embedded mock
server, which is also told to fail one part, to show the resumption. Docs:
docs/uploads-and-batches.md.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import anyio

from openai_ergo import Client, RetryPolicy, UploadHandle, UploadPartError

MB = 1024 * 1024


async def main() -> None:
    async with AsyncExitStack() as stack:
        server = None
        retry = RetryPolicy(max_attempts=2, initial_backoff=0.1)
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client(retry=retry))
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve())
            client = await stack.enter_async_context(
                Client(base_url=server.url, api_key="sk-mock", retry=retry)
            )

        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        data = folder / "requests.jsonl"
        data.write_bytes(b'{"n": 1}\n' * (3 * MB // 9))
        size = data.stat().st_size

        # Start the upload first and keep its handle (save handle.to_json() to survive a crash):
        # the Uploads API cannot list the parts it holds, so the handle records them.
        handle = await client.files.start_upload(data, purpose="batch", part_size=MB)
        print(f"upload {handle.upload_id}: {size:,} bytes in {handle.part_count} parts")

        if server is not None:
            # Fail both attempts of a part: the upload stops and names the part.
            server.app.fail_next(
                "server_error", times=2, path=f"/v1/uploads/{handle.upload_id}/parts"
            )
        try:
            file = await client.files.upload(data, purpose="batch", resume=handle, concurrency=1)
        except UploadPartError as error:
            print(f"part {error.part_number} failed; parts stored: {sorted(error.handle.parts)}")
            saved = error.handle.to_json()  # what a program would write to disk
            resumed = UploadHandle.from_json(saved)
            sent: list[int] = []
            file = await client.files.upload(
                data,
                purpose="batch",
                resume=resumed,
                on_progress=lambda done, total: sent.append(done),
            )
            print(f"resumed {resumed.upload_id}: progress reached {sent[-1]:,} bytes")

        print("file:", file.id, file.bytes, "bytes, as uploaded:", file.bytes == size)
        body = await (await client.files.content(file.id or "")).read()
        print("content intact (md5 checked by the service too):", body == data.read_bytes())


if __name__ == "__main__":
    anyio.run(main)
