"""What the mock answers: scripted replies, or deterministic English-ish text from a seed.

A reply is a list of deltas (one delta event each) and tool calls. Generated text depends only on
the model, the conversation, the seed and the choice index, never on `stream` or the token limit,
so a streamed answer equals the non-streamed one and a cut answer is a prefix of the full one.

How text becomes deltas and tokens follows the client's counter (`openai_ergo.count_tokens`):

- With tiktoken (the `tokens` extra), text streams as the model's real tokens in the model's
  encoding (o200k_base or cl100k_base), one delta a token. A token whose bytes are not whole
  UTF-8 on their own (a piece of an emoji or a CJK character) is merged with the next ones into
  one delta that stands for all of them. Output usage is the exact count, so for a plain text
  answer `usage.output_tokens == count_tokens(text, model)`; a token limit of N cuts after N
  tokens (a limit that falls inside a merged delta ends the text before it, and the N tokens
  still count). The generated answer's length (`reply_tokens`) is in tokens: words are drawn
  until the answer, with the full stop that ends its last sentence, has that many tokens (one
  or two more when its last word is several). An answer's split is computed once, and recent
  ones are kept by (encoding, text).
- Without it, one delta is one word with its leading whitespace and counts as one token; a
  limit of N keeps N words, and `reply_tokens` counts words.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard, final

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


@final
@dataclass(frozen=True, slots=True)
class Deltas:
    """A text cut into the deltas that stream it, and the tokens they stand for.

    `ends[i]` is how many tokens the text has produced by the end of delta `i`: a delta that
    holds a character spelled by several tokens stands for all of them. Without `ends`, each
    delta is one token.
    """

    pieces: tuple[str, ...]
    ends: tuple[int, ...] | None = None

    @property
    def tokens(self) -> int:
        """The tokens of the whole text."""
        if self.ends is None:
            return len(self.pieces)
        return self.ends[-1] if self.ends else 0

    def within(self, limit: int) -> list[str]:
        """The deltas the first `limit` tokens produce: a delta whose tokens the limit splits
        is left out (its bytes are not whole characters yet)."""
        if self.ends is None:
            return list(self.pieces[:limit])
        return list(self.pieces[: bisect.bisect_right(self.ends, limit)])


@dataclass
class Completion:
    """One choice's answer, resolved: the deltas to stream, the calls, and why it stops."""

    tokens: list[str]
    calls: list[PlannedCall]
    finish: Finish
    #: The refusal's deltas when the model declines (then `tokens` and `calls` are empty).
    refusal: list[str] | None = None
    #: The tokens the text (or refusal) deltas stand for, when that is not one a delta.
    produced: int | None = None
    #: The model whose encoding counts the call names and arguments.
    model: str = "gpt-4o"

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
        """Tokens produced: the text's or refusal's, plus each call's name and arguments
        counted as the client counts them."""
        produced = self.produced
        if produced is None:
            produced = len(self.tokens) + len(self.refusal or ())
        model = self.model
        return produced + sum(
            estimate_tokens(c.name, model) + estimate_tokens(c.arguments, model) for c in self.calls
        )


def estimate_tokens(text: str, model: str = "gpt-4o") -> int:
    """The tokens of `text` as the client counts them (`openai_ergo.count_tokens`): exact
    with the `tokens` extra (tiktoken) installed, else four characters a token, as OpenAI's
    guidance says (never zero for text). Every count the mock reports that is not a fixed
    figure of the service (image tiles, audio seconds) comes from here."""
    from openai_ergo._accounting._counting import count_tokens

    return count_tokens(text, model)


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


def exact_tokens() -> bool:
    """Whether answers stream and count the model's real tokens: tiktoken is installed (the
    client's `counting_method()` is `"tiktoken"`)."""
    from openai_ergo._accounting._counting import counting_method

    return counting_method() == "tiktoken"


#: Recent answers' deltas by encoding and text: tests and benchmarks send the same request (so
#: the same text) again and again, and a lookup costs far less than encoding it. Bounded in
#: entries and text size, so a run of huge answers cannot hoard memory.
_SPLITS: dict[tuple[str, str], Deltas] = {}
_SPLITS_SIZE = 16
_SPLITS_TEXT = 64 * 1024
#: The deltas of each word the generator draws, by encoding (a few thousand at most).
_WORD_DELTAS: dict[str, dict[str, tuple[str, ...]]] = {}
#: Recent generated answers by encoding, key and length, bounded like `_SPLITS`.
_GENERATED: dict[tuple[str, int, int], Deltas] = {}


def split_text(text: str, model: str, *, words: Callable[[str], list[str]] = text_tokens) -> Deltas:
    """`text` as `model` streams it: its real tokens with tiktoken, else `words(text)`, one
    token each."""
    if not text:
        return Deltas(())
    if not exact_tokens():
        return Deltas(tuple(words(text)))
    from openai_ergo._accounting._encodings import encoding_name_for

    name = encoding_name_for(model)
    found = _SPLITS.get((name, text))
    if found is None:
        found = _split(text, name)
        if len(text) <= _SPLITS_TEXT:
            if len(_SPLITS) >= _SPLITS_SIZE:
                _SPLITS.clear()
            _SPLITS[name, text] = found
    return found


