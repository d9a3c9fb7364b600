"""The Embeddings builder and its result: vectors as compact float32 arrays, any input size.

`client.embeddings(model).input([...])` is an immutable builder; awaited, it returns
`Embeddings`. Vectors travel as base64 (little-endian float32, a third smaller than JSON floats)
and are decoded straight into one `array('f')`: no Python float object per component. An input
larger than one request allows is split into several requests, sent concurrently through the
client (so the rate limiter paces them) and joined back in input order.
"""

from __future__ import annotations

import binascii
import sys
from array import array
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast, final, overload

import anyio
import msgspec

from openai_ergo._config import RequestOptions
from openai_ergo._errors import APIResponseValidationError, InvalidRequestError
from openai_ergo._metadata import RawResponse
from openai_ergo.resources._builder import BodyBuilder, check_int, check_str
from openai_ergo.types._generated.embeddings import CreateEmbeddingResponseUsage

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._response import APIResponse

__all__ = ["MAX_INPUTS_PER_REQUEST", "MAX_TOKENS_PER_REQUEST", "Embeddings", "EmbeddingsBuilder"]

#: The API's limit on the number of inputs in one embeddings request.
MAX_INPUTS_PER_REQUEST = 2048
#: The API's limit on the tokens of all inputs in one embeddings request.
MAX_TOKENS_PER_REQUEST = 300_000

EmbeddingInput = str | Sequence[int]


