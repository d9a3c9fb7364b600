"""Vector stores: files indexed on the mock's clock, searched with deterministic lexical scores.

A file added to a store (alone or in a file batch) is read once, as UTF-8 text, and cut into
chunks of `max_chunk_size_tokens` words overlapping by `chunk_overlap_tokens` (the static
strategy; `auto` is 800/400, as on the service). What a client sees is then read off the app's
`MockClock` over `indexing_seconds` (T):

    vector store file:  in_progress ──(T)──▶ completed
                             │      └─(T, not UTF-8 text)─▶ failed (`last_error` unsupported_file)
                             └──batch cancel──▶ cancelled
    file batch:         in_progress ──(its last file done)──▶ completed
                             └──cancel──▶ cancelled (files still in progress are cancelled)
    vector store:       in_progress (a file in progress) ◀─▶ completed ──(expires_after)──▶ expired

Search scores a chunk by the cosine of its word counts with the query's (lower-cased words),
so the same store and query always rank the same; only completed files are searched, and
attribute filters (comparison and compound, as the spec defines them) choose the files first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

from openai_ergo.mock._endpoints import BadRequest, missing_parameter
from openai_ergo.mock._routes import Call
from openai_ergo.mock._store import Collection, Query, metadata_param, page
from openai_ergo.mock._wire import new_id, now

if TYPE_CHECKING:
    from openai_ergo.mock._app import MockOpenAI
    from openai_ergo.mock._files import StoredFile

__all__ = ["StoredVectorStore", "new_vector_stores"]

#: The service's `auto` chunking: 800-token chunks overlapping by 400.
AUTO_CHUNK, AUTO_OVERLAP = 800, 400
MAX_FILE_IDS = 500
_DAY = 86_400
_WORD = re.compile(r"\w+")
_COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
_COMPOUNDS = ("and", "or")
_FILE_STATUSES = ("in_progress", "completed", "failed", "cancelled")
M = TypeVar("M")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@dataclass(frozen=True)
class Chunk:
    """One chunk of a file's text, with its word counts for scoring."""

    text: str
    counts: Counter[str]
    norm: float

    @classmethod
    def of(cls, words: list[str]) -> Chunk:
        """The chunk holding `words`."""
        counts = Counter(w.lower() for w in words)
        return cls(" ".join(words), counts, math.sqrt(sum(n * n for n in counts.values())))

    def score(self, query: Counter[str], query_norm: float) -> float:
        """The cosine of the chunk's word counts with the query's, in 0..1."""
        if not self.norm or not query_norm:
            return 0.0
        dot = sum(n * self.counts.get(w, 0) for w, n in query.items())
        return round(dot / (self.norm * query_norm), 6)


def _chunks(text: str, size: int, overlap: int) -> list[Chunk]:
    words = _WORD.findall(text)
    step = size - overlap
    return [Chunk.of(words[i : i + size]) for i in range(0, max(len(words) - overlap, 1), step)]


@dataclass
class VectorStoreFile:
    """One file in a store, indexed when added and completed on the clock."""

    file_id: str
    filename: str
    vector_store_id: str
    usage_bytes: int
    started: float
    strategy: tuple[int, int]
    attributes: dict[str, Any]
    chunks: list[Chunk] | None
    batch_id: str | None = None
    cancelled: bool = False
    created_at: int = field(default_factory=now)

    def status(self, clock_now: float, seconds: float) -> str:
        """in_progress until indexed, then completed (failed when the text was unreadable)."""
        if self.cancelled:
            return "cancelled"
        if clock_now - self.started < seconds:
            return "in_progress"
        return "completed" if self.chunks is not None else "failed"

    def render(self, clock_now: float, seconds: float) -> dict[str, Any]:
        """The vector store file object."""
        status = self.status(clock_now, seconds)
        size, overlap = self.strategy
        error = None
        if status == "failed":
            error = {"code": "unsupported_file", "message": "The file is not UTF-8 text."}
        return {
            "id": self.file_id,
            "object": "vector_store.file",
            "usage_bytes": self.usage_bytes if status == "completed" else 0,
            "created_at": self.created_at,
            "vector_store_id": self.vector_store_id,
            "status": status,
            "last_error": error,
            "chunking_strategy": {
                "type": "static",
                "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap},
            },
            "attributes": self.attributes,
        }


