"""The generic handler: every operation no hand-written handler serves answers its spec example.

The example (from the generated operation table) is made fresh for each answer:

- every object `id` gets a new id with the example's prefix (`eval_...`, `chatcmpl-...`), and
  every field of the example that referred to an old id (`first_id`, `last_id`, `eval_id`, ...)
  refers to the new one;
- timestamps (`created`, `*_at`) move with the app's clock, keeping their distances (an
  `expires_at` stays as far after `created_at` as in the example);
- the path parameters are echoed: a field named like one (`eval_id`) takes its value, and the
  object the path names (`/evals/{eval_id}`, `/evals/{eval_id}/runs/{run_id}/cancel`) keeps the
  id asked for;
- a list is the shared list shape (`object: "list"`, `data`, `first_id`, `last_id`,
  `has_more: false`), cut to `limit`.

Binary answers are a few deterministic bytes of the spec's media type (a real zip archive for
`application/zip`), text answers the example's text, empty answers no body; an operation that
also streams answers `stream: true` with its object as one event and `[DONE]`.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from functools import cache
from typing import Any, Protocol

import msgspec

from openai_ergo.mock._operations import SpecOperation
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import MockClock
from openai_ergo.mock._wire import SSE_CONTENT_TYPE, encode_json, new_id

__all__ = ["GenericOperation", "object_parameter"]

_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]*[_-]")
#: Below this a number is no Unix timestamp (a count, a size, a duration).
_EPOCH_FLOOR = 100_000_000
_DEFAULT_SDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


class _App(Protocol):
    clock: MockClock


class GenericOperation:
    """The handler of one operation, answering its spec example made fresh."""

    __slots__ = ("id_parameter", "operation")

    def __init__(self, operation: SpecOperation, id_parameter: str | None) -> None:
        self.operation = operation
        #: The path parameter that names the object answered (None: a new or listed object).
        self.id_parameter = id_parameter

    def __repr__(self) -> str:
        return f"GenericOperation({self.operation.operation_id})"

    async def __call__(self, app: _App, call: Call) -> None:
        op = self.operation
        body = call.request.body
        if op.kind == "binary":
            await call.reply.raw(
                op.status, _binary(op.media_type), call.fault, content_type=op.media_type.encode()
            )
            return
        if op.kind == "text":
            text = op.example or _DEFAULT_SDP
            media = f"{op.media_type}; charset=utf-8".encode()
            await call.reply.raw(op.status, text.encode(), call.fault, content_type=media)
            return
        if op.kind == "empty":
            await call.reply.raw(op.status, b"", call.fault)
            return
        value = self.answer(app.clock.time(), call.params, call.queried().integer("limit"))
        if op.streams and isinstance(body, dict) and body.get("stream") is True:
            events = b"data: " + encode_json(value) + b"\n\ndata: [DONE]\n\n"
            await call.reply.raw(op.status, events, call.fault, content_type=SSE_CONTENT_TYPE)
            return
        await call.reply.raw(op.status, encode_json(value), call.fault)

    def answer(self, now: float, params: Mapping[str, str], limit: int | None = None) -> Any:
        """The operation's example, made fresh for a request with these path parameters."""
        value = msgspec.json.decode(self.operation.example)
        base = _first_timestamp(value)
        shift = int(now) - base if base is not None else 0
        renamed: dict[str, str] = {}
        _fresh(value, shift, renamed)
        _relink(value, renamed, params)
        if isinstance(value, dict):
            if self.id_parameter is not None and isinstance(value.get("id"), str):
                value["id"] = params[self.id_parameter]
            if self.operation.paged:
                _as_page(value, limit)
        return value


def object_parameter(template: str, templates: frozenset[str]) -> str | None:
    """The path parameter naming the object an operation answers, if any.

    The last parameter names it when the path ends there (`/evals/{eval_id}`) or in an action
    (`/evals/{eval_id}/runs/{run_id}/cancel`); a collection after it (`/evals/{eval_id}/runs`,
    which has `/runs/{run_id}` routes) answers other objects.
    """
    parts = template.split("/")
    last = max((i for i, p in enumerate(parts) if p.startswith("{")), default=None)
    if last is None or len(parts) - last > 2:
        return None
    if len(parts) - last == 2:
        collection = "/".join(parts[: last + 2]) + "/{"
        if any(t.startswith(collection) for t in templates):
            return None
    return parts[last].strip("{}")


def _first_timestamp(value: Any) -> int | None:
    if isinstance(value, dict):
        for key in ("created_at", "created"):
            found = value.get(key)
            if isinstance(found, int) and found > _EPOCH_FLOOR:
                return found
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        found = _first_timestamp(item)
        if found is not None:
            return found
    return None


def _fresh(value: Any, shift: int, renamed: dict[str, str]) -> None:
    """New ids (remembered in `renamed`) and shifted timestamps, in place."""
    if isinstance(value, list):
        for item in value:
            _fresh(item, shift, renamed)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key == "id" and isinstance(item, str):
            prefix = _PREFIX.match(item)
            if prefix is not None:
                value[key] = renamed.setdefault(item, new_id(prefix.group(0)))
        elif (
            (key == "created" or key.endswith("_at"))
            and isinstance(item, int)
            and not isinstance(item, bool)
            and item > _EPOCH_FLOOR
        ):
            value[key] = item + shift
        else:
            _fresh(item, shift, renamed)


def _relink(value: Any, renamed: Mapping[str, str], params: Mapping[str, str]) -> None:
    """Point references at the new ids, and fields named like path parameters at their values."""
    if isinstance(value, list):
        for item in value:
            _relink(item, renamed, params)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key in params and key != "id" and (isinstance(item, str) or item is None):
            value[key] = params[key]
        elif key.endswith("_id") and isinstance(item, str) and item in renamed:
            value[key] = renamed[item]
        else:
            _relink(item, renamed, params)


def _as_page(value: dict[str, Any], limit: int | None) -> None:
    data = value.get("data")
    if not isinstance(data, list):
        return
    if limit is not None and limit > 0:
        del data[limit:]
    value["object"] = "list"
    ids = [item.get("id") for item in data if isinstance(item, dict)]
    if "first_id" in value or "last_id" in value or ids:
        value["first_id"] = ids[0] if ids else None
        value["last_id"] = ids[-1] if ids else None
    # One page: the generic handler has no second one to give.
    value["has_more"] = False
    for cursor in ("next_page", "next"):
        if cursor in value:
            value[cursor] = None


@cache
def _binary(media_type: str) -> bytes:
    """A few deterministic bytes of `media_type` (a real archive for a zip)."""
    if media_type == "application/zip":
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as folder:
            folder.writestr(zipfile.ZipInfo("SKILL.md", (2025, 1, 1, 0, 0, 0)), "# A mock skill\n")
        return archive.getvalue()
    return f"mock {media_type} content\n".encode()
