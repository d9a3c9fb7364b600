"""Request validation and answer planning per endpoint, independent of ASGI plumbing.

Bad input raises `BadRequest` carrying the error body OpenAI would send for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from openai_ergo.mock._catalog import (
    default_dimensions,
    embedding_inputs,
    embeddings_body,
    known_model,
    moderation_inputs,
    moderations_body,
    supports_dimensions,
)
from openai_ergo.mock._chat import ChatTurn
from openai_ergo.mock._replies import (
    Completion,
    Deltas,
    PlannedCall,
    RecordedRequest,
    Reply,
    ToolCall,
    argument_fragments,
    estimate_tokens,
    example_arguments,
    generated_deltas,
    generated_tokens,
    limit_completion,
    limit_refusal,
    natural_length,
    plan_calls,
    request_key,
    schema_instance,
    split_text,
)
from openai_ergo.mock._responses import ResponseTurn
from openai_ergo.mock._wire import new_id

if TYPE_CHECKING:
    from openai_ergo.mock._file_search import Searcher


class BadRequest(Exception):
    """The request cannot be served; carries the HTTP status and OpenAI's error fields."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.type = type


@dataclass
class ReplyPolicy:
    """How the app answers: its models, seed, reply length, and the scripted replies."""

    models: Iterable[str]
    #: Whether a model outside `models` is refused (by default any model name is served).
    strict_models: bool
    seed: int
    reply_tokens: int | tuple[int, int]
    next_scripted: Callable[[RecordedRequest], Reply | str | None]


def missing_parameter(name: str) -> BadRequest:
    """OpenAI's 400 for a required parameter the request left out."""
    return BadRequest(
        f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
    )


def invalid(param: str, message: str, code: str = "invalid_value") -> BadRequest:
    """OpenAI's 400 for a parameter with a bad value (`code` says how it is bad)."""
    return BadRequest(message, param=param, code=code)


def unsupported(param: str, value: Any, supported: Iterable[str]) -> BadRequest:
    """OpenAI's 400 for a value outside a closed set, naming the values it takes."""
    names = ", ".join(f"'{v}'" for v in supported)
    return invalid(param, f"Invalid value: '{value}'. Supported values are: {names}.")


def require_model(
    body: dict[str, Any], models: Iterable[str], *, strict: bool = True, responses: bool = False
) -> str:
    """The request's model, a string; when `strict`, one the mock serves.

    An unknown model is a 404 on the older endpoints and a 400 naming `model` on the Responses
    API, as OpenAI answers them.
    """
    model = body.get("model")
    if model is None:
        raise missing_parameter("model")
    if not isinstance(model, str):
        raise BadRequest(
            f"Invalid type for 'model': expected a string, but got {_json_type(model)} instead.",
            param="model",
            code="invalid_type",
        )
    if strict and not known_model(model, models):
        if responses:
            raise BadRequest(
                f"The requested model '{model}' does not exist.",
                param="model",
                code="model_not_found",
            )
        raise BadRequest(
            f"The model `{model}` does not exist or you do not have access to it.",
            status=404,
            code="model_not_found",
        )
    return model


def choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    """A parameter from a closed set (`default` when absent or null), or a 400 naming it."""
    value = body.get(name)
    if value is None:
        return default
    if value not in allowed:
        raise unsupported(name, value, allowed)
    return str(value)


def bounded(
    body: dict[str, Any], name: str, low: float, high: float, default: float, *, integer: bool
) -> Any:
    """A number parameter within `low`..`high` (an integer when `integer`), `default` when
    absent or null, or a 400 naming it."""
    value = body.get(name)
    if value is None:
        return default
    number = isinstance(value, int) or (not integer and isinstance(value, float))
    if not number or isinstance(value, bool):
        raise BadRequest(
            f"Invalid type for '{name}': expected {'an integer' if integer else 'a number'}, "
            f"but got {_json_type(value)} instead.",
            param=name,
            code="invalid_type",
        )
    if not low <= value <= high:
        raise BadRequest(
            f"Invalid '{name}': expected a value from {low} to {high}, but got {value} instead.",
            param=name,
            code="integer_out_of_range" if integer else "decimal_out_of_range",
        )
    return value


