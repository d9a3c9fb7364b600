"""Laws of aggregation: any chunking of a completion or response folds back to the object."""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openai_ergo.resources._aggregate import ChatCompletionAccumulator, ResponseAccumulator
from openai_ergo.types import (
    Annotation,
    ChatChoiceLogprobs,
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionMessage,
    ChatCompletionTokenLogprob,
    ChatCompletionToolCall,
    ChatFunctionCall,
    CompletionUsage,
    FunctionCall,
    OutputItem,
    OutputMessage,
    OutputRefusal,
    OutputText,
    ReasoningItem,
    Response,
    ResponseStreamEvent,
    SummaryText,
    UrlCitation,
    decode_chat_chunk,
    decode_response_event,
)

TEXT = st.text(max_size=40)
NAME = st.from_regex(r"[a-z_]{1,12}", fullmatch=True)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _split(data: st.DataObject, text: str) -> list[str]:
    """`text` cut at random places (at least one piece, possibly empty ones)."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _interleave(data: st.DataObject, streams: list[list[Any]]) -> list[Any]:
    """Merge per-choice sequences in a random order that keeps each one's own order."""
    queues = [list(s) for s in streams if s]
    merged = []
    while queues:
        queue = queues[data.draw(st.integers(0, len(queues) - 1))]
        merged.append(queue.pop(0))
        queues = [q for q in queues if q]
    return merged


def _choice_chunks(
    data: st.DataObject, index: int, with_logprobs: bool
) -> tuple[ChatCompletionChoice, list[dict[str, Any]]]:
    kind = data.draw(st.sampled_from(["text", "tools", "refusal"]))
    chunks: list[dict[str, Any]] = [{"index": index, "delta": {"role": "assistant", "content": ""}}]
    tokens: list[ChatCompletionTokenLogprob] = []
    content: str | None = None
    refusal: str | None = None
    calls: list[ChatCompletionToolCall] = []
    if kind in ("text", "tools"):
        text = data.draw(TEXT if kind == "text" else st.just(""))
        for piece in _split(data, text) if text else []:
            chunk: dict[str, Any] = {"index": index, "delta": {"content": piece}}
            if with_logprobs:
                token = ChatCompletionTokenLogprob(token=piece, logprob=-0.5)
                tokens.append(token)
                chunk["logprobs"] = {"content": [msgspec.to_builtins(token)], "refusal": None}
            chunks.append(chunk)
        content = text if text or kind == "text" else None
    if kind == "refusal":
        refusal = data.draw(TEXT)
        chunks += [{"index": index, "delta": {"refusal": p}} for p in _split(data, refusal)]
    if kind == "tools":
        for call_index in range(data.draw(st.integers(1, 3))):
            call_id, name = f"call_{index}_{call_index}", data.draw(NAME)
            arguments = msgspec.json.encode({"q": data.draw(TEXT)}).decode()
            head = {"index": call_index, "id": call_id, "type": "function"}
            head["function"] = {"name": name, "arguments": ""}
            chunks.append({"index": index, "delta": {"tool_calls": [head]}})
            for piece in _split(data, arguments):
                delta = {"tool_calls": [{"index": call_index, "function": {"arguments": piece}}]}
                chunks.append({"index": index, "delta": delta})
            function = ChatFunctionCall(name=name, arguments=arguments)
            calls.append(ChatCompletionToolCall(id=call_id, function=function))
    finish = {"text": "stop", "tools": "tool_calls", "refusal": "stop"}[kind]
    chunks.append({"index": index, "delta": {}, "finish_reason": finish})
    message = ChatCompletionMessage(
        content=content, refusal=refusal, tool_calls=calls or None, annotations=[]
    )
    logprobs = ChatChoiceLogprobs(content=tokens) if with_logprobs and tokens else None
    choice = ChatCompletionChoice(
        index=index, message=message, finish_reason=finish, logprobs=logprobs
    )
    return choice, chunks


@SETTINGS
@given(data=st.data(), n=st.integers(1, 3), with_logprobs=st.booleans())
def test_any_chunking_of_a_completion_aggregates_to_it(
    data: st.DataObject, n: int, with_logprobs: bool
) -> None:
    pairs = [_choice_chunks(data, i, with_logprobs) for i in range(n)]
    usage = CompletionUsage(prompt_tokens=3, completion_tokens=5, total_tokens=8)
    expected = ChatCompletion(
        id="chatcmpl-1",
        created=1700000000,
        model="gpt-test",
        choices=[choice for choice, _ in pairs],
        usage=usage,
        system_fingerprint="fp_1",
        service_tier="default",
    )
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000}
    head |= {"model": "gpt-test", "system_fingerprint": "fp_1", "service_tier": "default"}
    accumulator = ChatCompletionAccumulator()
    for choice in _interleave(data, [chunks for _, chunks in pairs]):
        accumulator.add(decode_chat_chunk(msgspec.json.encode({**head, "choices": [choice]})))
        accumulator.snapshot()  # snapshots in between change nothing
    last = {**head, "choices": [], "usage": msgspec.to_builtins(usage)}
    accumulator.add(decode_chat_chunk(msgspec.json.encode(last)))
    assert accumulator.final() == expected


