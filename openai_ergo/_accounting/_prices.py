"""What tokens cost: a dated, editable price table per model, and `cost_of(usage, model)`.

Prices are US dollars per million tokens, as `Decimal`s (money is not a float). The table
shipped here is OpenAI's list price on the date it carries (`PriceTable.as_of`); prices change,
and batch, flex and priority tiers and fine-tuned models are priced differently: edit the
table (`table[model] = ModelPrice(...)`) or load your own (`PriceTable.from_dict`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any, final

import msgspec

from openai_ergo._errors import InvalidRequestError, OpenAIErgoError

__all__ = [
    "ModelPrice",
    "PriceNotFoundError",
    "PriceTable",
    "TokenUsage",
    "cost_of",
    "default_prices",
]

_MILLION = Decimal(1_000_000)
_ZERO = Decimal(0)


class PriceNotFoundError(OpenAIErgoError, LookupError):
    """The price table has no price for a model: add one with `table[model] = ModelPrice(...)`."""

    def __init__(self, message: str, *, model: str) -> None:
        super().__init__(message)
        #: The model that has no price.
        self.model = model


@final
@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts of one request (or a sum of them), in one shape for every API.

    `input` and `output` are the totals; the other fields are parts of them: `cached_input`,
    `audio_input` and `image_input` of `input`, `audio_output` and `image_output` of `output`,
    `reasoning` of `output` (billed as output). Text is what remains.
    """

    input: int = 0
    output: int = 0
    cached_input: int = 0
    reasoning: int = 0
    audio_input: int = 0
    audio_output: int = 0
    image_input: int = 0
    image_output: int = 0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidRequestError(
                    f"TokenUsage.{field.name} must be a whole number >= 0, not {value!r}",
                    param=field.name,
                )

    @property
    def total(self) -> int:
        """Input plus output tokens."""
        return self.input + self.output

    def __add__(self, other: TokenUsage) -> TokenUsage:
        if not isinstance(other, TokenUsage):
            return NotImplemented
        return TokenUsage(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @classmethod
    def of(cls, usage: Any) -> TokenUsage:
        """The counts of a `usage` object as any API reports it: a Responses `ResponseUsage`,
        a chat `CompletionUsage`, an embeddings usage, the same as dicts, or a `TokenUsage`."""
        if isinstance(usage, TokenUsage):
            return usage
        data = usage if isinstance(usage, Mapping) else msgspec.to_builtins(usage)
        if not isinstance(data, Mapping):
            raise InvalidRequestError(f"not a usage object: {type(usage).__name__}", param="usage")

        def part(details: str, name: str) -> int:
            section = data.get(details)
            value = section.get(name) if isinstance(section, Mapping) else None
            return value if isinstance(value, int) else 0

        def whole(*names: str) -> int:
            for name in names:
                value = data.get(name)
                if isinstance(value, int):
                    return value
            return 0

        if "input_tokens" in data or "output_tokens" in data:
            return cls(
                input=whole("input_tokens"),
                output=whole("output_tokens"),
                cached_input=part("input_tokens_details", "cached_tokens"),
                reasoning=part("output_tokens_details", "reasoning_tokens"),
                audio_input=part("input_tokens_details", "audio_tokens"),
                image_input=part("input_tokens_details", "image_tokens"),
                image_output=part("output_tokens_details", "image_tokens"),
            )
        return cls(
            input=whole("prompt_tokens"),
            output=whole("completion_tokens"),
            cached_input=part("prompt_tokens_details", "cached_tokens"),
            reasoning=part("completion_tokens_details", "reasoning_tokens"),
            audio_input=part("prompt_tokens_details", "audio_tokens"),
            audio_output=part("completion_tokens_details", "audio_tokens"),
        )


def _money(value: Decimal | int | str | float | None, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        value = repr(value)  # 0.15 means 0.15, not its binary neighbour
    try:
        money = Decimal(value)
    except ArithmeticError:
        raise InvalidRequestError(f"{name} is not a price: {value!r}", param=name) from None
    if not money.is_finite() or money < 0:
        raise InvalidRequestError(f"{name} must be a price >= 0, not {value!r}", param=name)
    return money


def _or(price: Decimal | None, fallback: Decimal) -> Decimal:
    return fallback if price is None else price


@final
@dataclass(frozen=True, slots=True, init=False)
class ModelPrice:
    """One model's prices in US dollars per million tokens.

    `input`, `cached_input` and `output` are the text prices; the audio and image prices
    apply to those parts of the usage. A price left `None` falls back to the text price of
    its direction (`cached_input` to `input`).
    """

    input: Decimal
    output: Decimal
    cached_input: Decimal | None
    audio_input: Decimal | None
    audio_output: Decimal | None
    image_input: Decimal | None
    image_output: Decimal | None

    def __init__(
        self,
        input: Decimal | int | str | float,
        output: Decimal | int | str | float = 0,
        *,
        cached_input: Decimal | int | str | float | None = None,
        audio_input: Decimal | int | str | float | None = None,
        audio_output: Decimal | int | str | float | None = None,
        image_input: Decimal | int | str | float | None = None,
        image_output: Decimal | int | str | float | None = None,
    ) -> None:
        for name, value in (
            ("input", input),
            ("output", output),
            ("cached_input", cached_input),
            ("audio_input", audio_input),
            ("audio_output", audio_output),
            ("image_input", image_input),
            ("image_output", image_output),
        ):
            object.__setattr__(self, name, _money(value, name))

    def parts(self, usage: TokenUsage) -> dict[str, Decimal]:
        """The cost of each part of `usage` (dollars): text, cached, audio and image input,
        text, audio and image output. Their sum is `cost`."""
        inp, out = self.input, self.output
        text_in = usage.input - usage.cached_input - usage.audio_input - usage.image_input
        text_out = usage.output - usage.audio_output - usage.image_output
        rates = (
            ("input", max(text_in, 0), inp),
            ("cached_input", usage.cached_input, _or(self.cached_input, inp)),
            ("audio_input", usage.audio_input, _or(self.audio_input, inp)),
            ("image_input", usage.image_input, _or(self.image_input, inp)),
            ("output", max(text_out, 0), out),
            ("audio_output", usage.audio_output, _or(self.audio_output, out)),
            ("image_output", usage.image_output, _or(self.image_output, out)),
        )
        return {name: Decimal(tokens) * rate / _MILLION for name, tokens, rate in rates}

    def cost(self, usage: TokenUsage) -> Decimal:
        """What `usage` costs at these prices, in dollars."""
        return sum(self.parts(usage).values(), _ZERO)

    def to_dict(self) -> dict[str, str]:
        """The prices as strings (for JSON), the unset ones left out."""
        return {
            f.name: str(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) is not None
        }


#: A dated snapshot (`-2024-08-06`) or a fine-tune (`ft:gpt-4o-mini:org::id`) of a model.
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


@final
class PriceTable(MutableMapping[str, ModelPrice]):
    """Prices per model, as of a date. Look a model up with `table.price(model)`: an exact
    name first, then the model its dated snapshot or fine-tune derives from, then the longest
    name it starts with. Edit it like a dict."""

    def __init__(self, prices: Mapping[str, ModelPrice] | None = None, *, as_of: date) -> None:
        self._prices: dict[str, ModelPrice] = dict(prices or {})
        #: The day these prices were read from OpenAI's price list.
        self.as_of = as_of

    def __getitem__(self, model: str) -> ModelPrice:
        return self._prices[model]

    def __setitem__(self, model: str, price: ModelPrice) -> None:
        if not isinstance(price, ModelPrice):
            raise InvalidRequestError(
                f"a price must be a ModelPrice, not {type(price).__name__}", param=model
            )
        self._prices[model] = price

    def __delitem__(self, model: str) -> None:
        del self._prices[model]

    def __iter__(self) -> Iterator[str]:
        return iter(self._prices)

    def __len__(self) -> int:
        return len(self._prices)

    def find(self, model: str) -> ModelPrice | None:
        """The price `model` is billed at, or None when the table has none."""
        prices = self._prices
        found = prices.get(model)
        if found is not None:
            return found
        name = model
        if name.startswith("ft:"):
            name = name.split(":")[1]
        name = _SNAPSHOT.sub("", name)
        found = prices.get(name)
        if found is not None:
            return found
        best = max((key for key in prices if name.startswith(key)), key=len, default=None)
        return prices[best] if best is not None else None

    def price(self, model: str) -> ModelPrice:
        """The price `model` is billed at; `PriceNotFoundError` when the table has none."""
        found = self.find(model)
        if found is None:
            raise PriceNotFoundError(
                f"no price for model {model!r} in the price table of {self.as_of}: add one "
                f"with table[{model!r}] = ModelPrice(input=..., output=...)",
                model=model,
            )
        return found

    def cost(self, usage: Any, model: str) -> Decimal:
        """What `usage` (any API's usage object, or a `TokenUsage`) costs on `model`."""
        return self.price(model).cost(TokenUsage.of(usage))

    def to_dict(self) -> dict[str, Any]:
        """The table as plain data: `{"as_of": "2025-08-07", "models": {name: prices}}`."""
        return {
            "as_of": self.as_of.isoformat(),
            "models": {name: price.to_dict() for name, price in self._prices.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceTable:
        """A table from `to_dict()`'s shape (from a JSON or YAML file of your own)."""
        try:
            as_of = date.fromisoformat(str(data["as_of"]))
            models = data["models"]
            return cls({name: ModelPrice(**prices) for name, prices in models.items()}, as_of=as_of)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, InvalidRequestError):
                raise
            raise InvalidRequestError(
                f"not a price table ({type(exc).__name__}: {exc}): expected "
                '{"as_of": "YYYY-MM-DD", "models": {"model": {"input": "1.25", ...}}}',
                param="prices",
            ) from None

    def __repr__(self) -> str:
        return f"<PriceTable as_of={self.as_of} models={len(self._prices)}>"


def _p(
    input: str,
    output: str = "0",
    cached: str | None = None,
    **modalities: str,
) -> ModelPrice:
    return ModelPrice(input, output, cached_input=cached, **modalities)


#: OpenAI's standard-tier list prices, per million tokens, on `_AS_OF`.
_AS_OF = date(2025, 8, 7)
_DEFAULT = {
    "gpt-5": _p("1.25", "10", "0.125"),
    "gpt-5-chat-latest": _p("1.25", "10", "0.125"),
    "gpt-5-mini": _p("0.25", "2", "0.025"),
    "gpt-5-nano": _p("0.05", "0.40", "0.005"),
    "gpt-4.1": _p("2", "8", "0.50"),
    "gpt-4.1-mini": _p("0.40", "1.60", "0.10"),
    "gpt-4.1-nano": _p("0.10", "0.40", "0.025"),
    "gpt-4o": _p("2.50", "10", "1.25"),
    "gpt-4o-mini": _p("0.15", "0.60", "0.075"),
    "chatgpt-4o-latest": _p("5", "15"),
    "o1": _p("15", "60", "7.50"),
    "o1-mini": _p("1.10", "4.40", "0.55"),
    "o1-pro": _p("150", "600"),
    "o3": _p("2", "8", "0.50"),
    "o3-mini": _p("1.10", "4.40", "0.55"),
    "o3-pro": _p("20", "80"),
    "o4-mini": _p("1.10", "4.40", "0.275"),
    "gpt-4-turbo": _p("10", "30"),
    "gpt-4": _p("30", "60"),
    "gpt-3.5-turbo": _p("0.50", "1.50"),
    "gpt-realtime": _p("4", "16", "0.40", audio_input="32", audio_output="64"),
    "gpt-4o-realtime-preview": _p("5", "20", "2.50", audio_input="40", audio_output="80"),
    "gpt-4o-mini-realtime-preview": _p("0.60", "2.40", "0.30", audio_input="10", audio_output="20"),
    "gpt-4o-audio-preview": _p("2.50", "10", audio_input="40", audio_output="80"),
    "gpt-4o-mini-audio-preview": _p("0.15", "0.60", audio_input="10", audio_output="20"),
    "gpt-4o-transcribe": _p("2.50", "10", audio_input="6"),
    "gpt-4o-mini-transcribe": _p("1.25", "5", audio_input="3"),
    "gpt-4o-mini-tts": _p("0.60", "0", audio_output="12"),
    "gpt-image-1": _p("5", "40", "1.25", image_input="10"),
    "text-embedding-3-small": _p("0.02"),
    "text-embedding-3-large": _p("0.13"),
    "text-embedding-ada-002": _p("0.10"),
    "omni-moderation-latest": _p("0"),
}


def default_prices() -> PriceTable:
    """A fresh copy of the price table this release ships (edit it freely)."""
    return PriceTable(_DEFAULT, as_of=_AS_OF)


_shared = default_prices()


def cost_of(usage: Any, model: str, *, prices: PriceTable | None = None) -> Decimal:
    """What `usage` (a Responses or chat usage object, an embeddings usage, a dict of one,
    or a `TokenUsage`) cost on `model`, in US dollars, from `prices` (the shipped table by
    default). Raises `PriceNotFoundError` for a model the table does not price."""
    return (_shared if prices is None else prices).cost(usage, model)
