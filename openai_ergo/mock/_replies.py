"""What the mock answers: scripted replies, or deterministic English-ish text from a seed.

A reply is a list of tokens (one delta event each) and tool calls. Generated text depends only on
the model, the conversation, the seed and the choice index, never on `stream` or the token limit,
so a streamed answer equals the non-streamed one and a cut answer is a prefix of the full one.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, final

import msgspec

__all__ = ["RecordedRequest", "Reply", "Responder", "ToolCall"]

_SECRET_HEADERS = frozenset({"authorization", "api-key", "openai-api-key", "x-api-key", "cookie"})

# A word list reads better as prose than as a 130-item literal.
_WORDS = (  # noqa: SIM905
    "the a an of to and in on for with from by about as at into over after before under between "
    "model stream token reply answer question data signal system network server client request "
    "light river mountain city garden window morning evening winter summer music story letter "
    "small large quiet bright early late simple careful quick steady gentle clear warm cold "
    "makes finds keeps brings shows turns holds gives takes builds reads writes follows carries "
    "often always rarely slowly quickly again together almost nearly perhaps usually still "
    "people engineer teacher friend neighbour traveller reader writer builder gardener "
    "idea plan result reason moment detail pattern choice method answer example problem "
    "blue green golden silver open calm patient honest curious practical useful ordinary "
    "every each some many most few several other another same different whole"
).split()

_TOKEN = re.compile(r"\s*\S+")


@final
class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """A function call the mock answers with (`arguments` as a JSON string or a mapping)."""

    name: str
    arguments: str | dict[str, Any] = "{}"
    call_id: str | None = None

    def arguments_json(self) -> str:
        """The arguments as the JSON text the API streams."""
        if isinstance(self.arguments, str):
            return self.arguments
        return msgspec.json.encode(self.arguments).decode()


@final
class Reply(msgspec.Struct, frozen=True):
    """A canned answer: text, tool calls, or both — or a `refusal`, the model declining to
    answer (a Responses `refusal` content part, a chat message's `refusal`), which comes alone.
    Token limits in the request still apply."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = msgspec.field(default_factory=tuple)
    refusal: str | None = None

    def __post_init__(self) -> None:
        if self.refusal is not None and (self.text or self.tool_calls):
            raise ValueError("Reply(refusal=...) comes alone: a refusal has no text or tool calls")


@final
@dataclass(frozen=True)
class RecordedRequest:
    """One request the mock received: method, path, headers (lower-case names) and JSON body.

    `peer` is the client's (host, port) as the server saw it: two requests with the same peer
    came over the same connection, which is how tests see a client reuse its connections.
    Its repr never shows credentials: authorization-like headers are masked.
    """

    method: str
    path: str
    headers: Mapping[str, str] = field(repr=False)
    body: Any
    query: str = ""
    peer: tuple[str, int] | None = None

    def __repr__(self) -> str:
        shown = {k: ("<redacted>" if k in _SECRET_HEADERS else v) for k, v in self.headers.items()}
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, "
            f"headers={shown!r}, body={self.body!r})"
        )

    @property
    def json(self) -> dict[str, Any]:
        """The body as a dict (empty when the body was not a JSON object)."""
        return self.body if isinstance(self.body, dict) else {}


#: A function from the request to the reply: a `Reply`, plain text, or None for generated text.
Responder = Callable[[RecordedRequest], "Reply | str | None"]

Finish = Literal["stop", "length", "tool_calls"]


@dataclass
class PlannedCall:
    """A tool call ready to stream: its arguments already split into delta fragments."""

    name: str
    arguments: str
    call_id: str
    fragments: list[str]


@dataclass
class Completion:
    """One choice's answer, resolved: the tokens to stream, the calls, and why it stops."""

    tokens: list[str]
    calls: list[PlannedCall]
    finish: Finish
    #: The refusal's tokens when the model declines (then `tokens` and `calls` are empty).
    refusal: list[str] | None = None

    @property
    def text(self) -> str:
        """The whole text, as the non-streamed reply carries it."""
        return "".join(self.tokens)

    @property
    def refusal_text(self) -> str | None:
        """The whole refusal, or None when the model answered."""
        return None if self.refusal is None else "".join(self.refusal)

    @property
    def output_tokens(self) -> int:
        """Tokens produced: one per text or refusal delta, plus the call arguments estimated
        like input."""
        produced = len(self.tokens) + len(self.refusal or ())
        return produced + sum(estimate_tokens(c.name + c.arguments) for c in self.calls)


