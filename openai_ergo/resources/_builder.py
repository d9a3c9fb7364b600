"""The immutable request builder both endpoints share: fields, validation, escape hatches.

A builder is a value. Every setter returns a new builder and leaves the old one untouched, so a
builder is a reusable template that tasks may share. Values are checked as they are set, and
rules that span several fields when the request is sent, always before anything goes out.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from openai_ergo._config import RequestOptions, Timeouts
from openai_ergo._errors import InvalidRequestError
from openai_ergo.resources._tools import FunctionTool

if TYPE_CHECKING:
    from openai_ergo._client import Client
    from openai_ergo._response import APIResponse, EventStream
    from openai_ergo.resources._typed_stream import Opener

__all__ = ["BodyBuilder", "RequestBuilder"]

B = TypeVar("B", bound="BodyBuilder")

#: A tool: one made by `@tool`, or a built-in tool's JSON (`{"type": "web_search"}`).
ToolSpec = FunctionTool[..., Any] | Mapping[str, Any]

_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie", "signature")


def check_number(param: str, value: object, low: float, high: float) -> float:
    """`value` as a float within [low, high], or a clear error naming `param`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidRequestError(f"{param} must be a number, not {value!r}", param=param)
    if not low <= value <= high:
        raise InvalidRequestError(
            f"{param} must be between {low:g} and {high:g}, not {value!r}", param=param
        )
    return value


