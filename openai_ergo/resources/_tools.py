"""`@tool`: a typed Python function becomes a function tool the model can call.

The JSON Schema comes from the signature (msgspec writes it: Structs, Literals, Optionals, lists,
nested types), descriptions from the docstring (Google "Args:" or NumPy "Parameters" sections).
Strict mode is on whenever the schema allows it; parameters with a default are then sent as
nullable, and `null` from the model means "use the default". Arguments from the model are decoded
into the parameters' types by msgspec before the function runs.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar, final, overload

import anyio.to_thread
import msgspec

from openai_ergo import _pydantic
from openai_ergo._errors import InvalidRequestError
from openai_ergo.resources._json_schema import object_schema, strict_problem, strict_schema

__all__ = ["FunctionTool", "ToolArgumentsError", "tool"]

P = ParamSpec("P")
R = TypeVar("R")

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns?|Yields?|"
    r"Raises|Examples?|Notes?|See Also|Attributes|References)\s*:?\s*$"
)
_PARAM_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


class ToolArgumentsError(ValueError):
    """The model's arguments for a tool did not fit its parameters (sent back to the model)."""


_NUMPY_NAMES = re.compile(r"^\**\w+(\s*,\s*\**\w+)*$")


def _parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """The summary (text before the first section) and a description per parameter."""
    if not doc:
        return None, {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, list[str]] = {}
    section: str | None = None
    numpy_section = False
    current: list[str] = []
    entry_indent = -1
    skip_next = False
    for number, line in enumerate(lines):
        if skip_next:  # the dashes under a NumPy section title
            skip_next = False
            continue
        header = _SECTION.match(line)
        numpy_header = number + 1 < len(lines) and bool(_UNDERLINE.match(lines[number + 1]))
        if header and (line.rstrip().endswith(":") or numpy_header):
            section, current, entry_indent = header.group(1).lower(), [], -1
            numpy_section = skip_next = numpy_header
            continue
        if section is None:
            summary.append(line)
            continue
        if section not in _PARAM_SECTIONS or not line.strip():
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if current and indent > entry_indent:
            for name in current:  # a continuation line
                params[name].append(stripped)
            continue
        if numpy_section:
            # NumPy: "name : type", "name", or "x, y : type"; the text is on the next lines.
            names = stripped.split(":", 1)[0].strip()
            if not _NUMPY_NAMES.match(names):
                current = []
                continue
            current = [name.strip().lstrip("*") for name in names.split(",")]
            entry_indent = indent
            for name in current:
                params[name] = []
            continue
        # Google: "name (type): text".
        google = re.match(r"^\**(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", stripped)
        if google is not None:
            current, entry_indent = [google.group(1)], indent
            params[google.group(1)] = [google.group(3)] if google.group(3) else []
        else:
            current = []
    text = "\n".join(summary).strip()
    return (text or None), {k: " ".join(v).strip() for k, v in params.items() if v}