def text_parameter(body: dict[str, Any], name: str, *, required: bool, limit: int) -> str:
    """A string parameter of at most `limit` characters ("" when absent and not `required`),
    or a 400 naming it."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise missing_parameter(name)
        return ""
    if not isinstance(value, str):
        raise BadRequest(
            f"Invalid type for '{name}': expected a string, but got {_json_type(value)} instead.",
            param=name,
            code="invalid_type",
        )
    if len(value) > limit:
        raise BadRequest(
            f"Invalid '{name}': string too long. Expected a string with maximum length {limit}, "
            f"but got a string with length {len(value)} instead.",
            param=name,
            code="string_above_max_length",
        )
    return value


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string"}
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return names.get(type(value), "a value")


def _optional_int(body: dict[str, Any], name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(
            f"Invalid type for '{name}': expected an integer, but got {_json_type(value)} instead.",
            param=name,
            code="invalid_type",
        )
    if value < minimum:
        raise BadRequest(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {minimum}, "
            f"but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    return value


def _check_stream_flag(body: dict[str, Any]) -> bool:
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise BadRequest(
            f"Invalid type for 'stream': expected a boolean, but got {_json_type(stream)} instead.",
            param="stream",
            code="invalid_type",
        )
    return stream


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value: the text the model would read."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in ("type", "role", "id", "call_id", "tool_call_id", "status"):
                yield from _strings(item)


def _tool_name(tool: Any) -> str | None:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return None
    function = tool.get("function")
    name = function.get("name") if isinstance(function, dict) else tool.get("name")
    return name if isinstance(name, str) else None


def _tool_schema(tool: dict[str, Any]) -> dict[str, Any] | None:
    function = tool.get("function")
    holder = function if isinstance(function, dict) else tool
    schema = holder.get("parameters")
    return schema if isinstance(schema, dict) else None


def _forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function tool the request obliges the model to call, if any."""
    tools: list[dict[str, Any]] = [t for t in body.get("tools") or [] if _tool_name(t)]
    if not tools:
        return None
    choice = body.get("tool_choice")
    if choice == "required":
        return tools[0]
    if isinstance(choice, dict):
        wanted = _tool_name({"type": "function", **choice})
        named: dict[str, Any] | None = next((t for t in tools if _tool_name(t) == wanted), None)
        return named
    return None


_TOOL_CHOICE_OFF = frozenset({"none"})


def _names(text: str, name: str) -> bool:
    """Whether `text` names `name` as a whole word (hyphens and underscores are word parts)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def wants_search(body: dict[str, Any], last_user_text: str | None) -> bool:
    """Whether the model runs the offered `file_search` tool: only on a user's turn (never after
    a tool result, nor with `tool_choice: "none"`), when the tool is chosen by name
    (`{"type": "file_search"}`), when `tool_choice` is `"required"` and no function is offered,
    or under `"auto"` when it is the only tool or the message names `file_search`."""
    if not last_user_text:
        return False
    choice = body.get("tool_choice") or "auto"
    if isinstance(choice, dict):
        return choice.get("type") == "file_search"
    if choice == "required":
        return _forced_tool(body) is None
    if choice != "auto":
        return False
    return len(body.get("tools") or ()) == 1 or _names(last_user_text, "file_search")


def _named_tools(body: dict[str, Any], last_user_text: str | None) -> list[dict[str, Any]]:
    """The offered function tools the last user message names (as whole words), under `auto`.

    This is the mock's documented rule for calling a tool unscripted: a conversation whose last
    message is the user's and names a tool gets a call to it (every named tool, in the order
    offered, or only the first when `parallel_tool_calls` is false). After a tool result the
    last message is not the user's, so the model answers in text and a tool loop ends.
    """
    if not last_user_text or body.get("tool_choice", "auto") in _TOOL_CHOICE_OFF:
        return []
    named = []
    for tool in body.get("tools") or ():
        name = _tool_name(tool)
        if name and _names(last_user_text, name):
            named.append(tool)
    if named and body.get("parallel_tool_calls") is False:
        return named[:1]
    return named


def _tool_calls_for(tools: list[dict[str, Any]], key: int) -> list[PlannedCall]:
    calls = [
        ToolCall(name=_tool_name(tool) or "function", arguments=example_arguments(
            _tool_schema(tool), key + index))
        for index, tool in enumerate(tools)
    ]  # fmt: skip
    return plan_calls(calls, lambda: new_id("call_"))


def plan_completion(
    policy: ReplyPolicy,
    *,
    request: RecordedRequest,
    scripted: Reply | str | None,
    model: str,
    conversation: Any,
    seed: int,
    choice: int,
    limit: int | None,
    reply_tokens: int | None,
    last_user_text: str | None = None,
    output_format: dict[str, Any] | None = None,
    search_text: str | None = None,
) -> Completion:
    """One choice's answer: the scripted reply, the text a file search found, a forced or
    named tool call, a structured-output instance of the requested schema, or generated
    text."""
    body = request.json
    if scripted is not None:
        reply = Reply(scripted) if isinstance(scripted, str) else scripted
        if reply.refusal is not None:
            return limit_refusal(split_text(reply.refusal, model), limit, model)
        calls = plan_calls(reply.tool_calls, lambda: new_id("call_"))
        return limit_completion(split_text(reply.text, model), calls, limit, model)
    if search_text is not None:
        return limit_completion(split_text(search_text, model), [], limit, model)
    key = request_key(model, conversation, seed, choice)
    forced = _forced_tool(body)
    # As on the API, a forced choice forces a call on every turn, after a tool's result too:
    # ending a tool loop is the client's business (it sends "auto" once a tool has run).
    tools = [forced] if forced is not None else _named_tools(body, last_user_text)
    if tools:
        return limit_completion(Deltas(()), _tool_calls_for(tools, key), limit, model)
    if output_format is not None:
        # Real tokens with tiktoken; else a few characters per delta, like call arguments. A
        # cut reply is cut JSON, as on the API.
        text = msgspec.json.encode(_structured_instance(output_format, key)).decode()
        return limit_completion(split_text(text, model, words=argument_fragments), [], limit, model)
    length = reply_tokens if reply_tokens is not None else natural_length(key, policy.reply_tokens)
    # Generate only what the limit lets through: a huge natural length costs nothing when cut
    # (the first `limit` tokens of a longer answer are the same).
    wanted = length if limit is None else min(length, limit + 1)
    return limit_completion(generated_deltas(key, wanted, model), [], limit, model)


def _structured_instance(output_format: dict[str, Any], key: int) -> Any:
    schema = output_format.get("schema")
    if isinstance(schema, dict):
        return schema_instance(schema, key)
    # `json_object` asks for any JSON object: one with generated text in it.
    return {"answer": "".join(generated_tokens(key, 8))}


def _chat_output_format(body: dict[str, Any]) -> dict[str, Any] | None:
    """The chat request's structured-output format, flattened to the Responses shape."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        inner = fmt.get("json_schema")
        return inner if isinstance(inner, dict) else {}
    return {} if fmt.get("type") == "json_object" else None