@dataclass
class FileBatch:
    """A file batch: the files it added, and whether it was cancelled."""

    id: str
    vector_store_id: str
    file_ids: list[str]
    cancelled: bool = False
    created_at: int = field(default_factory=now)


@dataclass
class StoredVectorStore:
    """One vector store, its files and its file batches."""

    id: str
    name: str
    metadata: dict[str, str]
    expires_days: int | None
    #: When it was last used, on the clock (for expiry) and in Unix seconds (for the object).
    active: float
    created_at: int = field(default_factory=now)
    last_active_at: int = field(default_factory=now)
    files: dict[str, VectorStoreFile] = field(default_factory=dict)
    batches: dict[str, FileBatch] = field(default_factory=dict)

    def file(self, file_id: str) -> VectorStoreFile:
        """A file of this store, or OpenAI's 404."""
        return self._member(self.files, file_id, "file", "file_id")

    def batch(self, batch_id: str) -> FileBatch:
        """A file batch of this store, or OpenAI's 404."""
        return self._member(self.batches, batch_id, "file batch", "batch_id")

    def _member(self, members: dict[str, M], key: str, noun: str, param: str) -> M:
        found = members.get(key)
        if found is None:
            raise BadRequest(
                f"No {noun} found with id '{key}' in vector store '{self.id}'.",
                status=404,
                param=param,
            )
        return found

    def counts(self, files: list[VectorStoreFile], app: MockOpenAI) -> dict[str, int]:
        """`file_counts` over `files`, as they stand on the clock."""
        counts = dict.fromkeys(_FILE_STATUSES, 0)
        clock_now = app.clock.time()
        for stored in files:
            counts[stored.status(clock_now, app.indexing_seconds)] += 1
        return counts | {"total": len(files)}

    def status(self, app: MockOpenAI) -> str:
        """expired after `expires_after` days idle, else in_progress while a file is."""
        clock_now = app.clock.time()
        if self.expires_days is not None and clock_now - self.active >= self.expires_days * _DAY:
            return "expired"
        seconds = app.indexing_seconds
        busy = any(f.status(clock_now, seconds) == "in_progress" for f in self.files.values())
        return "in_progress" if busy else "completed"

    def render(self, app: MockOpenAI) -> dict[str, Any]:
        """The vector store object."""
        clock_now = app.clock.time()
        seconds = app.indexing_seconds
        files = list(self.files.values())
        expiry, expires_at = None, None
        if self.expires_days is not None:
            expiry = {"anchor": "last_active_at", "days": self.expires_days}
            expires_at = self.last_active_at + self.expires_days * _DAY
        return {
            "id": self.id,
            "object": "vector_store",
            "created_at": self.created_at,
            "name": self.name,
            "usage_bytes": sum(
                f.usage_bytes for f in files if f.status(clock_now, seconds) == "completed"
            ),
            "file_counts": self.counts(files, app),
            "status": self.status(app),
            "expires_after": expiry,
            "expires_at": expires_at,
            "last_active_at": self.last_active_at,
            "metadata": self.metadata,
        }

    def render_batch(self, batch: FileBatch, app: MockOpenAI) -> dict[str, Any]:
        """The file batch object."""
        counts = self.counts([self.files[i] for i in batch.file_ids if i in self.files], app)
        status = "in_progress" if counts["in_progress"] else "completed"
        if batch.cancelled:
            status = "cancelled"
        return {
            "id": batch.id,
            "object": "vector_store.files_batch",
            "created_at": batch.created_at,
            "vector_store_id": self.id,
            "status": status,
            "file_counts": counts,
        }


# -- parameters -----------------------------------------------------------------------------------


def _invalid(param: str, message: str, code: str = "invalid_value") -> BadRequest:
    return BadRequest(message, param=param, code=code)


