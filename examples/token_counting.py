"""Token counting: what a request used, what it will use before you send it, and a cheap estimate.

- Every answer reports its `usage`: input, output and total tokens, with the cached and the
  reasoning tokens broken out (chat calls them prompt and completion tokens).
- `client.responses.input_tokens.count(...)` asks the API how many input tokens a Responses
  request would use, without running the model.
- The rate limiter needs a number before every request and does not tokenize: it estimates
  body bytes / 4 plus the output budget. Give it a counted number with
  `RequestOptions(estimated_tokens=...)` when you have one.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that (the mock counts about four characters a token, as OpenAI's guidance says).
"""

from __future__ import annotations

import anyio
import msgspec

from openai_ergo import RequestOptions
from openai_ergo.mock import client_or_mock

INSTRUCTIONS = "You are a careful assistant. Answer in two sentences."
QUESTION = "Why do rivers meander across flat plains instead of flowing straight?"


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        ask = client.responses("gpt-5-mini").instructions(INSTRUCTIONS).input(QUESTION)

        # 1. Before sending: the API counts the input tokens (the typed method, no model run).
        counted = await client.responses.input_tokens.count(
            model="gpt-5-mini", instructions=INSTRUCTIONS, input=QUESTION
        )
        # A cheap local estimate, the rate limiter's rule: bytes of the JSON body / 4.
        estimate = len(msgspec.json.encode(ask.request_body())) // 4
        print(f"counted by the API: {counted.input_tokens} input tokens; bytes/4 says {estimate}")

        # 2. After: the answer's usage. The counted number goes to the rate limiter, so it
        #    books what the request really costs (input plus the output budget).
        budget = 200
        reply = await ask.max_output_tokens(budget).options(
            RequestOptions(estimated_tokens=(counted.input_tokens or 0) + budget)
        )
        usage = reply.usage
        if usage is not None:
            cached = usage.input_tokens_details.cached_tokens if usage.input_tokens_details else 0
            reasoning = (
                usage.output_tokens_details.reasoning_tokens if usage.output_tokens_details else 0
            )
            print(
                f"used: {usage.input_tokens} in ({cached} cached) + {usage.output_tokens} out "
                f"({reasoning} reasoning) = {usage.total_tokens}"
            )

        # 3. A tight output budget stops the answer early: status `incomplete`, and the output
        #    tokens are the budget.
        short = await ask.max_output_tokens(16)
        reason = short.incomplete_details.reason if short.incomplete_details else None
        out = short.usage.output_tokens if short.usage else 0
        print(f"max_output_tokens(16): {short.status} ({reason}), {out} output tokens")

        # 4. Chat reports the same counts under its own names, streamed or not.
        async with client.chat("gpt-4o-mini").user(QUESTION).stream() as stream:
            await stream.until_done()
        chat_usage = stream.final().usage
        if chat_usage is not None:
            print(
                f"chat: {chat_usage.prompt_tokens} prompt + {chat_usage.completion_tokens} "
                f"completion = {chat_usage.total_tokens} tokens"
            )


if __name__ == "__main__":
    anyio.run(main)