def _split(text: str, encoding_name: str) -> Deltas:
    """The real tokens of `text`, encoded once; whole characters in every delta."""
    from openai_ergo._accounting._encodings import encoding

    tokenizer = encoding(encoding_name)
    ids = tokenizer.encode_ordinary(text)
    spelled = tokenizer.decode_tokens_bytes(ids)
    try:
        # The common case (every token whole characters) in one pass.
        pieces = [piece.decode() for piece in spelled]
    except UnicodeDecodeError:
        return _merged(spelled, text)
    if "".join(pieces) != text:  # not valid Unicode (a lone surrogate): one delta
        return Deltas((text,), (len(ids),))
    return Deltas(tuple(pieces))


def _merged(spelled: list[bytes], text: str) -> Deltas:
    """Deltas of whole characters: a token that ends inside a character joins the next ones."""
    pieces: list[str] = []
    ends: list[int] = []
    pending = b""
    for produced, piece in enumerate(spelled, 1):
        pending += piece
        try:
            pieces.append(pending.decode())
        except UnicodeDecodeError:
            continue
        ends.append(produced)
        pending = b""
    if pending or "".join(pieces) != text:  # not valid Unicode (a lone surrogate): one delta
        return Deltas((text,), (len(spelled),))
    return Deltas(tuple(pieces), tuple(ends))


def _words(key: int) -> Iterator[str]:
    """Plausible sentences, a word at a time (with its leading space), the same for the same
    key: a sentence of 6 to 14 words, capitalized, the odd comma, a full stop."""
    rng = random.Random(key)
    sentence_left = 0
    first = True
    while True:
        word = rng.choice(_WORDS)
        if sentence_left == 0:
            sentence_left = rng.randint(6, 14)
            word = word.capitalize()
        sentence_left -= 1
        if sentence_left == 0:
            word += "."
        elif rng.random() < 0.06:
            word += ","
        yield word if first else " " + word
        first = False


def _end_sentence(word: str) -> str:
    return word if word.endswith(".") else word.rstrip(",") + "."


def generated_tokens(key: int, length: int) -> list[str]:
    """`length` words of plausible sentences, the same for the same key, the last one ending
    its sentence."""
    tokens = [word for word, _ in zip(_words(key), range(length), strict=False)]
    if tokens:
        tokens[-1] = _end_sentence(tokens[-1])
    return tokens


def generated_deltas(key: int, length: int, model: str) -> Deltas:
    """Plausible sentences of `length` tokens as `model` counts them (with tiktoken; else
    `length` words), the same for the same key.

    With tiktoken, words are drawn until the text, with the full stop its last word then gets,
    reaches `length` tokens: a last word of several tokens can take it a token or two past. A
    word (with its leading space and punctuation) is whole pre-tokenizer pieces, so the text's
    tokens are its words' tokens one after the other: each word is encoded once per process,
    never the whole text, and a text of more than `length` tokens starts with the one of
    `length`, token for token (so a cut answer is a prefix of a longer one). Recent answers
    are kept, so a repeated request costs a lookup.
    """
    if not exact_tokens():
        return Deltas(tuple(generated_tokens(key, length)))
    from openai_ergo._accounting._encodings import encoding_name_for

    name = encoding_name_for(model)
    found = _GENERATED.get((name, key, length))
    if found is not None:
        return found
    known = _WORD_DELTAS.setdefault(name, {})

    def spelled(word: str) -> tuple[str, ...]:
        # The words are ASCII: a delta a token, no merging.
        pieces = known[word] = _split(word, name).pieces
        return pieces

    pieces: list[str] = []
    count = 0
    if length > 0:
        for word in _words(key):
            tokens = known.get(word) or spelled(word)
            count += len(tokens)
            # The full stop the last word gets is one more token unless it ends in
            # punctuation already (a comma becomes the full stop).
            if count + (word[-1] not in ".,") >= length:
                last = _end_sentence(word)
                pieces.extend(known.get(last) or spelled(last))
                break
            pieces.extend(tokens)
    found = Deltas(tuple(pieces))
    if length <= _SPLITS_TEXT // 4:
        if len(_GENERATED) >= _SPLITS_SIZE:
            _GENERATED.clear()
        _GENERATED[name, key, length] = found
    return found


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
    value = schema_instance(schema or {"type": "object"}, key)
    return value if isinstance(value, dict) else {}


def schema_instance(schema: Mapping[str, Any], key: int) -> Any:
    """A deterministic JSON value valid for `schema`: the same schema and key, the same value.

    It follows local `$ref`s (`#/$defs/...`, as msgspec and Structured Outputs write them),
    `required` and `additionalProperties`, enums and consts, numeric bounds, string lengths and
    common formats, and array lengths, so a structured-output reply parses into the caller's type.
    """
    return _Instance(schema, random.Random(key)).value(schema, depth=0)