def _strategy(value: Any) -> tuple[int, int]:
    """A `chunking_strategy` (auto, static, or none given) as (chunk size, overlap)."""
    if value is None:
        return AUTO_CHUNK, AUTO_OVERLAP
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "auto":
        return AUTO_CHUNK, AUTO_OVERLAP
    if kind != "static":
        raise _invalid(
            "chunking_strategy.type",
            "Invalid 'chunking_strategy': expected an object with 'type' 'auto' or 'static'.",
        )
    static = value.get("static")
    if not isinstance(static, dict):
        raise missing_parameter("chunking_strategy.static")
    size, overlap = static.get("max_chunk_size_tokens"), static.get("chunk_overlap_tokens")
    if not _is_int(size) or not 100 <= size <= 4096:
        raise _invalid(
            "chunking_strategy.static.max_chunk_size_tokens",
            f"Invalid 'max_chunk_size_tokens': expected an integer from 100 to 4096, got {size!r}.",
        )
    if not _is_int(overlap) or not 0 <= overlap <= size // 2:
        raise _invalid(
            "chunking_strategy.static.chunk_overlap_tokens",
            f"Invalid 'chunk_overlap_tokens': expected an integer from 0 to half of "
            f"max_chunk_size_tokens ({size // 2}), got {overlap!r}.",
        )
    return size, overlap


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _attributes(value: Any) -> dict[str, Any]:
    """File `attributes`: at most 16 keys, each a string, a number or a boolean."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(v, (str, int, float, bool)) for v in value.values()
    ):
        raise _invalid(
            "attributes",
            "Invalid type for 'attributes': expected an object of strings, numbers or booleans.",
            "invalid_type",
        )
    if len(value) > 16:
        raise _invalid("attributes", f"Invalid 'attributes': at most 16 keys, got {len(value)}.")
    return value


def _expiry(value: Any) -> int | None:
    """`expires_after` as its days, or None."""
    if value is None:
        return None
    days = value.get("days") if isinstance(value, dict) else None
    anchor = value.get("anchor") if isinstance(value, dict) else None
    if anchor != "last_active_at" or not _is_int(days) or not 1 <= days <= 365:
        raise _invalid(
            "expires_after",
            "Invalid 'expires_after': expected {'anchor': 'last_active_at', 'days': 1..365}.",
        )
    return int(days)


def _file_ids(value: Any, param: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise _invalid(param, f"Invalid type for '{param}': expected an array of strings.",
                       "invalid_type")  # fmt: skip
    if len(value) > MAX_FILE_IDS:
        raise _invalid(param, f"Invalid '{param}': at most {MAX_FILE_IDS} files, got {len(value)}.")
    return value


def check_filter(value: Any, param: str = "filters") -> None:
    """A comparison or compound filter as the spec defines it, or a 400 naming the part."""
    if not isinstance(value, dict):
        raise _invalid(param, f"Invalid type for '{param}': expected an object.", "invalid_type")
    kind = value.get("type")
    if kind in _COMPOUNDS:
        filters = value.get("filters")
        if not isinstance(filters, list):
            raise missing_parameter(f"{param}.filters")
        for index, inner in enumerate(filters):
            check_filter(inner, f"{param}.filters[{index}]")
        return
    if kind not in _COMPARISONS:
        raise _invalid(
            f"{param}.type",
            f"Invalid value: {kind!r}. Supported values are: "
            + ", ".join(f"'{k}'" for k in (*_COMPARISONS, *_COMPOUNDS))
            + ".",
        )
    if not isinstance(value.get("key"), str):
        raise missing_parameter(f"{param}.key")
    wanted = value.get("value")
    listed = kind in ("in", "nin")
    ok = (
        isinstance(wanted, list) and all(isinstance(v, (str, int, float)) for v in wanted)
        if listed
        else isinstance(wanted, (str, int, float, bool))
    )
    if not ok:
        expected = "an array of strings or numbers" if listed else "a string, number or boolean"
        raise _invalid(
            f"{param}.value", f"Invalid type for '{param}.value': expected {expected}.",
            "invalid_type",
        )  # fmt: skip


def _passes(value: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Whether a file's attributes pass a (checked) filter; a missing key never matches."""
    kind = value["type"]
    if kind == "and":
        return all(_passes(f, attributes) for f in value["filters"])
    if kind == "or":
        return any(_passes(f, attributes) for f in value["filters"])
    if value["key"] not in attributes:
        return False
    have, wanted = attributes[value["key"]], value["value"]
    if kind == "eq":
        return bool(have == wanted)
    if kind == "ne":
        return bool(have != wanted)
    if kind == "in":
        return have in wanted
    if kind == "nin":
        return have not in wanted
    numbers = (int, float)
    if isinstance(have, bool) or isinstance(wanted, bool):
        return False
    if not (
        (isinstance(have, numbers) and isinstance(wanted, numbers))
        or (isinstance(have, str) and isinstance(wanted, str))
    ):
        return False
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    return compare[kind](have, wanted)


