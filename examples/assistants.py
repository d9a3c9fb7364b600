"""Assistants (legacy: OpenAI has deprecated the Assistants API in favour of the Responses API):
create an assistant, stream a run's text as it arrives, and run a `@tool` loop that answers the
run's tool calls through submit_tool_outputs.

Run it with OPENAI_API_KEY set to talk to OpenAI (it deletes the assistant it made); without a
key it starts the embedded mock server and talks to that, so it works on a fresh clone with no
network.
"""

from __future__ import annotations

import anyio

from openai_ergo import tool
from openai_ergo.mock import client_or_mock


@tool
async def forecast(city: str) -> str:
    """Tomorrow's weather in a city.

    Args:
        city: The city's name, e.g. "Paris".
    """
    return f"Sunny and 24 °C in {city}"


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        # The assistant itself is a typed method of the generated tier.
        assistant = await client.beta.assistants.create(
            model="gpt-4o-mini", name="Weather desk", instructions="Answer in one sentence."
        )
        run = client.assistant_run(assistant.id or "")

        # A streamed run: typed events, or only the text deltas.
        async with run.user("Say hello to the readers.").stream() as stream:
            async for text in stream.text():
                print(text, end="", flush=True)
        print()
        done = stream.final()
        print("run:", done.status, "| events:", len(stream.events), "| thread:", done.thread_id)

        # The tool loop: the run calls `forecast`, the function runs here, its output goes back
        # with submit_tool_outputs, and the run answers.
        loop = run.tools(forecast).user("Please forecast Lisbon for tomorrow.").run()
        async with loop.stream() as turns:
            async for text in turns.text():
                print(text, end="", flush=True)
        print()
        for step in turns.steps:
            for call in step.calls:
                print(f"tool {call.name}({call.arguments}) -> {call.output}")
        print("final:", turns.final().status, "after", len(turns.steps), "turns")

        await client.beta.assistants.delete(assistant.id or "")


if __name__ == "__main__":
    anyio.run(main)
