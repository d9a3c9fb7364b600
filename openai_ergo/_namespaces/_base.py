"""What the generated namespaces stand on: an operation's description, and one call path.

Each typed method (`client.files.retrieve`, ...) is generated (`_generated/`) as a signature, a
docstring and one line, `return await self._call(_OPERATION, locals())`: `Operation` says where
each argument goes (path, query, header, body) and what comes back, and `Namespace._call` checks
the arguments, builds the request and sends it through `Client.request`, so the pipeline
(retries, rate limits, Azure routing, middleware) is the one every other call takes.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar
from urllib.parse import quote

import msgspec

from openai_ergo._config import RequestOptions
from openai_ergo._errors import InvalidRequestError
from openai_ergo._metadata import RawResponse
from openai_ergo._namespaces._owner import no_such as _no_such

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._multipart import MultipartBody
    from openai_ergo._pagination import Paginator
    from openai_ergo._response import APIResponse, EventStream
    from openai_ergo.resources._typed_stream import _TypedStream

__all__ = [
    "Namespace",
    "Operation",
    "RawResponse",
    "Streaming",
    "checked",
]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


ResultKind = Literal["json", "list", "empty", "binary", "text"]


@dataclass(frozen=True, slots=True)
class Streaming:
    """How an operation that can stream is told to (`stream=True`, `stream_format="sse"`) and
    what its stream is (generated, one per streaming method)."""

    #: The body field that switches streaming on, and the value that does.
    field: str
    value: Any
    #: The type of one event: the operation's generated event union, or a hand-written class.
    events: Any
    #: The handle: the builders' `ChatStream` / `ResponseStream` (their aggregation, `text()`
    #: and `final()`), or a `TypedEventStream` of `events`.
    handle: Literal["chat", "responses", "events"] = "events"
    #: The Assistants runs: the SSE `event:` field is the event's tag, its data the object.
    envelope: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    """Where a typed method's arguments go and what it returns (generated, one per method)."""

    method: str
    path: str
    #: (Python name, name in the path) of each path parameter, in order.
    path_params: tuple[tuple[str, str], ...] = ()
    #: Python name -> (wire name, type) of each query parameter.
    query: Mapping[str, tuple[str, Any]] = field(default_factory=dict)
    #: Python name -> (header name, type) of each header parameter.
    headers: Mapping[str, tuple[str, Any]] = field(default_factory=dict)
    #: The request body's type: a Struct whose fields are keyword arguments, or (with
    #: `whole_body`) any type passed whole as `body=`.
    body: Any = None
    #: Python name -> wire name of each body field that is a keyword argument.
    body_fields: Mapping[str, str] = field(default_factory=dict)
    whole_body: bool = False
    multipart: bool = False
    #: A multipart operation that takes the same fields as JSON: sent as JSON when no file is.
    json_unless_file: bool = False
    kind: ResultKind = "json"
    #: The decoded type of a JSON result, the item type of a list.
    result: Any = None
    #: How the operation streams, when it can (`text/event-stream`).
    streaming: Streaming | None = None


_MISSING_ARGUMENT = re.compile(
    r"missing \d+ required (?:keyword-only |positional )?arguments?: (.*)"
)
_UNEXPECTED_ARGUMENT = re.compile(r"got an unexpected keyword argument '(\w+)'")


