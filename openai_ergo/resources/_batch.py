"""The batch pipeline: builders in, typed results out.

`client.batch()` is an immutable builder of requests with custom ids; `submit()` writes them as
JSONL (a line at a time, to temporary files cut at the service's limits), uploads each file and
creates one batch per file. The `BatchJob` it returns waits (through the workflows' one `Poll`:
backoff to a deadline on the client's clock, `WaitTimeoutError` past it), cancels, and reads the
output and error files as streams, yielding per line the typed object the builder's `await`
returns, or a `BatchLineError` carrying the custom id.

A request enters a batch through one small protocol, `BatchRequest`: a `path` and a
`request_body()`. The Responses and Chat builders have both; a new builder plugs in by having
them too, and its endpoint's result type by `register_batch_endpoint`.
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, final, runtime_checkable

import anyio
import anyio.to_thread
import msgspec
from anyio.abc import AsyncResource

from openai_ergo._errors import InvalidRequestError, OpenAIErgoError
from openai_ergo.resources._builder import check_int, check_metadata, check_str
from openai_ergo.resources._polling import Poll, client_clock
from openai_ergo.resources._workflow import copy_slots

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._response import BinaryResponse
    from openai_ergo.types._generated.batch import Batch

__all__ = [
    "BatchBuilder",
    "BatchFailedError",
    "BatchJob",
    "BatchLineError",
    "BatchProgress",
    "BatchRequest",
    "BatchResult",
    "BatchResults",
    "register_batch_endpoint",
]

#: The service's limits on one batch input file.
MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
#: Statuses after which a batch changes no more.
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
#: How long `wait()` waits by default: the 24 h completion window and an hour to finalize.
DEFAULT_TIMEOUT = 25 * 3600.0


@runtime_checkable
class BatchRequest(Protocol):
    """What a builder needs to go into a batch: the API path it posts to (`"/chat/completions"`)
    and the JSON body it would send. `ChatBuilder` and `ResponsesBuilder` have both."""

    @property
    def path(self) -> str:
        """The path under the API's base URL, e.g. `/responses`."""
        ...

    def request_body(self) -> dict[str, Any]:
        """The body the builder sends, validated (raises `InvalidRequestError`)."""
        ...


#: Endpoint → how a line's body becomes the object `await builder` returns; the built-in
#: endpoints are added on first use, so importing the builders loads none of their types.
_RESULT_DECODERS: dict[str, Callable[[bytes], Any]] = {}


def _builtin_decoders() -> dict[str, Callable[[bytes], Any]]:
    from openai_ergo.resources._embeddings import Embeddings
    from openai_ergo.resources._moderations import Moderation
    from openai_ergo.types import decode_chat_completion, decode_response
    from openai_ergo.types._generated.completions import CreateCompletionResponse

    # Each the type awaiting the endpoint's builder returns (embeddings arrive as base64,
    # which the generated `Embedding`'s list of floats cannot read).
    return {
        "/v1/chat/completions": decode_chat_completion,
        "/v1/responses": decode_response,
        "/v1/embeddings": Embeddings.from_json,
        "/v1/moderations": Moderation.from_json,
        "/v1/completions": msgspec.json.Decoder(CreateCompletionResponse).decode,
    }


def register_batch_endpoint(endpoint: str, decode: Callable[[bytes], Any]) -> None:
    """Teach batches an endpoint (`"/v1/..."`) and how to decode its result from a line's body
    bytes: what a new builder does so its requests go into batches and come back typed."""
    if not endpoint.startswith("/v1/"):
        raise InvalidRequestError(
            f"a batch endpoint is a path under /v1/, not {endpoint!r}", param="endpoint"
        )
    _endpoint_decoders()[endpoint] = decode


def _endpoint_decoders() -> dict[str, Callable[[bytes], Any]]:
    if not _RESULT_DECODERS:
        _RESULT_DECODERS.update(_builtin_decoders())
    return _RESULT_DECODERS


def _endpoint_decoder(endpoint: str) -> Callable[[bytes], Any]:
    decode = _endpoint_decoders().get(endpoint)
    if decode is None:
        known = ", ".join(sorted(_RESULT_DECODERS))
        raise InvalidRequestError(
            f"batches do not support the endpoint {endpoint!r} (supported: {known})",
            param="endpoint",
        )
    return decode


# -- results ---------------------------------------------------------------------------------


