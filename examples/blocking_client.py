"""The blocking client: the async client's builders, streams and paginators from a plain script.

No `async`, no `await`: `openai_ergo.blocking.Client` runs the async client on an event loop in
a background thread and gives blocking views of its objects. Run it with OPENAI_API_KEY set to
talk to OpenAI; without a key it serves the embedded mock server and talks to that. Docs:
docs/blocking.md.
"""

from __future__ import annotations

import msgspec

from openai_ergo import blocking, tool


class Verdict(msgspec.Struct):
    """A short answer and whether the model is sure of it."""

    answer: str
    sure: bool


@tool
def word_length(word: str) -> int:
    """How many letters a word has."""
    return len(word)


def main() -> None:
    with blocking.client_or_mock(seed=5) as client:
        # A builder, built as in async code; `.create()` sends it and waits.
        brief = client.responses("gpt-5-mini").instructions("Answer in one sentence.")
        reply = brief.input("Why is the sea salty?").create()
        print("answer:", reply.output_text)

        # A stream is a `with` block, its text a `for` loop.
        with client.chat("gpt-4o-mini").user("Count to five.").stream() as stream:
            print("streamed:", end=" ")
            for text in stream.text():
                print(text, end="", flush=True)
        print()
        usage = stream.final().usage
        print("tokens:", usage.total_tokens if usage else "not reported")

        # Structured output and the tool loop: `.result()` is what `await` gives in async code.
        verdict = brief.input("Is Pluto a planet?").parse(Verdict).result().parsed
        print(f"verdict: {verdict.answer!r} ({'sure' if verdict.sure else 'not sure'})")
        question = client.chat("gpt-4o-mini").user("How long is 'ergonomic'?")
        run = question.tools(word_length).tool_choice(word_length).run()
        print("tool loop:", run.result().choices[0].message.content)
        print("tool calls:", [call.name for step in run.steps for call in step.calls])

        # Typed methods return their results; a list is a plain iterator over every page.
        models = [model.id for model in client.models.list()]
        print(f"{len(models)} models, the first: {models[0]}")


if __name__ == "__main__":
    main()