def checked(method: Callable[P, R]) -> Callable[P, R]:
    """Turn Python's own complaint about a call's arguments (a missing required parameter, an
    unknown keyword) into `InvalidRequestError` naming the parameter; the signature is kept for
    type checkers, and a well-formed call pays nothing."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except TypeError as exc:
            if exc.__traceback__ is None or exc.__traceback__.tb_next is not None:
                raise  # raised inside the method, not by the binding of its arguments
            raise _argument_error(method.__qualname__, str(exc)) from None

    return call


def _argument_error(name: str, message: str) -> InvalidRequestError:
    missing = _MISSING_ARGUMENT.search(message)
    if missing:
        params = re.findall(r"'(\w+)'", missing.group(1))
        return InvalidRequestError(
            f"{name}() is missing the required parameter {' and '.join(map(repr, params))}",
            param=params[0] if params else None,
        )
    unexpected = _UNEXPECTED_ARGUMENT.search(message)
    param = unexpected.group(1) if unexpected else None
    return InvalidRequestError(f"{name}(): {message.split(': ', 1)[-1]}", param=param)


def _wrong(param: str, exc: msgspec.ValidationError | str) -> InvalidRequestError:
    return InvalidRequestError(f"invalid value for {param!r}: {exc}", param=param)


def _check(value: Any, kind: Any, param: str) -> Any:
    try:
        return msgspec.convert(value, kind, str_keys=True)
    except msgspec.ValidationError as exc:
        raise _wrong(param, exc) from None


_FIELD_PATH = re.compile(r" - at `\$\.([^.`\[]+)")


def _check_body(data: dict[str, Any], kind: Any, wire_to_param: Mapping[str, str]) -> Any:
    try:
        return msgspec.convert(data, kind, str_keys=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        # Loaded here: `import openai_ergo` does not load the types.
        from openai_ergo.types._variants import _UNKNOWN_TAG_ERROR, _lenient

        if _UNKNOWN_TAG_ERROR.match(message):
            # Members sharing a tag (`InputItem`'s three `message`s), or a tag left out: told
            # apart as decoding does; sent as plain data, so a kept payload goes out as given.
            try:
                return _lenient(data, kind, "$").to_dict()
            except msgspec.ValidationError as lenient_exc:
                message = str(lenient_exc)
        where = _FIELD_PATH.search(message)
        missing = re.search(r"missing required field `([^`]+)`", message)
        wire = where.group(1) if where else missing.group(1) if missing else None
        param = wire_to_param.get(wire, wire) if wire else "body"
        raise _wrong(param, message) from None


class Namespace:
    """A group of typed methods (`client.files`, `client.vector_stores.files`, ...).

    A namespace is a view of its client: making one costs an object, and it holds nothing but
    the client and whether it returns raw responses (`with_raw_response`).
    """

    __slots__ = ("_client", "_raw")

    def __init__(self, client: Client, *, raw: bool = False) -> None:
        self._client = client
        self._raw = raw

    # Hidden from type checkers, so that a misspelt name stays a static error.
    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only reached for a name the class does not have.
            what = type(self).__name__.removesuffix("Namespace").removesuffix("Raw")
            raise _no_such(self, name, f"the {what!r} namespace has no method or namespace")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} namespace>"

    def _paginate(self, op: Operation, args: Mapping[str, Any]) -> Paginator[Any]:
        from openai_ergo._pagination import Paginator  # with the pipeline, after the first Client

        path, query, headers, _ = self._request_parts(op, args)
        return Paginator(
            self._client,
            path,
            query=query,
            item_type=op.result,
            headers=headers,
            options=_options(args),
        )

    async def _call(self, op: Operation, args: Mapping[str, Any]) -> Any:
        path, query, headers, body = self._request_parts(op, args)
        streaming = op.streaming
        if streaming is not None and _switched_on(op, streaming, args):
            # Raw or not, the handle is the result: it carries the request id itself.
            return await self._stream(op, streaming, path, query, headers, body, args)
        if op.kind == "binary":
            # The handle itself carries the headers and request id: raw or not, it is the
            # result, and the body stays on the wire until it is read.
            return await self._client.request(
                op.method,
                path,
                body=body,
                query=query or None,
                headers=headers or None,
                stream="bytes",
                options=_options(args),
            )
        response = await self._client.request(
            op.method,
            path,
            body=body,
            query=query or None,
            headers=headers or None,
            options=_options(args),
        )
        parse = _parser(op)
        if self._raw:
            return RawResponse(response, parse)
        return parse(response)

    async def _stream(
        self,
        op: Operation,
        streaming: Streaming,
        path: str,
        query: dict[str, Any],
        headers: dict[str, str],
        body: Any,
        args: Mapping[str, Any],
    ) -> _TypedStream[Any, Any]:
        """Open the request as an event stream and hand back its typed handle, opened: the
        status was 2xx and the first events arrived (so a failure before them is retried and
        raised here, as the official SDK raises it from the call)."""
        client = self._client

        async def open_stream() -> EventStream:
            return await client.request(
                op.method,
                path,
                body=body,
                query=query or None,
                headers=headers or None,
                stream=True,
                options=_options(args),
            )

        handle = _stream_handle(streaming, open_stream)
        await handle.__aenter__()
        return handle

    def _request_parts(
        self, op: Operation, args: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], dict[str, str], Any]:
        path = op.path
        for param, wire in op.path_params:
            value = args[param]
            if not isinstance(value, str) or not value:
                raise _wrong(param, f"expected a non-empty string, got {value!r}")
            path = path.replace("{" + wire + "}", quote(value, safe=""))
        query: dict[str, Any] = {}
        for param, (wire, kind) in op.query.items():
            value = args[param]
            if value is not None:
                query[wire] = _check(value, kind, param)
        extra_query = args.get("extra_query")
        if extra_query:
            query.update(extra_query)
        headers: dict[str, str] = {}
        for param, (wire, kind) in op.headers.items():
            value = args[param]
            if value is not None:
                headers[wire] = str(_check(value, kind, param))
        extra_headers = args.get("extra_headers")
        if extra_headers:
            headers.update(extra_headers)
        body = self._body(op, args)
        return path, query, headers, body

    def _body(self, op: Operation, args: Mapping[str, Any]) -> Any:
        extra_body = args.get("extra_body")
        if op.body is None:
            return dict(extra_body) if extra_body else None
        if op.multipart and not (op.json_unless_file and not _files_given(op, args)):
            return _multipart_body(op, args, extra_body)
        if op.whole_body:
            body = _check(args["body"], op.body, "body")
        else:
            required = _required_fields(op.body)
            data = {
                wire: args[p]
                for p, wire in op.body_fields.items()
                if args[p] is not None or wire in required
            }
            wire_to_param = {wire: p for p, wire in op.body_fields.items()}
            body = _check_body(data, op.body, wire_to_param)
        if extra_body:
            body = {**msgspec.to_builtins(body), **extra_body}
        return body


def _multipart_body(
    op: Operation, args: Mapping[str, Any], extra_body: Mapping[str, Any] | None
) -> MultipartBody:
    """The form of a multipart operation: its fields checked against the body's Struct as a
    JSON body's are (a file stands in as empty bytes), its files streamed from their sources."""
    from openai_ergo._multipart import FileUpload, MultipartBody

    file_fields = _file_fields(op.body)
    required = _required_fields(op.body)
    data: dict[str, Any] = {}
    files: list[tuple[str, FileUpload]] = []
    for param, wire in op.body_fields.items():
        value = args[param]
        if value is None and wire not in required:
            continue
        if wire in file_fields and value is not None:
            many = isinstance(value, list | tuple)
            try:
                uploads = [FileUpload.of(v) for v in (value if many else [value])]
            except InvalidRequestError as exc:
                raise _wrong(param, str(exc)) from None
            files += [(f"{wire}[]" if many else wire, upload) for upload in uploads]
            value = [b""] * len(uploads) if many else file_fields[wire]
        data[wire] = value
    wire_to_param = {wire: p for p, wire in op.body_fields.items()}
    checked_body = msgspec.to_builtins(_check_body(data, op.body, wire_to_param))
    fields = {k: v for k, v in checked_body.items() if k not in file_fields}
    if extra_body:
        fields.update(extra_body)
    return MultipartBody(fields, files)


