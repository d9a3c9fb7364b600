"""`@tool`: schemas from signatures and docstrings, strict mode where valid, typed arguments."""

from __future__ import annotations

import functools
import socket
from typing import Any, Literal

import msgspec
import pytest

from openai_ergo import Client, InvalidRequestError, tool
from openai_ergo.mock import MockServer
from openai_ergo.resources import ToolArgumentsError


class Place(msgspec.Struct):
    """A place on the map."""

    city: str
    country: str = "FR"


@tool
async def forecast(place: Place, days: int = 3, unit: Literal["c", "f"] | None = None) -> str:
    """Forecast for a place.

    Longer text that is not part of the summary line.

    Args:
        place: Where to look.
        days (int): How many days,
            counted from today.
        unit: Temperature unit.

    Returns:
        The forecast.
    """
    return f"{place.city}/{place.country} {days} {unit}"


def test_the_schema_comes_from_the_signature_and_docstring() -> None:
    spec = forecast.for_responses()
    assert spec["name"] == "forecast"
    assert spec["description"].startswith("Forecast for a place.")
    assert "Returns" not in spec["description"]
    properties = spec["parameters"]["properties"]
    assert properties["place"]["description"] == "Where to look."
    assert properties["days"]["description"] == "How many days, counted from today."
    assert properties["unit"]["description"] == "Temperature unit."


def test_strict_mode_requires_everything_and_makes_defaults_nullable() -> None:
    parameters = forecast.parameters
    assert forecast.strict is True
    assert parameters["required"] == ["place", "days", "unit"]
    assert parameters["additionalProperties"] is False
    assert {"type": "null"} in parameters["properties"]["days"]["anyOf"]
    nested = parameters["properties"]["place"]
    assert nested["required"] == ["city", "country"]
    assert nested["additionalProperties"] is False
    assert "$ref" not in nested  # strict mode takes no keywords beside $ref: inlined
    assert "default" not in msgspec.json.encode(parameters).decode()


async def test_arguments_are_decoded_into_the_parameter_types() -> None:
    result = await forecast.invoke('{"place": {"city": "Lyon", "country": "FR"}, "days": null}')
    assert result == "Lyon/FR 3 None"
    with pytest.raises(ToolArgumentsError, match=r"\$.place"):
        await forecast.invoke('{"place": "Lyon"}')
    with pytest.raises(ToolArgumentsError):
        await forecast.invoke("{not json")


def test_free_form_parameters_fall_back_to_non_strict() -> None:
    @tool
    def tag(labels: dict[str, Any]) -> None:
        """Tag something.

        Parameters
        ----------
        labels : dict
            Free-form labels.
        """

    assert tag.strict is False
    assert tag.parameters["properties"]["labels"]["description"] == "Free-form labels."
    with pytest.raises(InvalidRequestError) as caught:
        tool(strict=True)(tag.__wrapped__)
    assert caught.value.param == "strict"


def test_shapes_differ_between_responses_and_chat() -> None:
    assert set(forecast.for_responses()) == {"type", "name", "description", "parameters", "strict"}
    chat = forecast.for_chat()
    assert set(chat) == {"type", "function"}
    assert chat["function"]["parameters"] == forecast.parameters


def test_bad_tool_definitions_are_refused() -> None:
    def spread(*args: int) -> int:
        return sum(args)

    with pytest.raises(InvalidRequestError):
        tool(spread)
    with pytest.raises(InvalidRequestError) as caught:
        tool(name="has spaces")(forecast.__wrapped__)
    assert caught.value.param == "name"


def test_the_tool_is_still_the_function() -> None:
    @tool
    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    assert double(4) == 8


def _place(x: int, y: int, label: str = "here", *, size: float = 1.0) -> str:
    """Put a label on the map.

    Parameters
    ----------
    x, y : int
        Where, in pixels
        from the top left.
    label
        What to write.
    size : float, optional
        How big.

    Returns
    -------
    str
        The label.
    """
    return f"{label}@{x},{y}x{size}"


async def test_numpy_entries_without_a_type_or_with_several_names_keep_their_text(
    mock_openai: MockServer,
) -> None:
    place = tool(_place)
    async with Client(api_key="sk-mock", base_url=mock_openai.url, rate_limiter=False) as client:
        await client.chat("gpt-4o").user("Put it").tools(place)
    [sent] = mock_openai.requests[0].json["tools"]
    properties = sent["function"]["parameters"]["properties"]
    assert properties["x"]["description"] == "Where, in pixels from the top left."
    assert properties["y"]["description"] == "Where, in pixels from the top left."
    assert properties["label"]["description"] == "What to write."
    assert properties["size"]["description"] == "How big."
    assert sent["function"]["description"] == "Put a label on the map."


class Style(msgspec.Struct):
    bold: bool = False


def test_mutable_defaults_are_described_and_used_fresh() -> None:
    @tool
    def label(
        text: str,
        marks: list[str] = ["!", "?"],  # noqa: B006 - the default is the point
        style: Style = Style(bold=True),  # noqa: B008
    ) -> str:
        """Label something."""
        return text

    assert label.strict is True
    non_strict = tool(strict=False)(label.__wrapped__)
    properties = non_strict.parameters["properties"]
    assert properties["marks"]["default"] == ["!", "?"]
    assert properties["style"]["default"] == {"bold": True}
    first = label.decode_arguments('{"text": "a"}')
    assert first == {"text": "a", "marks": ["!", "?"], "style": Style(bold=True)}
    first["marks"].append("edited")  # each call gets its own copy of the default
    assert label.decode_arguments('{"text": "b"}')["marks"] == ["!", "?"]


def test_a_partial_is_named_and_described_by_its_function() -> None:
    place = tool(functools.partial(_place, 0, label="x"))
    assert place.name == "_place"
    assert place.description == "Put a label on the map."
    assert set(place.parameters["properties"]) == {"y", "label", "size"}


def test_a_parameter_that_cannot_be_described_is_named() -> None:
    def send(sock: socket.socket, data: str) -> None:
        """Send data."""

    with pytest.raises(InvalidRequestError) as caught:
        tool(send)
    assert caught.value.param == "sock"
    assert "'sock'" in str(caught.value)
