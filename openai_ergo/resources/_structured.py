"""Structured output: a msgspec type becomes a strict JSON Schema format, and the answer becomes
a value of that type.

The format goes out as `text.format` (Responses) or `response_format` (Chat Completions). The
answer is checked before decoding: a refusal raises `RefusalError`, output cut short (status
`incomplete`, `finish_reason` `length` or `content_filter`) raises `TruncatedOutputError`, and
text that does not decode into the type raises `OutputParseError`; each carries the text and the
whole result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar, final

import msgspec

from openai_ergo import _pydantic
from openai_ergo._errors import (
    InvalidRequestError,
    OutputParseError,
    RefusalError,
    TruncatedOutputError,
)
from openai_ergo.resources._json_schema import object_schema, strict_problem, strict_schema
from openai_ergo.types import ChatCompletion, OutputMessage, OutputRefusal, Response

__all__ = ["OutputFormat", "Parsed", "parse_chat", "parse_response"]

T = TypeVar("T")
R = TypeVar("R")

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


@final
class OutputFormat(Generic[T]):
    """The JSON Schema format for output type `T`, with a decoder for it (built once)."""

    __slots__ = ("decoder", "name", "schema", "strict", "type")

    def __init__(self, type_: type[T], *, name: str | None = None, strict: bool = True) -> None:
        self.type = type_
        raw_name = str(name or getattr(type_, "__name__", "output"))
        self.name = _NAME_CHARS.sub("_", raw_name)[:64]
        pydantic_model = _pydantic.is_model(type_)
        try:
            schema = _pydantic.model_schema(type_) if pydantic_model else object_schema(type_)
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(
                f"parse: cannot write a JSON Schema for {type_!r}: {exc}", param="text.format"
            ) from None
        if schema.get("type") != "object":
            raise InvalidRequestError(
                f"parse: the output type must be an object type (a msgspec Struct or a "
                f"pydantic model, say), "
                f"not {type_!r}",
                param="text.format",
            )
        strict_version = strict_schema(schema) if strict else None
        if strict and strict_version is None:
            raise InvalidRequestError(
                f"parse: {type_!r} cannot be expressed in strict mode: "
                f"{strict_problem(schema)}; pass strict=False",
                param="text.format",
            )
        self.strict = strict
        self.schema: dict[str, Any] = strict_version or schema
        #: JSON text to a `T`: msgspec's decoder, or a pydantic model's `model_validate_json`.
        self.decoder: Callable[[str | bytes], T] = (
            _pydantic.json_decoder(type_) if pydantic_model else msgspec.json.Decoder(type_).decode
        )

    def for_responses(self) -> dict[str, Any]:
        """`text.format` for the Responses API."""
        return {
            "type": "json_schema",
            "name": self.name,
            "schema": self.schema,
            "strict": self.strict,
        }

    def for_chat(self) -> dict[str, Any]:
        """`response_format` for Chat Completions."""
        json_schema = {"name": self.name, "schema": self.schema, "strict": self.strict}
        return {"type": "json_schema", "json_schema": json_schema}

    def decode(self, text: str, result: Any) -> T:
        """`text` decoded into the output type, or `OutputParseError` saying why not."""
        try:
            return self.decoder(text)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise OutputParseError(
                f"the output is not a valid {self.name}: {exc}", text=text, result=result
            ) from None


@final
class Parsed(Generic[T, R]):
    """A structured answer: `parsed` (a value of the requested type), the `text` it came from,
    and the whole `result` (the `Response` or `ChatCompletion`, with usage)."""

    __slots__ = ("parsed", "result", "text")

    def __init__(self, parsed: T, text: str, result: R) -> None:
        self.parsed = parsed
        self.text = text
        self.result = result

    def __repr__(self) -> str:
        return f"Parsed({self.parsed!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Parsed):
            return NotImplemented
        return (self.parsed, self.text, self.result) == (other.parsed, other.text, other.result)

    __hash__ = None  # type: ignore[assignment]


def parse_response(response: Response, output: OutputFormat[T]) -> Parsed[T, Response]:
    """The structured answer of a Responses result, or the error saying why there is none."""
    for item in response.output:
        if isinstance(item, OutputMessage):
            for part in item.content:
                if isinstance(part, OutputRefusal):
                    raise RefusalError(
                        f"the model refused: {part.refusal}", refusal=part.refusal, result=response
                    )
    text = response.output_text
    if response.status == "incomplete":
        details = response.incomplete_details
        reason = details.reason if details is not None else None
        raise TruncatedOutputError(
            f"the output stopped early ({reason or 'incomplete'}) and cannot be parsed",
            text=text,
            result=response,
        )
    return Parsed(output.decode(text, response), text, response)


def parse_chat(completion: ChatCompletion, output: OutputFormat[T]) -> Parsed[T, ChatCompletion]:
    """The structured answer of the first choice of a chat completion."""
    if not completion.choices:
        raise OutputParseError("the completion has no choices", text=None, result=completion)
    choice = completion.choices[0]
    message = choice.message
    if message.refusal:
        raise RefusalError(
            f"the model refused: {message.refusal}", refusal=message.refusal, result=completion
        )
    text = message.content or ""
    if choice.finish_reason in ("length", "content_filter"):
        raise TruncatedOutputError(
            f"the output stopped early (finish_reason={choice.finish_reason}) and cannot be parsed",
            text=text,
            result=completion,
        )
    return Parsed(output.decode(text, completion), text, completion)