@final
class FunctionTool(Generic[P, R]):
    """A function the model may call: its name, description, JSON Schema and strictness, plus the
    function itself (calling the tool calls the function).

    Made by `@tool`; pass it to `.tools(...)` on a Responses or Chat builder and run the loop
    with `.run()`.
    """

    __slots__ = (
        "__wrapped__",
        "_decode_values",
        "_defaults",
        "_fill_defaults",
        "_is_async",
        "_positional",
        "description",
        "name",
        "parameters",
        "strict",
    )

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> None:
        self.__wrapped__ = function
        inner = _innermost(function)
        self.name: str = name or _name_of(function, inner)
        if not _NAME.match(self.name):
            raise InvalidRequestError(
                f"tool name {self.name!r} must be 1-64 letters, digits, '_' or '-'", param="name"
            )
        summary, param_docs = _parse_docstring(_doc_of(function, inner))
        self.description: str | None = description if description is not None else summary
        hints = _hints_of(function, inner)
        signature = inspect.signature(function)
        fields: list[Any] = []
        decode_fields: list[Any] = []
        self._positional: tuple[str, ...] = ()
        self._defaults: dict[str, Any] = {}
        optional: list[str] = []
        for parameter in signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise InvalidRequestError(
                    f"tool {self.name}: *args and **kwargs cannot be described to the model; "
                    "name every parameter",
                    param=parameter.name,
                )
            if parameter.kind is parameter.POSITIONAL_ONLY:
                self._positional += (parameter.name,)
            annotation = hints.get(parameter.name, Any)
            if parameter.default is parameter.empty:
                fields.append((parameter.name, annotation))
                decode_fields.append((parameter.name, annotation))
            else:
                self._defaults[parameter.name] = parameter.default
                optional.append(parameter.name)
                default = _default_field(parameter.default)
                fields.append((parameter.name, annotation, default))
                # The model may send null for a defaulted parameter (strict mode needs every key).
                decode_fields.append(
                    (parameter.name, typing.Optional[annotation], default)  # noqa: UP045
                )
        if any(_pydantic.mentions_model(field[1]) for field in fields):
            schema, self._decode_values = _pydantic_parameters(self.name, fields, self._defaults)
        else:
            try:
                arguments_type = msgspec.defstruct(
                    f"{self.name}_arguments", decode_fields, kw_only=True
                )
                schema = object_schema(msgspec.defstruct(self.name, fields, kw_only=True))
            except (TypeError, ValueError) as exc:
                raise _parameter_error(self.name, fields, exc) from None
            self._decode_values = _struct_decoder(arguments_type)
        properties = schema.get("properties", {})
        for param_name, text in param_docs.items():
            prop = properties.get(param_name)
            if prop is not None and "description" not in prop:
                prop["description"] = text
        for param_name, value in self._defaults.items():
            _show_default(properties.get(param_name), value)
        nullable = _nullable_optionals(schema, optional)
        strict_version = strict_schema(nullable)
        if strict is True and strict_version is None:
            raise InvalidRequestError(
                f"tool {self.name}: its parameters cannot be expressed in strict mode: "
                f"{strict_problem(nullable)}; use strict=False",
                param="strict",
            )
        self.strict: bool = strict_version is not None and strict is not False
        self.parameters: dict[str, Any] = (
            strict_version if strict_version is not None and self.strict else schema
        )
        # Only parameters whose own type refuses None need null mapped back to their default.
        self._fill_defaults = tuple(
            name for name in optional if not _admits_none(hints.get(name, Any))
        )
        self._is_async = _is_async(inner)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the underlying function directly."""
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool({self.name!r}, strict={self.strict})"

    def for_responses(self) -> dict[str, Any]:
        """The tool as the Responses API takes it."""
        spec: dict[str, Any] = {"type": "function", "name": self.name}
        if self.description:
            spec["description"] = self.description
        spec["parameters"] = copy.deepcopy(self.parameters)  # the caller's, to edit freely
        spec["strict"] = self.strict
        return spec

    def for_chat(self) -> dict[str, Any]:
        """The tool as Chat Completions takes it."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = copy.deepcopy(self.parameters)  # the caller's, to edit freely
        function["strict"] = self.strict
        return {"type": "function", "function": function}

    def decode_arguments(self, arguments: str | bytes) -> dict[str, Any]:
        """The model's JSON arguments as keyword arguments for the function.

        Raises `ToolArgumentsError` naming what did not fit."""
        try:
            values = self._decode_values(arguments or b"{}")
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ToolArgumentsError(f"invalid arguments for {self.name}: {exc}") from None
        for name in self._fill_defaults:
            if values[name] is None:
                values[name] = self._defaults[name]
        return values

    async def invoke(self, arguments: str | bytes) -> Any:
        """Decode `arguments` and run the function (sync functions in a worker thread)."""
        values = self.decode_arguments(arguments)
        args = [values.pop(name) for name in self._positional]
        if self._is_async:
            result: Any = self.__wrapped__(*args, **values)
        else:
            call = functools.partial(self.__wrapped__, *args, **values)
            result = await anyio.to_thread.run_sync(call)
        # A sync-looking callable may still hand back an awaitable (a plain decorator around
        # an async function that hides it from introspection): its work is in the awaitable.
        if inspect.isawaitable(result):
            result = await result
        return result


def _struct_decoder(arguments_type: Any) -> Callable[[str | bytes], dict[str, Any]]:
    """The model's JSON arguments as a dict by parameter name, through a msgspec Struct."""
    decode = msgspec.json.Decoder(arguments_type).decode
    asdict = msgspec.structs.asdict

    def decode_values(arguments: str | bytes) -> dict[str, Any]:
        return asdict(decode(arguments))

    return decode_values


_REQUIRED = object()


def _pydantic_parameters(
    tool_name: str,
    fields: list[Any],
    defaults: dict[str, Any],
) -> tuple[dict[str, Any], Callable[[str | bytes], dict[str, Any]]]:
    """The schema and the argument decoder of a function with pydantic models among its
    parameter types: pydantic describes and validates all of them, msgspec none."""
    described = [(field[0], field[1], defaults.get(field[0], _REQUIRED)) for field in fields]
    # The model may send null for a defaulted parameter (strict mode needs every key).
    decoded = [
        (name, annotation if default is _REQUIRED else typing.Optional[annotation], default)  # noqa: UP045
        for name, annotation, default in described
    ]
    try:
        schema_model, _ = _pydantic.arguments_model(tool_name, described, _REQUIRED)
        schema = _pydantic.model_schema(schema_model)
        arguments_model, field_names = _pydantic.arguments_model(
            f"{tool_name}_arguments", decoded, _REQUIRED
        )
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(
            f"tool {tool_name}: cannot describe its parameters: {str(exc).splitlines()[0]}"
        ) from None
    validate = _pydantic.json_decoder(arguments_model)

    def decode_values(arguments: str | bytes) -> dict[str, Any]:
        instance = validate(arguments)
        return {param: getattr(instance, name) for param, name in field_names.items()}

    return schema, decode_values


