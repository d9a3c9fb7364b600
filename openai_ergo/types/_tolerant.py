"""The slow path of decoding: objects that carry a `type` tag this version does not know.

The fast path is one msgspec decode against tagged unions. When msgspec rejects a document, it is
decoded again here, piece by piece: an output item, content part or annotation of an unknown type
becomes an `Unknown*` object that keeps its raw payload, and everything known is converted as
usual. A bad field in a known object still raises `msgspec.ValidationError` naming its path: only
unknown tags are tolerated, never malformed known objects, so no text is ever dropped silently.
"""

from __future__ import annotations

from typing import Any, TypeVar, get_args

import msgspec

from openai_ergo.types._base import TaggedObject
from openai_ergo.types._response_content import (
    Annotation,
    OutputContent,
    OutputText,
    UnknownAnnotation,
    UnknownContent,
)
from openai_ergo.types._response_items import OutputItem, OutputMessage, UnknownOutputItem
from openai_ergo.types._responses import Response

_T = TypeVar("_T", bound=msgspec.Struct)


def is_unknown_tag(exc: msgspec.ValidationError) -> bool:
    """Whether msgspec rejected a document for an unknown `type` tag, rather than a bad field
    (which is re-raised as is: its message names the full path)."""
    message = str(exc)
    return message.startswith("Invalid value") and message.endswith(".type`")


def tags_of(union: Any) -> dict[str, type[TaggedObject]]:
    """Map each tag of a runtime union of tagged Structs to its class."""
    return {str(cls.__struct_config__.tag): cls for cls in get_args(union)}


_ITEMS = tags_of(OutputItem)
_CONTENT = tags_of(OutputContent)
_ANNOTATIONS = tags_of(Annotation)

# What a required nested field is filled with while its real value is converted on its own.
_PLACEHOLDERS: dict[str, Any] = {
    "response": {},
    "item": {"type": "message"},
    "part": {"type": "output_text"},
    "annotation": None,
}


def _type_of(raw: Any) -> str:
    if not isinstance(raw, dict):
        raise msgspec.ValidationError(f"Expected `object`, got `{type(raw).__name__}`")
    tag = raw.get("type")
    if not isinstance(tag, str):
        raise msgspec.ValidationError("Object missing required string field `type`")
    return tag


def _convert(raw: dict[str, Any], cls: type[_T], nested: dict[str, Any]) -> _T:
    """Convert `raw` to `cls`, with the fields in `nested` converted by their own functions."""
    fields = {**raw, **{key: _PLACEHOLDERS.get(key, []) for key in nested if key in raw}}
    result = msgspec.convert(fields, cls)
    for key, value in nested.items():
        if key in raw:
            setattr(result, key, value)
    return result


def annotation(raw: Any) -> Annotation:
    """An annotation, or `UnknownAnnotation` for an unknown type."""
    tag = _type_of(raw)
    cls = _ANNOTATIONS.get(tag)
    if cls is None:
        return UnknownAnnotation(raw=raw)
    return msgspec.convert(raw, cls)  # type: ignore[return-value]


def content(raw: Any) -> OutputContent:
    """A content part, or `UnknownContent` for an unknown type."""
    tag = _type_of(raw)
    cls = _CONTENT.get(tag)
    if cls is None:
        return UnknownContent(raw=raw)
    if cls is OutputText and isinstance(raw.get("annotations"), list):
        nested = {"annotations": [annotation(a) for a in raw["annotations"]]}
        return _convert(raw, OutputText, nested)
    return msgspec.convert(raw, cls)  # type: ignore[return-value]


def output_item(raw: Any) -> OutputItem:
    """An output item, or `UnknownOutputItem` for an unknown type."""
    tag = _type_of(raw)
    cls = _ITEMS.get(tag)
    if cls is None:
        return UnknownOutputItem(raw=raw)
    if cls is OutputMessage and isinstance(raw.get("content"), list):
        return _convert(raw, OutputMessage, {"content": [content(c) for c in raw["content"]]})
    return msgspec.convert(raw, cls)  # type: ignore[return-value]


def response(raw: Any) -> Response:
    """A Response whose output may hold items, parts or annotations of unknown types."""
    if not isinstance(raw, dict):
        raise msgspec.ValidationError(f"Expected `object`, got `{type(raw).__name__}`")
    if isinstance(raw.get("output"), list):
        return _convert(raw, Response, {"output": [output_item(i) for i in raw["output"]]})
    return msgspec.convert(raw, Response)


def event(raw: dict[str, Any], cls: type[_T]) -> _T:
    """A known event whose nested response, item, part or annotation may be of unknown types."""
    nested: dict[str, Any] = {}
    if "response" in raw:
        nested["response"] = response(raw["response"])
    if "item" in raw:
        nested["item"] = output_item(raw["item"])
    if "part" in raw and _type_of(raw["part"]) != "summary_text":
        nested["part"] = content(raw["part"])
    if raw.get("annotation") is not None:
        nested["annotation"] = annotation(raw["annotation"])
    return _convert(raw, cls, nested)