def estimate_tokens(text: str) -> int:
    """Roughly four characters per token, as OpenAI's guidance says; never zero for text."""
    return (len(text) + 3) // 4


def text_tokens(text: str) -> list[str]:
    """Split text into word tokens with their leading whitespace, keeping every character."""
    tokens = _TOKEN.findall(text)
    tail = text[sum(map(len, tokens)) :]
    if tail:
        if tokens:
            tokens[-1] += tail
        else:
            tokens.append(tail)
    return tokens


def request_key(model: str, conversation: Any, seed: int, choice: int) -> int:
    """A stable number naming this request's answer (same inputs, same answer, on any machine)."""
    blob = msgspec.json.encode([model, conversation, seed, choice], order="sorted")
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big")


def generated_tokens(key: int, length: int) -> list[str]:
    """`length` tokens of plausible sentences, the same for the same key."""
    rng = random.Random(key)
    tokens: list[str] = []
    sentence_left = 0
    for _ in range(length):
        word = rng.choice(_WORDS)
        if sentence_left == 0:
            sentence_left = rng.randint(6, 14)
            word = word.capitalize()
        sentence_left -= 1
        if sentence_left == 0:
            word += "."
        elif rng.random() < 0.06:
            word += ","
        tokens.append(word if not tokens else " " + word)
    if tokens and not tokens[-1].endswith("."):
        tokens[-1] = tokens[-1].rstrip(",") + "."
    return tokens


def natural_length(key: int, reply_tokens: int | tuple[int, int]) -> int:
    """How long the generated answer wants to be, before any token limit."""
    if isinstance(reply_tokens, int):
        return reply_tokens
    low, high = reply_tokens
    return random.Random(key ^ 0x5EED).randint(low, high)


def argument_fragments(arguments: str) -> list[str]:
    """Split call arguments the way the API streams them: a few characters at a time."""
    return [arguments[i : i + 5] for i in range(0, len(arguments), 5)] or [""]


def example_arguments(schema: Mapping[str, Any] | None, key: int) -> dict[str, Any]:
    """Deterministic arguments that satisfy a function's JSON schema (for generated tool calls)."""
    rng = random.Random(key)
    value = _example(schema or {"type": "object"}, rng, depth=0)
    return value if isinstance(value, dict) else {}


def _example(schema: Mapping[str, Any], rng: random.Random, depth: int) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return _example(options[0], rng, depth)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        if depth > 4:
            return {}
        return {name: _example(sub, rng, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        return [] if depth > 4 else [_example(schema.get("items") or {}, rng, depth + 1)]
    if kind == "integer":
        return rng.randint(1, 10)
    if kind == "number":
        return round(rng.uniform(0, 100), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return rng.choice(_WORDS[60:])


def limit_refusal(refusal: str, limit: int | None) -> Completion:
    """A refusal, cut by the request's token limit like any answer."""
    tokens = text_tokens(refusal)
    if limit is not None and len(tokens) > limit:
        return Completion(tokens=[], calls=[], finish="length", refusal=tokens[:limit])
    return Completion(tokens=[], calls=[], finish="stop", refusal=tokens)


def limit_completion(tokens: list[str], calls: list[PlannedCall], limit: int | None) -> Completion:
    """Apply the request's token limit: a cut answer finishes with `length` and drops its calls."""
    if limit is not None and len(tokens) > limit:
        return Completion(tokens=tokens[:limit], calls=[], finish="length")
    return Completion(tokens=tokens, calls=calls, finish="tool_calls" if calls else "stop")


def plan_calls(calls: Sequence[ToolCall], new_call_id: Callable[[], str]) -> list[PlannedCall]:
    """Scripted calls, with ids filled in and arguments split for streaming."""
    planned = []
    for call in calls:
        arguments = call.arguments_json()
        planned.append(
            PlannedCall(
                name=call.name,
                arguments=arguments,
                call_id=call.call_id or new_call_id(),
                fragments=argument_fragments(arguments),
            )
        )
    return planned
