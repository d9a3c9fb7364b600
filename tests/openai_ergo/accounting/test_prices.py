"""The price table and `cost_of`: a usage's cost is the sum of its parts at the table's prices,
whatever API reported it, and a model without a price is a named error."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openai_ergo import (
    InvalidRequestError,
    ModelPrice,
    PriceNotFoundError,
    PriceTable,
    TokenUsage,
    cost_of,
    default_prices,
)
from openai_ergo.types import ChatCompletion, Response

M = Decimal(1_000_000)
prices = st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False)
optional = st.one_of(st.none(), prices)


@st.composite
def usages(draw: st.DrawFn) -> TokenUsage:
    n = st.integers(0, 10**7)
    cached, audio_in, image_in = draw(n), draw(n), draw(n)
    audio_out, image_out = draw(n), draw(n)
    input_ = cached + audio_in + image_in + draw(n)
    output = audio_out + image_out + draw(n)
    return TokenUsage(
        input=input_,
        output=output,
        cached_input=cached,
        reasoning=draw(st.integers(0, output)),
        audio_input=audio_in,
        audio_output=audio_out,
        image_input=image_in,
        image_output=image_out,
    )


@given(
    usage=usages(),
    input_=prices,
    output=prices,
    cached=optional,
    audio_in=optional,
    audio_out=optional,
    image_in=optional,
    image_out=optional,
)
def test_the_cost_of_a_usage_is_the_sum_of_its_parts(
    usage: TokenUsage,
    input_: Decimal,
    output: Decimal,
    cached: Decimal | None,
    audio_in: Decimal | None,
    audio_out: Decimal | None,
    image_in: Decimal | None,
    image_out: Decimal | None,
) -> None:
    price = ModelPrice(
        input_,
        output,
        cached_input=cached,
        audio_input=audio_in,
        audio_output=audio_out,
        image_input=image_in,
        image_output=image_out,
    )
    table = PriceTable({"m": price}, as_of=date(2025, 1, 1))

    def rate(given: Decimal | None, text: Decimal) -> Decimal:
        return text if given is None else given

    text_in = usage.input - usage.cached_input - usage.audio_input - usage.image_input
    text_out = usage.output - usage.audio_output - usage.image_output
    expected = (
        text_in * input_
        + usage.cached_input * rate(cached, input_)
        + usage.audio_input * rate(audio_in, input_)
        + usage.image_input * rate(image_in, input_)
        + text_out * output
        + usage.audio_output * rate(audio_out, output)
        + usage.image_output * rate(image_out, output)
    ) / M
    assert cost_of(usage, "m", prices=table) == expected
    assert sum(price.parts(usage).values()) == expected
    # Reasoning tokens are output tokens: they change nothing on their own.
    assert price.cost(TokenUsage(output=usage.reasoning, reasoning=usage.reasoning)) == (
        usage.reasoning * output / M
    )


def test_every_api_usage_shape_costs_the_same() -> None:
    chat_usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 500,
        "prompt_tokens_details": {"cached_tokens": 200},
        "completion_tokens_details": {"reasoning_tokens": 100},
    }
    responses_usage = {
        "input_tokens": 1000,
        "output_tokens": 500,
        "input_tokens_details": {"cached_tokens": 200},
        "output_tokens_details": {"reasoning_tokens": 100},
    }
    expected = (800 * Decimal("0.25") + 200 * Decimal("0.025") + 500 * Decimal(2)) / M
    assert cost_of(chat_usage, "gpt-5-mini") == expected
    assert cost_of(responses_usage, "gpt-5-mini") == expected
    assert TokenUsage.of(chat_usage) == TokenUsage.of(responses_usage)
    typed = msgspec.convert({"usage": chat_usage}, ChatCompletion).usage
    assert cost_of(typed, "gpt-5-mini") == expected
    typed_response = msgspec.convert({"id": "r", "usage": responses_usage}, Response).usage
    assert cost_of(typed_response, "gpt-5-mini") == expected


def test_snapshots_and_fine_tunes_take_their_base_models_price() -> None:
    table = default_prices()
    assert table.price("gpt-4o-mini-2024-07-18") == table["gpt-4o-mini"]
    assert table.price("ft:gpt-4o-mini-2024-07-18:acme::abc123") == table["gpt-4o-mini"]
    assert table.price("gpt-4o-mini") != table["gpt-4o"]
    assert table.as_of == date(2025, 8, 7)
    with pytest.raises(PriceNotFoundError, match="no price for model 'llama-3'") as caught:
        cost_of(TokenUsage(input=1), "llama-3")
    assert caught.value.model == "llama-3"


def test_the_table_is_editable_and_round_trips_through_plain_data() -> None:
    table = default_prices()
    table["my-model"] = ModelPrice("1", "2", cached_input=0.5)
    assert cost_of(TokenUsage(input=10**6, cached_input=10**6), "my-model", prices=table) == (
        Decimal("0.5")
    )
    again = PriceTable.from_dict(table.to_dict())
    assert dict(again) == dict(table)
    assert again.as_of == table.as_of
    assert "my-model" not in default_prices()  # each copy is its own
    free = ModelPrice(1, 1, cached_input=0)
    assert free.cost(TokenUsage(input=5, cached_input=5)) == 0  # a zero price is a price


def test_bad_prices_and_usages_are_named() -> None:
    with pytest.raises(InvalidRequestError, match="input"):
        ModelPrice("-1")
    with pytest.raises(InvalidRequestError, match="output"):
        ModelPrice(1, "lots")
    with pytest.raises(InvalidRequestError, match="cached_input"):
        TokenUsage(cached_input=-1)
    with pytest.raises(InvalidRequestError, match=r"not a price table.*as_of"):
        PriceTable.from_dict({"models": {}})
    with pytest.raises(InvalidRequestError, match="ModelPrice"):
        default_prices()["x"] = {"input": 1}  # type: ignore[assignment]
    with pytest.raises(InvalidRequestError, match="usage"):
        TokenUsage.of(42)
    assert ModelPrice(0.15).input == Decimal("0.15")  # the float's decimal text, not its binary