# ---------------------------------------------------------------------------------------------


def _message(data: st.DataObject, index: int) -> OutputMessage:
    parts: list[Any] = []
    for _ in range(data.draw(st.integers(1, 2))):
        if data.draw(st.booleans()):
            url = UrlCitation(url="https://example.com", title="t", start_index=0, end_index=1)
            notes: list[Annotation] = data.draw(st.lists(st.just(url), max_size=2))
            parts.append(OutputText(text=data.draw(TEXT), annotations=notes))
        else:
            parts.append(OutputRefusal(refusal=data.draw(TEXT)))
    return OutputMessage(id=f"msg_{index}", status="completed", content=parts)


def _item(data: st.DataObject, index: int) -> OutputItem:
    kind = data.draw(st.sampled_from(["message", "function", "reasoning"]))
    if kind == "message":
        return _message(data, index)
    if kind == "function":
        arguments = msgspec.json.encode({"x": data.draw(TEXT)}).decode()
        return FunctionCall(
            id=f"fc_{index}", call_id=f"call_{index}", name=data.draw(NAME), arguments=arguments
        )
    summary = [SummaryText(text=data.draw(TEXT)) for _ in range(data.draw(st.integers(0, 2)))]
    return ReasoningItem(id=f"rs_{index}", summary=summary)


def _render(data: st.DataObject, oi: int, item: Any, done: bool) -> list[dict[str, Any]]:
    """A plausible event sequence for one item, with random delta splits."""
    where = {"output_index": oi, "item_id": item.id}
    events: list[dict[str, Any]] = []
    if isinstance(item, OutputMessage):
        empty = msgspec.structs.replace(item, content=[])
        events.append({"type": "response.output_item.added", "output_index": oi, "item": empty})
        for ci, part in enumerate(item.content):
            at = {**where, "content_index": ci}
            if isinstance(part, OutputText):
                blank: Any = OutputText()
                events.append({"type": "response.content_part.added", **at, "part": blank})
                for piece in _split(data, part.text):
                    events.append({"type": "response.output_text.delta", **at, "delta": piece})
                for ai, note in enumerate(part.annotations):
                    kind = "response.output_text.annotation.added"
                    events.append({"type": kind, **at, "annotation_index": ai, "annotation": note})
                if done:
                    events.append({"type": "response.output_text.done", **at, "text": part.text})
            elif isinstance(part, OutputRefusal):
                blank = OutputRefusal()
                events.append({"type": "response.content_part.added", **at, "part": blank})
                for piece in _split(data, part.refusal):
                    events.append({"type": "response.refusal.delta", **at, "delta": piece})
            if done:
                events.append({"type": "response.content_part.done", **at, "part": part})
    elif isinstance(item, FunctionCall):
        call = msgspec.structs.replace(item, arguments="")
        events.append({"type": "response.output_item.added", "output_index": oi, "item": call})
        for piece in _split(data, item.arguments):
            events.append(
                {"type": "response.function_call_arguments.delta", **where, "delta": piece}
            )
    else:
        bare = msgspec.structs.replace(item, summary=[])
        events.append({"type": "response.output_item.added", "output_index": oi, "item": bare})
        for si, part in enumerate(item.summary):
            at = {**where, "summary_index": si}
            events.append({"type": "response.reasoning_summary_part.added", **at, "part": {}})
            for piece in _split(data, part.text):
                events.append(
                    {"type": "response.reasoning_summary_text.delta", **at, "delta": piece}
                )
    if done:
        events.append({"type": "response.output_item.done", "output_index": oi, "item": item})
    return events


@SETTINGS
@given(data=st.data(), count=st.integers(0, 4), done=st.booleans())
def test_any_event_rendering_of_a_response_assembles_its_output(
    data: st.DataObject, count: int, done: bool
) -> None:
    output = [_item(data, i) for i in range(count)]
    response = Response(id="resp_1", model="gpt-test", status="completed", output=output)
    started = msgspec.structs.replace(response, status="in_progress", output=[])
    rendered: list[dict[str, Any]] = [{"type": "response.created", "response": started}]
    for oi, item in enumerate(output):
        rendered += _render(data, oi, item, done)
    events: list[ResponseStreamEvent] = [
        decode_response_event(msgspec.json.encode(event)) for event in rendered
    ]
    accumulator = ResponseAccumulator()
    for event in events:
        accumulator.add(event)
    assembled = accumulator.final()
    assert not accumulator.completed
    assert accumulator.failure is None
    assert assembled.output == response.output
    assert assembled.output_text == response.output_text
    assert assembled.id == response.id
