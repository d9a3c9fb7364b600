"""Moderations: classify texts one by one, and a text with an image as one input.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that (it flags telltale words: "kill" is violence, "idiot" harassment). See
docs/embeddings.md#moderations.
"""

from __future__ import annotations

import anyio

from openai_ergo import image
from openai_ergo.mock import client_or_mock

# A 1x1 PNG, so the example needs no file; `image(path)` or `image(url)` work the same way.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        comments = ["What a lovely photo!", "Delete this or I will kill you, idiot."]
        # Several texts: one result each, in order (omni-moderation-latest unless you name one).
        moderation = await client.moderations().input(*comments)
        print(f"any flagged: {moderation.flagged}; categories: {moderation.categories}")
        for text, result in zip(comments, moderation.results, strict=True):
            verdict = "FLAGGED" if result.flagged else "ok"
            print(f"  {verdict:7}  {text}")
        print(f"violence score of the second: {moderation.scores(1)['violence']:.2f}")

        # A text with an image is one input, classified together: one result.
        both = await client.moderations().input("Is this picture fine?", image(PIXEL))
        print(f"text + image: {len(both.results)} result, flagged={both.flagged}")


if __name__ == "__main__":
    anyio.run(main)