_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "PT1H",
    "email": "user@example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
}


class _Instance:
    """One walk over a schema, with its root (for `$ref`) and its random source."""

    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < 32:
            target: Any = self.root
            for part in schema["$ref"].removeprefix("#").strip("/").split("/"):
                if not part:
                    continue
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
                if not isinstance(target, Mapping):
                    return {}
            schema, seen = target, seen + 1
        return schema

    def value(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
            return None
        schema = self.resolve(schema)
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[0]
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged |= dict(self.resolve(part)) if isinstance(part, Mapping) else {}
            return self.value(merged, depth + 1)
        for combinator in ("anyOf", "oneOf"):
            options = schema.get(combinator)
            if isinstance(options, list) and options:
                # A nullable field still gets a real value: null only when it is the only way.
                shaped = [o for o in options if isinstance(o, Mapping)]
                real = [o for o in shaped if self.resolve(o).get("type") != "null"] or shaped
                return self.value(real[0] if real else {}, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, depth)
        if kind in ("integer", "number"):
            return self.number(schema, integer=kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self.string(schema)

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            properties = {}
        required = schema.get("required")
        # Deep optional fields are left out, so a recursive type's instance stays finite.
        names = [
            name
            for name in properties
            if depth < 4 or (isinstance(required, list) and name in required)
        ]
        if depth > 12:
            names = []
        return {name: self.value(properties[name], depth + 1) for name in names}

    def array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        low = _bound(schema.get("minItems"), 0)
        high = schema.get("maxItems")
        count = max(low, 0 if depth > 4 else 1)
        if isinstance(high, int):
            count = max(0, min(count, high))
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            return [self.value(item, depth + 1) for item in prefix]
        return [self.value(schema.get("items") or {}, depth + 1) for _ in range(count)]

    def number(self, schema: Mapping[str, Any], *, integer: bool) -> int | float:
        given_low = schema.get("minimum", schema.get("exclusiveMinimum"))
        given_high = schema.get("maximum", schema.get("exclusiveMaximum"))
        has_low = _finite(given_low)
        has_high = _finite(given_high)
        high: float = given_high if has_high else 100.0
        low: float = given_low if has_low else (0.0 if high >= 0 else high - 100)
        if not has_high:
            high = low + 100
        value: float
        if integer:
            first = math.floor(low) + (1 if "exclusiveMinimum" in schema or low % 1 else 0)
            last = math.ceil(high) - (1 if "exclusiveMaximum" in schema or high % 1 else 0)
            value = self.rng.randint(first, max(first, last))
        else:
            value = round(low + (high - low) * (0.25 + self.rng.random() / 2), 2)
        step = schema.get("multipleOf")
        if _finite(step) and step > 0 and abs(value / step) < 1e15:
            value = math.ceil(value / step) * step
        return int(value) if integer else value

    def string(self, schema: Mapping[str, Any]) -> str:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        text = self.rng.choice(_WORDS[60:])
        low = _bound(schema.get("minLength"), 0)
        high = schema.get("maxLength")
        if len(text) < low:
            text = (text * (low // len(text) + 1))[:low]
        if isinstance(high, int) and not isinstance(high, bool):
            text = text[: max(0, high)]
        return text


#: Past this depth a (self-referencing) schema's instance stops: null rather than no answer.
_MAX_DEPTH = 32
#: Array and string sizes a schema may ask for; more is the schema's problem, not a reason to
#: build a huge reply.
_MAX_SIZE = 4096


def _finite(value: Any) -> TypeGuard[float]:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) < 1e15
    )


def _bound(value: Any, default: int) -> int:
    """A schema's size keyword as a sane count."""
    if not isinstance(value, int) or isinstance(value, bool):
        return default
    return max(0, min(value, _MAX_SIZE))


def limit_refusal(refusal: Deltas, limit: int | None, model: str) -> Completion:
    """A refusal, cut by the request's token limit like any answer."""
    if limit is not None and refusal.tokens > limit:
        kept = refusal.within(limit)
        return Completion(
            tokens=[], calls=[], finish="length", refusal=kept, produced=limit, model=model
        )
    return Completion(
        tokens=[],
        calls=[],
        finish="stop",
        refusal=list(refusal.pieces),
        produced=refusal.tokens,
        model=model,
    )


def limit_completion(
    text: Deltas, calls: list[PlannedCall], limit: int | None, model: str
) -> Completion:
    """Apply the request's token limit: a cut answer finishes with `length`, has produced
    exactly `limit` tokens, and drops its calls."""
    if limit is not None and text.tokens > limit:
        kept = text.within(limit)
        return Completion(tokens=kept, calls=[], finish="length", produced=limit, model=model)
    return Completion(
        tokens=list(text.pieces),
        calls=calls,
        finish="tool_calls" if calls else "stop",
        produced=text.tokens,
        model=model,
    )


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