def _files_given(op: Operation, args: Mapping[str, Any]) -> bool:
    """Whether the call passes any of the multipart operation's file fields."""
    file_fields = _file_fields(op.body)
    return any(args[p] is not None for p, wire in op.body_fields.items() if wire in file_fields)


@functools.cache
def _file_fields(kind: Any) -> dict[str, bytes | str]:
    """The wire names of a multipart body's file fields (those whose type holds `bytes`), each
    with what stands in for one file when the fields are checked: empty bytes, or an empty
    string where the spec writes one binary file as a string (`image: str | list[bytes]`)."""

    def holds_bytes(annotation: Any) -> bool:
        return annotation is bytes or any(holds_bytes(a) for a in typing.get_args(annotation))

    return {
        f.encode_name: b"" if f.type is bytes or bytes in typing.get_args(f.type) else ""
        for f in msgspec.structs.fields(kind)
        if holds_bytes(f.type)
    }


def _switched_on(op: Operation, streaming: Streaming, args: Mapping[str, Any]) -> bool:
    """Whether the call asks for a stream (`stream=True`, `stream_format="sse"`)."""
    return any(
        wire == streaming.field and args[param] == streaming.value
        for param, wire in op.body_fields.items()
    )


def _stream_handle(streaming: Streaming, opener: Any) -> _TypedStream[Any, Any]:
    # Loaded on the first stream: `import openai_ergo` and the namespaces load no handle.
    if streaming.handle == "chat":
        from openai_ergo.resources._streams import ChatStream

        return ChatStream(opener)
    if streaming.handle == "responses":
        from openai_ergo.resources._streams import ResponseStream

        return ResponseStream(opener)
    from openai_ergo.resources._event_streams import TypedEventStream

    return TypedEventStream(opener, streaming.events, envelope=streaming.envelope)


def _parser(op: Operation) -> Callable[[APIResponse], Any]:
    if op.kind == "empty":
        return _nothing
    if op.kind == "text":
        return _text
    return _json_parser(op.result)


@functools.cache
def _required_fields(kind: Any) -> frozenset[str]:
    """The wire names of a request Struct's required fields: `None` passed for one of them is
    sent as `null` (`metadata=None` clears it), where an optional field's `None` is left out."""
    return frozenset(f.encode_name for f in msgspec.structs.fields(kind) if f.required)


def _nothing(response: APIResponse) -> None:
    return None


def _text(response: APIResponse) -> str:
    return response.content.decode()


@functools.cache
def _json_parser(kind: Any) -> Callable[[APIResponse], Any]:
    from openai_ergo.types import decode

    name = getattr(kind, "__name__", None) or repr(kind)

    def parse(response: APIResponse) -> Any:
        return response.decode(functools.partial(decode, type=kind), name)

    return parse


def _options(args: Mapping[str, Any]) -> RequestOptions | None:
    """The call's `options`, with the SDK's per-call `timeout=` folded into its `timeouts` (both
    given is a `ConfigurationError` naming them, as on the constructor)."""
    options: RequestOptions | None = args.get("options")
    timeout = args.get("timeout")
    if timeout is None:
        return options
    from openai_ergo._sdk_arguments import timeouts_from_sdk

    timeouts = timeouts_from_sdk(timeout, options.timeouts if options is not None else None)
    return replace(options, timeouts=timeouts) if options else RequestOptions(timeouts=timeouts)
