"""Structured output: the answer decoded into a msgspec Struct, from a strict JSON Schema.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and scripts a JSON answer for it.
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import anyio
import msgspec

from openai_ergo import Client, OutputParseError


class Ingredient(msgspec.Struct):
    """One ingredient and how much of it."""

    name: str
    quantity: str


class Recipe(msgspec.Struct):
    """A recipe: a title, what goes in, and the steps."""

    title: str
    servings: int
    ingredients: list[Ingredient]
    steps: list[str]


MOCK_ANSWER = Recipe(
    title="Pancakes",
    servings=4,
    ingredients=[
        Ingredient("flour", "200 g"),
        Ingredient("milk", "300 ml"),
        Ingredient("egg", "2"),
    ],
    steps=["Whisk everything.", "Rest 10 minutes.", "Fry in a hot pan."],
)


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7))
            server.reply_with(msgspec.json.encode(MOCK_ANSWER).decode())
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        request = client.responses("gpt-5-mini").input("A simple pancake recipe.").parse(Recipe)
        try:
            result = await request
        except OutputParseError as exc:  # RefusalError and TruncatedOutputError included
            print("no recipe:", exc)
            return
        recipe = result.parsed
        print(f"{recipe.title} (serves {recipe.servings})")
        for ingredient in recipe.ingredients:
            print(f"- {ingredient.quantity} {ingredient.name}")
        for number, step in enumerate(recipe.steps, 1):
            print(f"{number}. {step}")


if __name__ == "__main__":
    anyio.run(main)
