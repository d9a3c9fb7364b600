"""Batch processing: builders in, typed results out, a failed line kept apart from the rest.

Ten chat questions go into a batch with custom ids (one of them a request the Batch API refuses,
to show a failed line); the batch is written as JSONL, split in two files at a lowered limit,
uploaded and created; `wait()` polls with backoff and reports progress; the results come back
per custom id as the same `ChatCompletion` that awaiting the builder returns.

Run it with OPENAI_API_KEY set to talk to OpenAI (a real batch takes minutes to hours); without a
key it starts the embedded mock server, whose batches finish in a few seconds. Docs:
docs/uploads-and-batches.md.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import anyio

from openai_ergo import BatchLineError, Client
from openai_ergo.resources import BatchProgress


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            # The mock runs a batch through its states in `batch_seconds` on its clock.
            server = await stack.enter_async_context(serve(seed=3, batch_seconds=2))
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        template = client.chat("gpt-4o-mini").system("Answer in one short sentence.")
        batch = client.batch()
        for n in range(1, 10):
            batch = batch.add(f"question-{n}", template.user(f"What is {n} squared?"))
        # Streaming is not allowed in a batch: the service answers this line with an error.
        batch = batch.add("refused", template.user("Hi").extra_body({"stream": True}))

        # The service takes 50,000 requests or 200 MB a file; lowered here to show the split.
        batch = batch.limits(max_requests=5)
        print(f"{len(batch)} requests to {batch.endpoint}, in {batch.jsonl_parts()} files")

        job = await batch.submit()
        print("created:", ", ".join(job.ids))

        def progress(p: BatchProgress) -> None:
            print(f"  {p.status}: {p.completed + p.failed} of {p.total} done ({p.failed} failed)")

        await job.wait(timeout=600, progress=progress, interval=0.5)

        async with job.results() as results:
            async for result in results:
                if isinstance(result, BatchLineError):
                    print(f"{result.custom_id}: failed ({result.status_code}): {result.message}")
                else:
                    answer = result.value.choices[0].message.content or ""
                    print(f"{result.custom_id}: {answer[:60]}")

        # A job can be picked up later, in another process, from its batch ids.
        again = await client.batch().resume(*job.ids)
        print("resumed:", again.status)


if __name__ == "__main__":
    anyio.run(main)