# -- the store's parts ----------------------------------------------------------------------------


def new_vector_stores() -> Collection[StoredVectorStore]:
    """The vector stores of one mock server."""
    return Collection("Vector store")


def _store(app: MockOpenAI, call: Call) -> StoredVectorStore:
    return app.vector_stores.get(call.params["vector_store_id"])


def _index(stored: StoredFile, strategy: tuple[int, int]) -> list[Chunk] | None:
    """The file's chunks, or None when its bytes are not UTF-8 text."""
    try:
        text = b"".join(stored.chunks()).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return _chunks(text, *strategy)


def _add_file(
    app: MockOpenAI,
    store: StoredVectorStore,
    file_id: str,
    strategy: tuple[int, int],
    attributes: dict[str, Any],
    batch_id: str | None = None,
) -> VectorStoreFile:
    stored = app.files.files.get(file_id)
    added = VectorStoreFile(
        file_id=stored.id,
        filename=stored.filename,
        vector_store_id=store.id,
        usage_bytes=stored.size,
        started=app.clock.time(),
        strategy=strategy,
        attributes=attributes,
        chunks=_index(stored, strategy),
        batch_id=batch_id,
    )
    store.files[file_id] = added
    return added


def _list_files(app: MockOpenAI, files: list[VectorStoreFile], query: Query) -> dict[str, Any]:
    wanted = query.get("filter")
    if wanted is not None and wanted not in _FILE_STATUSES:
        raise _invalid(
            "filter",
            f"Invalid value: '{wanted}'. Supported values are: "
            + ", ".join(f"'{s}'" for s in _FILE_STATUSES)
            + ".",
        )
    clock_now, seconds = app.clock.time(), app.indexing_seconds
    chosen = [f for f in files if wanted is None or f.status(clock_now, seconds) == wanted]
    return page(
        chosen, query, render=lambda f: f.render(clock_now, seconds), key=lambda f: f.file_id
    )


# -- vector stores --------------------------------------------------------------------------------


