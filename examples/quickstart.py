"""Quickstart: one awaited answer, one streamed answer, and a shared template.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that, so it works on a fresh clone with no network.
"""

from __future__ import annotations

import anyio

from openai_ergo.mock import client_or_mock


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        # Awaiting a builder sends the request and returns the typed Response.
        reply = (
            await client.responses("gpt-5-mini")
            .instructions("Be brief.")
            .input("Why is the sky blue?")
        )
        print("answer:", reply.output_text)

        # Streaming: text deltas as they arrive, then the aggregated completion with usage.
        async with client.chat("gpt-4o-mini").system("Be terse.").user("Count to 5").stream() as s:
            async for text in s.text():
                print(text, end="", flush=True)
        print()
        usage = s.final().usage
        print("tokens:", usage.total_tokens if usage else "unknown")

        # Builders are values: derive several requests from one template.
        template = client.chat("gpt-4o-mini").system("Answer in one word.").temperature(0.2)
        for question in ("Capital of France?", "Colour of the sea?"):
            answer = await template.user(question)
            print(f"{question} -> {answer.text}")


if __name__ == "__main__":
    anyio.run(main)
