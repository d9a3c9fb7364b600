"""Chat Completions: the completion, its streamed chunks, tool calls, log probabilities, usage.

Only what gives a chunk its meaning is required; everything else defaults, so chunks from
OpenAI-compatible servers (which often omit `id`, `created`, `logprobs` or a tool call's `type`)
decode. A chunk that carries `error` instead of choices decodes too, so the stream layer can raise.
"""

from __future__ import annotations

from typing import Any, final

import msgspec

from openai_ergo.types._base import APIObject

__all__ = [
    "ChatChoiceLogprobs",
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionChunkChoice",
    "ChatCompletionDelta",
    "ChatCompletionMessage",
    "ChatCompletionTokenLogprob",
    "ChatCompletionToolCall",
    "ChatCompletionToolCallDelta",
    "ChatCustomCall",
    "ChatFunctionCall",
    "ChatFunctionCallDelta",
    "ChatStreamError",
    "ChatTopLogprob",
    "CompletionTokensDetails",
    "CompletionUsage",
    "PromptTokensDetails",
    "decode_chat_chunk",
    "decode_chat_completion",
]


@final
class PromptTokensDetails(APIObject, kw_only=True):
    """How the prompt tokens break down: cached and audio tokens."""

    cached_tokens: int = 0
    audio_tokens: int | None = None


@final
class CompletionTokensDetails(APIObject, kw_only=True):
    """How the completion tokens break down: reasoning, audio and predicted-output tokens."""

    reasoning_tokens: int = 0
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


@final
class CompletionUsage(APIObject, kw_only=True):
    """Tokens used by one chat completion."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


@final
class ChatTopLogprob(APIObject, kw_only=True):
    """One of the most likely tokens at a position, with its log probability."""

    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None


@final
class ChatCompletionTokenLogprob(APIObject, kw_only=True):
    """The log probability of one generated token, and the most likely alternatives."""

    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None
    top_logprobs: list[ChatTopLogprob] = []


@final
class ChatChoiceLogprobs(APIObject, kw_only=True):
    """Log probabilities of a choice's content tokens and refusal tokens."""

    content: list[ChatCompletionTokenLogprob] | None = None
    refusal: list[ChatCompletionTokenLogprob] | None = None


@final
class ChatFunctionCall(APIObject, kw_only=True):
    """The function a tool call names, and its arguments as the JSON string the model wrote."""

    name: str = ""
    arguments: str = ""


@final
class ChatCustomCall(APIObject, kw_only=True):
    """The custom tool a tool call names, and the free-form input the model wrote."""

    name: str = ""
    input: str = ""


@final
class ChatCompletionToolCall(APIObject, kw_only=True):
    """A tool call in an assistant message: `function` or `custom`, as `type` says."""

    id: str = ""
    type: str = "function"
    function: ChatFunctionCall | None = None
    custom: ChatCustomCall | None = None


@final
class ChatCompletionMessage(APIObject, kw_only=True):
    """The assistant message of a choice: text, refusal, tool calls, annotations, audio."""

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChatCompletionToolCall] | None = None
    annotations: list[dict[str, Any]] | None = None
    audio: dict[str, Any] | None = None
    #: Deprecated by the API in favour of `tool_calls`; still sent by some servers.
    function_call: ChatFunctionCall | None = None


@final
class ChatCompletionChoice(APIObject, kw_only=True):
    """One of the `n` answers: its message, why it stopped, and its log probabilities."""

    index: int = 0
    message: ChatCompletionMessage = msgspec.field(default_factory=ChatCompletionMessage)
    #: `stop`, `length`, `tool_calls`, `content_filter` or `function_call`.
    finish_reason: str | None = None
    logprobs: ChatChoiceLogprobs | None = None


@final
class ChatCompletion(APIObject, kw_only=True):
    """A chat completion: one choice per `n`, with usage."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[ChatCompletionChoice] = []
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None

    @property
    def text(self) -> str:
        """The first choice's content ('' when it has none): the answer, for `n == 1`."""
        if not self.choices:
            return ""
        return self.choices[0].message.content or ""


@final
class ChatFunctionCallDelta(APIObject, kw_only=True):
    """A piece of a streamed function call: the name comes once, arguments in fragments."""

    name: str | None = None
    arguments: str | None = None


@final
class ChatCompletionToolCallDelta(APIObject, kw_only=True):
    """A piece of a streamed tool call; `index` says which call of the choice it extends."""

    index: int = 0
    id: str | None = None
    type: str | None = None
    function: ChatFunctionCallDelta | None = None
    custom: dict[str, Any] | None = None


@final
class ChatCompletionDelta(APIObject, kw_only=True):
    """What one chunk adds to a choice's message."""

    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChatCompletionToolCallDelta] | None = None
    function_call: ChatFunctionCallDelta | None = None
    #: URL citations of search models, added as they are found.
    annotations: list[dict[str, Any]] | None = None


@final
class ChatCompletionChunkChoice(APIObject, kw_only=True):
    """One choice's piece of a chunk."""

    index: int = 0
    delta: ChatCompletionDelta = msgspec.field(default_factory=ChatCompletionDelta)
    finish_reason: str | None = None
    logprobs: ChatChoiceLogprobs | None = None


@final
class ChatStreamError(APIObject, kw_only=True):
    """An error a server reported inside a chat stream (`data: {"error": {...}}`)."""

    message: str = ""
    type: str | None = None
    #: A string on OpenAI; some compatible servers send the HTTP status as a number.
    code: str | int | None = None
    param: str | None = None


@final
class ChatCompletionChunk(APIObject, kw_only=True):
    """One `chat.completion.chunk` of a streamed chat completion.

    The last chunk of a stream with `stream_options.include_usage` has no choices and carries
    `usage`. A chunk with `error` set is a server-side failure reported mid-stream.
    """

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChatCompletionChunkChoice] = []
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    error: ChatStreamError | None = None


_CHUNK_DECODER = msgspec.json.Decoder(ChatCompletionChunk)
_COMPLETION_DECODER = msgspec.json.Decoder(ChatCompletion)


def decode_chat_chunk(data: str | bytes, /) -> ChatCompletionChunk:
    """Decode the `data` of one chat stream event. Check `chunk.error` before using it: a
    server reports a mid-stream failure as a chunk with `error` and no choices.

    Invalid JSON raises `msgspec.DecodeError`, a wrong-shaped field `msgspec.ValidationError`.
    """
    return _CHUNK_DECODER.decode(data)


def decode_chat_completion(data: str | bytes, /) -> ChatCompletion:
    """Decode a chat completion (the body of a non-streamed `POST /chat/completions`)."""
    return _COMPLETION_DECODER.decode(data)
