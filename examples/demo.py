"""Watch tokens stream: a Responses answer, then a chat answer, with usage and time to first token.

With no OPENAI_API_KEY set, this starts the embedded mock OpenAI server on 127.0.0.1 and talks
to it, so it runs on a fresh clone with no account; with a key it talks to the OpenAI API.

    make demo                     # no key needed: the embedded mock server answers
    OPENAI_API_KEY=sk-... make demo  # the real API (model: $OPENAI_ERGO_DEMO_MODEL)

Runs on asyncio by default; `OPENAI_ERGO_DEMO_BACKEND=trio` runs the same code on trio.
`OPENAI_ERGO_DEMO_FAST=1` makes the mock answer short and unpaced (for tests).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import anyio

from openai_ergo import Client
from openai_ergo.mock import serve

PROMPT = "In two sentences, why do streamed answers feel faster than waiting for the whole reply?"
INSTRUCTIONS = "Answer plainly and briefly."
REAL_MODEL = os.environ.get("OPENAI_ERGO_DEMO_MODEL", "gpt-4.1-mini")
MOCK_MODEL = "gpt-5-mini"
FAST = os.environ.get("OPENAI_ERGO_DEMO_FAST") == "1"
#: How the embedded mock answers: paced like a real model, or short and instant for tests.
MOCK_OPTIONS: dict[str, Any] = (
    {"seed": 42, "reply_tokens": 12}
    if FAST
    else {"seed": 42, "reply_tokens": 60, "tokens_per_second": 40.0, "latency": 0.3}
)


class Wrapped:
    """Prints streamed text as it arrives, breaking lines between words at `width` columns."""

    def __init__(self, width: int = 88) -> None:
        self.width = width
        self.column = 0

    def print(self, text: str) -> None:
        """Print one delta now (flushed), starting a new line first if it would overflow."""
        if self.column and self.column + len(text) > self.width and text[:1] == " ":
            text = "\n" + text[1:]
        print(text, end="", flush=True)
        last_break = text.rfind("\n")
        self.column = len(text) - last_break - 1 if last_break >= 0 else self.column + len(text)


class Meter:
    """Time to first token and delivery rate, measured on the caller's side."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None
        self.deltas = 0

    def seen(self, text: str) -> str:
        """Note one text delta as it arrives; hands it back for printing."""
        if self.first is None:
            self.first = time.perf_counter()
        self.deltas += 1
        return text

    def summary(self, input_tokens: int, output_tokens: int) -> str:
        """One line: usage, time to first token, delivery rate."""
        end = time.perf_counter()
        ttft = ((self.first or end) - self.start) * 1000
        elapsed = end - (self.first or end)
        rate = f", {(self.deltas - 1) / elapsed:.0f} deltas/s" if elapsed > 0 else ""
        return (
            f"usage: {input_tokens} input + {output_tokens} output tokens; "
            f"time to first token {ttft:.0f} ms{rate}"
        )


async def stream_response(client: Client, model: str) -> None:
    """The Responses API, streamed: print the text as it arrives, then the usage."""
    print(f"\n== Responses API ({model}) ==")
    meter, out = Meter(), Wrapped()
    request = client.responses(model).instructions(INSTRUCTIONS).input(PROMPT)
    async with request.stream() as stream:
        async for text in stream.text():
            out.print(meter.seen(text))
    print()
    usage = stream.final().usage
    print(meter.summary(usage.input_tokens, usage.output_tokens) if usage else "usage: none")


async def stream_chat(client: Client, model: str) -> None:
    """Chat Completions, streamed: print the text as it arrives, then the usage."""
    print(f"\n== Chat Completions ({model}) ==")
    meter, out = Meter(), Wrapped()
    request = client.chat(model).system(INSTRUCTIONS).user(PROMPT)
    async with request.stream() as stream:
        async for text in stream.text():
            out.print(meter.seen(text))
    print()
    usage = stream.final().usage
    print(meter.summary(usage.prompt_tokens, usage.completion_tokens) if usage else "usage: none")


async def main() -> None:
    """Talk to OpenAI when a key is set, else to the embedded mock server."""
    if os.environ.get("OPENAI_API_KEY"):
        async with Client() as client:
            print(f"OPENAI_API_KEY is set: talking to the OpenAI API at {client.base_url}")
            print(f"\nQ: {PROMPT}")
            await stream_response(client, REAL_MODEL)
            await stream_chat(client, REAL_MODEL)
        return
    async with serve(**MOCK_OPTIONS) as server:
        print(f"No OPENAI_API_KEY: talking to the embedded mock OpenAI server at {server.url}")
        pace = MOCK_OPTIONS.get("tokens_per_second")
        paced = f"at {pace:g} tokens/s" if pace else "as fast as it can"
        print(f"(it answers in made-up words, streamed {paced}; set OPENAI_API_KEY for real ones)")
        print(f"\nQ: {PROMPT}")
        async with Client(api_key="sk-mock", base_url=server.url) as client:
            await stream_response(client, MOCK_MODEL)
            await stream_chat(client, MOCK_MODEL)


if __name__ == "__main__":
    try:
        anyio.run(main, backend=os.environ.get("OPENAI_ERGO_DEMO_BACKEND", "asyncio"))
    except KeyboardInterrupt:
        sys.exit(130)