async def create_vector_store(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/vector_stores`: name, metadata, expiry, and files to index at once."""
    body = call.request.json
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise _invalid("name", "Invalid type for 'name': expected a string.", "invalid_type")
    metadata = metadata_param(body.get("metadata"))
    days = _expiry(body.get("expires_after"))
    strategy = _strategy(body.get("chunking_strategy"))
    file_ids = _file_ids(body.get("file_ids") or [], "file_ids")
    for file_id in file_ids:
        app.files.files.get(file_id)  # every id checked before anything is kept
    store = StoredVectorStore(new_id("vs_"), name or "", metadata, days, app.clock.time())
    for file_id in file_ids:
        _add_file(app, store, file_id, strategy, {})
    return app.vector_stores.put(store.id, store).render(app)


async def list_vector_stores(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/vector_stores`: newest first."""
    return page(
        app.vector_stores.values(),
        call.queried(),
        render=lambda s: s.render(app),
        key=lambda s: s.id,
    )


async def retrieve_vector_store(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/vector_stores/{vector_store_id}`."""
    return _store(app, call).render(app)


async def update_vector_store(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/vector_stores/{vector_store_id}`: name, metadata and expiry."""
    store = _store(app, call)
    body = call.request.json
    name = body.get("name", store.name)
    if name is not None and not isinstance(name, str):
        raise _invalid("name", "Invalid type for 'name': expected a string.", "invalid_type")
    metadata = metadata_param(body["metadata"]) if "metadata" in body else store.metadata
    days = _expiry(body["expires_after"]) if "expires_after" in body else store.expires_days
    store.name, store.metadata, store.expires_days = name or "", metadata, days
    return store.render(app)


async def delete_vector_store(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/vector_stores/{vector_store_id}` (its files stay in Files)."""
    store = app.vector_stores.delete(call.params["vector_store_id"])
    return {"id": store.id, "object": "vector_store.deleted", "deleted": True}


# -- vector store files ---------------------------------------------------------------------------


async def create_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/vector_stores/{vector_store_id}/files`: index one uploaded file."""
    store = _store(app, call)
    body = call.request.json
    file_id = body.get("file_id")
    if not isinstance(file_id, str) or not file_id:
        raise missing_parameter("file_id")
    strategy = _strategy(body.get("chunking_strategy"))
    attributes = _attributes(body.get("attributes"))
    added = _add_file(app, store, file_id, strategy, attributes)
    return added.render(app.clock.time(), app.indexing_seconds)


async def list_files(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/vector_stores/{vector_store_id}/files`: newest first, `filter` by status."""
    return _list_files(app, list(_store(app, call).files.values()), call.queried())


async def retrieve_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/vector_stores/{vector_store_id}/files/{file_id}`."""
    found = _store(app, call).file(call.params["file_id"])
    return found.render(app.clock.time(), app.indexing_seconds)


async def update_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/vector_stores/{vector_store_id}/files/{file_id}`: replace its attributes."""
    found = _store(app, call).file(call.params["file_id"])
    body = call.request.json
    if "attributes" not in body:
        raise missing_parameter("attributes")
    found.attributes = _attributes(body["attributes"])
    return found.render(app.clock.time(), app.indexing_seconds)


async def delete_file(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`DELETE /v1/vector_stores/{vector_store_id}/files/{file_id}` (the File stays)."""
    store = _store(app, call)
    found = store.file(call.params["file_id"])
    del store.files[found.file_id]
    return {"id": found.file_id, "object": "vector_store.file.deleted", "deleted": True}


async def file_content(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/vector_stores/{vector_store_id}/files/{file_id}/content`: its parsed chunks."""
    found = _store(app, call).file(call.params["file_id"])
    done = found.status(app.clock.time(), app.indexing_seconds) == "completed"
    chunks = found.chunks if done and found.chunks is not None else []
    return {
        "object": "vector_store.file_content.page",
        "data": [{"type": "text", "text": chunk.text} for chunk in chunks],
        "has_more": False,
        "next_page": None,
    }


# -- file batches ---------------------------------------------------------------------------------


async def create_file_batch(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/vector_stores/{vector_store_id}/file_batches`: `file_ids` or `files`."""
    store = _store(app, call)
    body = call.request.json
    strategy = _strategy(body.get("chunking_strategy"))
    attributes = _attributes(body.get("attributes"))
    wanted: list[tuple[str, tuple[int, int], dict[str, Any]]]
    if body.get("files") is not None:
        files = body["files"]
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise _invalid("files", "Invalid type for 'files': expected an array of objects.",
                           "invalid_type")  # fmt: skip
        wanted = []
        for index, entry in enumerate(files):
            file_id = entry.get("file_id")
            if not isinstance(file_id, str) or not file_id:
                raise missing_parameter(f"files[{index}].file_id")
            own = _strategy(entry["chunking_strategy"]) if "chunking_strategy" in entry else None
            extra = _attributes(entry["attributes"]) if "attributes" in entry else None
            wanted.append((file_id, own or strategy, attributes if extra is None else extra))
    elif body.get("file_ids") is not None:
        ids = _file_ids(body["file_ids"], "file_ids")
        wanted = [(file_id, strategy, attributes) for file_id in ids]
    else:
        raise missing_parameter("file_ids")
    if not wanted:
        raise _invalid("file_ids", "Invalid 'file_ids': expected at least one file.")
    for file_id, _, _ in wanted:
        app.files.files.get(file_id)  # every id checked before anything is kept
    batch = FileBatch(new_id("vsfb_"), store.id, [file_id for file_id, _, _ in wanted])
    for file_id, own, extra in wanted:
        _add_file(app, store, file_id, own, extra, batch.id)
    store.batches[batch.id] = batch
    return store.render_batch(batch, app)


async def retrieve_file_batch(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET /v1/vector_stores/{vector_store_id}/file_batches/{batch_id}`."""
    store = _store(app, call)
    return store.render_batch(store.batch(call.params["batch_id"]), app)


async def cancel_file_batch(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST .../file_batches/{batch_id}/cancel`: files still in progress are cancelled."""
    store = _store(app, call)
    batch = store.batch(call.params["batch_id"])
    rendered = store.render_batch(batch, app)
    if rendered["status"] != "in_progress":
        raise BadRequest(f"Cannot cancel a file batch with status '{rendered['status']}'.")
    clock_now = app.clock.time()
    for file_id in batch.file_ids:
        found = store.files.get(file_id)
        if found is not None and found.status(clock_now, app.indexing_seconds) == "in_progress":
            found.cancelled = True
    batch.cancelled = True
    return store.render_batch(batch, app)


async def list_file_batch_files(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`GET .../file_batches/{batch_id}/files`: the batch's files, `filter` by status."""
    store = _store(app, call)
    batch = store.batch(call.params["batch_id"])
    files = [store.files[i] for i in batch.file_ids if i in store.files]
    return _list_files(app, files, call.queried())


# -- search ---------------------------------------------------------------------------------------


async def search(app: MockOpenAI, call: Call) -> dict[str, Any]:
    """`POST /v1/vector_stores/{vector_store_id}/search`: chunks by lexical score, best first."""
    store = _store(app, call)
    body = call.request.json
    queries = body.get("query")
    if isinstance(queries, str):
        queries = [queries]
    if not isinstance(queries, list) or not queries or not all(isinstance(q, str) for q in queries):
        if queries is None:
            raise missing_parameter("query")
        raise _invalid("query", "Invalid 'query': expected a string or a non-empty array of "
                       "strings.", "invalid_type")  # fmt: skip
    limit = body.get("max_num_results", 10)
    if not _is_int(limit) or not 1 <= limit <= 50:
        raise _invalid(
            "max_num_results",
            f"Invalid 'max_num_results': expected an integer from 1 to 50, got {limit!r}.",
        )
    filters = body.get("filters")
    if filters is not None:
        check_filter(filters)
    threshold = score_threshold(body.get("ranking_options"))
    found = rank(store, queries, app, filters=filters, threshold=threshold)[:limit]
    store.active, store.last_active_at = app.clock.time(), now()
    return {
        "object": "vector_store.search_results.page",
        "search_query": queries,
        "data": [
            {
                "file_id": f.file_id,
                "filename": f.filename,
                "score": score,
                "attributes": f.attributes,
                "content": [{"type": "text", "text": chunk.text}],
            }
            for score, f, chunk in found
        ],
        "has_more": False,
        "next_page": None,
    }


def score_threshold(options: Any) -> float:
    if options is None:
        return 0.0
    if not isinstance(options, dict):
        raise _invalid("ranking_options", "Invalid type for 'ranking_options': expected an "
                       "object.", "invalid_type")  # fmt: skip
    ranker = options.get("ranker", "auto")
    if ranker not in ("none", "auto", "default-2024-11-15"):
        raise _invalid(
            "ranking_options.ranker",
            f"Invalid value: {ranker!r}. Supported values are: 'none', 'auto' and "
            "'default-2024-11-15'.",
        )
    threshold = options.get("score_threshold", 0)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not (0 <= threshold <= 1)
    ):
        raise _invalid(
            "ranking_options.score_threshold",
            f"Invalid 'score_threshold': expected a number from 0 to 1, got {threshold!r}.",
        )
    return float(threshold)


def rank(
    store: StoredVectorStore,
    queries: list[str],
    app: MockOpenAI,
    *,
    filters: dict[str, Any] | None = None,
    threshold: float = 0.0,
) -> list[tuple[float, VectorStoreFile, Chunk]]:
    """The completed files' chunks that share a word with the queries, best first (ties in
    the order the files were added); `filters` must have been checked."""
    query = Counter(w for q in queries for w in _words(q))
    query_norm = math.sqrt(sum(n * n for n in query.values()))
    clock_now, seconds = app.clock.time(), app.indexing_seconds
    scored = []
    for order, found in enumerate(store.files.values()):
        if found.chunks is None or found.status(clock_now, seconds) != "completed":
            continue
        if filters is not None and not _passes(filters, found.attributes):
            continue
        for index, chunk in enumerate(found.chunks):
            score = chunk.score(query, query_norm)
            if score > 0 and score >= threshold:
                scored.append((-score, order, index, found, chunk))
    scored.sort(key=lambda entry: entry[:3])
    return [(-s, found, chunk) for s, _, _, found, chunk in scored]
