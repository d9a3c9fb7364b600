"""The Chat Completions builder: `client.chat(model)...`, awaited, streamed, parsed or run."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, final

from openai_ergo._errors import InvalidRequestError
from openai_ergo.resources._builder import (
    RequestBuilder,
    check_bool,
    check_int,
    check_number,
    check_str,
)
from openai_ergo.resources._history import ChatHistory, assistant_message, user_message
from openai_ergo.resources._inputs import Content
from openai_ergo.resources._run import PendingCall, ToolCallRecord, ToolRun
from openai_ergo.resources._streams import ChatStream, _StructuredRequest
from openai_ergo.resources._structured import OutputFormat, Parsed, parse_chat
from openai_ergo.resources._tools import FunctionTool
from openai_ergo.types import ChatCompletion, decode_chat_completion

__all__ = ["ChatBuilder", "ChatParse"]

T = TypeVar("T")


def _tool_json(tool: Any) -> dict[str, Any]:
    return tool.for_chat() if isinstance(tool, FunctionTool) else dict(tool)


@final
class ChatBuilder(RequestBuilder):
    """A Chat Completions request, built a step at a time; every setter returns a new builder.

    `.system()`, `.developer()`, `.user()` and `.assistant()` append messages; `.messages()`
    sets them all (a `ChatHistory` or a list). `await builder` returns the `ChatCompletion`,
    `builder.stream()` streams it (usage included), `builder.parse(MyStruct)` asks for
    structured output, `builder.run()` runs the tool loop.
    """

    __slots__ = ("_require_finish_reason",)
    path = "/chat/completions"

    def __init__(self, client: Any, model: str) -> None:
        super().__init__(client, model)
        self._require_finish_reason = True

    def _copy(self) -> ChatBuilder:
        clone = super()._copy()
        clone._require_finish_reason = self._require_finish_reason
        return clone

    # -- messages ---------------------------------------------------------------------------

    def _append(self, message: dict[str, Any]) -> ChatBuilder:
        current: tuple[dict[str, Any], ...] = self._fields.get("messages", ())
        return self._set("messages", (*current, message))

    def system(self, text: str) -> ChatBuilder:
        """Append a system message."""
        return self._append(ChatHistory().system(text).messages[0])

    def developer(self, text: str) -> ChatBuilder:
        """Append a developer message (the system role of newer models)."""
        return self._append(ChatHistory().developer(text).messages[0])

    def user(self, *content: Content, name: str | None = None) -> ChatBuilder:
        """Append a user message: text, and images, files or audio
        (`user("What is this?", image("cat.png"))`)."""
        return self._append(user_message(content, name=name))

    def assistant(self, text: str) -> ChatBuilder:
        """Append an assistant message (an earlier answer, or an example)."""
        return self._append(ChatHistory().assistant(text).messages[0])

    def messages(self, messages: ChatHistory | Iterable[Mapping[str, Any]]) -> ChatBuilder:
        """Set the whole conversation: a `ChatHistory` or the API's message dicts."""
        history = messages if isinstance(messages, ChatHistory) else ChatHistory(messages)
        return self._set("messages", history.messages or None)

    @property
    def history(self) -> ChatHistory:
        """The messages so far, as a `ChatHistory`."""
        return ChatHistory._of(self._fields.get("messages", ()))

    # -- how to answer ----------------------------------------------------------------------

    def max_completion_tokens(self, tokens: int | None) -> ChatBuilder:
        """Upper bound on generated tokens, reasoning included."""
        checked = None if tokens is None else check_int("max_completion_tokens", tokens, 1)
        return self._set("max_completion_tokens", checked)

    def max_tokens(self, tokens: int | None) -> ChatBuilder:
        """Upper bound on generated tokens (deprecated by the API for
        `max_completion_tokens`; not for reasoning models)."""
        return self._set(
            "max_tokens", None if tokens is None else check_int("max_tokens", tokens, 1)
        )

    def n(self, choices: int | None) -> ChatBuilder:
        """How many answers to generate (1 to 128); streams aggregate every one."""
        return self._set("n", None if choices is None else check_int("n", choices, 1, 128))

    def stop(self, *sequences: str) -> ChatBuilder:
        """Up to 4 sequences that end the answer (not part of it)."""
        if len(sequences) > 4:
            raise InvalidRequestError(
                f"stop takes at most 4 sequences, not {len(sequences)}", param="stop"
            )
        for sequence in sequences:
            check_str("stop", sequence)
        value: str | list[str] | None = list(sequences) if len(sequences) > 1 else None
        if len(sequences) == 1:
            value = sequences[0]
        return self._set("stop", value)

    def seed(self, seed: int | None) -> ChatBuilder:
        """Best-effort determinism: the same seed and parameters tend to give the same answer."""
        checked = None if seed is None else check_int("seed", seed, -(2**63), 2**63 - 1)
        return self._set("seed", checked)

    def logprobs(self, enabled: bool | None = True, *, top: int | None = None) -> ChatBuilder:
        """Return log probabilities of the output tokens (and of the `top` likeliest, 0-20)."""
        builder = self._set(
            "logprobs", None if enabled is None else check_bool("logprobs", enabled)
        )
        return builder.top_logprobs(top) if top is not None else builder

    def frequency_penalty(self, value: float | None) -> ChatBuilder:
        """-2 to 2: positive values discourage repeating the same tokens."""
        checked = None if value is None else check_number("frequency_penalty", value, -2, 2)
        return self._set("frequency_penalty", checked)

    def presence_penalty(self, value: float | None) -> ChatBuilder:
        """-2 to 2: positive values encourage new topics."""
        checked = None if value is None else check_number("presence_penalty", value, -2, 2)
        return self._set("presence_penalty", checked)

    def logit_bias(self, bias: Mapping[int | str, int] | None) -> ChatBuilder:
        """Token id → bias from -100 (ban) to 100 (force)."""
        if bias is None:
            return self._set("logit_bias", None)
        checked: dict[str, int] = {}
        for token, value in bias.items():
            if not str(token).isdigit():
                raise InvalidRequestError(
                    f"logit_bias keys are token ids, not {token!r}", param="logit_bias"
                )
            checked[str(token)] = check_int("logit_bias", value, -100, 100)
        return self._set("logit_bias", checked or None)

    def reasoning_effort(
        self, effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | str | None
    ) -> ChatBuilder:
        """How hard a reasoning model thinks before answering."""
        checked = None if effort is None else check_str("reasoning_effort", effort)
        return self._set("reasoning_effort", checked)

    def verbosity(self, level: Literal["low", "medium", "high"] | None) -> ChatBuilder:
        """How long-winded the answer should be."""
        return self._set("verbosity", None if level is None else check_str("verbosity", level))

    def response_format(self, response_format: Mapping[str, Any] | None) -> ChatBuilder:
        """The output format as the API takes it (`{"type": "json_object"}`, ...). For a
        typed result use `parse(MyStruct)` instead."""
        if response_format is not None and "type" not in response_format:
            raise InvalidRequestError(
                "response_format needs a 'type' (text, json_object or json_schema)",
                param="response_format",
            )
        return self._set(
            "response_format", None if response_format is None else dict(response_format)
        )

    def prediction(self, content: str | None) -> ChatBuilder:
        """Predicted output: text most of the answer will repeat (faster regeneration)."""
        value = (
            None
            if content is None
            else {"type": "content", "content": check_str("prediction", content)}
        )
        return self._set("prediction", value)

    def modalities(self, *kinds: Literal["text", "audio"]) -> ChatBuilder:
        """Output kinds: `"text"`, and `"audio"` for audio models (then set `audio(...)`)."""
        for kind in kinds:
            if kind not in ("text", "audio"):
                raise InvalidRequestError(
                    f"modalities are 'text' and 'audio', not {kind!r}", param="modalities"
                )
        return self._set("modalities", list(kinds) or None)

    def audio(
        self,
        voice: str | None,
        format: Literal["wav", "aac", "mp3", "flac", "opus", "pcm16"] = "wav",
    ) -> ChatBuilder:
        """Audio output settings (with `modalities("text", "audio")`): the voice and format."""
        if voice is None:
            return self._set("audio", None)
        return self._set("audio", {"voice": check_str("audio.voice", voice), "format": format})

    def web_search_options(
        self,
        *,
        search_context_size: Literal["low", "medium", "high"] | None = None,
        user_location: Mapping[str, Any] | None = None,
    ) -> ChatBuilder:
        """Web search for search models: how much context to gather, and where the user is
        (`{"country": "GB", "city": "London"}`)."""
        value: dict[str, Any] = {}
        if search_context_size is not None:
            value["search_context_size"] = search_context_size
        if user_location is not None:
            value["user_location"] = {"type": "approximate", "approximate": dict(user_location)}
        return self._set("web_search_options", value)

    def stream_options(
        self, *, include_usage: bool | None = None, include_obfuscation: bool | None = None
    ) -> ChatBuilder:
        """Options for streams (sent only when streaming). Unless you set `include_usage`,
        the stream asks for usage itself and folds the usage-only last chunk into `final()`
        instead of handing it out; `include_usage=True` hands it out, as the official SDK does
        (a chunk with no choices), and `False` asks for no usage."""
        return self._merge_stream_options(
            include_usage=include_usage, include_obfuscation=include_obfuscation
        )

    def require_finish_reason(self, required: bool = True) -> ChatBuilder:
        """Whether a stream is whole only once every choice has its `finish_reason` (the
        default). A `[DONE]` that comes before that is how llama-cpp-python cuts a running
        stream short, so it raises `StreamInterruptedError` with what arrived. Pass False for
        a server known never to send finish reasons: `[DONE]` then ends the stream."""
        clone = self._copy()
        clone._require_finish_reason = check_bool("require_finish_reason", required)
        return clone

    # -- encoding and validation ------------------------------------------------------------

    def _encode_field(self, name: str, value: Any) -> Any:
        if name == "tools":
            return [_tool_json(tool) for tool in value]
        if name == "tool_choice" and isinstance(value, FunctionTool):
            return {"type": "function", "function": {"name": value.name}}
        if name == "messages":
            return list(value)
        return value

    def _validate(self, body: dict[str, Any]) -> None:
        if not body.get("messages"):
            raise InvalidRequestError(
                "messages is empty: add one with .user(...) (or .system/.developer)",
                param="messages",
            )
        if body.get("top_logprobs") is not None and not body.get("logprobs"):
            raise InvalidRequestError(
                "top_logprobs needs logprobs: use .logprobs(top=...)", param="top_logprobs"
            )
        if "audio" in (body.get("modalities") or ()) and not body.get("audio"):
            raise InvalidRequestError(
                "audio output needs a voice and format: add .audio(voice, format)", param="audio"
            )
        if body.get("max_tokens") is not None and body.get("max_completion_tokens") is not None:
            raise InvalidRequestError(
                "max_tokens and max_completion_tokens exclude each other: keep "
                "max_completion_tokens",
                param="max_tokens",
            )

    # -- sending ----------------------------------------------------------------------------

    async def create(self) -> ChatCompletion:
        """Send the request and return the `ChatCompletion` (what `await builder` does)."""
        reply = await self._send()
        return reply.decode(decode_chat_completion, "ChatCompletion")

    def __await__(self) -> Generator[Any, None, ChatCompletion]:
        return self.create().__await__()

    def stream(self) -> ChatStream:
        """Stream the completion: `async with builder.stream() as stream:` then iterate chunks,
        or `stream.text()` for text deltas; `stream.final()` is the `ChatCompletion`, usage
        included.

        Every chunk handed out has a choice, so the official SDK's loop
        (`chunk.choices[0].delta.content`) runs unchanged: usage is asked for on your behalf
        and its chunk, which has no choices, is folded into `final()` rather than handed out.
        Set `stream_options(include_usage=...)` yourself to get that chunk as the SDK gives it.
        """
        builder, fold_usage = self, not self._asks_about_usage()
        if fold_usage:
            # `final()` should match the non-streamed completion, usage included; usage
            # arrives only when asked for.
            builder = self._copy()
            builder._stream_options = {**self._stream_options, "include_usage": True}
        return ChatStream(
            builder._stream_opener(),
            require_finish_reason=self._require_finish_reason,
            fold_usage=fold_usage,
        )

    def _asks_about_usage(self) -> bool:
        """Whether the caller set `stream_options.include_usage` (with the setter or in
        `extra_body`), rather than leaving it to the library."""
        if "include_usage" in self._stream_options:
            return True
        extra = self._extra_body.get("stream_options")
        return isinstance(extra, Mapping) and "include_usage" in extra

    def parse(
        self, output_type: type[T], *, name: str | None = None, strict: bool = True
    ) -> ChatParse[T]:
        """Ask for output of `output_type` (a msgspec Struct) via a strict JSON Schema
        `response_format`: `(await builder.parse(Weather)).parsed` is a `Weather`."""
        if self._fields.get("response_format") is not None or "response_format" in (
            self._extra_body
        ):
            raise InvalidRequestError(
                "parse() sets response_format itself: drop response_format(...) (or its "
                "extra_body entry)",
                param="response_format",
            )
        output = OutputFormat(output_type, name=name, strict=strict)
        return ChatParse(self._set("response_format", output.for_chat()), output)

    def run(
        self, *, max_steps: int = 10, keep_tool_choice: bool = False
    ) -> ToolRun[ChatCompletion]:
        """Run the tool loop: call the model, run the `@tool` functions it asks for
        (concurrently), send the results back as tool messages, until it answers.

        A forced `tool_choice` (`"required"`, a named tool) holds for the first turn only:
        once a tool has run, the next turns send `"auto"` so the model can answer, unless
        `keep_tool_choice=True`."""
        return ToolRun(self, _CHAT_LOOP, max_steps=max_steps, keep_tool_choice=keep_tool_choice)


@final
class ChatParse(_StructuredRequest[ChatBuilder, T, ChatCompletion]):
    """A chat request for structured output of type `T` (its `response_format` set): `await`
    it for `Parsed[T, ChatCompletion]`, or `stream()` it and read `final().parsed` at the end."""

    __slots__ = ()

    def _parse(self, result: ChatCompletion) -> Parsed[T, ChatCompletion]:
        return parse_chat(result, self.output)


class _ChatLoop:
    """The tool loop's turns on Chat Completions: the assistant message and one `tool`
    message per call are appended to the conversation."""

    def calls(self, result: ChatCompletion) -> list[PendingCall]:
        if not result.choices:
            return []
        calls = result.choices[0].message.tool_calls or []
        return [
            PendingCall(c.id, c.function.name, c.function.arguments)
            for c in calls
            if c.function is not None
        ]

    def next_turn(
        self, builder: ChatBuilder, result: ChatCompletion, records: Sequence[ToolCallRecord]
    ) -> ChatBuilder:
        history = builder.history.add(assistant_message(result.choices[0].message))
        for record in records:
            history = history.tool(record.call_id, record.output)
        return builder.messages(history)


_CHAT_LOOP = _ChatLoop()