@final
class BatchResult:
    """One answered request of a batch: its `custom_id`, the typed `value` (what awaiting the
    builder returns: a `ChatCompletion`, a `Response`, ...), and where it came from."""

    __slots__ = ("batch_id", "custom_id", "request_id", "status_code", "value")

    def __init__(
        self, custom_id: str, value: Any, status_code: int, request_id: str | None, batch_id: str
    ) -> None:
        self.custom_id = custom_id
        self.value = value
        self.status_code = status_code
        self.request_id = request_id
        self.batch_id = batch_id

    def __repr__(self) -> str:
        return f"BatchResult(custom_id={self.custom_id!r}, value={type(self.value).__name__})"


class BatchLineError(OpenAIErgoError):
    """A batch request that failed (a line of the error file, or a line whose body could not be
    read): `custom_id` names it; `status_code`, `code`, `param` and `message` say why. Yielded,
    not raised, by `BatchJob.results()`, so the other lines are unaffected."""

    def __init__(
        self,
        custom_id: str,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        batch_id: str = "",
    ) -> None:
        self.custom_id = custom_id
        self.message = message
        self.status_code = status_code
        self.code = code
        self.param = param
        self.request_id = request_id
        self.batch_id = batch_id
        status = f" ({status_code}{', ' + code if code else ''})" if status_code else ""
        super().__init__(f"batch request {custom_id!r} failed{status}: {message}")


class _LineResponse(msgspec.Struct):
    status_code: int = 0
    request_id: str | None = None
    body: msgspec.Raw = msgspec.Raw(b"null")


class _LineError(msgspec.Struct):
    code: str | None = None
    message: str | None = None


class _OutputLine(msgspec.Struct):
    custom_id: str = ""
    response: _LineResponse | None = None
    error: _LineError | None = None


class _ErrorBody(msgspec.Struct):
    message: str | None = None
    code: str | None = None
    param: str | None = None


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorBody | None = None


_LINE = msgspec.json.Decoder(_OutputLine)
_ERROR = msgspec.json.Decoder(_ErrorEnvelope)


