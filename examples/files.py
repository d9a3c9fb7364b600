"""Files: upload a file with progress, find it in the list, read it back and delete it.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that, so it works on a fresh clone with no network. Docs: docs/uploads-and-batches.md.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import anyio

from openai_ergo import Client


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve())
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        notes = folder / "notes.txt"
        text = "".join(f"Line {n}: the Nile is the longest river in Africa.\n" for n in range(2000))
        notes.write_text(text)

        # The file streams from disk; progress is reported as its bytes go out.
        def progress(sent: int, total: int) -> None:
            print(f"\rsent {sent:,} of {total:,} bytes", end="", flush=True)

        file = await client.files.upload(notes, purpose="assistants", on_progress=progress)
        print()
        print("uploaded:", file.id, file.filename, file.bytes, "bytes")

        # The typed methods work on the same object: list, download, delete.
        listed = [f.id async for f in client.files.list(purpose="assistants")]
        print("listed:", file.id in listed)
        body = await (await client.files.content(file.id or "")).read()
        print("round trip intact:", body == notes.read_bytes())
        deleted = await client.files.delete(file.id or "")
        print("deleted:", deleted.deleted)


if __name__ == "__main__":
    anyio.run(main)
