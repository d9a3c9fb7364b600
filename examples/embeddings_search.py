"""Embeddings: embed a small corpus, then rank it against a query by cosine similarity.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that (its vectors are deterministic but not semantic, so the ranking of the first
query is arbitrary there; the second query, a document's own text, comes first with 1.000 on
either). See docs/embeddings.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import anyio

from openai_ergo import Embeddings
from openai_ergo.mock import client_or_mock

CORPUS = [
    "The cat sat on the warm windowsill all afternoon.",
    "Interest rates rose for the third quarter in a row.",
    "A good sourdough needs a lively starter and patience.",
    "The striker scored twice in the second half.",
    "Kittens sleep up to twenty hours a day.",
    "The central bank signalled further tightening.",
    "Knead the dough, then let it rise overnight in the fridge.",
    "The match ended in a penalty shoot-out.",
]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (OpenAI's are unit length, so this is their dot
    product; dividing by the norms keeps it right for any vectors)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def rank(corpus: Embeddings, query: Sequence[float]) -> list[tuple[float, int]]:
    """(score, document index) pairs, best first."""
    return sorted(
        ((cosine(vector.tolist(), query), i) for i, vector in enumerate(corpus)), reverse=True
    )


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        # One builder for the corpus and the queries: same model, same vector size.
        embed = client.embeddings("text-embedding-3-small").dimensions(256)
        corpus = await embed.input(CORPUS)
        print(
            f"embedded {len(corpus)} documents: {corpus.dimensions} dimensions each, "
            f"{corpus.usage.total_tokens} tokens, {corpus.requests} request(s)"
        )
        print(f"memory for the vectors: {len(corpus.data) * corpus.data.itemsize} bytes (float32)")

        for query in ("Which sentences are about baking bread?", CORPUS[4]):
            found = await embed.input(query)
            print(f"\nquery: {query}")
            for score, index in rank(corpus, found[0].tolist())[:3]:
                print(f"  {score:+.3f}  {CORPUS[index]}")


if __name__ == "__main__":
    anyio.run(main)
