"""Parallel tools: several tool calls in one turn, run concurrently, sent back together.

The model may ask for several tools at once (`parallel_tool_calls`, on by default on the API).
`.run()` runs the calls of one turn concurrently in a task group, so three slow lookups take about
as long as one. A tool that fails does not sink the others: its error goes back to the model as
that call's output.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and scripts its answers (three calls in one turn, then a reply) so the loop has something to do.
"""

from __future__ import annotations

import os
import time
from contextlib import AsyncExitStack

import anyio

from openai_ergo import Client, tool

SLOW_SERVICE_SECONDS = 0.3
in_flight = 0
most_in_flight = 0


async def _slow_service() -> None:
    """Stands for a network call; counts how many tools wait at the same time."""
    global in_flight, most_in_flight
    in_flight += 1
    most_in_flight = max(most_in_flight, in_flight)
    try:
        await anyio.sleep(SLOW_SERVICE_SECONDS)
    finally:
        in_flight -= 1


@tool
async def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: The city, e.g. Paris.
    """
    await _slow_service()
    return f"18 degrees and sunny in {city}"


@tool
async def get_air_quality(city: str) -> str:
    """The air quality index in a city.

    Args:
        city: The city, e.g. Paris.
    """
    await _slow_service()
    return f"AQI 42 (good) in {city}"


@tool
async def get_pollen(city: str) -> str:
    """Today's pollen count in a city.

    Args:
        city: The city, e.g. Paris.
    """
    await _slow_service()
    raise RuntimeError(f"the pollen service has no station in {city}")


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import Reply, ToolCall, serve

            server = await stack.enter_async_context(serve(seed=7))
            paris = {"city": "Paris"}
            server.reply_with(
                Reply(
                    tool_calls=(
                        ToolCall(name="get_weather", arguments=paris),
                        ToolCall(name="get_air_quality", arguments=paris),
                        ToolCall(name="get_pollen", arguments=paris),
                    )
                ),
                "Paris: 18 degrees and sunny, good air; no pollen data today.",
            )
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        run = (
            client.chat("gpt-4o-mini")
            .tools(get_weather, get_air_quality, get_pollen)
            .parallel_tool_calls(True)
            .user("Weather, air quality and pollen in Paris, please: call all three tools at once.")
            .run(max_steps=4)
        )
        started = time.perf_counter()
        answer = await run
        elapsed = time.perf_counter() - started

        first = run.steps[0]
        print(f"turn 1 asked for {len(first.calls)} tools at once:")
        for call in first.calls:
            # A failed call's `output` is the error text the model was sent instead.
            flag = " (failed)" if call.error else ""
            print(f"  {call.name}({call.arguments}) -> {call.output}{flag}")
        print(f"at most {most_in_flight} tools ran at the same time")
        print(
            f"the whole loop took {elapsed:.2f} s; one after the other, the tools alone "
            f"would take {len(first.calls) * SLOW_SERVICE_SECONDS:.1f} s"
        )
        print(f"answer after {len(run.steps)} turns:", answer.text)


if __name__ == "__main__":
    anyio.run(main)
