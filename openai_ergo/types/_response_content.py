"""What a Responses output message is made of: content parts, annotations, log probabilities."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal, final

from openai_ergo.types._base import UNKNOWN_TAG, APIObject, TaggedObject, UnknownTypeVariant

__all__ = [
    "Annotation",
    "ContainerFileCitation",
    "FileCitation",
    "FilePathAnnotation",
    "LogProb",
    "OutputContent",
    "OutputRefusal",
    "OutputText",
    "ReasoningText",
    "SummaryText",
    "TopLogProb",
    "UnknownAnnotation",
    "UnknownContent",
    "UrlCitation",
]


@final
class FileCitation(TaggedObject, tag="file_citation", kw_only=True):
    """A citation of a file found by the file search tool."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["file_citation"]]

    file_id: str = ""
    filename: str = ""
    index: int = 0


@final
class UrlCitation(TaggedObject, tag="url_citation", kw_only=True):
    """A citation of a web page found by the web search tool; the indexes span the output text."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["url_citation"]]

    url: str = ""
    title: str = ""
    start_index: int = 0
    end_index: int = 0


@final
class ContainerFileCitation(TaggedObject, tag="container_file_citation", kw_only=True):
    """A citation of a file in a code interpreter container."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["container_file_citation"]]

    container_id: str = ""
    file_id: str = ""
    filename: str = ""
    start_index: int = 0
    end_index: int = 0


@final
class FilePathAnnotation(TaggedObject, tag="file_path", kw_only=True):
    """A path to a file the model produced (for example with code interpreter)."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["file_path"]]

    file_id: str = ""
    index: int = 0


@final
class UnknownAnnotation(UnknownTypeVariant, tag=UNKNOWN_TAG, kw_only=True):
    """An annotation of a `type` this version does not know; `raw` keeps all of it."""


@final
class TopLogProb(APIObject, kw_only=True):
    """One of the most likely tokens at a position, with its log probability."""

    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None


@final
class LogProb(APIObject, kw_only=True):
    """The log probability of one output token, and the most likely alternatives."""

    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None
    top_logprobs: list[TopLogProb] = []


@final
class OutputText(TaggedObject, tag="output_text", kw_only=True):
    """Text the model wrote, with its citations (and log probabilities when requested)."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["output_text"]]

    text: str = ""
    annotations: list[Annotation] = []
    logprobs: list[LogProb] | None = None


@final
class OutputRefusal(TaggedObject, tag="refusal", kw_only=True):
    """The model's explanation of why it refused."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["refusal"]]

    refusal: str = ""


@final
class ReasoningText(TaggedObject, tag="reasoning_text", kw_only=True):
    """Raw reasoning text, from models and servers that expose it."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["reasoning_text"]]

    text: str = ""


@final
class SummaryText(TaggedObject, tag="summary_text", kw_only=True):
    """One part of a reasoning summary."""

    if TYPE_CHECKING:
        type: ClassVar[Literal["summary_text"]]

    text: str = ""


@final
class UnknownContent(UnknownTypeVariant, tag=UNKNOWN_TAG, kw_only=True):
    """A content part of a `type` this version does not know; `raw` keeps all of it."""


# msgspec decodes the tagged unions below; the unknown fallbacks are never on the wire under a
# tag of their own, so only the type checker sees them in the unions: decoding falls back to them
# when msgspec meets an unknown tag (see `_tolerant.py`).
if TYPE_CHECKING:
    Annotation = (
        FileCitation | UrlCitation | ContainerFileCitation | FilePathAnnotation | UnknownAnnotation
    )
    OutputContent = OutputText | OutputRefusal | ReasoningText | UnknownContent
else:
    Annotation = FileCitation | UrlCitation | ContainerFileCitation | FilePathAnnotation
    OutputContent = OutputText | OutputRefusal | ReasoningText