def estimate_tokens(value: EmbeddingInput) -> int:
    """A cheap, cautious token count for splitting requests: a token array counts its length,
    a text one token per 3 bytes of UTF-8 (rounded up).

    English averages about 4 bytes a token, so this overestimates it by a third; CJK text
    (3 bytes a character, about one token each) comes out about right. Overestimating only makes
    requests smaller than they could be; underestimating would make the API refuse one.
    """
    if isinstance(value, str):
        return -(-len(value.encode()) // 3)
    return len(value)


def _check_input(index: int, value: object) -> EmbeddingInput:
    if isinstance(value, str):
        if not value:
            raise InvalidRequestError(f"input[{index}] is an empty string", param="input")
        return value
    if (
        isinstance(value, Sequence)
        and value
        and all(isinstance(t, int) and not isinstance(t, bool) for t in value)
    ):
        return tuple(value)
    raise InvalidRequestError(
        f"input[{index}] must be a non-empty string or a list of token ids, not {value!r:.60}",
        param="input",
    )


# The generated `Embedding` types `embedding` as a list of floats, as the spec does; with
# `encoding_format="base64"` the API sends a string there, so the body is read with these.
class _WireEmbedding(msgspec.Struct, gc=False):
    embedding: str | list[float]
    index: int = -1


class _WireEmbeddings(msgspec.Struct, gc=False):
    data: list[_WireEmbedding]
    model: str | None = None
    usage: CreateEmbeddingResponseUsage | None = None


_WIRE = msgspec.json.Decoder(_WireEmbeddings)
_BIG_ENDIAN = sys.byteorder == "big"


@final
class Embeddings:
    """The embeddings of every input, in input order, as one compact float32 array.

    `result[i]` is input i's vector as a `memoryview` of floats (no copy; `.tolist()` for a
    list), `len(result)` the number of vectors, `result.dimensions` their length,
    `result.data` the whole `array('f')` row after row, `result.numpy()` an `(n, dimensions)`
    float32 array over the same memory (numpy is optional). `usage` sums every request's;
    `requests` says how many requests the input took.
    """

    __slots__ = ("_view", "data", "dimensions", "model", "requests", "usage")

    def __init__(
        self,
        data: array[float],
        dimensions: int,
        *,
        model: str,
        usage: CreateEmbeddingResponseUsage,
        requests: int = 1,
    ) -> None:
        #: Every vector, one after the other (float32, native byte order).
        self.data = data
        #: The length of each vector.
        self.dimensions = dimensions
        #: The model that made the vectors (as the API names it).
        self.model = model
        #: Tokens used, summed over every request.
        self.usage = usage
        #: How many requests the input was split into.
        self.requests = requests
        self._view = memoryview(data)

    @classmethod
    def from_json(cls, body: bytes) -> Embeddings:
        """The result of one embeddings response body (base64 or float vectors), as `await
        builder` makes it: for a batch's result lines, or a body you stored. A body that is
        not an embeddings list raises `msgspec.ValidationError` or `msgspec.DecodeError`."""
        data, dimensions, model, usage = _decode(body, None)
        return cls(data, dimensions, model=model, usage=usage)

    def __len__(self) -> int:
        return len(self.data) // self.dimensions if self.dimensions else 0

    @overload
    def __getitem__(self, index: int) -> memoryview: ...

    @overload
    def __getitem__(self, index: slice) -> list[memoryview]: ...

    def __getitem__(self, index: int | slice) -> memoryview | list[memoryview]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(f"embedding index {index} out of range for {count} vectors")
        start = index * self.dimensions
        return self._view[start : start + self.dimensions]

    def __iter__(self) -> Iterator[memoryview]:
        for index in range(len(self)):
            yield self[index]

    def tolist(self) -> list[list[float]]:
        """Every vector as a list of Python floats (what the official SDK hands out: about
        eight times the memory of `data`)."""
        # typeshed reads memoryview.tolist() as ints; a format "f" view gives floats.
        return [cast("list[float]", vector.tolist()) for vector in self]

    def numpy(self) -> Any:
        """An `(n, dimensions)` float32 numpy array over `data` (no copy). Needs numpy; the rest
        of this class does not."""
        try:
            import numpy
        except ImportError:
            raise ModuleNotFoundError(
                "Embeddings.numpy() needs numpy (pip install numpy); without it, use "
                "result[i] (a memoryview of floats) or result.data (an array('f'))",
                name="numpy",
            ) from None
        return numpy.frombuffer(self.data, dtype=numpy.float32).reshape(len(self), self.dimensions)

    def __repr__(self) -> str:
        return (
            f"<Embeddings {len(self)} x {self.dimensions} model={self.model!r} "
            f"tokens={self.usage.total_tokens} requests={self.requests}>"
        )


def _decode(
    content: bytes, count: int | None
) -> tuple[array[float], int, str, CreateEmbeddingResponseUsage]:
    """One response's vectors, in input order, into one array: (data, dimensions, model, usage).

    A body that does not hold exactly `count` vectors (any number for `None`) of one length
    raises `msgspec.ValidationError` (reported by `APIResponse.decode` with the body's start)."""
    wire = _WIRE.decode(content)
    items = wire.data
    if count is None:
        count = len(items)
    elif len(items) != count:
        raise msgspec.ValidationError(f"{len(items)} embeddings for {count} inputs")
    if any(item.index != position for position, item in enumerate(items)):
        items = sorted(items, key=lambda item: item.index)
        if [item.index for item in items] != list(range(count)):
            raise msgspec.ValidationError("the embeddings' indexes are not 0 to n-1")
    out = array("f")
    dimensions = -1
    for position, item in enumerate(items):
        vector = item.embedding
        before = len(out)
        if isinstance(vector, str):
            try:
                raw = binascii.a2b_base64(vector)
            except binascii.Error as exc:
                raise msgspec.ValidationError(f"embedding {position}: bad base64 ({exc})") from None
            if len(raw) % 4:
                raise msgspec.ValidationError(
                    f"embedding {position}: {len(raw)} bytes is not a whole number of float32s"
                )
            out.frombytes(raw)
        else:
            out.extend(vector)
        length = len(out) - before
        if dimensions < 0:
            dimensions = length
        elif length != dimensions:
            raise msgspec.ValidationError(
                f"embedding {position} has {length} values, the ones before it {dimensions}"
            )
    if _BIG_ENDIAN and items and isinstance(items[0].embedding, str):
        out.byteswap()  # the API sends little-endian float32
    usage = wire.usage or CreateEmbeddingResponseUsage(prompt_tokens=0, total_tokens=0)
    return out, max(dimensions, 0), wire.model or "", usage


def split_inputs(
    inputs: Sequence[EmbeddingInput], max_inputs: int, max_tokens: int
) -> list[tuple[int, int]]:
    """The (start, stop) ranges of `inputs` that fit one request each: at most `max_inputs`
    inputs and `max_tokens` estimated tokens (`estimate_tokens`), in order. An input too large
    on its own goes alone (the API says whether it fits its per-input limit)."""
    ranges: list[tuple[int, int]] = []
    start = 0
    tokens = 0
    for index, value in enumerate(inputs):
        cost = estimate_tokens(value)
        if index > start and (index - start >= max_inputs or tokens + cost > max_tokens):
            ranges.append((start, index))
            start, tokens = index, 0
        tokens += cost
    if start < len(inputs):
        ranges.append((start, len(inputs)))
    return ranges


class EmbeddingsBuilder(BodyBuilder):
    """An Embeddings API request; every setter returns a new builder.

    `await builder` returns `Embeddings`. Inputs beyond one request's limits (2,048 inputs,
    300,000 tokens by `estimate_tokens`) are split into requests sent concurrently (at most
    `concurrency` at a time, each through the client's rate limiter and retries) and joined in
    input order, with usage summed. `with_raw_response()` gives the response's request id,
    headers and rate limits with the result when the input goes out as one request.
    """

    __slots__ = ("_concurrency", "_inputs", "_max_inputs", "_max_tokens")

    path = "/embeddings"

    def __init__(self, client: Client, model: str) -> None:
        super().__init__(client, model)
        self._inputs: tuple[EmbeddingInput, ...] = ()
        self._max_inputs = MAX_INPUTS_PER_REQUEST
        self._max_tokens = MAX_TOKENS_PER_REQUEST
        self._concurrency = 4

    def _copy(self) -> EmbeddingsBuilder:
        clone = super()._copy()
        clone._inputs = self._inputs
        clone._max_inputs = self._max_inputs
        clone._max_tokens = self._max_tokens
        clone._concurrency = self._concurrency
        return clone

    def input(self, inputs: str | Iterable[str | Sequence[int]]) -> EmbeddingsBuilder:
        """What to embed: a string, or a list of strings or token-id lists (replaces earlier
        input). Any number of them: large inputs are split into several requests."""
        values = [inputs] if isinstance(inputs, str) else list(inputs)
        if not values:
            raise InvalidRequestError("input is empty: give at least one text", param="input")
        clone = self._copy()
        clone._inputs = tuple(_check_input(i, value) for i, value in enumerate(values))
        return clone

    @property
    def inputs(self) -> tuple[str | Sequence[int], ...]:
        """The inputs set so far, in order."""
        return self._inputs

    def dimensions(self, value: int | None) -> EmbeddingsBuilder:
        """The length of the vectors (text-embedding-3 models can shorten theirs)."""
        return self._set("dimensions", None if value is None else check_int("dimensions", value, 1))

    def encoding_format(self, value: str | None) -> EmbeddingsBuilder:
        """How vectors travel: `"base64"` (the default here: smaller, and decoded without a
        Python float per component) or `"float"` (JSON numbers). The result is the same."""
        if value is not None and value not in ("float", "base64"):
            raise InvalidRequestError(
                f"encoding_format must be 'float' or 'base64', not {value!r}",
                param="encoding_format",
            )
        return self._set("encoding_format", value)

    def user(self, value: str | None) -> EmbeddingsBuilder:
        """A stable id of your end user, for abuse monitoring."""
        return self._set("user", None if value is None else check_str("user", value))

    def split(
        self,
        *,
        max_inputs: int | None = None,
        max_tokens: int | None = None,
        concurrency: int | None = None,
    ) -> EmbeddingsBuilder:
        """How a large input is split: at most `max_inputs` inputs (1-2,048) and `max_tokens`
        estimated tokens (1-300,000) per request, `concurrency` requests in flight (default 4).
        Lower them for a gateway with smaller limits."""
        clone = self._copy()
        if max_inputs is not None:
            clone._max_inputs = check_int("max_inputs", max_inputs, 1, MAX_INPUTS_PER_REQUEST)
        if max_tokens is not None:
            clone._max_tokens = check_int("max_tokens", max_tokens, 1, MAX_TOKENS_PER_REQUEST)
        if concurrency is not None:
            clone._concurrency = check_int("concurrency", concurrency, 1)
        return clone

    def _body(self, **overrides: Any) -> dict[str, Any]:
        if self._inputs and "input" not in overrides:
            overrides["input"] = [v if isinstance(v, str) else list(v) for v in self._inputs]
        body = super()._body(**overrides)
        body.setdefault("encoding_format", "base64")
        return body

    def _validate(self, body: dict[str, Any]) -> None:
        if not body.get("input"):
            raise InvalidRequestError(
                "input is missing: say what to embed with .input([...])", param="input"
            )

    # -- sending ----------------------------------------------------------------------------

    async def create(self) -> Embeddings:
        """Send the request (several, for a large input) and return `Embeddings`."""
        self._body()  # the checks, before anything goes out
        ranges = split_inputs(self._inputs, self._max_inputs, self._max_tokens)
        parts: list[tuple[array[float], int, str, CreateEmbeddingResponseUsage] | None]
        parts = [None] * len(ranges)
        if len(ranges) == 1:
            parts[0] = await self._send_part(0, len(self._inputs))
        else:
            limiter = anyio.CapacityLimiter(self._concurrency)
            failure: list[BaseException] = []

            async def send(slot: int, start: int, stop: int) -> None:
                async with limiter:
                    try:
                        parts[slot] = await self._send_part(start, stop)
                    except Exception as exc:
                        # The first failure fails the whole input; the others are cancelled
                        # and it is raised as it is, not inside an exception group.
                        failure.append(exc)
                        group.cancel_scope.cancel()

            async with anyio.create_task_group() as group:
                for slot, (start, stop) in enumerate(ranges):
                    group.start_soon(send, slot, start, stop)
            if failure:
                raise failure[0]
        return _join([part for part in parts if part is not None], len(ranges))

    async def with_raw_response(self) -> RawResponse[Embeddings]:
        """Send the request and return the response as it came: `request_id`, `headers`,
        `rate_limit`, `status_code`, and `parse()`, the `Embeddings` that `await` gives.

        A `RawResponse` is one HTTP response, so this is for an input that goes out as one
        request. An input `split()` would send as several raises `InvalidRequestError`
        (`param="input"`) naming the split, before anything goes out: send each part as its
        own builder to see each response, or await the builder for the joined result."""
        self._body()  # the checks, before anything goes out
        ranges = split_inputs(self._inputs, self._max_inputs, self._max_tokens)
        if len(ranges) > 1:
            raise InvalidRequestError(
                f"with_raw_response() returns one HTTP response, but these {len(self._inputs)} "
                f"inputs go out as {len(ranges)} requests (at most {self._max_inputs} inputs "
                f"and {self._max_tokens:,} estimated tokens each, as split() sets): send each "
                "part as its own builder (`.input(part)`) for its response, or await the "
                "builder for the joined Embeddings",
                param="input",
            )
        count = len(self._inputs)
        reply = await self._post_part(0, count)

        def parse(response: APIResponse) -> Embeddings:
            return _join([_decoded(response, count)], 1)

        return RawResponse(reply, parse)

    async def _send_part(
        self, start: int, stop: int
    ) -> tuple[array[float], int, str, CreateEmbeddingResponseUsage]:
        return _decoded(await self._post_part(start, stop), stop - start)

    async def _post_part(self, start: int, stop: int) -> APIResponse:
        chunk = self._inputs[start:stop]
        body = self._body(input=[v if isinstance(v, str) else list(v) for v in chunk])
        # The rate limiter books the tokens this estimate says, not the body's bytes.
        options = replace(
            self._options or RequestOptions(),
            estimated_tokens=sum(estimate_tokens(v) for v in chunk),
        )
        reply: APIResponse = await self._client.request(
            "POST", self.path, body=body, headers=self._headers(), options=options
        )
        return reply

    def __await__(self) -> Generator[Any, None, Embeddings]:
        return self.create().__await__()

    def __repr__(self) -> str:
        shown = super().__repr__()
        return f"{shown[:-1]}, inputs={len(self._inputs)})"


def _decoded(
    reply: APIResponse, count: int
) -> tuple[array[float], int, str, CreateEmbeddingResponseUsage]:
    """The vectors of one response to `count` inputs (a body that is not that raises
    `APIResponseValidationError` quoting it)."""
    return reply.decode(lambda content: _decode(content, count), "embeddings list")


def _join(
    parts: list[tuple[array[float], int, str, CreateEmbeddingResponseUsage]], requests: int
) -> Embeddings:
    data, dimensions, model, _ = parts[0]
    prompt = total = 0
    for index, (part, part_dimensions, _, usage) in enumerate(parts):
        if part_dimensions != dimensions:
            reason = f"request {index} of {requests} returned {part_dimensions} dimensions"
            raise APIResponseValidationError(
                f"the embeddings of one input came back in two sizes: {reason}, the first "
                f"{dimensions}",
                status_code=200,
                reason=reason,
            )
        if index:
            data.extend(part)
        prompt += usage.prompt_tokens or 0
        total += usage.total_tokens or 0
    usage = CreateEmbeddingResponseUsage(prompt_tokens=prompt, total_tokens=total)
    return Embeddings(data, dimensions, model=model, usage=usage, requests=requests)
