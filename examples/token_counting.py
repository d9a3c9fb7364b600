"""Token counting: before you send (counted locally or by the API), after (the answer's usage).

- `TokenCounter(model)` counts text, chat messages, Responses input and tool definitions the
  way the model reads them: exact with tiktoken (the `tokens` extra), an estimate of four
  characters a token without it; `counter.method` says which.
- `client.responses.input_tokens.count(...)` asks the API how many input tokens a Responses
  request would use, without running the model.
- Every answer reports its `usage`: input, output and total tokens, with the cached and the
  reasoning tokens broken out (chat calls them prompt and completion tokens).
- The rate limiter books each request's counted input plus its output cap against tokens/min.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that (with tiktoken installed the mock counts input tokens as `TokenCounter` does).
"""

from __future__ import annotations

import anyio

from openai_ergo import TokenCounter, counting_method
from openai_ergo.mock import client_or_mock

INSTRUCTIONS = "You are a careful assistant. Answer in two sentences."
QUESTION = "Why do rivers meander across flat plains instead of flowing straight?"


async def main() -> None:
    print("counting with:", counting_method())
    async with client_or_mock(seed=7) as client:
        ask = client.responses("gpt-5-mini").instructions(INSTRUCTIONS).input(QUESTION)

        # 1. Before sending: counted here, and counted by the API (the typed method, no model run).
        counter = TokenCounter("gpt-5-mini")
        local = counter.count_request(ask.request_body())
        counted = await client.responses.input_tokens.count(
            model="gpt-5-mini", instructions=INSTRUCTIONS, input=QUESTION
        )
        print(
            f"{counter.encoding_name} ({counter.method}): {local} input tokens; "
            f"the API counts {counted.input_tokens}"
        )

        # 2. After: the answer's usage.
        reply = await ask.max_output_tokens(200)
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

        # 3. Chat messages and tools: the framing the API adds is counted too.
        chat = TokenCounter("gpt-4o-mini")
        messages = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": QUESTION},
        ]
        tool = {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Look a river up.",
                "parameters": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        }
        print(
            f"chat prompt: {chat.count_messages(messages)} tokens, "
            f"{chat.count_messages(messages, tools=[tool])} with the tool"
        )
        async with (
            client.chat("gpt-4o-mini").system(INSTRUCTIONS).user(QUESTION).stream() as stream
        ):
            await stream.until_done()
        chat_usage = stream.final().usage
        if chat_usage is not None:
            print(
                f"chat: {chat_usage.prompt_tokens} prompt + {chat_usage.completion_tokens} "
                f"completion = {chat_usage.total_tokens} tokens"
            )

        # 4. A tight output budget stops the answer early: status `incomplete`.
        short = await ask.max_output_tokens(16)
        reason = short.incomplete_details.reason if short.incomplete_details else None
        print(f"max_output_tokens(16): {short.status} ({reason})")


if __name__ == "__main__":
    anyio.run(main)