def check_int(param: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """`value` as an int within the bounds, or a clear error naming `param`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{param} must be an integer, not {value!r}", param=param)
    if low is not None and value < low:
        raise InvalidRequestError(f"{param} must be at least {low}, not {value}", param=param)
    if high is not None and value > high:
        raise InvalidRequestError(f"{param} must be at most {high}, not {value}", param=param)
    return value


def check_bool(param: str, value: object) -> bool:
    """`value` as a bool, or a clear error naming `param`."""
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{param} must be True or False, not {value!r}", param=param)
    return value


def check_str(param: str, value: object, *, max_length: int | None = None) -> str:
    """`value` as a non-empty string (at most `max_length` long), or a clear error."""
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{param} must be a non-empty string, not {value!r}", param=param)
    if max_length is not None and len(value) > max_length:
        raise InvalidRequestError(
            f"{param} must be at most {max_length} characters, not {len(value)}", param=param
        )
    return value


def check_metadata(value: Mapping[str, str]) -> dict[str, str]:
    """Metadata as the API allows it: at most 16 pairs, keys up to 64 characters, values up to
    512, all strings."""
    if not isinstance(value, Mapping):
        raise InvalidRequestError("metadata must be a mapping of strings", param="metadata")
    if len(value) > 16:
        raise InvalidRequestError(
            f"metadata holds at most 16 pairs, not {len(value)}", param="metadata"
        )
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise InvalidRequestError(
                f"metadata keys and values must be strings (at {key!r})", param="metadata"
            )
        if len(key) > 64:
            raise InvalidRequestError(
                f"metadata keys are at most 64 characters ({key[:20]!r}... has {len(key)})",
                param="metadata",
            )
        if len(item) > 512:
            raise InvalidRequestError(
                f"metadata values are at most 512 characters ({key!r} has {len(item)})",
                param="metadata",
            )
    return dict(value)


def checked_tools(current: tuple[ToolSpec, ...], added: Iterable[ToolSpec]) -> tuple[ToolSpec, ...]:
    """`current` and `added` tools together, each a `@tool` function or tool JSON with a
    `type`, the functions' names unique; or an error naming `tools`."""
    combined = current + tuple(added)
    names = [t.name for t in combined if isinstance(t, FunctionTool)]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise InvalidRequestError(f"two tools are named {duplicate!r}", param="tools")
    for spec in combined[len(current) :]:
        if not isinstance(spec, FunctionTool | Mapping) or (
            isinstance(spec, Mapping) and "type" not in spec
        ):
            raise InvalidRequestError(
                f"tools takes @tool functions or tool JSON with a 'type', not {spec!r}",
                param="tools",
            )
    return combined


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BodyBuilder:
    """What every builder shares: the model, the body fields set so far, the escape hatches
    (`extra_body`, `extra_headers`, `timeout`, `options`), the body and one plain send. Not
    instantiated directly: `client.responses(model)`, `client.chat(model)`,
    `client.embeddings(model)` ... make the concrete builders."""

    __slots__ = (
        "_client",
        "_extra_body",
        "_extra_headers",
        "_fields",
        "_model",
        "_options",
        "_stream_options",
    )

    #: The endpoint path, relative to the client's base URL.
    path: ClassVar[str] = ""

    def __init__(self, client: Client, model: str) -> None:
        self._client = client
        self._model = check_str("model", model)
        self._fields: dict[str, Any] = {}
        self._extra_body: dict[str, Any] = {}
        self._extra_headers: dict[str, str] = {}
        self._options: RequestOptions | None = None
        # Sent as `stream_options` with a streamed request, unless empty.
        self._stream_options: dict[str, Any] = {}

    # -- the immutable core ---------------------------------------------------------------

    def _copy(self: B) -> B:
        clone = object.__new__(type(self))
        clone._client = self._client
        clone._model = self._model
        clone._fields = self._fields
        clone._extra_body = self._extra_body
        clone._extra_headers = self._extra_headers
        clone._options = self._options
        clone._stream_options = self._stream_options
        return clone

    def _set(self: B, name: str, value: Any) -> B:
        clone = self._copy()
        clone._fields = with_field(self._fields, name, value)
        return clone

    def _merge(self: B, name: str, **values: Any) -> B:
        """Set keys inside an object field (`reasoning`, `text`, ...), keeping the others."""
        current = dict(self._fields.get(name) or {})
        for key, value in values.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        return self._set(name, current or None)

    @property
    def model(self) -> str:
        """The model this request is for."""
        return self._model

    @property
    def client(self) -> Client:
        """The client that sends this request."""
        return self._client

    def with_model(self: B, model: str) -> B:
        """The same request for another model."""
        clone = self._copy()
        clone._model = check_str("model", model)
        return clone

    # -- escape hatches ---------------------------------------------------------------------

    def extra_body(self: B, values: Mapping[str, Any]) -> B:
        """Extra top-level JSON fields, merged over the built body (for fields this version does
        not know yet, or servers that take more). A mapping for an object field the builder
        set (`text`, `reasoning`, `metadata`, ...) adds its keys to that object."""
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
        stream, each silence between events); `Timeouts` sets every phase."""
        clone = self._copy()
        clone._options = timeout_options(seconds)
        return clone

    def options(self: B, options: RequestOptions) -> B:
        """Per-request client options (timeouts, retry policy, idempotency key, ...)."""
        clone = self._copy()
        clone._options = options
        return clone

    # -- encoding ---------------------------------------------------------------------------

    def _encode_field(self, name: str, value: Any) -> Any:
        """The JSON form of one field (subclasses render tools, inputs and messages)."""
        return value

    def _validate(self, body: dict[str, Any]) -> None:
        """Rules that span fields, checked on the whole body before it is sent."""

    def request_body(self, **overrides: Any) -> dict[str, Any]:
        """The JSON body this builder sends, as a dict (useful for batch files and logs).

        The dict is the caller's own: editing it changes neither this builder nor a `@tool`'s
        schema. Checks the rules that span several fields and raises `InvalidRequestError`
        naming the parameter when one is broken."""
        return copy.deepcopy(self._body(**overrides))

    def _body(self, **overrides: Any) -> dict[str, Any]:
        """The body to send; it shares the builder's values, so it must not be edited or
        handed out (`request_body()` hands out a copy)."""
        body: dict[str, Any] = {"model": self._model}
        for name, value in self._fields.items():
            body[name] = self._encode_field(name, value)
        body.update(overrides)
        for name, value in self._extra_body.items():
            built = body.get(name)
            # Into an object field the builder set (`text`, `reasoning`, ...), extra keys are
            # merged: replacing the object would silently drop what the setters put there.
            if isinstance(built, dict) and isinstance(value, Mapping):
                body[name] = {**built, **value}
            else:
                body[name] = value
        self._validate(body)
        return body

    def _headers(self) -> dict[str, str] | None:
        return self._extra_headers or None

    # -- sending ----------------------------------------------------------------------------

    async def _send(self) -> APIResponse:
        """Send the request once, not streamed; the body is built (and checked) first."""
        body = self._body()
        return await self._client.request(
            "POST", self.path, body=body, headers=self._headers(), options=self._options
        )

    def __repr__(self) -> str:
        shown = [f"model={self._model!r}"]
        shown.extend(f"{name}={_shown(value)}" for name, value in self._fields.items())
        if self._extra_body:
            shown.append(f"extra_body={_shown(self._extra_body)}")
        if self._extra_headers:
            # Header values may be credentials: show the names only.
            shown.append(f"extra_headers={sorted(self._extra_headers)}")
        return f"{type(self).__name__}({', '.join(shown)})"


class RequestBuilder(BodyBuilder):
    """What the Responses and Chat builders share beyond `BodyBuilder`: sampling and
    bookkeeping setters, tools and the stream opener. Not instantiated directly."""

    __slots__ = ()

    def _merge_stream_options(self: B, **values: bool | None) -> B:
        """Set the given stream options (checked as bools), keeping the others."""
        clone = self._copy()
        options = dict(self._stream_options)
        for key, value in values.items():
            if value is not None:
                options[key] = check_bool(key, value)
        clone._stream_options = options
        return clone

    # -- fields both endpoints take ---------------------------------------------------------

    def temperature(self: B, value: float | None) -> B:
        """Sampling temperature, 0 to 2: higher is more random. Prefer changing this or
        `top_p`, not both."""
        return self._set(
            "temperature", None if value is None else check_number("temperature", value, 0, 2)
        )

    def top_p(self: B, value: float | None) -> B:
        """Nucleus sampling, 0 to 1: only tokens within this probability mass are considered."""
        return self._set("top_p", None if value is None else check_number("top_p", value, 0, 1))

    def top_logprobs(self: B, value: int | None) -> B:
        """How many most likely tokens (0 to 20) to return with each output token's log
        probability."""
        return self._set(
            "top_logprobs", None if value is None else check_int("top_logprobs", value, 0, 20)
        )

    def metadata(self: B, value: Mapping[str, str] | None = None, /, **pairs: str) -> B:
        """Up to 16 string pairs stored with the request (replaces earlier metadata)."""
        return self._set("metadata", merged_metadata(value, pairs))

    def store(self: B, value: bool | None = True) -> B:
        """Whether OpenAI keeps the result for later retrieval (and for distillation/evals)."""
        return self._set("store", None if value is None else check_bool("store", value))

    def service_tier(self: B, value: str | None) -> B:
        """The processing tier: `auto`, `default`, `flex`, `priority`, `scale`, ..."""
        return self._set(
            "service_tier", None if value is None else check_str("service_tier", value)
        )

    def safety_identifier(self: B, value: str | None) -> B:
        """A stable, hashed id of your end user (at most 64 characters) for abuse detection."""
        checked = None if value is None else check_str("safety_identifier", value, max_length=64)
        return self._set("safety_identifier", checked)

    def prompt_cache_key(self: B, value: str | None) -> B:
        """A key that buckets similar requests to raise prompt-cache hit rates."""
        checked = None if value is None else check_str("prompt_cache_key", value)
        return self._set("prompt_cache_key", checked)

    def prompt_cache_retention(self: B, value: str | None) -> B:
        """How long cached prompt prefixes may live: `in_memory` or `24h`."""
        checked = None if value is None else check_str("prompt_cache_retention", value)
        return self._set("prompt_cache_retention", checked)

    def end_user(self: B, value: str | None) -> B:
        """The `user` field: a stable id of your end user (deprecated by the API for
        `safety_identifier` and `prompt_cache_key`)."""
        return self._set("user", None if value is None else check_str("user", value))

    def parallel_tool_calls(self: B, value: bool | None = True) -> B:
        """Whether the model may call several tools in one turn."""
        checked = None if value is None else check_bool("parallel_tool_calls", value)
        return self._set("parallel_tool_calls", checked)

    def tools(self: B, *tools: ToolSpec) -> B:
        """Add tools the model may call: functions made with `@tool`, or built-in tools as
        their JSON (`{"type": "web_search"}`). Names must be unique."""
        current: tuple[ToolSpec, ...] = self._fields.get("tools", ())
        return self._set("tools", checked_tools(current, tools) or None)

    def without_tools(self: B) -> B:
        """The same request with no tools."""
        return self._set("tools", None)

    @property
    def function_tools(self) -> dict[str, FunctionTool[..., Any]]:
        """The `@tool` functions of this request, by name (what `.run()` can execute)."""
        tools: tuple[ToolSpec, ...] = self._fields.get("tools", ())
        return {t.name: t for t in tools if isinstance(t, FunctionTool)}

    def tool_choice(self: B, value: str | FunctionTool[..., Any] | Mapping[str, Any] | None) -> B:
        """Whether and which tool to call: `"auto"`, `"none"`, `"required"`, a `@tool`
        function (that one, always), or the API's JSON for the choice."""
        if isinstance(value, str) and value not in ("auto", "none", "required"):
            raise InvalidRequestError(
                f"tool_choice must be 'auto', 'none', 'required', a tool or its JSON, "
                f"not {value!r}",
                param="tool_choice",
            )
        return self._set("tool_choice", value)

    def _stream_opener(self) -> Opener:
        """What opens the request as an event stream. The body is built and checked now, so a
        bad request fails where `stream()` is called, before anything goes out."""
        overrides: dict[str, Any] = {"stream": True}
        if self._stream_options:
            overrides["stream_options"] = self._stream_options
        body = self._body(**overrides)

        async def open_stream() -> EventStream:
            return await self._client.request(
                "POST",
                self.path,
                body=body,
                headers=self._headers(),
                stream=True,
                options=self._options,
            )

        return open_stream


