"""The Responses API builder: `client.responses(model)...`, awaited, streamed, parsed or run."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, final

import msgspec

from openai_ergo._errors import InvalidRequestError
from openai_ergo._metadata import RawResponse
from openai_ergo._response import APIResponse
from openai_ergo.resources._builder import RequestBuilder, check_bool, check_int, check_str
from openai_ergo.resources._inputs import AudioInput, Content, FileInput, ImageInput, responses_part
from openai_ergo.resources._run import PendingCall, ToolCallRecord, ToolRun
from openai_ergo.resources._streams import ParsedStream, ResponseStream, _StructuredRequest
from openai_ergo.resources._structured import OutputFormat, Parsed, parse_response
from openai_ergo.resources._tools import FunctionTool
from openai_ergo.types import Response, UnknownObject, decode_response

__all__ = ["ResponsesBuilder", "ResponsesParse"]

T = TypeVar("T")

_INPUT_KINDS = (str, ImageInput, FileInput, AudioInput)


def _tool_json(tool: Any) -> dict[str, Any]:
    return tool.for_responses() if isinstance(tool, FunctionTool) else dict(tool)


def _item_json(item: Any) -> Any:
    if isinstance(item, msgspec.Struct):
        return msgspec.to_builtins(_raw_unknowns(item))
    return item


def _raw_unknowns(value: Any) -> Any:
    """`value` with every object of an unknown type replaced by the payload the server sent:
    encoding the decoded stand-in would send `{"type", "raw"}`, which the API does not know."""
    if isinstance(value, UnknownObject):
        return value.raw
    if isinstance(value, msgspec.Struct):
        changes = {}
        for name in value.__struct_fields__:
            old = getattr(value, name)
            new = _raw_unknowns(old)
            if new is not old:
                changes[name] = new
        # A field may now hold a plain dict: `replace` does not check types, and the encoder
        # writes the dict as it is.
        return msgspec.structs.replace(value, **changes) if changes else value
    if isinstance(value, list):
        items = [_raw_unknowns(entry) for entry in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def _response_of(reply: APIResponse) -> Response:
    return reply.decode(decode_response, "Response")


@final
class ResponsesBuilder(RequestBuilder):
    """A Responses API request, built a step at a time; every setter returns a new builder.

    `await builder` sends it and returns the `Response`; `builder.stream()` streams it;
    `builder.parse(MyStruct)` asks for structured output; `builder.run()` runs the tool loop.
    """

    __slots__ = ()
    path = "/responses"

    # -- what to answer ---------------------------------------------------------------------

    def instructions(self, text: str | None) -> ResponsesBuilder:
        """A system (developer) message for this response; not carried over by
        `previous_response`."""
        return self._set("instructions", None if text is None else check_str("instructions", text))

    def input(self, *content: Content | Sequence[Mapping[str, Any]]) -> ResponsesBuilder:
        """What the model answers: text (`input("Why is the sky blue?")`), text with images,
        files or audio (`input("What is this?", image("cat.png"))`, sent as one user message),
        or a list of input items as the API takes them. Replaces the input set before."""
        if not content:
            raise InvalidRequestError("input needs text, an input value or items", param="input")
        if len(content) == 1 and isinstance(content[0], str):
            return self._set("input", content[0])
        if len(content) == 1 and isinstance(content[0], list | tuple):
            return self._set("input", tuple(_item_json(item) for item in content[0]))
        for part in content:
            if not isinstance(part, _INPUT_KINDS):
                raise InvalidRequestError(
                    f"input takes text, image(), file(), audio() or one list of items, "
                    f"not {part!r}",
                    param="input",
                )
        parts = [responses_part(part) for part in content]  # type: ignore[arg-type]
        return self._set("input", ({"role": "user", "content": parts},))

    def previous_response(self, response: Response | str | None) -> ResponsesBuilder:
        """Continue from an earlier response (its id): the model sees that conversation."""
        if isinstance(response, Response):
            response = response.id
        checked = None if response is None else check_str("previous_response_id", response)
        return self._set("previous_response_id", checked)

    def follow_up(self, response: Response | str, *content: Content) -> ResponsesBuilder:
        """The next turn after `response`: `builder.follow_up(reply, "And in French?")`."""
        return self.previous_response(response).input(*content)

    def conversation(self, conversation: str | None) -> ResponsesBuilder:
        """The conversation (its id) this response belongs to: its items are prepended and
        this response's items are added to it."""
        checked = None if conversation is None else check_str("conversation", conversation)
        return self._set("conversation", checked)

    def prompt(
        self,
        prompt_id: str,
        *,
        version: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> ResponsesBuilder:
        """Use a stored prompt template, with its variables."""
        value: dict[str, Any] = {"id": check_str("prompt", prompt_id)}
        if version is not None:
            value["version"] = version
        if variables:
            value["variables"] = {
                k: v.for_responses() if isinstance(v, ImageInput | FileInput) else v
                for k, v in variables.items()
            }
        return self._set("prompt", value)

    # -- how to answer ----------------------------------------------------------------------

    def max_output_tokens(self, tokens: int | None) -> ResponsesBuilder:
        """Upper bound on output tokens, reasoning included (at least 16)."""
        checked = None if tokens is None else check_int("max_output_tokens", tokens, 16)
        return self._set("max_output_tokens", checked)

    def max_tool_calls(self, calls: int | None) -> ResponsesBuilder:
        """Upper bound on built-in tool calls in this response."""
        checked = None if calls is None else check_int("max_tool_calls", calls, 1)
        return self._set("max_tool_calls", checked)

    def reasoning(
        self,
        effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | str | None = None,
        *,
        summary: Literal["auto", "concise", "detailed"] | str | None = None,
    ) -> ResponsesBuilder:
        """Reasoning effort, and whether to return a reasoning summary (reasoning models)."""
        if effort is not None:
            check_str("reasoning.effort", effort)
        if summary is not None:
            check_str("reasoning.summary", summary)
        return self._merge("reasoning", effort=effort, summary=summary)

    def text_format(self, text_format: Mapping[str, Any] | None) -> ResponsesBuilder:
        """The output format as the API takes it (`{"type": "json_object"}`, ...). For a
        typed result use `parse(MyStruct)` instead."""
        return self._merge("text", format=None if text_format is None else dict(text_format))

    def verbosity(self, level: Literal["low", "medium", "high"] | None) -> ResponsesBuilder:
        """How long-winded the answer should be."""
        return self._merge("text", verbosity=level)

    def include(self, *values: str) -> ResponsesBuilder:
        """Extra output data to include (`"reasoning.encrypted_content"`,
        `"message.output_text.logprobs"`, ...); adds to earlier values."""
        current: tuple[str, ...] = self._fields.get("include", ())
        for value in values:
            check_str("include", value)
        return self._set("include", tuple(dict.fromkeys(current + values)) or None)

    def truncation(self, strategy: Literal["auto", "disabled"] | None) -> ResponsesBuilder:
        """`auto` drops the oldest input to fit the context window; `disabled` fails instead."""
        if strategy is not None and strategy not in ("auto", "disabled"):
            raise InvalidRequestError(
                f"truncation must be 'auto' or 'disabled', not {strategy!r}", param="truncation"
            )
        return self._set("truncation", strategy)

    def background(self, value: bool | None = True) -> ResponsesBuilder:
        """Run the response in the background (poll it later by id)."""
        return self._set("background", None if value is None else check_bool("background", value))

    def stream_options(self, *, include_obfuscation: bool | None = None) -> ResponsesBuilder:
        """Options for streamed responses (sent only when streaming): `include_obfuscation`
        pads delta events against side channels; turn it off to save bandwidth."""
        return self._merge_stream_options(include_obfuscation=include_obfuscation)

    # -- encoding and validation ------------------------------------------------------------

    def _encode_field(self, name: str, value: Any) -> Any:
        if name == "tools":
            return [_tool_json(tool) for tool in value]
        if name == "tool_choice" and isinstance(value, FunctionTool):
            return {"type": "function", "name": value.name}
        if name in ("input", "include") and isinstance(value, tuple):
            return list(value)
        return value

    def _validate(self, body: dict[str, Any]) -> None:
        if body.get("previous_response_id") and body.get("conversation"):
            raise InvalidRequestError(
                "previous_response_id and conversation cannot be used together: pick one way "
                "to carry the conversation",
                param="previous_response_id",
            )
        if "input" not in body and not any(
            body.get(k) for k in ("previous_response_id", "conversation", "prompt")
        ):
            raise InvalidRequestError(
                "input is missing: give the model something to answer with .input(...)",
                param="input",
            )
        if body.get("background") and body.get("store") is False:
            raise InvalidRequestError(
                "background responses must be stored: drop store(False)", param="background"
            )

    # -- sending ----------------------------------------------------------------------------

    async def create(self) -> Response:
        """Send the request and return the `Response` (what `await builder` does)."""
        return _response_of(await self._send())

    async def with_raw_response(self) -> RawResponse[Response]:
        """Send the request and return the response as it came: `request_id`, `headers`,
        `rate_limit`, `status_code`, and `parse()`, the `Response` that `await` gives."""
        return RawResponse(await self._send(), _response_of)

    def __await__(self) -> Generator[Any, None, Response]:
        return self.create().__await__()

    def stream(self) -> ResponseStream:
        """Stream the response: `async with builder.stream() as stream:` then iterate typed
        events, or `stream.text()` for text deltas; `stream.final()` is the `Response`."""
        return ResponseStream(self._stream_opener())

    def parse(
        self, output_type: type[T], *, name: str | None = None, strict: bool = True
    ) -> ResponsesParse[T]:
        """Ask for output of `output_type` (a msgspec Struct or a pydantic model) via a strict
        JSON Schema `text.format`: `(await builder.parse(Weather)).parsed` is a `Weather`."""
        if (self._fields.get("text") or {}).get("format") is not None:
            raise InvalidRequestError(
                "parse() sets text.format itself: drop text_format(...)", param="text.format"
            )
        extra_text = self._extra_body.get("text")
        if isinstance(extra_text, Mapping) and "format" in extra_text:
            raise InvalidRequestError(
                "parse() sets text.format itself: drop the format from extra_body({'text': ...})",
                param="text.format",
            )
        output = OutputFormat(output_type, name=name, strict=strict)
        return ResponsesParse(self._merge("text", format=output.for_responses()), output)

    def run(self, *, max_steps: int = 10, keep_tool_choice: bool = False) -> ToolRun[Response]:
        """Run the tool loop: call the model, run the `@tool` functions it asks for
        (concurrently), send the outputs back, until it answers. `await` it for the final
        `Response`; `.stream()` streams every turn.

        A forced `tool_choice` (`"required"`, a named tool) holds for the first turn only:
        once a tool has run, the next turns send `"auto"` so the model can answer, unless
        `keep_tool_choice=True`."""
        return ToolRun(
            self, _RESPONSES_LOOP, max_steps=max_steps, keep_tool_choice=keep_tool_choice
        )


@final
class ResponsesParse(_StructuredRequest[ResponsesBuilder, T, Response]):
    """A Responses request for structured output of type `T` (its `text.format` set): `await`
    it for `Parsed[T, Response]`, or `stream()` it and read `final().parsed` at the end."""

    __slots__ = ()

    def _parse(self, result: Response) -> Parsed[T, Response]:
        return parse_response(result, self.output)

    def stream(self) -> ParsedStream[T, Response]:
        """Stream the request; `stream.final().parsed` is the structured answer at the end.
        Output cut short raises `TruncatedResponseError`, a `TruncatedOutputError` as the
        awaited request raises, and a `ResponseIncompleteError` as any Responses stream does."""
        return ParsedStream(
            ResponseStream(self.builder._stream_opener(), parsing=True), self._parse
        )


class _ResponsesLoop:
    """The tool loop's turns on the Responses API: outputs go back as `function_call_output`
    items, alone in a `conversation`, else chained with `previous_response_id` (or, when
    `store` is off, with the whole input)."""

    def calls(self, result: Response) -> list[PendingCall]:
        return [PendingCall(c.call_id, c.name, c.arguments) for c in result.function_calls]

    def next_turn(
        self, builder: ResponsesBuilder, result: Response, records: Sequence[ToolCallRecord]
    ) -> ResponsesBuilder:
        outputs = [
            {"type": "function_call_output", "call_id": r.call_id, "output": r.output}
            for r in records
        ]
        if builder._fields.get("conversation"):
            # The conversation already holds the input and this turn's calls; a
            # previous_response_id beside it is refused by the API (and by `_validate`).
            return builder.input(outputs)
        if builder._fields.get("store") is not False and result.id:
            return builder.previous_response(result).input(outputs)
        previous: Any = builder._fields.get("input", ())
        if isinstance(previous, str):
            previous = ({"role": "user", "content": previous},)
        items: Iterable[Any] = (*previous, *(_item_json(i) for i in result.output), *outputs)
        return builder.input(list(items))


_RESPONSES_LOOP = _ResponsesLoop()