def _responses_output_format(body: dict[str, Any]) -> dict[str, Any] | None:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object"):
        return fmt
    return None


def _last_user_text(item: Any) -> str | None:
    """The text of a conversation's last item when the user wrote it, else None."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict) or item.get("role") != "user":
        return None
    if item.get("type", "message") != "message":
        return None
    return " ".join(_strings(item.get("content")))


def _stream_options(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("stream_options")
    return options if isinstance(options, dict) else {}


def exact_input_tokens(body: Mapping[str, Any]) -> int | None:
    """The request's input tokens as `TokenCounter` counts them (the client's rule, so the
    mock's usage and the client's estimates agree), or None without tiktoken."""
    from openai_ergo._accounting._counting import request_tokens

    model = body.get("model")
    return request_tokens(body, model if isinstance(model, str) else None)


def responses_input_tokens(body: Mapping[str, Any]) -> int:
    """The input tokens a Responses request counts: its instructions, input and tools (the
    same number its answer's `usage.input_tokens` reports, before any earlier turns): exact,
    as `TokenCounter` counts it, when tiktoken is installed; else four characters a token."""
    exact = exact_input_tokens(body)
    if exact is not None:
        return exact
    text = [body.get("instructions"), body.get("input"), body.get("tools")]
    return sum(estimate_tokens(s) for s in _strings(text)) + 4


def responses_turn(
    policy: ReplyPolicy,
    request: RecordedRequest,
    *,
    seed: int,
    reply_tokens: int | None,
    history: list[Any] | None = None,
    searcher: Searcher | None = None,
) -> tuple[ResponseTurn, bool]:
    """Validate a Responses request and plan its answer; also says whether to stream it.

    `history` is what the request continues (a previous response's or a conversation's
    items): the reply depends on it, so a follow-up is not a repeat of a fresh request.
    `searcher` runs the request's `file_search` tool when `wants_search` says the model uses it.
    """
    body = request.json
    if body.get("model") is None and body.get("prompt"):
        # A stored prompt carries its own model, which the mock cannot look up.
        model = next(iter(policy.models), "gpt-5")
    else:
        model = require_model(body, policy.models, strict=policy.strict_models, responses=True)
    stream = _check_stream_flag(body)
    has_context = any(body.get(k) for k in ("previous_response_id", "conversation", "prompt"))
    if "input" not in body and not has_context:
        raise missing_parameter("input")
    conversation = body.get("input")
    if conversation is not None and not isinstance(conversation, (str, list)):
        raise BadRequest(
            "Invalid type for 'input': expected one of a string or array of input items, "
            f"but got {_json_type(conversation)} instead.",
            param="input",
            code="invalid_type",
        )
    limit = _optional_int(body, "max_output_tokens", 16)
    last_user_text = _last_user_text(
        conversation[-1] if isinstance(conversation, list) and conversation else conversation
    )
    scripted = policy.next_scripted(request)
    search = None
    if searcher is not None and last_user_text and wants_search(body, last_user_text):
        search = searcher([last_user_text])
        if scripted is not None:
            search.citations = []  # the scripted text quotes nothing
    completion = plan_completion(
        policy,
        request=request,
        scripted=scripted,
        model=model,
        conversation=(
            [body.get("instructions"), conversation]
            if not history
            else [body.get("instructions"), conversation, history]
        ),
        seed=seed,
        choice=0,
        limit=limit,
        reply_tokens=reply_tokens,
        last_user_text=last_user_text,
        output_format=_responses_output_format(body),
        search_text=None if search is None else search.text,
    )
    input_tokens = responses_input_tokens(body)
    obfuscate = _stream_options(body).get("include_obfuscation", True) is not False
    turn = ResponseTurn(
        body=body,
        model=model,
        completion=completion,
        input_tokens=input_tokens,
        include_obfuscation=obfuscate,
        search=search,
    )
    return turn, stream


def chat_turn(
    policy: ReplyPolicy, request: RecordedRequest, *, seed: int, reply_tokens: int | None
) -> tuple[ChatTurn, bool]:
    """Validate a chat request and plan its answer; also says whether to stream it."""
    body = request.json
    model = require_model(body, policy.models, strict=policy.strict_models)
    stream = _check_stream_flag(body)
    messages = body.get("messages")
    if messages is None:
        raise missing_parameter("messages")
    if not isinstance(messages, list):
        raise BadRequest(
            f"Invalid type for 'messages': expected an array, but got {_json_type(messages)} "
            "instead.",
            param="messages",
            code="invalid_type",
        )
    if not messages:
        raise BadRequest(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message:
            raise missing_parameter(f"messages[{index}].role")
    limit = _optional_int(body, "max_completion_tokens", 1)
    if limit is None:
        limit = _optional_int(body, "max_tokens", 1)
    n = _optional_int(body, "n", 1) or 1
    if n > 128:
        raise BadRequest(
            f"Invalid 'n': integer above maximum value. Expected a value <= 128, but got {n} "
            "instead.",
            param="n",
            code="integer_above_max_value",
        )
    body_seed = body.get("seed")
    if isinstance(body_seed, int) and not isinstance(body_seed, bool):
        seed = body_seed
    scripted = policy.next_scripted(request)
    last_user_text = _last_user_text(messages[-1])
    output_format = _chat_output_format(body)
    completions = [
        plan_completion(
            policy,
            request=request,
            scripted=scripted,
            model=model,
            conversation=messages,
            seed=seed,
            choice=choice,
            limit=limit,
            reply_tokens=reply_tokens,
            last_user_text=last_user_text,
            output_format=output_format,
        )
        for choice in range(n)
    ]
    input_tokens = exact_input_tokens(body)
    if input_tokens is None:
        input_tokens = sum(estimate_tokens(s) for s in _strings([messages, body.get("tools")]))
        input_tokens += 3 * len(messages) + 3
    options = _stream_options(body)
    turn = ChatTurn(
        body=body,
        model=model,
        completions=completions,
        input_tokens=input_tokens,
        include_usage=bool(options.get("include_usage")),
        include_obfuscation=options.get("include_obfuscation", True) is not False,
    )
    return turn, stream


def embeddings_answer(policy: ReplyPolicy, request: RecordedRequest) -> dict[str, Any]:
    """Validate an embeddings request and answer it."""
    body = request.json
    model = require_model(body, policy.models, strict=policy.strict_models)
    if "input" not in body:
        raise missing_parameter("input")
    texts = embedding_inputs(body["input"])
    if texts is None or any(text == "" for text in texts):
        raise BadRequest(
            "'$.input' is invalid. Please check the API reference: "
            "https://platform.openai.com/docs/api-reference.",
            param="input",
        )
    dimensions = _optional_int(body, "dimensions", 1)
    if dimensions is not None and not supports_dimensions(model):
        raise BadRequest("This model does not support specifying dimensions.", param="dimensions")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise BadRequest(
            f"Invalid value: '{encoding}'. Supported values are: 'float' and 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )
    size = dimensions or default_dimensions(model)
    return embeddings_body(texts, model, size, encoding)


def moderations_answer(policy: ReplyPolicy, request: RecordedRequest) -> dict[str, Any]:
    """Validate a moderations request and answer it (the model is optional here)."""
    body = request.json
    model = body.get("model") or "omni-moderation-latest"
    if not isinstance(model, str) or not known_model(model, policy.models):
        require_model({"model": model}, policy.models, strict=policy.strict_models)
    if "input" not in body:
        raise missing_parameter("input")
    inputs = moderation_inputs(body["input"])
    if inputs is None:
        raise BadRequest(
            "'$.input' is invalid. Please check the API reference: "
            "https://platform.openai.com/docs/api-reference.",
            param="input",
        )
    return moderations_body(inputs, model)
