"""Conversations: the server keeps the history; each turn is one Responses request naming it.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that (its answers are placeholder text, but the conversation's items are real).
See docs/conversations.md.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import anyio

from openai_ergo import Client


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7))
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        # Every turn starts from this builder: the model, instructions, tools, ...
        template = client.responses("gpt-5-mini").instructions("Answer in one short sentence.")
        conv = await client.conversations.start(template, items=["My name is Ada."])
        print("conversation:", conv.id)

        reply = await conv.say("What is my name?")
        print("turn 1:", reply.output_text)

        # A turn is a Responses builder: stream it (or .run() its tools, .parse(T) it).
        print("turn 2: ", end="")
        async with conv.stream("Say it backwards.") as stream:
            async for text in stream.text():
                print(text, end="", flush=True)
        print()

        # The server holds the whole history: the starting item, two questions, two answers.
        async for item in conv.items(order="asc"):
            role = getattr(item, "role", item.type)
            print(f"  {role:9} {getattr(item, 'id', '')}")

        # Keep the id to come back later, from another process: resume checks it exists.
        again = await client.conversations.resume(conv.id, template)
        print("resumed:", again.id == conv.id)
        deleted = await conv.delete()
        print("deleted:", deleted.deleted)


if __name__ == "__main__":
    anyio.run(main)
