"""Naming each operation as the official SDK names it: `files.content`, `vector_stores.files.list`.

Two sources, in this order:

1. The spec's own Python examples call the official SDK (`client.batches.retrieve(...)`): where
   an operation's example makes one call, or several of which one matches the path, that call
   is its name (`beta.` assistants and threads, `fine_tuning.jobs.list_events`,
   `videos.download_content` ...).
2. Elsewhere the path decides, by the SDK's conventions: the resource segments are the
   namespaces (`/organization/projects/{id}/users` -> `organization.projects.users`), and the
   method is `list`/`create` on a collection, `retrieve`/`update`/`delete` on an item, or the
   action a path ends with (`/batches/{id}/cancel` -> `cancel`, `/files/{id}/content` ->
   `content`).

Names are unique: a second operation that would take a taken name (the `?beta=true` twins of the
Responses operations) goes under `beta.`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["sdk_names"]

_CALL = re.compile(r"client\.((?:\w+\.)*\w+)\(")
_WRAPPERS = ("with_streaming_response.", "with_raw_response.")


def _example_calls(op: Mapping[str, Any]) -> list[str]:
    examples = op.get("x-oaiMeta", {}).get("examples")
    calls: list[str] = []
    for example in examples if isinstance(examples, list) else [examples]:
        request = example.get("request") if isinstance(example, dict) else None
        code = request.get("python") if isinstance(request, dict) else None
        if not isinstance(code, str):
            continue
        for match in _CALL.finditer(code):
            call = match.group(1)
            for wrapper in _WRAPPERS:
                call = call.replace(wrapper, "")
            for typo, right in _TYPOS.items():
                call = call.replace(typo, right)
            if call not in calls:
                calls.append(call)
    return calls


def path_name(method: str, path: str) -> str:
    """The SDK-style name the path gives an operation."""
    segments = path.split("?", 1)[0].strip("/").split("/")
    resources = [s for s in segments if not s.startswith("{")]
    ends_with_item = segments[-1].startswith("{")
    action = None
    if resources[-1] in _SINGLETONS and not ends_with_item:
        verb = {"get": "retrieve", "post": "update", "delete": "delete"}[method]
        return ".".join([*(_snake(r) for r in resources), verb])
    if method == "post" and resources[-1] in _ACTIONS and not ends_with_item:
        action = resources.pop()
    elif (
        not ends_with_item
        and len(segments) > 1
        and segments[-2].startswith("{")
        and (method == "post" or segments[-1] in ("content", "download"))
    ):
        # `/batches/{id}/cancel`: an action on an item, unless the segment is a sub-collection
        # (`/threads/{id}/messages`), which GET lists and POST creates.
        action = resources.pop()
        if method == "post" and action in _COLLECTIONS:
            resources.append(action)
            action = None
    verb = action or {
        ("get", False): "list",
        ("post", False): "create",
        ("get", True): "retrieve",
        ("post", True): "update",
        ("put", True): "update",
        ("patch", True): "update",
        ("delete", True): "delete",
        ("delete", False): "delete",
    }.get((method, ends_with_item), method)
    return ".".join([*(_snake(r) for r in resources), verb])


#: Path ends that are actions on what precedes them, item or collection.
_ACTIONS = frozenset(
    {"activate", "deactivate", "validate", "cancel", "complete", "archive", "search", "run"}
)
#: Resources of which there is one (per organization or project): read, set, removed.
_SINGLETONS = frozenset({"data_retention", "spend_limit"})
#: Example calls that misspell a namespace the other examples spell right.
_TYPOS = {"beta.chat_kit.": "beta.chatkit."}

#: Segments after an item that are collections (POST creates in them), not actions.
_COLLECTIONS = frozenset(
    {
        "messages",
        "runs",
        "files",
        "file_batches",
        "items",
        "users",
        "groups",
        "roles",
        "versions",
        "permissions",
        "service_accounts",
        "api_keys",
        "spend_alerts",
        "certificates",
        "hosted_tool_permissions",
        "model_permissions",
        "data_retention",
        "spend_limit",
        "parts",
    }
)


def _snake(segment: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", segment.lower()).strip("_")


def sdk_names(operations: Iterable[tuple[str, str, Mapping[str, Any]]]) -> dict[str, str]:
    """Operation id -> the SDK-style dotted name, for `(method, path, operation)` triples."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for method, path, op in operations:
        derived = path_name(method, path)
        calls = _example_calls(op)
        if derived in calls or any(c.endswith("." + derived) for c in calls):
            name = next(c for c in calls if c == derived or c.endswith("." + derived))
        elif len(calls) == 1:
            name = calls[0]
        else:
            name = derived
        if name in taken:
            name = "beta." + name
        while name in taken:
            name += "_"
        taken.add(name)
        names[op["operationId"]] = name
    return names
