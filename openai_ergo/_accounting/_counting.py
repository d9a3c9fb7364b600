"""Counting the tokens of text, chat messages and Responses input, before a request is sent.

Exact text counts come from tiktoken (the `tokens` extra); without it, the estimate is four
characters a token. Around the text, the API adds tokens of its own that no tokenizer shows:
the rules below are OpenAI's published ones (the cookbook "How to count tokens with
tiktoken"), measured against the API, and the docs say where they are estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, final

import msgspec

from openai_ergo._accounting._encodings import (
    encoding,
    encoding_name_for,
    tiktoken_installed,
)
from openai_ergo._errors import ConfigurationError, InvalidRequestError

__all__ = ["CountingMethod", "TokenCounter", "count_tokens", "counting_method"]

CountingMethod = Literal["tiktoken", "estimate"]

#: Every message is framed as `<|start|>{role/name}\n{content}<|end|>\n`: 3 tokens of its
#: own, one more for a `name`; every reply is primed with `<|start|>assistant<|message|>`.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
#: The API renders function definitions into the prompt in a format of its own; these are
#: the cookbook's fitted costs of its pieces (o200k models; cl100k ones open a function with
#: 10 instead of 7).
_FUNC_INIT = {"o200k_base": 7, "cl100k_base": 10}
_PROP_INIT = 3
_PROP_KEY = 3
_ENUM_INIT = -3
_ENUM_ITEM = 3
_FUNC_END = 12
#: An image part's cost without its size: `low` detail is 85 tokens; otherwise a 1024x1024
#: image at `high` detail (85 + 4 tiles of 170), the usual upper case (an estimate).
_IMAGE_LOW = 85
_IMAGE_DEFAULT = 765


#: Counts of recent short texts per encoding: the same system prompt, role names and tool
#: definitions come back on every request, and a lookup costs far less than encoding them
#: (a few microseconds per text with tiktoken; Python caches a string's hash).
_MEMO: dict[str, dict[str, int]] = {"o200k_base": {}, "cl100k_base": {}}
_MEMO_SIZE = 4096
_MEMO_TEXT = 8192


def counting_method() -> CountingMethod:
    """Which counting `TokenCounter` uses by default here: `"tiktoken"` when it is
    installed, else `"estimate"` (four characters a token)."""
    return "tiktoken" if tiktoken_installed() else "estimate"


def _estimate(text: str) -> int:
    return (len(text) + 3) // 4


_BUILTIN = frozenset({dict, list, str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """Dicts and lists for a msgspec Struct (or anything else msgspec knows)."""
    if type(value) in _BUILTIN:
        return value
    return msgspec.to_builtins(value)


@final
class TokenCounter:
    """Counts tokens the way `model` reads them.

    `method="auto"` (the default) counts exactly with tiktoken when it is installed and
    estimates four characters a token when it is not; `method` then says which one is in
    use. `method="tiktoken"` insists (a `ConfigurationError` without tiktoken), and
    `method="estimate"` never loads it. The encoding (`encoding_name`) is `o200k_base` or
    `cl100k_base` by model; its data is loaded once per process, on the first count.
    """

    __slots__ = ("_encode", "encoding_name", "method", "model")

    def __init__(
        self, model: str, *, method: Literal["auto", "tiktoken", "estimate"] = "auto"
    ) -> None:
        if not isinstance(model, str) or not model:
            raise InvalidRequestError("TokenCounter needs a model name", param="model")
        if method not in ("auto", "tiktoken", "estimate"):
            raise InvalidRequestError(
                f"method must be 'auto', 'tiktoken' or 'estimate', not {method!r}",
                param="method",
            )
        if method == "tiktoken" and not tiktoken_installed():
            raise ConfigurationError(
                "TokenCounter(method='tiktoken') needs tiktoken: install openai-ergo[tokens]"
            )
        self.model = model
        #: `o200k_base` or `cl100k_base`.
        self.encoding_name = encoding_name_for(model)
        #: `"tiktoken"` (exact text counts) or `"estimate"` (four characters a token).
        self.method: CountingMethod = (
            counting_method()
            if method == "auto"
            else "tiktoken"
            if method == "tiktoken"
            else "estimate"
        )
        self._encode: Any = None

    def count(self, text: str) -> int:
        """The tokens of `text` (special tokens such as `<|endoftext|>` count as text)."""
        if not text:
            return 0
        if self.method == "estimate":
            return _estimate(text)
        memo = _MEMO[self.encoding_name]
        found = memo.get(text)
        if found is not None:
            return found
        encode = self._encode
        if encode is None:
            encode = self._encode = encoding(self.encoding_name).encode_ordinary
        counted = len(encode(text))
        if len(text) <= _MEMO_TEXT:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[text] = counted
        return counted

    # -- chat --------------------------------------------------------------------------------

    def count_messages(self, messages: Sequence[Any], *, tools: Sequence[Any] | None = None) -> int:
        """The prompt tokens of a Chat Completions request: every message with its framing,
        the reply's priming, and the tool definitions (dicts or Structs, as sent)."""
        total = REPLY_PRIMING
        for index, message in enumerate(messages):
            total += self._message(_plain(message), index)
        if tools:
            total += self.count_tools(tools)
        return total

    def _message(self, message: Any, index: int) -> int:
        if not isinstance(message, dict | Mapping):
            raise InvalidRequestError(
                f"messages[{index}] must be a dict or a message object, not "
                f"{type(message).__name__}",
                param="messages",
            )
        total = TOKENS_PER_MESSAGE
        for key, value in message.items():
            if key == "name":
                total += TOKENS_PER_NAME + self.count(str(value))
            elif key == "content":
                total += self._content(value)
            elif key == "tool_calls" and isinstance(value, list):
                for call in value:
                    total += self._call(call)
            elif isinstance(value, str):
                total += self.count(value)
        return total

    def _content(self, content: Any) -> int:
        if content is None:
            return 0
        if isinstance(content, str):
            return self.count(content)
        if isinstance(content, Mapping):
            content = [content]
        total = 0
        for part in content if isinstance(content, list) else ():
            if isinstance(part, str):
                total += self.count(part)
            elif isinstance(part, Mapping):
                total += self._part(part)
        return total

    def _part(self, part: Mapping[str, Any]) -> int:
        kind = part.get("type", "")
        if "text" in part and isinstance(part["text"], str):
            return self.count(part["text"])
        if kind in ("image_url", "input_image"):
            image = part.get("image_url")
            detail = part.get("detail") or (
                image.get("detail") if isinstance(image, Mapping) else None
            )
            return _IMAGE_LOW if detail == "low" else _IMAGE_DEFAULT
        if "refusal" in part and isinstance(part["refusal"], str):
            return self.count(part["refusal"])
        # Files, audio and other parts: their JSON as text (an estimate).
        return self.count(msgspec.json.encode(part).decode())

    def _call(self, call: Any) -> int:
        call = _plain(call)
        if not isinstance(call, Mapping):
            return 0
        function = call.get("function", call)
        if not isinstance(function, Mapping):
            return 0
        return self.count(str(function.get("name", ""))) + self.count(
            str(function.get("arguments", ""))
        )

    def count_tools(self, tools: Sequence[Any]) -> int:
        """The tokens the API adds for function tool definitions (chat's nested
        `{"type": "function", "function": {...}}` or the Responses API's flat form).

        Other tools (web search, file search, ...) are counted as their JSON (an estimate)."""
        functions = []
        total = 0
        for tool in tools:
            tool = _plain(tool)
            if not isinstance(tool, Mapping):
                continue
            if tool.get("type") == "function":
                function = tool.get("function", tool)
                if isinstance(function, Mapping):
                    functions.append(function)
                    continue
            total += self.count(msgspec.json.encode(tool).decode())
        if not functions:
            return total
        for function in functions:
            total += _FUNC_INIT[self.encoding_name]
            description = str(function.get("description") or "").removesuffix(".")
            total += self.count(f"{function.get('name', '')}:{description}")
            parameters = function.get("parameters")
            properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
            if isinstance(properties, Mapping) and properties:
                total += _PROP_INIT
                for key, spec in properties.items():
                    total += _PROP_KEY
                    spec = spec if isinstance(spec, Mapping) else {}
                    enum = spec.get("enum")
                    if isinstance(enum, list):
                        total += _ENUM_INIT
                        for item in enum:
                            total += _ENUM_ITEM + self.count(str(item))
                    kind = spec.get("type", "")
                    text = str(spec.get("description") or "").removesuffix(".")
                    total += self.count(f"{key}:{kind}:{text}")
        return total + _FUNC_END

    # -- responses ---------------------------------------------------------------------------

    def count_responses_input(
        self,
        input: str | Sequence[Any] | None,
        *,
        instructions: str | None = None,
        tools: Sequence[Any] | None = None,
    ) -> int:
        """The input tokens of a Responses request: `instructions` as a developer message,
        each input item framed as a chat message, function calls and their outputs as text,
        the reply's priming and the tools. Earlier turns a `previous_response_id` or
        `conversation` brings in are not seen here (the server adds them)."""
        total = REPLY_PRIMING
        if instructions:
            total += TOKENS_PER_MESSAGE + self.count(instructions)
        if isinstance(input, str):
            total += TOKENS_PER_MESSAGE + self.count(input)
        elif input is not None:
            for item in input:
                total += self._item(_plain(item))
        if tools:
            total += self.count_tools(tools)
        return total

    def _item(self, item: Any) -> int:
        if isinstance(item, str):
            return TOKENS_PER_MESSAGE + self.count(item)
        if not isinstance(item, Mapping):
            raise InvalidRequestError(
                f"an input item must be a dict or an item object, not {type(item).__name__}",
                param="input",
            )
        kind = item.get("type", "message")
        if kind == "message" or ("role" in item and "content" in item):
            return TOKENS_PER_MESSAGE + self._content(item.get("content"))
        if kind == "function_call":
            return TOKENS_PER_MESSAGE + self._call(item)
        if kind in ("function_call_output", "custom_tool_call_output"):
            output = item.get("output")
            text = output if isinstance(output, str) else msgspec.json.encode(output).decode()
            return TOKENS_PER_MESSAGE + self.count(text)
        if kind == "item_reference":
            return 0  # the server resolves it: not visible here
        return TOKENS_PER_MESSAGE + self.count(msgspec.json.encode(item).decode())

    # -- whole requests ----------------------------------------------------------------------

    def count_request(self, body: Any) -> int | None:
        """The input tokens of a request body (chat, Responses, embeddings or legacy
        completions, as a dict or a request Struct), or None for a body of another kind."""
        try:
            body = _plain(body)
        except TypeError:  # not data (a multipart body, a stream)
            return None
        if not isinstance(body, dict | Mapping):
            return None
        if isinstance(body.get("messages"), list):
            return self.count_messages(body["messages"], tools=body.get("tools") or None)
        if "input" in body or "instructions" in body:
            value = body.get("input")
            if _is_embedding(self.model):
                return sum(self.count(text) for text in _texts(value))
            return self.count_responses_input(
                value if isinstance(value, str | list) else None,
                instructions=body.get("instructions")
                if isinstance(body.get("instructions"), str)
                else None,
                tools=body.get("tools") or None,
            )
        if "prompt" in body:
            return sum(self.count(text) for text in _texts(body["prompt"]))
        return None

    def __repr__(self) -> str:
        return (
            f"TokenCounter({self.model!r}, method={self.method!r}, encoding={self.encoding_name!r})"
        )


def _is_embedding(model: str) -> bool:
    return "embedding" in model


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield item


_counters: dict[str, TokenCounter] = {}


def count_tokens(text: str, model: str = "gpt-4o") -> int:
    """The tokens of `text` for `model` (exact with tiktoken installed, else the estimate)."""
    counter = _counters.get(model)
    if counter is None:
        counter = _counters[model] = TokenCounter(model)
    return counter.count(text)


def request_tokens(body: Any, model: str | None) -> int | None:
    """The exact input tokens of a request body when tiktoken is installed, else None: the
    rate limiter's and the mock server's counter."""
    if model is None or not tiktoken_installed():
        return None
    counter = _counters.get(model)
    if counter is None:
        counter = _counters[model] = TokenCounter(model)
    try:
        return counter.count_request(body)
    except InvalidRequestError:
        return None
