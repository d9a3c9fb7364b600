"""Vector stores as one workflow: create a store, upload and attach files, wait until they are
indexed, search it, and hand it to the Responses `file_search` tool.

`client.vector_store("docs").file("notes.md")` is an immutable builder; awaiting it creates the
store, uploads the files concurrently and attaches them in one file batch, and returns a
`VectorStore` handle. The handle waits (`await store.wait(timeout=...)`, on the client's clock,
with a typed timeout), searches (`store.search("query")`, a builder too) and makes the tool
(`store.file_search()`). Every request goes through the typed methods
(`client.vector_stores...`), so retries, limits and middleware are the ones every call takes,
and every object is the generated type.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

import anyio
import msgspec

from openai_ergo._errors import InvalidRequestError
from openai_ergo._multipart import FileUpload
from openai_ergo.resources._builder import (
    check_bool,
    check_int,
    check_number,
    check_str,
    merged_metadata,
)
from openai_ergo.resources._polling import Poll, client_clock
from openai_ergo.resources._workflow import WorkflowBuilder

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._metadata import RawResponse
    from openai_ergo.types import (
        VectorStoreFileBatchObject,
        VectorStoreObject,
        VectorStoreSearchResultsPage,
    )

__all__ = ["VectorStore", "VectorStoreBuilder", "VectorStoreSearch", "file_search"]

#: An upload's progress: the file's name, the bytes sent so far and its size.
UploadProgress = Callable[[str, int, "int | None"], object]

_COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
_COMPOUNDS = ("and", "or")

#: How many files upload at once: enough to fill a fast link, few enough to stay polite.
_CONCURRENT_UPLOADS = 4


def check_filters(value: object, param: str = "filters") -> dict[str, Any]:
    """A search filter as the API takes it — a comparison `{"type": "eq", "key", "value"}` or
    a compound `{"type": "and" | "or", "filters": [...]}`, nested at will, as a dict or the
    generated `ComparisonFilter`/`CompoundFilter` — or an error naming the part at fault
    (`filters.filters[0].key`)."""
    if isinstance(value, msgspec.Struct):
        value = msgspec.to_builtins(value)
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{param} must be a filter object, not {value!r}", param=param)
    kind = value.get("type")
    if kind in _COMPOUNDS:
        inner = value.get("filters")
        if not isinstance(inner, Sequence) or isinstance(inner, str) or not inner:
            raise InvalidRequestError(
                f"{param}.filters must be a non-empty list of filters", param=f"{param}.filters"
            )
        return {
            "type": kind,
            "filters": [
                check_filters(item, f"{param}.filters[{n}]") for n, item in enumerate(inner)
            ],
        }
    if kind not in _COMPARISONS:
        raise InvalidRequestError(
            f"{param}.type must be one of {', '.join(_COMPARISONS + _COMPOUNDS)}, not {kind!r}",
            param=f"{param}.type",
        )
    key = value.get("key")
    if not isinstance(key, str) or not key:
        raise InvalidRequestError(
            f"{param}.key must be a non-empty string, not {key!r}", param=f"{param}.key"
        )
    item = value.get("value")
    scalar = (str, int, float, bool)
    ok = (
        isinstance(item, list | tuple) and all(isinstance(v, scalar) for v in item)
        if kind in ("in", "nin")
        else isinstance(item, scalar)
    )
    if not ok:
        wanted = "a list of strings or numbers" if kind in ("in", "nin") else "a string or number"
        raise InvalidRequestError(
            f"{param}.value must be {wanted} for {kind!r}, not {item!r}", param=f"{param}.value"
        )
    return {"type": kind, "key": key, "value": list(item) if isinstance(item, tuple) else item}


def file_search(
    *stores: VectorStore | str,
    max_num_results: int | None = None,
    filters: Mapping[str, Any] | msgspec.Struct | None = None,
    score_threshold: float | None = None,
) -> dict[str, Any]:
    """The Responses `file_search` tool over `stores` (handles or `vs_...` ids), for
    `client.responses(model).tools(file_search(store))`. The model searches them and answers
    with `file_citation` annotations; add `.include("file_search_call.results")` to get the
    search results in the output too."""
    if not stores:
        raise InvalidRequestError("file_search needs at least one vector store", param="stores")
    ids = [
        store.id if isinstance(store, VectorStore) else check_str("vector_store_ids", store)
        for store in stores
    ]
    spec: dict[str, Any] = {"type": "file_search", "vector_store_ids": ids}
    if max_num_results is not None:
        spec["max_num_results"] = check_int("max_num_results", max_num_results, 1, 50)
    if filters is not None:
        spec["filters"] = check_filters(filters)
    if score_threshold is not None:
        threshold = check_number("score_threshold", score_threshold, 0, 1)
        spec["ranking_options"] = {"score_threshold": threshold}
    return spec


@final
class VectorStoreSearch(WorkflowBuilder):
    """A search of one vector store, built a step at a time; `await` it for the typed
    `VectorStoreSearchResultsPage` (`data`: the chunks found, best first, each with
    `file_id`, `filename`, `score`, `attributes` and `content`)."""

    __slots__ = ("_store_id",)

    def __init__(self, client: Client, store_id: str, query: str | Sequence[str]) -> None:
        super().__init__(client)
        self._store_id = store_id
        if isinstance(query, str):
            check_str("query", query)
            self._fields["query"] = query
        else:
            queries = list(query)
            if not queries:
                raise InvalidRequestError("query needs at least one string", param="query")
            self._fields["query"] = [check_str("query", q) for q in queries]

    def max_results(self, count: int | None) -> VectorStoreSearch:
        """At most this many chunks (1 to 50; the service's default is 10)."""
        checked = None if count is None else check_int("max_num_results", count, 1, 50)
        return self._set("max_num_results", checked)

    def filters(self, value: Mapping[str, Any] | msgspec.Struct | None) -> VectorStoreSearch:
        """Keep only the files whose attributes match: `{"type": "lt", "key": "year",
        "value": 2024}`, or `and`/`or` of such filters."""
        return self._set("filters", None if value is None else check_filters(value))

    def score_threshold(self, value: float | None) -> VectorStoreSearch:
        """Leave out chunks scoring below this (0 to 1)."""
        checked = None if value is None else check_number("score_threshold", value, 0, 1)
        return self._set(
            "ranking_options", None if checked is None else {"score_threshold": checked}
        )

    def rewrite_query(self, value: bool | None = True) -> VectorStoreSearch:
        """Let the service rewrite the query for search."""
        return self._set(
            "rewrite_query", None if value is None else check_bool("rewrite_query", value)
        )

    def request_body(self) -> dict[str, Any]:
        """The JSON body this search sends (a copy)."""
        return copy.deepcopy(self._fields)

    async def create(self) -> VectorStoreSearchResultsPage:
        """Run the search (what `await search` does)."""
        return await self._client.vector_stores.search(self._store_id, **self._fields)

    async def with_raw_response(self) -> RawResponse[VectorStoreSearchResultsPage]:
        """Run the search and return the response as it came: `request_id`, `headers`,
        `rate_limit`, `status_code`, and `parse()`, the page that `await` gives."""
        raw: RawResponse[VectorStoreSearchResultsPage]
        raw = await self._client.vector_stores.with_raw_response.search(
            self._store_id, **self._fields
        )
        return raw

    def __await__(self) -> Generator[Any, None, VectorStoreSearchResultsPage]:
        return self.create().__await__()

    def __repr__(self) -> str:
        return f"VectorStoreSearch({self._store_id!r}, {self._fields!r})"


@final
class VectorStore:
    """A vector store on the service, by id: add files, wait for indexing, search, and the
    `file_search` tool. Made by awaiting `client.vector_store(...)`, or `VectorStore(client,
    "vs_...")` for a store that exists. `info` is the last `VectorStoreObject` read."""

    __slots__ = ("_client", "id", "info")

    def __init__(self, client: Client, store_id: str, /, info: VectorStoreObject | None = None):
        self._client = client
        #: The store's id (`vs_...`).
        self.id: str = check_str("vector_store_id", store_id)
        #: The last state of the store this handle read (`None` before any).
        self.info: VectorStoreObject | None = info

    def __repr__(self) -> str:
        status = self.info.status if self.info is not None else None
        return f"<VectorStore {self.id} status={status}>"

    async def retrieve(self) -> VectorStoreObject:
        """Read the store's state now (also kept in `info`)."""
        self.info = await self._client.vector_stores.retrieve(self.id)
        return self.info

    async def add_files(
        self,
        *paths: str | os.PathLike[str],
        attributes: Mapping[str, str | float | bool] | None = None,
        upload_progress: UploadProgress | None = None,
    ) -> VectorStoreFileBatchObject:
        """Upload files (concurrently) and attach them in one file batch, each with
        `attributes` (for search filters). Returns the batch; `wait()` for indexing."""
        files = tuple(_checked_file(path, attributes) for path in paths)
        if not files:
            raise InvalidRequestError("add_files needs at least one path", param="paths")
        return await _attach(self._client, self.id, files, (), upload_progress)

    async def attach(
        self,
        *file_ids: str,
        attributes: Mapping[str, str | float | bool] | None = None,
    ) -> VectorStoreFileBatchObject:
        """Attach files uploaded before (their `file-...` ids) in one file batch."""
        if not file_ids:
            raise InvalidRequestError("attach needs at least one file id", param="file_ids")
        ids = tuple((check_str("file_ids", i), _checked_attributes(attributes)) for i in file_ids)
        return await _attach(self._client, self.id, (), ids, None)

    async def wait(
        self,
        *,
        # The deadline is on the client's clock (a fake one in tests), which `anyio.fail_after`
        # cannot see; and running out must say what state the job was in, not just cancel.
        timeout: float = 600.0,  # noqa: ASYNC109
        progress: Callable[[VectorStoreObject], object] | None = None,
        interval: float = 0.5,
        max_interval: float = 10.0,
    ) -> VectorStoreObject:
        """Wait until no file is being indexed; `progress` gets each reading of the store
        (`file_counts`: `in_progress`, `completed`, `failed`, `cancelled`, `total`). Returns
        the store's state then: check `file_counts.failed` for files that could not be read.

        Raises `WaitTimeoutError` (state and counts in its message) past `timeout` seconds."""
        poll = Poll(timeout=timeout, interval=interval, max_interval=max_interval)
        self.info = await poll.until(
            client_clock(self._client),
            self.retrieve,
            _indexed,
            what=f"vector store {self.id}",
            state=lambda store: store.status or "unknown",
            detail=_counts,
            progress=progress,
        )
        return self.info

    def search(self, query: str | Sequence[str]) -> VectorStoreSearch:
        """A search of this store: `await store.search("rivers").max_results(3)`."""
        return VectorStoreSearch(self._client, self.id, query)

    def file_search(
        self,
        *,
        max_num_results: int | None = None,
        filters: Mapping[str, Any] | msgspec.Struct | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, Any]:
        """The Responses `file_search` tool over this store (see `file_search()`)."""
        return file_search(
            self,
            max_num_results=max_num_results,
            filters=filters,
            score_threshold=score_threshold,
        )

    async def delete(self) -> bool:
        """Delete the store (the uploaded Files stay); True when the service deleted it."""
        deleted = await self._client.vector_stores.delete(self.id)
        return bool(deleted.deleted)


def _indexed(store: VectorStoreObject) -> bool:
    counts = store.file_counts
    return store.status != "in_progress" and (counts is None or not counts.in_progress)


def _counts(store: VectorStoreObject) -> str:
    counts = store.file_counts
    if counts is None:
        return "no file counts"
    return (
        f"{counts.completed or 0} of {counts.total or 0} files indexed, "
        f"{counts.in_progress or 0} in progress, {counts.failed or 0} failed, "
        f"{counts.cancelled or 0} cancelled"
    )


def _checked_attributes(
    attributes: Mapping[str, str | float | bool] | None,
) -> dict[str, str | float | bool] | None:
    if attributes is None:
        return None
    if not isinstance(attributes, Mapping) or len(attributes) > 16:
        raise InvalidRequestError(
            "attributes must be a mapping of at most 16 keys", param="attributes"
        )
    for key, value in attributes.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            raise InvalidRequestError(
                f"attribute keys are strings of 1 to 64 characters, not {key!r}",
                param="attributes",
            )
        if not isinstance(value, str | int | float | bool):
            raise InvalidRequestError(
                f"attribute {key!r} must be a string, number or bool, not {value!r}",
                param="attributes",
            )
    return dict(attributes)


_FileEntry = tuple[str, "dict[str, str | float | bool] | None"]


def _checked_file(
    path: str | os.PathLike[str], attributes: Mapping[str, str | float | bool] | None
) -> _FileEntry:
    if not isinstance(path, str | os.PathLike):
        raise InvalidRequestError(f"a file to add is a path, not {path!r}", param="file")
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise InvalidRequestError(f"no file to upload at {name!r}", param="file")
    return name, _checked_attributes(attributes)


async def _attach(
    client: Client,
    store_id: str,
    paths: Sequence[_FileEntry],
    file_ids: Sequence[_FileEntry],
    upload_progress: UploadProgress | None,
) -> VectorStoreFileBatchObject:
    """Upload `paths` (a few at a time) and attach them with `file_ids` in one file batch."""
    uploaded: list[str | None] = [None] * len(paths)
    limit = anyio.Semaphore(_CONCURRENT_UPLOADS)

    async def upload(index: int, path: str) -> None:
        report = None
        if upload_progress is not None:
            name = os.path.basename(path)

            def report(sent: int, total: int | None) -> None:
                upload_progress(name, sent, total)

        async with limit:
            made = await client.files.create(
                file=FileUpload(path, on_progress=report), purpose="assistants"
            )
        uploaded[index] = made.id

    async with anyio.create_task_group() as group:
        for index, (path, _) in enumerate(paths):
            group.start_soon(upload, index, path)
    entries = [
        _batch_entry(file_id, attributes)
        for file_id, (_, attributes) in zip(uploaded, paths, strict=True)
    ]
    entries += [_batch_entry(file_id, attributes) for file_id, attributes in file_ids]
    from openai_ergo.types import CreateVectorStoreFileBatchRequest

    body = msgspec.convert({"files": entries}, CreateVectorStoreFileBatchRequest)
    return await client.vector_stores.file_batches.create(store_id, body=body)


def _batch_entry(file_id: str | None, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"file_id": file_id}
    if attributes:
        entry["attributes"] = dict(attributes)
    return entry


@final
class VectorStoreBuilder(WorkflowBuilder):
    """A new vector store, built a step at a time; every setter returns a new builder.

    `await builder` creates the store, uploads the files set with `file()`/`files()`
    (concurrently) and attaches them, with those of `file_ids()`, in one file batch, and returns
    the `VectorStore` handle; its files are then being indexed (`await store.wait()`)."""

    __slots__ = ("_paths", "_progress")

    def __init__(self, client: Client, name: str | None = None) -> None:
        super().__init__(client)
        self._paths: tuple[_FileEntry, ...] = ()
        self._progress: UploadProgress | None = None
        if name is not None:
            self._fields["name"] = check_str("name", name)

    def name(self, value: str | None) -> VectorStoreBuilder:
        """The store's name."""
        return self._set("name", None if value is None else check_str("name", value))

    def description(self, value: str | None) -> VectorStoreBuilder:
        """What the store holds (at most 512 characters)."""
        checked = None if value is None else check_str("description", value, max_length=512)
        return self._set("description", checked)

    def metadata(
        self, value: Mapping[str, str] | None = None, /, **pairs: str
    ) -> VectorStoreBuilder:
        """Up to 16 string pairs stored with the store."""
        return self._set("metadata", merged_metadata(value, pairs))

    def expires_after(self, days: int | None) -> VectorStoreBuilder:
        """Delete the store after this many days (1 to 365) without use."""
        checked = None if days is None else check_int("expires_after", days, 1, 365)
        return self._set(
            "expires_after",
            None if checked is None else {"anchor": "last_active_at", "days": checked},
        )

    def chunking(self, max_tokens: int = 800, overlap: int = 400) -> VectorStoreBuilder:
        """Cut files into chunks of `max_tokens` (100 to 4096) overlapping by `overlap` tokens
        (at most half a chunk); the service's `auto` is 800 and 400."""
        size = check_int("max_chunk_size_tokens", max_tokens, 100, 4096)
        lap = check_int("chunk_overlap_tokens", overlap, 0, size // 2)
        strategy = {
            "type": "static",
            "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": lap},
        }
        return self._set("chunking_strategy", strategy)

    def file(
        self,
        path: str | os.PathLike[str],
        *,
        attributes: Mapping[str, str | float | bool] | None = None,
    ) -> VectorStoreBuilder:
        """A file to upload and add, with its `attributes` (for search filters)."""
        clone = self._clone()
        clone._paths = (*self._paths, _checked_file(path, attributes))
        return clone

    def files(self, *paths: str | os.PathLike[str]) -> VectorStoreBuilder:
        """Files to upload and add (no attributes)."""
        builder = self
        for path in paths:
            builder = builder.file(path)
        return builder

    def file_ids(self, *ids: str) -> VectorStoreBuilder:
        """Files uploaded before (`file-...` ids) to add."""
        current: tuple[str, ...] = self._fields.get("file_ids", ())
        return self._set("file_ids", current + tuple(check_str("file_ids", i) for i in ids))

    def upload_progress(self, callback: UploadProgress | None) -> VectorStoreBuilder:
        """Called as each file uploads: `callback(filename, sent, total)`."""
        clone = self._clone()
        clone._progress = callback
        return clone

    async def create(self) -> VectorStore:
        """Create the store, upload and attach the files (what `await builder` does)."""
        fields = {k: v for k, v in self._fields.items() if k != "file_ids"}
        info = await self._client.vector_stores.create(**fields)
        store = VectorStore(self._client, info.id or "", info)
        ids = tuple((i, None) for i in self._fields.get("file_ids", ()))
        if self._paths or ids:
            await _attach(self._client, store.id, self._paths, ids, self._progress)
        return store

    def __await__(self) -> Generator[Any, None, VectorStore]:
        return self.create().__await__()

    def __repr__(self) -> str:
        files = [os.path.basename(path) for path, _ in self._paths]
        return f"VectorStoreBuilder({self._fields!r}, files={files!r})"
