"""Trio: the same client, under trio's own `trio.run`, nurseries, channels and cancel scopes.

openai-ergo is written on anyio, so nothing changes between asyncio and trio: the builders,
streams, retries and the embedded mock server all run on either. This program is plain trio.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
(paced at 50 tokens a second, answers of 40 to 60 tokens, so the cancellation below has a
stream to cut) and talks to that.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import trio

from openai_ergo import Client

CITIES = ("Paris", "Lima", "Oslo", "Nairobi")


async def ask(client: Client, city: str, results: dict[str, str]) -> None:
    reply = await client.chat("gpt-4o-mini").system("One short sentence.").user(f"About {city}?")
    results[city] = reply.text


async def produce(client: Client, send: trio.MemorySendChannel[str]) -> None:
    """Streams an answer into a channel, closing it at the end so the reader stops."""
    async with send, client.responses("gpt-5-mini").input("Count to 8").stream() as stream:
        async for text in stream.text():
            await send.send(text)


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(
                serve(seed=7, tokens_per_second=50, reply_tokens=(40, 60))
            )
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        # 1. Concurrent requests in a nursery: all four share the client's connection pool.
        results: dict[str, str] = {}
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            for city in CITIES:
                nursery.start_soon(ask, client, city, results)
        print(f"{len(results)} answers in {trio.current_time() - started:.2f} s:")
        for city in CITIES:
            print(f"  {city}: {results[city][:60]}")

        # 2. A stream feeding a memory channel: one task produces, this one consumes.
        send, receive = trio.open_memory_channel[str](16)
        pieces: list[str] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce, client, send)
            async with receive:
                async for piece in receive:
                    pieces.append(piece)
        print(f"through a channel: {len(pieces)} pieces, {''.join(pieces)[:60]!r}...")

        # 3. A cancel scope cuts a stream short; leaving the block closes the response and
        #    gives its connection back, so the client carries on as before.
        words = 0
        with trio.move_on_after(0.3) as scope:
            async with client.chat("gpt-4o-mini").user("A long story").stream() as stream:
                async for _ in stream.text():
                    words += 1
        print(f"cancelled after 0.3 s: {scope.cancelled_caught}, {words} deltas read")
        kept = stream.partial.choices[0].message.content or ""
        print("partial text kept:", repr(kept[:60]))
        after = await client.chat("gpt-4o-mini").user("Still there?")
        print("the next request works:", bool(after.text))


if __name__ == "__main__":
    trio.run(main)
