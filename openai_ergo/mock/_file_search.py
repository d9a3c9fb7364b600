"""The Responses `file_search` tool, answered from the mock's vector stores.

A request offering `{"type": "file_search", "vector_store_ids": [...]}` has its tools checked
up front (an unknown store is a 404, a bad option a 400 naming it). When the mock's tool rule
says the model searches (see `wants_search` in `_endpoints`), the last user message is the
query; the stores' lexical search (the same ranking as `POST /v1/vector_stores/{id}/search`)
gives the results, and the reply quotes the best chunk of each of the top files, each quote
followed by a `file_citation` annotation of its file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openai_ergo.mock._endpoints import BadRequest, missing_parameter
from openai_ergo.mock._vector_stores import (
    StoredVectorStore,
    check_filter,
    rank,
    score_threshold,
)
from openai_ergo.mock._wire import new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI

__all__ = ["SearchCall", "Searcher", "searcher"]

#: How many results a search keeps unless the tool says `max_num_results`.
DEFAULT_RESULTS = 10
#: How many files the reply quotes, and how many words of each.
QUOTED_FILES, QUOTED_WORDS = 3, 40
INCLUDE_RESULTS = "file_search_call.results"
NOTHING_FOUND = "I found nothing about that in the files."


@dataclass
class SearchCall:
    """One run of the tool: its queries, its results, and the reply quoting them."""

    queries: list[str]
    results: list[dict[str, Any]]
    include_results: bool
    text: str
    #: The `file_citation` annotations of `text` (none when a scripted reply replaced it).
    citations: list[dict[str, Any]]
    id: str = field(default_factory=lambda: new_id("fs_"))

    def item(self, status: str) -> dict[str, Any]:
        """The `file_search_call` output item (queries and results once it has searched)."""
        done = status == "completed"
        return {
            "id": self.id,
            "type": "file_search_call",
            "status": status,
            "queries": self.queries if done else [],
            "results": self.results if done and self.include_results else None,
        }

    def annotations(self, text: str) -> list[dict[str, Any]]:
        """The citations that fall within `text` (all of them, unless a token limit cut it)."""
        if not text:
            return []
        return [c for c in self.citations if c["index"] <= len(text)]


#: Runs the offered tool for the given queries.
Searcher = Callable[[list[str]], SearchCall]


def searcher(app: MockOpenAI, body: dict[str, Any]) -> Searcher | None:
    """The request's file search, checked now (before anything is kept), or None when it
    offers no `file_search` tool."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return None
    found = [(i, t) for i, t in enumerate(tools) if isinstance(t, dict)
             and t.get("type") == "file_search"]  # fmt: skip
    if not found:
        return None
    index, tool = found[0]
    param = f"tools[{index}]"
    ids = tool.get("vector_store_ids")
    if ids is None:
        raise missing_parameter(f"{param}.vector_store_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest(
            f"Invalid type for '{param}.vector_store_ids': expected an array of strings.",
            param=f"{param}.vector_store_ids",
            code="invalid_type",
        )
    stores = [app.vector_stores.get(store_id) for store_id in ids]
    limit = tool.get("max_num_results", DEFAULT_RESULTS)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
        raise BadRequest(
            f"Invalid '{param}.max_num_results': expected an integer from 1 to 50, got {limit!r}.",
            param=f"{param}.max_num_results",
            code="invalid_value",
        )
    filters = tool.get("filters")
    if filters is not None:
        check_filter(filters, f"{param}.filters")
    threshold = score_threshold(tool.get("ranking_options"))
    include = body.get("include")
    include_results = isinstance(include, list) and INCLUDE_RESULTS in include

    def search(queries: list[str]) -> SearchCall:
        return _search(app, stores, queries, limit, filters, threshold, include_results)

    return search


def _search(
    app: MockOpenAI,
    stores: list[StoredVectorStore],
    queries: list[str],
    limit: int,
    filters: dict[str, Any] | None,
    threshold: float,
    include_results: bool,
) -> SearchCall:
    ranked = []
    for order, store in enumerate(stores):
        found = rank(store, queries, app, filters=filters, threshold=threshold)
        ranked += [(-score, order, i, hit, chunk) for i, (score, hit, chunk) in enumerate(found)]
        store.active, store.last_active_at = app.clock.time(), now()
    ranked.sort(key=lambda entry: entry[:3])
    top = ranked[:limit]
    results = [
        {
            "file_id": hit.file_id,
            "filename": hit.filename,
            "score": -score,
            "text": chunk.text,
            "attributes": hit.attributes,
        }
        for score, _, _, hit, chunk in top
    ]
    text, citations = "", []
    quoted: set[str] = set()
    for _, _, _, hit, chunk in top:
        if hit.file_id in quoted or len(quoted) == QUOTED_FILES:
            continue
        quoted.add(hit.file_id)
        words = chunk.text.split()
        text += (" " if text else "") + " ".join(words[:QUOTED_WORDS]) + "."
        citations.append(
            {"type": "file_citation", "file_id": hit.file_id, "filename": hit.filename,
             "index": len(text)}
        )  # fmt: skip
    return SearchCall(queries, results, include_results, text or NOTHING_FOUND, citations)