def tool_names(tools: Iterable[ToolSpec]) -> list[str]:
    """The names of the function tools among `tools`."""
    return [t.name for t in tools if isinstance(t, FunctionTool)]


def timeout_options(seconds: float | Timeouts | None) -> RequestOptions | None:
    """What a builder's `timeout(seconds)` sets: a number bounds the whole request, each read
    and each silence of a stream; `Timeouts` sets every phase; None leaves the client's."""
    if seconds is None:
        return None
    if isinstance(seconds, Timeouts):
        return RequestOptions(timeouts=seconds)
    limit = check_number("timeout", seconds, 0, math.inf)
    return RequestOptions(timeouts=Timeouts(read=limit, total=limit, stream_idle=limit))


def with_field(fields: Mapping[str, Any], name: str, value: Any) -> dict[str, Any]:
    """A copy of a builder's request `fields` with `name` set to `value`, or left out when it
    is None (a setter given None unsets): what every builder's `_set` does to its fields."""
    changed = dict(fields)
    if value is None:
        changed.pop(name, None)
    else:
        changed[name] = value
    return changed


def merged_metadata(
    value: Mapping[str, str] | None, pairs: Mapping[str, str]
) -> dict[str, str] | None:
    """What a builder's `metadata(value, **pairs)` sets: the pairs over the mapping, checked,
    or None (the field unset) when both are empty; it replaces earlier metadata."""
    merged = {**(value or {}), **pairs}
    return check_metadata(merged) if merged else None
