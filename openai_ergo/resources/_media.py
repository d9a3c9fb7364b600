"""What the image and audio builders share: a builder of a typed method's keyword arguments,
files given as paths, bytes or file objects, and a stream handle opened on `async with`.

These builders sit on the typed methods (`client.images.generate`, `client.audio.speech.create`,
...): a builder collects the method's arguments, checked as they are set, and awaiting it calls
the method, so the request goes through the same checks, multipart encoding, retries and
middleware as a typed call.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from openai_ergo._config import RequestOptions, Timeouts
from openai_ergo._errors import InvalidRequestError, StreamError, StreamNotFinishedError
from openai_ergo._metadata import ResponseHead, ResponseMetadata
from openai_ergo._multipart import FileInput, FileUpload
from openai_ergo.resources._builder import check_str, timeout_options, with_field
from openai_ergo.resources._workflow import copy_slots

if TYPE_CHECKING:
    from openai_ergo._client import Client

__all__ = ["MediaBuilder", "StreamHandle", "check_choice", "upload_of"]

B = TypeVar("B", bound="MediaBuilder")
Y = TypeVar("Y", covariant=True)
H = TypeVar("H", bound="_Handle[Any]")
S = TypeVar("S", bound="StreamHandle[Any, Any]")

#: File signatures, so bytes with no filename still go out named as what they are (the service
#: reads an upload's type from its filename).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"RIFF", "wav"),  # WEBP is RIFF too: told apart below
    (b"fLaC", "flac"),
    (b"OggS", "ogg"),
    (b"ID3", "mp3"),
    (b"\xff\xfb", "mp3"),
    (b"\x1aE\xdf\xa3", "webm"),
)


def check_choice(param: str, value: object, choices: tuple[str, ...]) -> str:
    """`value` if it is one of `choices`, or an error naming `param` and the choices."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise InvalidRequestError(f"{param} must be one of {shown}, not {value!r}", param=param)
    return str(value)


def _kind_of(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return next((kind for magic, kind in _SIGNATURES if head.startswith(magic)), None)


def upload_of(param: str, value: FileInput | str, *, stem: str) -> FileUpload:
    """`value` as a `FileUpload`, or an error naming `param`. Bytes are named after what their
    first bytes say they are (`image.png`, `audio.wav`), as a path is named after its file."""
    if isinstance(value, FileUpload):
        return value
    try:
        if isinstance(value, bytes | bytearray | memoryview):
            kind = _kind_of(bytes(value[:16]))
            name = f"{stem}.{kind}" if kind else stem
            return FileUpload(value, filename=name)
        if isinstance(value, str | os.PathLike) or callable(getattr(value, "read", None)):
            return FileUpload(value)
    except InvalidRequestError as exc:
        raise InvalidRequestError(str(exc), param=param) from None
    raise InvalidRequestError(
        f"{param} takes a path, bytes, a binary file object or a FileUpload, "
        f"not {type(value).__name__}",
        param=param,
    )


class MediaBuilder:
    """The base of the image and audio builders: the model, the typed method's arguments set so
    far, and the escape hatches (`extra_body`, `extra_headers`, `timeout`, `options`). Every
    setter returns a new builder, so a builder is a reusable template."""

    __slots__ = ("_args", "_client", "_extra_body", "_extra_headers", "_model", "_options")

    def __init__(self, client: Client, model: str) -> None:
        self._client = client
        self._model = check_str("model", model)
        self._args: dict[str, Any] = {}
        self._extra_body: dict[str, Any] = {}
        self._extra_headers: dict[str, str] = {}
        self._options: RequestOptions | None = None

    def _copy(self: B) -> B:
        return copy_slots(self)

    def _set(self: B, name: str, value: Any) -> B:
        clone = self._copy()
        clone._args = with_field(self._args, name, value)
        return clone

    @property
    def model(self) -> str:
        """The model this request is for."""
        return self._model

    def with_model(self: B, model: str) -> B:
        """The same request for another model."""
        clone = self._copy()
        clone._model = check_str("model", model)
        return clone

    def extra_body(self: B, values: Mapping[str, Any]) -> B:
        """Extra fields sent with the request (for fields this version does not know yet)."""
        clone = self._copy()
        clone._extra_body = {**self._extra_body, **values}
        return clone

    def extra_headers(self: B, headers: Mapping[str, str]) -> B:
        """Extra HTTP headers for this request."""
        clone = self._copy()
        clone._extra_headers = {**self._extra_headers, **headers}
        return clone

    def timeout(self: B, seconds: float | Timeouts | None) -> B:
        """Time allowed for this request: a number bounds the whole request (and, for a
        stream, each silence between chunks); `Timeouts` sets every phase."""
        clone = self._copy()
        clone._options = timeout_options(seconds)
        return clone

    def options(self: B, options: RequestOptions) -> B:
        """Per-request client options (timeouts, retry policy, idempotency key, ...)."""
        clone = self._copy()
        clone._options = options
        return clone

    def _call_args(self, **overrides: Any) -> dict[str, Any]:
        """The typed method's keyword arguments: the fields, the model and the escape hatches."""
        args: dict[str, Any] = {"model": self._model, **self._args, **overrides}
        if self._extra_body:
            args["extra_body"] = self._extra_body
        if self._extra_headers:
            args["extra_headers"] = self._extra_headers
        if self._options is not None:
            args["options"] = self._options
        return args

    def __repr__(self) -> str:
        shown = [f"model={self._model!r}"]
        for name, value in self._args.items():
            text = repr(value)
            shown.append(f"{name}={text if len(text) <= 60 else text[:59] + '…'}")
        if self._extra_body:
            shown.append(f"extra_body={sorted(self._extra_body)}")
        if self._extra_headers:
            # Header values may be credentials: show the names only.
            shown.append(f"extra_headers={sorted(self._extra_headers)}")
        return f"{type(self).__name__}({', '.join(shown)})"


class _Handle(ResponseHead, Protocol[Y]):
    def __anext__(self) -> Awaitable[Y]: ...

    async def aclose(self) -> None: ...


class StreamHandle(ResponseMetadata, Generic[H, Y]):
    """A stream a builder's `.stream()` returns, not opened yet: `async with` (or the first
    `async for`) sends the request; leaving the block closes it. Once open, it carries the
    response's `request_id`, `headers`, `status_code` and `rate_limit`."""

    __slots__ = ("_factory", "_handle")

    def __init__(self, factory: Callable[[], Awaitable[H]]) -> None:
        self._factory: Callable[[], Awaitable[H]] | None = factory
        self._handle: H | None = None

    async def _opened(self) -> H:
        if self._handle is None:
            factory, self._factory = self._factory, None
            if factory is None:
                raise StreamError("this stream was already closed")
            self._handle = await factory()
        return self._handle

    def _opened_handle(self) -> H:
        """The handle, for `final()`: a stream never opened has nothing to give yet."""
        if self._handle is None:
            raise StreamNotFinishedError(
                "the stream was never opened: use `async with builder.stream() as stream:` and "
                "iterate it to its end first"
            )
        return self._handle

    def _response_head(self) -> ResponseHead | None:
        # `request_id`, `headers`, `status_code` and `rate_limit` once the stream is open.
        return self._handle

    async def __aenter__(self: S) -> S:
        await self._opened()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the response (the connection goes back to the pool). Idempotent."""
        self._factory = None
        if self._handle is not None:
            await self._handle.aclose()

    def __aiter__(self: S) -> S:
        return self

    async def __anext__(self) -> Y:
        handle = await self._opened()
        item: Y = await handle.__anext__()
        return item
