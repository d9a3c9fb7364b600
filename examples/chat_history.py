"""A conversation that grows turn by turn: `ChatHistory` is an immutable value.

Each turn appends the user's message and the model's reply, giving a new history; the old one
stays as it was, so a conversation can be branched. With Responses, `follow_up` chains turns on
the server instead. Run it with OPENAI_API_KEY set, or without it against the embedded mock.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import anyio

from openai_ergo import ChatHistory, Client


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7, reply_tokens=8))
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        chat = client.chat("gpt-4o-mini").temperature(0.3)
        history = ChatHistory().system("You are a patient maths tutor. Be brief.")
        for question in ("What is a prime number?", "Is 21 one?", "Why not?"):
            history = history.user(question)
            reply = await chat.messages(history)
            history = history.reply(reply)
            print(f"user: {question}\nassistant: {reply.text}")
        print(f"({len(history)} messages so far)")

        # Branch: the same history, a different last question.
        branch = history[:-2].user("Is 23 one?")
        print("branch:", (await chat.messages(branch)).text)

        # The Responses API keeps the conversation on the server: chain by response id.
        first = await client.responses("gpt-5-mini").input("Name a prime number.")
        second = await client.responses("gpt-5-mini").follow_up(first, "And the next one?")
        print("responses:", first.output_text, "|", second.output_text)


if __name__ == "__main__":
    anyio.run(main)
