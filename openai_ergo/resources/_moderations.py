"""The Moderations builder and its result, with `.flagged` and the flagged categories at hand.

`client.moderations()` (or `client.moderations(model)`) is an immutable builder;
`.input(...)` takes texts and images (`image(...)`); awaited, it returns `Moderation`, a view of
the generated `CreateModerationResponse`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, final

from openai_ergo._errors import InvalidRequestError
from openai_ergo._metadata import RawResponse
from openai_ergo._response import APIResponse, decoder_for
from openai_ergo.resources._builder import BodyBuilder
from openai_ergo.resources._inputs import ImageInput
from openai_ergo.types._generated.moderations import (
    CreateModerationResponse,
    CreateModerationResponseResultsItem,
)

if TYPE_CHECKING:
    from openai_ergo._client import Client

__all__ = ["DEFAULT_MODERATION_MODEL", "Moderation", "ModerationsBuilder"]

#: The model `client.moderations()` uses when none is named: the one that reads images too.
DEFAULT_MODERATION_MODEL = "omni-moderation-latest"


def _names(values: Any, keep: Any) -> list[str]:
    """The API's names (`violence/graphic`) of the fields of `values` for which `keep` holds."""
    if values is None:
        return []
    return [name for name, value in values.to_dict().items() if keep(value)]


@final
class Moderation:
    """What a moderation request returns: `flagged` (any input flagged), `categories` (the
    flagged categories, by the API's names such as `violence/graphic`), `scores()`, and the
    generated objects under them: `results` (one per text, or one for a text-and-image input)
    and `response`."""

    __slots__ = ("response",)

    def __init__(self, response: CreateModerationResponse) -> None:
        #: The API's answer, as the typed method `client.moderations.create` returns it.
        self.response = response

    @classmethod
    def from_json(cls, body: bytes) -> Moderation:
        """The result of one moderation response body, as `await builder` makes it (for a
        batch's result lines, or a body you stored)."""
        return cls(decoder_for(CreateModerationResponse).decode(body))

    @property
    def id(self) -> str:
        """The moderation request's id."""
        return self.response.id or ""

    @property
    def model(self) -> str:
        """The model that classified the input."""
        return self.response.model or ""

    @property
    def results(self) -> list[CreateModerationResponseResultsItem]:
        """One result per text input (in order), or one for an input with images."""
        return self.response.results or []

    @property
    def flagged(self) -> bool:
        """Whether any input was flagged."""
        return any(result.flagged for result in self.results)

    @property
    def categories(self) -> list[str]:
        """The categories flagged in any result, sorted, by the API's names
        (`harassment/threatening`, `self-harm`, ...)."""
        flagged = {
            name
            for result in self.results
            for name in _names(result.categories, lambda value: value is True)
        }
        return sorted(flagged)

    def scores(self, index: int = 0) -> dict[str, float]:
        """Result `index`'s score per category (0 to 1), by the API's names."""
        scores = self.results[index].category_scores
        return {
            name: float(value)
            for name, value in (scores.to_dict() if scores is not None else {}).items()
            if isinstance(value, int | float)
        }

    def __repr__(self) -> str:
        return f"<Moderation flagged={self.flagged} categories={self.categories} id={self.id!r}>"


def _part(index: int, value: object) -> str | ImageInput:
    if isinstance(value, str):
        if not value:
            raise InvalidRequestError(f"input[{index}] is an empty string", param="input")
        return value
    if isinstance(value, ImageInput):
        if value.url is None:
            raise InvalidRequestError(
                f"input[{index}]: moderations take images by URL, path or bytes, not file id",
                param="input",
            )
        return value
    raise InvalidRequestError(
        f"input[{index}] must be a string or an image(...), not {value!r:.60}", param="input"
    )


def _moderation_of(reply: APIResponse) -> Moderation:
    return reply.decode(Moderation.from_json, "moderation")


class ModerationsBuilder(BodyBuilder):
    """A Moderations API request; every setter returns a new builder. `await builder` returns
    `Moderation`."""

    __slots__ = ()

    path = "/moderations"

    def __init__(self, client: Client, model: str = DEFAULT_MODERATION_MODEL) -> None:
        super().__init__(client, model)

    def input(self, *parts: str | ImageInput) -> ModerationsBuilder:
        """What to classify (replaces earlier input). Texts alone are classified one by one
        (a result each); with an image (`image(url | path | bytes)`), the texts and images
        are one input with one result, as the API reads them."""
        if not parts:
            raise InvalidRequestError("input is empty: give a text or an image", param="input")
        checked = tuple(_part(i, part) for i, part in enumerate(parts))
        return self._set("input", checked)

    def _encode_field(self, name: str, value: Any) -> Any:
        if name != "input":
            return value
        if all(isinstance(part, str) for part in value):
            return value[0] if len(value) == 1 else list(value)
        return [
            {"type": "text", "text": part}
            if isinstance(part, str)
            else {"type": "image_url", "image_url": {"url": part.url}}
            for part in value
        ]

    def _validate(self, body: dict[str, Any]) -> None:
        if not body.get("input"):
            raise InvalidRequestError(
                "input is missing: say what to classify with .input(...)", param="input"
            )

    async def create(self) -> Moderation:
        """Send the request and return the `Moderation`."""
        return _moderation_of(await self._send())

    async def with_raw_response(self) -> RawResponse[Moderation]:
        """Send the request and return the response as it came: `request_id`, `headers`,
        `rate_limit`, `status_code`, and `parse()`, the `Moderation` that `await` gives."""
        return RawResponse(await self._send(), _moderation_of)

    def __await__(self) -> Generator[Any, None, Moderation]:
        return self.create().__await__()
