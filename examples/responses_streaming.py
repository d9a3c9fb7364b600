"""Responses streaming: typed events as they arrive, the text alone, and what survives a break.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that, so it works on a fresh clone with no network. Against the mock the last part
also cuts a stream off mid-way, to show that what arrived before the break is kept.
"""

from __future__ import annotations

import os
from collections import Counter
from contextlib import AsyncExitStack

import anyio

from openai_ergo import Client, StreamInterruptedError
from openai_ergo.types import ResponseTextDeltaEvent


async def main() -> None:
    async with AsyncExitStack() as stack:
        server = None
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7))
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        question = client.responses("gpt-5-mini").instructions("Be brief.")

        # 1. Every typed event, in the API's order; `isinstance` narrows an event to its class.
        kinds: Counter[str] = Counter()
        async with question.input("Why is the sky blue?").stream() as stream:
            async for event in stream:
                kinds[event.type] += 1
                if isinstance(event, ResponseTextDeltaEvent):
                    print(event.delta, end="", flush=True)
        print()
        for kind, count in kinds.items():
            print(f"  {count:3} x {kind}")
        # `final()` is the aggregated Response: the same object the awaited call returns.
        final = stream.final()
        print(
            "status:", final.status, "| output tokens:", final.usage and final.usage.output_tokens
        )

        # 2. Only the text: `text()` skips every other event.
        async with question.input("Name three colours.").stream() as stream:
            pieces = [piece async for piece in stream.text()]
        print(f"text() gave {len(pieces)} deltas: {''.join(pieces)!r}")

        # 3. Read a little, then let `until_done()` read the rest and return the final object
        #    (the official SDK's `get_final_response()`).
        async with question.input("Count to ten.").stream() as stream:
            async for _ in stream:
                break  # look at the first event only
            response = await stream.until_done()
        print("until_done():", response.output_text)

        # 4. A stream that breaks keeps what arrived: `partial` is the Response so far.
        if server is not None:
            server.fail_next("disconnect; after=8", path="/v1/responses")
        try:
            async with question.input("Tell me a long story.").stream() as stream:
                async for _ in stream.text():
                    pass
            print("the stream finished (no fault armed):", stream.final().status)
        except StreamInterruptedError as err:
            kept = err.partial.output_text if err.partial is not None else ""
            print(f"interrupted after {len(err.events)} events; kept text: {kept!r}")


if __name__ == "__main__":
    anyio.run(main)
