"""Chat streaming: text deltas, several choices in one stream, usage, and a stream that goes quiet.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that, so it works on a fresh clone with no network. Against the mock the last part
makes a stream fall silent, to show the idle timeout and the text kept from before it.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import anyio

from openai_ergo import ChatHistory, Client, StreamIdleTimeoutError


async def main() -> None:
    async with AsyncExitStack() as stack:
        server = None
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7))
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        chat = client.chat("gpt-4o-mini").system("Be terse.")

        # 1. The text as it arrives; `final()` is the whole ChatCompletion, usage included (chat
        #    streams ask for `stream_options.include_usage` by default, and fold its
        #    choice-less last chunk into `final()`).
        async with chat.user("Count to 5").stream() as stream:
            async for text in stream.text():
                print(text, end="", flush=True)
        print()
        final = stream.final()
        usage = final.usage
        tokens = f"{usage.prompt_tokens} in, {usage.completion_tokens} out" if usage else "none"
        print("finish:", final.choices[0].finish_reason, "| tokens:", tokens)

        # 2. Two choices in one stream: each chunk says which choice it belongs to.
        drafts: dict[int, list[str]] = {0: [], 1: []}
        async with chat.user("Suggest a name for a cat.").n(2).stream() as stream:
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        drafts[choice.index].append(choice.delta.content)
        for index, pieces in drafts.items():
            print(f"choice {index}: {''.join(pieces)}")
        # The aggregate holds both choices too, equal to what was streamed.
        assert [c.message.content for c in stream.final().choices] == [
            "".join(pieces) for pieces in drafts.values()
        ]

        # 3. A streamed reply goes into a chat history like an awaited one.
        history = ChatHistory().system("Be terse.").user("Name a planet.")
        async with chat.messages(history).stream() as stream:
            await stream.until_done()
        history = history.reply(stream.final()).user("And its moon?")
        print(f"history: {len(history)} messages, last reply {history[-2]}")

        # 4. `.timeout(s)` bounds every silence in a stream: one that goes quiet raises
        #    StreamIdleTimeoutError, with the text that arrived before the silence.
        if server is not None:
            server.fail_next("idle; after=4", path="/v1/chat/completions")
        try:
            async with chat.user("Tell me a story.").timeout(0.5).stream() as stream:
                async for _ in stream.text():
                    pass
            print("no silence (no fault armed):", stream.final().choices[0].finish_reason)
        except StreamIdleTimeoutError as err:
            kept = err.partial.choices[0].message.content if err.partial is not None else ""
            print(f"went quiet after {len(err.events)} chunks; kept: {kept!r}")


if __name__ == "__main__":
    anyio.run(main)
