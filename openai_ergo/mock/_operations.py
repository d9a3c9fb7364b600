"""One operation of the spec as the mock sees it: the record the generated table is made of.

The table itself (`openai_ergo/mock/_generated/operations.py`) is written by
`openai_ergo/codegen/_emit_mock.py` from the spec; this module only says what a row holds, and
resolves a row's request body type when a request first needs it.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

__all__ = ["SpecOperation"]


class SpecOperation(NamedTuple):
    """One row of the generated operation table."""

    operation_id: str
    method: str
    #: The path template as routed, `/v1` first (`/v1/evals/{eval_id}`).
    template: str
    #: Where the request body's type lives (`module:name`), "" when it has none or no Struct.
    body_type: str
    #: The request body's content type ("" without a body).
    content_type: str
    #: A success's status (200, or 201 where the spec says so).
    status: int
    #: What a success answers: `json`, `binary`, `text` or `empty`.
    kind: str
    #: The success's media type (`application/json`, `audio/mpeg`, ...).
    media_type: str
    #: Whether the operation can also answer `text/event-stream`.
    streams: bool
    #: Whether it is a cursor-paginated list (`data`, `has_more`).
    paged: bool
    #: The spec's response example, as compact JSON (text for a `text` answer).
    example: str
    #: The request body's closed enums as compact JSON, path -> values ("" when none); a path
    #: goes through objects (`reasoning.effort`) and arrays (`modalities[]`).
    enums: str

    def request_type(self) -> Any:
        """The request body's type, imported on first use (None when there is none)."""
        if not self.body_type:
            return None
        module, _, name = self.body_type.partition(":")
        return getattr(importlib.import_module(module), name)
