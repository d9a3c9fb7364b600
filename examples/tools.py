"""Tools: typed Python functions the model calls, run by the tool loop until it answers.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and scripts its answers (two tool calls, then a reply) so the loop has something to do.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import Literal

import anyio
import anyio.lowlevel

from openai_ergo import Client, tool


@tool
async def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """The current weather in a city.

    Args:
        city: The city, e.g. Paris.
        unit: The temperature unit.
    """
    await anyio.lowlevel.checkpoint()  # a real tool would call a weather service here
    return f"18 degrees {unit} and sunny in {city}"


@tool
def local_time(city: str) -> str:
    """The local time in a city (a sync function: it runs in a worker thread).

    Args:
        city: The city, e.g. Tokyo.
    """
    return {"Paris": "14:05", "Tokyo": "21:05"}.get(city, "unknown")


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import Reply, ToolCall, serve

            server = await stack.enter_async_context(serve(seed=7))
            server.reply_with(
                Reply(
                    tool_calls=(
                        ToolCall(name="get_weather", arguments={"city": "Paris", "unit": None}),
                        ToolCall(name="local_time", arguments={"city": "Paris"}),
                    )
                ),
                "It is 14:05 in Paris: 18 degrees and sunny.",
            )
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        run = (
            client.responses("gpt-5-mini")
            .tools(get_weather, local_time)
            .input("What time is it in Paris, and what's the weather?")
            .run(max_steps=5)
        )
        answer = await run
        for number, step in enumerate(run.steps, 1):
            for call in step.calls:
                print(f"step {number}: {call.name}({call.arguments}) -> {call.output}")
        print("answer:", answer.output_text)


if __name__ == "__main__":
    anyio.run(main)