def _innermost(function: Callable[..., Any]) -> Callable[..., Any]:
    """The callable that does the work under `functools.partial` layers and decorators that
    set `__wrapped__` (as `functools.wraps` does)."""
    seen: set[int] = set()
    current: Any = function
    while id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, functools.partial):
            current = current.func
            continue
        wrapped = getattr(current, "__wrapped__", None)
        if wrapped is None or not callable(wrapped):
            break
        current = wrapped
    return typing.cast("Callable[..., Any]", current)


def _is_routine(function: object) -> bool:
    return inspect.isroutine(function) or inspect.isclass(function)


def _is_async(inner: Callable[..., Any]) -> bool:
    """Whether calling the tool gives a coroutine: an async function, or an instance whose
    `__call__` is one."""
    if inspect.iscoroutinefunction(inner):
        return True
    if not _is_routine(inner):
        return inspect.iscoroutinefunction(type(inner).__call__)
    return False


def _name_of(function: Callable[..., Any], inner: Callable[..., Any]) -> str:
    for candidate in (function, inner):
        name = getattr(candidate, "__name__", None)
        if isinstance(name, str):
            return name
    return type(inner).__name__  # a callable instance: its class names it


def _doc_of(function: Callable[..., Any], inner: Callable[..., Any]) -> str | None:
    if isinstance(function, functools.partial):
        # `partial` objects carry the docstring of the `partial` class itself.
        return inner.__doc__
    doc = function.__doc__
    if doc is None and not _is_routine(inner):
        doc = getattr(type(inner).__call__, "__doc__", None)
    return doc


def _hints_of(function: Callable[..., Any], inner: Callable[..., Any]) -> dict[str, Any]:
    """The parameters' type hints; `get_type_hints` takes functions, methods and classes,
    so a partial is read through its function and an instance through its `__call__`."""
    target: Any = function
    if isinstance(function, functools.partial):
        target = inner
    if not _is_routine(target):
        target = type(target).__call__
    return typing.get_type_hints(target, include_extras=True)


def _default_field(default: Any) -> Any:
    """A parameter's default as msgspec takes it: mutable values (a list, a dict, a Struct)
    become a factory of copies, which msgspec asks for instead of a shared value."""
    try:
        msgspec.defstruct("_probe", [("value", Any, default)])
    except TypeError:
        return msgspec.field(default_factory=functools.partial(copy.deepcopy, default))
    return default


def _show_default(prop: dict[str, Any] | None, default: Any) -> None:
    """Write a default that went in as a factory into the (non-strict) schema, as msgspec
    writes the others."""
    if prop is None or "default" in prop:
        return
    # A default JSON cannot show is still used, just not described.
    with contextlib.suppress(TypeError):
        prop["default"] = msgspec.to_builtins(default)


def _parameter_error(tool_name: str, fields: list[Any], exc: Exception) -> InvalidRequestError:
    """The error for a signature msgspec cannot describe, naming the parameter at fault."""
    for field in fields:
        try:
            msgspec.json.schema(msgspec.defstruct("_probe", [field], kw_only=True))
        except (TypeError, ValueError) as inner:
            return InvalidRequestError(
                f"tool {tool_name}: parameter {field[0]!r} cannot be described to the model: "
                f"{str(inner).splitlines()[-1]}",
                param=field[0],
            )
    return InvalidRequestError(f"tool {tool_name}: cannot describe its parameters: {exc}")


def _admits_none(annotation: Any) -> bool:
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    return type(None) in typing.get_args(annotation)


def _nullable_optionals(schema: dict[str, Any], optional: list[str]) -> dict[str, Any]:
    """Defaulted parameters become `anyOf [T, null]`, so strict mode may require them all."""
    properties = schema.get("properties", {})
    result = dict(schema)
    result["properties"] = dict(properties)
    for name in optional:
        prop = dict(properties[name])
        prop.pop("default", None)
        if prop.get("type") == "null" or {"type": "null"} in prop.get("anyOf", []):
            result["properties"][name] = prop
            continue
        description = prop.pop("description", None)
        wrapped: dict[str, Any] = {"anyOf": [prop, {"type": "null"}]}
        if description is not None:
            wrapped["description"] = description
        result["properties"][name] = wrapped
    return result


@overload
def tool(function: Callable[P, R], /) -> FunctionTool[P, R]: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, strict: bool | None = None
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...


def tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
) -> FunctionTool[P, R] | Callable[[Callable[P, R]], FunctionTool[P, R]]:
    """Turn a typed function (async or sync) into a tool the model can call.

    Use it bare (`@tool`) or with options (`@tool(name=..., description=..., strict=False)`).
    `strict=None` (the default) turns strict mode on whenever the parameters allow it."""
    if function is not None:
        return FunctionTool(function, name=name, description=description, strict=strict)

    def decorate(inner: Callable[P, R]) -> FunctionTool[P, R]:
        return FunctionTool(inner, name=name, description=description, strict=strict)

    return decorate
