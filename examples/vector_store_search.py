"""Vector stores: upload a few notes, wait until they are indexed, search them, and let the
model answer from them with the `file_search` tool, citing the files it quoted.

Run it with OPENAI_API_KEY set to talk to OpenAI (it deletes the store it made); without a key it
starts the embedded mock server and talks to that, so it works on a fresh clone with no network.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import anyio

from openai_ergo import Client
from openai_ergo.types import FileCitation, VectorStoreObject

NOTES = {
    "nile.md": ("The Nile is the longest river in Africa, flowing north to the sea.", 2020),
    "sahara.md": ("The Sahara is the largest hot desert, south of the Mediterranean.", 2024),
    "amazon.md": ("The Amazon river carries more water than any other river.", 2022),
}


def show(store: VectorStoreObject) -> None:
    counts = store.file_counts
    if counts is not None:
        print(f"  indexing: {counts.completed}/{counts.total} done, {counts.failed} failed")


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7))
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        builder = client.vector_store("geography notes").expires_after(1)
        for name, (text, year) in NOTES.items():
            (folder / name).write_text(text, encoding="utf-8")
            builder = builder.file(folder / name, attributes={"year": year})

        # Awaiting the builder creates the store, uploads the files and attaches them.
        store = await builder
        print("store:", store.id)
        info = await store.wait(timeout=120, progress=show)
        print("indexed:", info.file_counts.completed if info.file_counts else 0, "files")

        # A search gives typed results, best first; filters work on the files' attributes.
        page = await store.search("Which river is the longest?").max_results(3)
        for hit in page.data or []:
            print(f"  {hit.score:.3f} {hit.filename}")
        recent = {"type": "gte", "key": "year", "value": 2022}
        newer = await store.search("river").filters(recent)
        print("rivers noted since 2022:", [hit.filename for hit in newer.data or []])

        # The model answers from the store and cites the files it quoted.
        reply = (
            await client.responses("gpt-4o-mini")
            .tools(store.file_search(max_num_results=3))
            .input("Which river is the longest?")
        )
        print("answer:", reply.output_text)
        for item in reply.output:
            for part in getattr(item, "content", None) or []:
                for note in getattr(part, "annotations", None) or []:
                    if isinstance(note, FileCitation):
                        print("  cited:", note.filename)

        await store.delete()


if __name__ == "__main__":
    anyio.run(main)
