"""Reading the shared conformance data: the OpenAPI spec (parsed once) and SSE captures."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import msgspec

from streaming import SSEDecoder
from tests.conftest import shared_path


@functools.cache
def _load_spec(path: Path) -> dict[str, Any]:
    # The spec is 3 MB of YAML: parse it once per test session.
    spec: dict[str, Any] = msgspec.yaml.decode(path.read_bytes())
    return spec


#: The captured Chat Completions streams in ../shared/sse-corpus/openai/.
CHAT_CAPTURES = [
    "chat-content-logprobs.sse",
    "chat-finish-length.sse",
    "chat-multiple-choices.sse",
    "chat-parallel-tool-calls.sse",
    "chat-refusal.sse",
    "chat-text.sse",
    "chat-tool-call-non-strict.sse",
    "chat-tool-call-strict.sse",
]
#: The captured Responses streams there that end in `response.completed`.
COMPLETED_RESPONSES_CAPTURES = [
    "responses-function-call.sse",
    "responses-output-text.sse",
    "responses-tool-search-function-call.sse",
]


def openapi_spec() -> dict[str, Any]:
    """The parsed OpenAPI spec, or skip when ../shared is absent."""
    return _load_spec(shared_path("openapi", "openai-openapi.yaml"))


def sse_data(body: bytes) -> list[str]:
    """The `data` of every event in an SSE body, framed by the streaming decoder."""
    decoder = SSEDecoder()
    events = decoder.feed(body)
    events.extend(decoder.end())
    return [event.data for event in events]


def capture(name: str) -> list[str]:
    """The `data` of every event of a capture in ../shared/sse-corpus/openai/."""
    return sse_data(shared_path("sse-corpus", "openai", name).read_bytes())


def subset(encoded: Any, original: Any) -> bool:
    """Whether everything in `encoded` means the same in `original` (which may hold more)."""
    if isinstance(encoded, dict):
        return isinstance(original, dict) and all(
            key in original and subset(value, original[key]) for key, value in encoded.items()
        )
    if isinstance(encoded, list):
        return (
            isinstance(original, list)
            and len(encoded) == len(original)
            and all(subset(a, b) for a, b in zip(encoded, original, strict=True))
        )
    return bool(encoded == original)
