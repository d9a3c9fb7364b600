"""Caching strategies: OpenAI's prompt cache, and a response cache of your own keyed on the request.

1. Prompt caching happens on OpenAI's side for prompts of 1,024 tokens or more: requests that
   start with the same prefix reuse it, cheaper and faster. Put what stays the same (instructions,
   tools, examples) first, and give related requests one `prompt_cache_key` so they land where
   that prefix is cached. `usage` reports how many input tokens came from the cache.
2. An application cache skips the request altogether when the very same request was answered
   before. A builder is an immutable value whose `request_body()` is the exact JSON it sends, so
   a hash of that body is a sound key: any change (model, input, temperature, tools) is a miss.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that (the mock reports no cached tokens: it has no prompt cache).
"""

from __future__ import annotations

import hashlib
import os
import time
from contextlib import AsyncExitStack

import anyio
import msgspec

from openai_ergo import Client, ResponsesBuilder
from openai_ergo.types import Response

# A long, fixed prefix: the part of the prompt the service can cache.
HANDBOOK = "You answer questions about the Acme handbook. " + " ".join(
    f"Rule {n}: be accurate about policy {n}." for n in range(1, 200)
)


class ResponseCache:
    """Answers a request seen before from memory, for `ttl` seconds.

    The key is a hash of the request body with its keys sorted, so two builders made in a
    different order but sending the same JSON share an entry.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.hits = 0
        self.misses = 0
        self._entries: dict[str, tuple[float, Response]] = {}

    @staticmethod
    def key(builder: ResponsesBuilder) -> str:
        body = msgspec.json.encode(builder.request_body(), order="sorted")
        return hashlib.sha256(body).hexdigest()

    async def get(self, builder: ResponsesBuilder) -> Response:
        key = self.key(builder)
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] < self.ttl:
            self.hits += 1
            return entry[1]
        self.misses += 1
        response = await builder
        # Only whole answers are worth keeping.
        if response.status == "completed":
            self._entries[key] = (time.monotonic(), response)
        return response


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

        # 2. A response cache keyed on the built request.
        cache = ResponseCache(ttl=300)
        ask = client.responses("gpt-5-mini").temperature(0).instructions("Be brief.")
        first = await cache.get(ask.input("What is the capital of France?"))
        again = await cache.get(ask.input("What is the capital of France?"))
        # The same JSON built in another order is the same key.
        reordered = client.responses("gpt-5-mini").input("What is the capital of France?")
        third = await cache.get(reordered.instructions("Be brief.").temperature(0))
        other = await cache.get(ask.input("What is the capital of Spain?"))
        print(f"cache: {cache.hits} hits, {cache.misses} misses")
        print("same answer from the cache:", first is again is third, "| a new question:", other.id)
        if server is not None:
            print("requests the server saw:", len(server.requests))


if __name__ == "__main__":
    anyio.run(main)
