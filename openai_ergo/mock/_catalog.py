"""The simple endpoints: models, embeddings and moderations."""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import struct
from collections.abc import Iterable
from typing import Any

from openai_ergo.mock._replies import estimate_tokens
from openai_ergo.mock._wire import new_id

#: A realistic catalog, as `GET /v1/models` lists it: id → (created, owned_by).
_CATALOG: dict[str, tuple[int, str]] = {
    "gpt-5": (1754425777, "system"),
    "gpt-5-mini": (1754425928, "system"),
    "gpt-5-nano": (1754426384, "system"),
    "gpt-5-chat-latest": (1754073306, "system"),
    "gpt-4.1": (1744316542, "system"),
    "gpt-4.1-mini": (1744318173, "system"),
    "gpt-4.1-nano": (1744321707, "system"),
    "gpt-4o": (1715367049, "system"),
    "gpt-4o-mini": (1721172741, "system"),
    "gpt-4o-audio-preview": (1727460443, "system"),
    "gpt-4o-realtime-preview": (1727659998, "system"),
    "gpt-4o-transcribe": (1742068463, "system"),
    "gpt-4o-mini-tts": (1742403959, "system"),
    "gpt-4-turbo": (1712361441, "system"),
    "gpt-3.5-turbo": (1677610602, "openai"),
    "o1": (1734375816, "system"),
    "o3": (1744225308, "system"),
    "o3-mini": (1737146383, "system"),
    "o4-mini": (1744225351, "system"),
    "gpt-image-1": (1745517030, "system"),
    "dall-e-3": (1698785189, "system"),
    "dall-e-2": (1698798177, "system"),
    "tts-1": (1681940951, "openai-internal"),
    "tts-1-hd": (1699046015, "system"),
    "whisper-1": (1677532384, "openai-internal"),
    "text-embedding-3-small": (1705948997, "system"),
    "text-embedding-3-large": (1705953180, "system"),
    "text-embedding-ada-002": (1671217299, "openai-internal"),
    "omni-moderation-latest": (1731689265, "system"),
    "text-moderation-latest": (1687462345, "system"),
}

#: The models `GET /v1/models` lists unless told otherwise.
DEFAULT_MODELS: tuple[str, ...] = tuple(_CATALOG)

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_EMBEDDING_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_CREATED = 1_700_000_000


def known_model(model: str, models: Iterable[str]) -> bool:
    """True for a served model or a dated snapshot of one (`gpt-4o-2024-08-06`)."""
    served = set(models)
    return model in served or _SNAPSHOT.sub("", model) in served


def model_object(model: str) -> dict[str, Any]:
    """One entry of `GET /v1/models`: a fine-tuned model is owned by the organization that made
    it (`ft:base:org:...`), a snapshot shares its family's entry."""
    created, owner = _CATALOG.get(model) or _CATALOG.get(_SNAPSHOT.sub("", model), (_CREATED, ""))
    if model.startswith("ft:"):
        parts = model.split(":")
        owner = parts[2] if len(parts) > 2 and parts[2] else "user-mock"
    return {"id": model, "object": "model", "created": created, "owned_by": owner or "system"}


def model_list(models: Iterable[str]) -> dict[str, Any]:
    """`GET /v1/models`."""
    return {"object": "list", "data": [model_object(m) for m in models]}


def embedding_inputs(value: Any) -> list[str] | None:
    """The request's `input` as one string per embedding, or None when its shape is wrong.

    Token arrays are accepted like the API does, and embedded by their digits.
    """
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(item, str) for item in value):
            return list(value)
        if all(isinstance(item, int) for item in value):
            return [" ".join(map(str, value))]
        if all(isinstance(item, list) and all(isinstance(t, int) for t in item) for item in value):
            return [" ".join(map(str, item)) for item in value]
    return None


def default_dimensions(model: str) -> int:
    """The native vector size of an embedding model."""
    return _EMBEDDING_DIMENSIONS.get(_SNAPSHOT.sub("", model), 1536)


def supports_dimensions(model: str) -> bool:
    """Only the text-embedding-3 family can shorten its vectors."""
    return _SNAPSHOT.sub("", model).startswith("text-embedding-3")


def unit_vector(text: str, model: str, dimensions: int) -> list[float]:
    """A deterministic unit-length vector for the text: same text and model, same vector."""
    seed = hashlib.blake2b(f"{model}\0{text}".encode(), digest_size=8).digest()
    rng = random.Random(int.from_bytes(seed, "big"))
    vector = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def embeddings_body(
    texts: list[str], model: str, dimensions: int, encoding_format: str
) -> dict[str, Any]:
    """`POST /v1/embeddings`: floats, or little-endian float32 in base64 as the API sends them."""
    data = []
    for index, text in enumerate(texts):
        vector = unit_vector(text, model, dimensions)
        embedding: list[float] | str
        if encoding_format == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        else:
            embedding = vector
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(estimate_tokens(text, model) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


_CATEGORIES: dict[str, tuple[str, ...]] = {
    "harassment": ("idiot", "stupid", "loser"),
    "harassment/threatening": ("i will hurt you", "watch your back"),
    "hate": ("hate",),
    "hate/threatening": (),
    "illicit": ("steal", "counterfeit"),
    "illicit/violent": ("build a bomb",),
    "self-harm": ("hurt myself",),
    "self-harm/intent": ("want to die",),
    "self-harm/instructions": (),
    "sexual": ("explicit",),
    "sexual/minors": (),
    "violence": ("kill", "attack", "bomb"),
    "violence/graphic": ("gore", "blood"),
}
_IMAGE_CATEGORIES = frozenset(
    {"sexual", "self-harm", "self-harm/intent", "self-harm/instructions", "violence",
     "violence/graphic"}
)  # fmt: skip


def moderation_inputs(value: Any) -> list[tuple[str, bool]] | None:
    """The request's `input` as (text, has_image) per result, or None when its shape is wrong."""
    if isinstance(value, str):
        return [(value, False)]
    if isinstance(value, list) and value:
        if all(isinstance(item, str) for item in value):
            return [(item, False) for item in value]
        if all(isinstance(item, dict) for item in value):
            # Multi-modal input is one result for all the parts together.
            text = " ".join(str(part.get("text", "")) for part in value)
            has_image = any(part.get("type") == "image_url" for part in value)
            return [(text, has_image)]
    return None


def moderations_body(inputs: list[tuple[str, bool]], model: str) -> dict[str, Any]:
    """`POST /v1/moderations`: flags categories whose telltale phrases appear in the text."""
    results = []
    for text, has_image in inputs:
        lowered = text.lower()
        categories = {
            name: any(phrase in lowered for phrase in phrases)
            for name, phrases in _CATEGORIES.items()
        }
        scores = {name: (0.97 if hit else 0.0004) for name, hit in categories.items()}
        applied = {
            name: (["text", "image"] if has_image and name in _IMAGE_CATEGORIES else ["text"])
            for name in _CATEGORIES
        }
        results.append(
            {
                "flagged": any(categories.values()),
                "categories": categories,
                "category_scores": scores,
                "category_applied_input_types": applied,
            }
        )
    return {"id": new_id("modr-"), "model": model, "results": results}