def _result(line: _OutputLine, decode: Callable[[bytes], Any], batch_id: str) -> Any:
    response = line.response
    if line.error is not None or response is None or not 200 <= response.status_code < 300:
        return _line_error(line, batch_id)
    try:
        value = decode(response.body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return BatchLineError(
            line.custom_id,
            f"the result could not be read: {exc}",
            status_code=response.status_code,
            code="invalid_result",
            request_id=response.request_id,
            batch_id=batch_id,
        )
    return BatchResult(line.custom_id, value, response.status_code, response.request_id, batch_id)


def _line_error(line: _OutputLine, batch_id: str) -> BatchLineError:
    response = line.response
    code = message = param = None
    if line.error is not None:
        code, message = line.error.code, line.error.message
    if response is not None:
        try:
            body = _ERROR.decode(response.body).error
        except (msgspec.DecodeError, msgspec.ValidationError):
            body = None
        if body is not None:
            code, message, param = body.code or code, body.message or message, body.param
    return BatchLineError(
        line.custom_id,
        message or "no reason given",
        status_code=response.status_code if response is not None else None,
        code=code,
        param=param,
        request_id=response.request_id if response is not None else None,
        batch_id=batch_id,
    )


class _Source(msgspec.Struct):
    file_id: str
    batch_id: str
    decode: Callable[[bytes], Any]


@final
class BatchResults(AsyncResource):
    """The results of a `BatchJob`, read from its output and error files as they download: an
    async iterator of `BatchResult` and `BatchLineError`, one per line, never holding a whole
    file. Use it as an async context manager (or read it to the end) so a download left early
    is closed."""

    __slots__ = ("_body", "_chunks", "_client", "_ready", "_source", "_sources", "_tail")

    def __init__(self, client: Client, sources: Iterable[_Source]) -> None:
        self._client = client
        self._sources = deque(sources)
        self._source: _Source | None = None
        self._body: BinaryResponse | None = None
        self._chunks: Any = None
        self._ready: deque[BatchResult | BatchLineError] = deque()
        self._tail = b""

    def __aiter__(self) -> BatchResults:
        return self

    async def __anext__(self) -> BatchResult | BatchLineError:
        while not self._ready:
            if self._body is None:
                if not self._sources:
                    raise StopAsyncIteration
                self._source = self._sources.popleft()
                self._body = await self._client.files.content(self._source.file_id)
                self._chunks = self._body.__aiter__()
                continue
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                tail, self._tail = self._tail, b""
                self._lines(tail)
                await self._close_body()
                continue
            data = self._tail + chunk if self._tail else chunk
            end = data.rfind(b"\n") + 1
            self._tail = data[end:]
            self._lines(data[:end])
        return self._ready.popleft()

    def _lines(self, data: bytes) -> None:
        if not data.strip():
            return
        source = self._source
        assert source is not None
        try:
            lines = _LINE.decode_lines(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            # One bad line must not take its neighbours with it: read them one at a time.
            lines = []
            for raw in data.split(b"\n"):
                if not raw.strip():
                    continue
                try:
                    lines.append(_LINE.decode(raw))
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    self._ready.append(
                        BatchLineError(
                            "",
                            f"a line of file {source.file_id} is not a batch result: {exc}",
                            code="invalid_line",
                            batch_id=source.batch_id,
                        )
                    )
        decode, batch_id = source.decode, source.batch_id
        self._ready.extend(_result(line, decode, batch_id) for line in lines)

    async def _close_body(self) -> None:
        body, self._body, self._chunks = self._body, None, None
        if body is not None:
            await body.aclose()

    async def aclose(self) -> None:
        """Close the download in progress and skip the rest."""
        self._sources.clear()
        self._ready.clear()
        await self._close_body()


# -- the job ----------------------------------------------------------------------------------


class BatchProgress(msgspec.Struct, frozen=True, kw_only=True):
    """Where a job stands after a poll, summed over its batches: the least advanced `status`
    (all of them in `statuses`), and request counts."""

    status: str
    statuses: tuple[str, ...]
    total: int
    completed: int
    failed: int
    #: Seconds since `wait()` began, on the client's clock.
    elapsed: float


class BatchFailedError(OpenAIErgoError):
    """A batch failed as a whole (its input was refused): `batch` is it, `errors` the
    service's reasons, each with `line`, `code`, `message` and `param`."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.errors = list(batch.errors.data or []) if batch.errors else []
        reasons = (
            "; ".join(f"line {e.line}: {e.message} ({e.code})" for e in self.errors[:5])
            or "no reason given"
        )
        super().__init__(f"batch {batch.id} failed: {reasons}")


_ORDER = ("validating", "in_progress", "finalizing", "cancelling", "completed", "expired")


def _rank(status: str | None) -> int:
    return _ORDER.index(status) if status in _ORDER else len(_ORDER)


def _progress(batches: Sequence[Batch], elapsed: float) -> BatchProgress:
    statuses = tuple(b.status or "unknown" for b in batches)
    counts = [b.request_counts for b in batches if b.request_counts is not None]
    return BatchProgress(
        status=min(statuses, key=_rank),
        statuses=statuses,
        total=sum(c.total or 0 for c in counts),
        completed=sum(c.completed or 0 for c in counts),
        failed=sum(c.failed or 0 for c in counts),
        elapsed=elapsed,
    )


def _describe(batches: Sequence[Batch]) -> str:
    counts = _progress(batches, 0.0)
    states = ", ".join(f"{b.id} {b.status}" for b in batches)
    return f"{counts.completed + counts.failed} of {counts.total} requests done; {states}"


@final
class BatchJob:
    """The batches one `submit()` created (several when the requests exceeded one file), or
    that `resume()` found: wait for them, cancel them, read their results. `ids` are what to
    keep to resume later."""

    __slots__ = ("_batches", "_client")

    def __init__(self, client: Client, batches: Sequence[Batch]) -> None:
        self._client = client
        self._batches = list(batches)

    @property
    def ids(self) -> list[str]:
        """The batch ids, in the order the requests were split."""
        return [b.id or "" for b in self._batches]

    @property
    def batches(self) -> list[Batch]:
        """Each batch as last read."""
        return list(self._batches)

    @property
    def status(self) -> str:
        """The least advanced status among the batches, as last read."""
        return _progress(self._batches, 0.0).status

    async def refresh(self) -> list[Batch]:
        """Read every batch again."""
        self._batches = [await self._client.batches.retrieve(i) for i in self.ids]
        return self.batches

    async def wait(
        self,
        *,
        # A deadline on the client's clock (fake in tests), which `anyio.fail_after` cannot read.
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        progress: Callable[[BatchProgress], object] | None = None,
        interval: float = 1.0,
        max_interval: float = 60.0,
    ) -> list[Batch]:
        """Poll until every batch has ended (completed, failed, expired or cancelled) and return
        them. Polls start `interval` seconds apart and grow by half each time up to
        `max_interval`; `progress` gets a `BatchProgress` after each poll. Past `timeout`
        seconds (on the client's clock) raises `WaitTimeoutError` with the status it saw
        (`state`) and the batches as last read (`last`); a batch whose input was refused
        raises `BatchFailedError`."""
        poll = Poll(timeout=timeout, interval=interval, max_interval=max_interval)
        clock = client_clock(self._client)
        start = clock.now()
        report = None
        if progress is not None:
            on_progress = progress

            def report(batches: list[Batch]) -> None:
                on_progress(_progress(batches, clock.now() - start))

        batches = await poll.until(
            clock,
            self.refresh,
            lambda batches: all(b.status in TERMINAL for b in batches),
            what=f"batch job {', '.join(self.ids)}",
            state=lambda batches: _progress(batches, 0.0).status,
            detail=_describe,
            progress=report,
        )
        for batch in batches:
            if batch.status == "failed":
                raise BatchFailedError(batch)
        return batches

    async def cancel(self) -> list[Batch]:
        """Ask every unfinished batch to stop; finished lines are kept in its output. Returns
        the batches as the service answered (`cancelling`, usually)."""
        batches = []
        for batch in await self.refresh():
            if batch.status in TERMINAL or batch.status == "cancelling":
                batches.append(batch)
            else:
                batches.append(await self._client.batches.cancel(batch.id or ""))
        self._batches = batches
        return self.batches

    def results(self) -> BatchResults:
        """The results of the batches as last read (call after `wait()`): per line of their
        output files a `BatchResult` whose `value` is what awaiting the builder returns, then
        per line of their error files a `BatchLineError` with the custom id. Streamed: a file
        is never held whole."""
        sources = []
        for batch in self._batches:
            decode = _endpoint_decoder(batch.endpoint or "")
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    sources.append(_Source(file_id=file_id, batch_id=batch.id or "", decode=decode))
        return BatchResults(self._client, sources)

    def __repr__(self) -> str:
        return f"BatchJob({', '.join(f'{b.id} {b.status}' for b in self._batches)})"


# -- the builder -------------------------------------------------------------------------------


def _write_files(
    folder: str, lines: Sequence[tuple[str, bytes]], max_requests: int, max_bytes: int
) -> list[str]:
    """Write the lines to JSONL files of at most `max_requests` lines and `max_bytes` bytes,
    one line at a time; the paths, in order."""
    paths: list[str] = []
    out = None
    count = size = 0
    try:
        for custom_id, line in lines:
            if len(line) > max_bytes:
                raise InvalidRequestError(
                    f"the request {custom_id!r} is {len(line)} bytes as a batch line, more "
                    f"than a batch file holds ({max_bytes})",
                    param="custom_id",
                )
            if out is None or count == max_requests or size + len(line) > max_bytes:
                if out is not None:
                    out.close()
                paths.append(os.path.join(folder, f"batch-{len(paths) + 1}.jsonl"))
                out = open(paths[-1], "wb")  # noqa: SIM115 - closed when the next opens or below
                count = size = 0
            out.write(line)
            count += 1
            size += len(line)
    finally:
        if out is not None:
            out.close()
    return paths


@final
class BatchBuilder:
    """A Batch API job, built a step at a time; every method returns a new builder.

    `.add(custom_id, builder)` adds a request (a chat, responses, embeddings or moderations
    builder: anything with `path` and `request_body()`), checked at once; custom ids must be
    unique. `await .submit()` writes the JSONL, split at the service's limits (50,000 requests
    or 200 MB a file: `.limits()` lowers them), uploads each file, creates one batch per file
    and returns the `BatchJob`. `await .resume(*batch_ids)` picks up batches made earlier.
    """

    __slots__ = (
        "_client",
        "_completion_window",
        "_count",
        "_endpoint",
        "_ids",
        "_lines",
        "_max_bytes",
        "_max_requests",
        "_metadata",
    )

    def __init__(
        self,
        client: Client,
        *,
        endpoint: str | None = None,
        completion_window: str = "24h",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self._client = client
        if endpoint is not None:
            _endpoint_decoder(endpoint)
        self._endpoint = endpoint
        self._completion_window = check_str("completion_window", completion_window)
        self._metadata = None if metadata is None else check_metadata(metadata)
        self._max_requests = MAX_REQUESTS
        self._max_bytes = MAX_BYTES
        # Builders derived by `add` share one list and index: a builder appends in place when
        # it is the list's newest holder (so n adds cost O(n), not O(n²)), else copies its own
        # prefix first, so an older builder never sees a later one's requests.
        self._lines: list[tuple[str, bytes]] = []
        self._ids: dict[str, int] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def endpoint(self) -> str | None:
        """The endpoint every request goes to (`/v1/chat/completions`, ...), once known."""
        return self._endpoint

    def add(self, custom_id: str, request: BatchRequest) -> BatchBuilder:
        """A builder with one more request, named `custom_id` (unique within the batch)."""
        check_str("custom_id", custom_id)
        if not isinstance(request, BatchRequest):
            raise InvalidRequestError(
                "a batch request is a builder with path and request_body() (client.chat(...), "
                f"client.responses(...), ...), not {type(request).__name__}",
                param="request",
            )
        endpoint = "/v1" + request.path
        if self._endpoint is not None and endpoint != self._endpoint:
            raise InvalidRequestError(
                f"this batch goes to {self._endpoint}, so {custom_id!r} cannot go to {endpoint}: "
                "one batch, one endpoint",
                param="endpoint",
            )
        _endpoint_decoder(endpoint)
        lines, ids = self._lines, self._ids
        if len(lines) != self._count:
            lines = lines[: self._count]
            ids = {cid: index for index, (cid, _) in enumerate(lines)}
        if custom_id in ids:
            raise InvalidRequestError(
                f"the custom_id {custom_id!r} is already in this batch (request "
                f"{ids[custom_id] + 1}): custom ids must be unique",
                param="custom_id",
            )
        body = request.request_body()
        line = msgspec.json.encode(
            {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body}
        )
        ids[custom_id] = len(lines)
        lines.append((custom_id, line + b"\n"))
        clone = copy_slots(self)
        clone._lines, clone._ids, clone._count = lines, ids, len(lines)
        clone._endpoint = endpoint
        return clone

    def completion_window(self, window: str) -> BatchBuilder:
        """The time frame for the batch (`"24h"`, the only value the service takes today)."""
        clone = copy_slots(self)
        clone._completion_window = check_str("completion_window", window)
        return clone

    def metadata(self, metadata: Mapping[str, str] | None) -> BatchBuilder:
        """Metadata set on every batch (16 pairs at most)."""
        clone = copy_slots(self)
        clone._metadata = None if metadata is None else check_metadata(metadata)
        return clone

    def limits(
        self, *, max_requests: int | None = None, max_bytes: int | None = None
    ) -> BatchBuilder:
        """Split into files of at most `max_requests` requests and `max_bytes` bytes (never
        above the service's 50,000 and 200 MB)."""
        clone = copy_slots(self)
        if max_requests is not None:
            clone._max_requests = check_int("max_requests", max_requests, 1, MAX_REQUESTS)
        if max_bytes is not None:
            clone._max_bytes = check_int("max_bytes", max_bytes, 1, MAX_BYTES)
        return clone

    def jsonl_parts(self) -> int:
        """How many files (so batches) `submit()` would make."""
        count = 0
        requests = size = 0
        for _, line in self._lines[: self._count]:
            if count == 0 or requests == self._max_requests or size + len(line) > self._max_bytes:
                count, requests, size = count + 1, 0, 0
            requests += 1
            size += len(line)
        return count

    def jsonl(self) -> bytes:
        """The requests as one JSONL document, the lines `submit()` writes (to inspect a batch
        or keep a copy; `submit()` itself writes them to disk a line at a time)."""
        return b"".join(line for _, line in self._lines[: self._count])

    async def submit(self) -> BatchJob:
        """Write, upload and create the batches; the `BatchJob` to wait on."""
        if not self._count or self._endpoint is None:
            raise InvalidRequestError(
                "a batch needs at least one request: add() some", param="requests"
            )
        lines = self._lines[: self._count]
        with tempfile.TemporaryDirectory(prefix="openai-ergo-batch-") as folder:
            paths = await anyio.to_thread.run_sync(
                _write_files, folder, lines, self._max_requests, self._max_bytes
            )
            batches = []
            for path in paths:
                file = await self._client.files.upload(path, purpose="batch")
                batches.append(
                    await self._client.batches.create(
                        input_file_id=file.id or "",
                        endpoint=self._endpoint,
                        completion_window=self._completion_window,
                        metadata=self._metadata,
                    )
                )
        return BatchJob(self._client, batches)

    async def resume(self, *batch_ids: str) -> BatchJob:
        """The job of batches created earlier (by `submit()` here or in another process),
        read afresh: wait on it, cancel it or read its results."""
        if not batch_ids:
            raise InvalidRequestError("resume takes at least one batch id", param="batch_ids")
        for batch_id in batch_ids:
            check_str("batch_id", batch_id)
        return BatchJob(self._client, [await self._client.batches.retrieve(i) for i in batch_ids])

    def __repr__(self) -> str:
        return f"BatchBuilder(endpoint={self._endpoint!r}, requests={self._count})"
