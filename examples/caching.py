"""Caching strategies: OpenAI's prompt cache, and the client's response cache.

1. Prompt caching happens on OpenAI's side for prompts of 1,024 tokens or more: requests that
   start with the same prefix reuse it, cheaper and faster. Put what stays the same (instructions,
   tools, examples) first, and give related requests one `prompt_cache_key` so they land where
   that prefix is cached. `usage` reports how many input tokens came from the cache.
2. The response cache (`Client(cache=ResponseCache(...))`) skips the request altogether when the
   very same request was answered before: keyed on the canonical request, streamed answers
   replayed as typed events, only whole answers kept (docs/caching.md).

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that (the mock reports no cached tokens: it has no prompt cache).
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import anyio

from openai_ergo import Client, RequestOptions, ResponseCache

# A long, fixed prefix: the part of the prompt the service can cache.
HANDBOOK = "You answer questions about the Acme handbook. " + " ".join(
    f"Rule {n}: be accurate about policy {n}." for n in range(1, 200)
)


async def main() -> None:
    async with AsyncExitStack() as stack:
        server = None
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7))
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        # 1. Prompt caching: the same long instructions first, one cache key for the family.
        support = (
            client.responses("gpt-5-mini")
            .instructions(HANDBOOK)
            .prompt_cache_key("acme-handbook")
            .prompt_cache_retention("24h")  # keep the prefix cached longer than in memory
        )
        for question in ("How many days of leave?", "Who approves travel?"):
            reply = await support.input(question)
            usage = reply.usage
            details = usage.input_tokens_details if usage else None
            cached = details.cached_tokens if details else 0
            total = usage.input_tokens if usage else 0
            print(f"{question!r}: {total} input tokens, {cached} from the prompt cache")
        # Chat reports the same in `usage.prompt_tokens_details.cached_tokens`.
        chat = await client.chat("gpt-4o-mini").system(HANDBOOK).prompt_cache_key("acme").user("Hi")
        chat_details = chat.usage.prompt_tokens_details if chat.usage else None
        print("chat cached tokens:", chat_details.cached_tokens if chat_details else 0)

        # 2. The response cache: the same request again is answered without the network.
        cache = ResponseCache(ttl=300)
        caching = client.with_options(cache=cache)  # the same connections, with the cache
        ask = caching.responses("gpt-5-mini").temperature(0).instructions("Be brief.")
        first = await ask.input("What is the capital of France?")
        again = await ask.input("What is the capital of France?")
        # The same JSON built in another order is the same key.
        reordered = caching.responses("gpt-5-mini").input("What is the capital of France?")
        third = await reordered.instructions("Be brief.").temperature(0)
        other = await ask.input("What is the capital of Spain?")
        # Streams are cached too, and replayed as the same typed events.
        async with ask.input("Name three rivers.").stream() as live:
            await live.until_done()
        async with ask.input("Name three rivers.").stream() as replay:
            await replay.until_done()
        # A request that must be fresh opts out.
        fresh = await ask.input("What is the capital of France?").options(
            RequestOptions(cache=False)
        )
        stats = cache.statistics()
        print(f"cache: {stats.hits} hits, {stats.misses} misses, {stats.stored} stored")
        print("same answer from the cache:", again == first == third, "| a new question:", other.id)
        print("replayed stream, same final:", replay.final() == live.final(), "| fresh:", fresh.id)
        if server is not None:
            print("requests the server saw:", len(server.requests))


if __name__ == "__main__":
    anyio.run(main)
