"""Pre-rendered OpenAI-shaped bodies: what the benchmark server sends, byte for byte.

The shapes follow real captures of the API (a Chat Completions stream with `stream_options`
usage, a Responses stream with `sequence_number`), so every client parses what it would parse in
production. Each SSE event is rendered once as one complete HTTP/1.1 chunk (size line, event,
CRLF): the server writes it with one call, the way the API flushes one event per token.

The model name carries the size of the reply (`bench-<n>`), so any client, including the
official SDK, can ask for a given number of content deltas without a custom field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "CHAT_EXTRA_EVENTS",
    "RESPONSES_EXTRA_EVENTS",
    "RenderedStream",
    "chat_completion_body",
    "chat_stream",
    "model_for",
    "responses_stream",
    "size_from_model",
    "token_text",
]

#: Events in a chat stream besides the content deltas: the role chunk, the finish chunk and the
#: usage chunk (the `[DONE]` sentinel is not an event any client reports).
CHAT_EXTRA_EVENTS = 3
#: Events in a Responses stream besides the deltas: created, in_progress, output_item.added,
#: content_part.added, output_text.done, content_part.done, output_item.done, completed.
RESPONSES_EXTRA_EVENTS = 8

# Token texts as a tokenizer cuts English: mostly a leading space and a short word, some
# punctuation, some non-ASCII (escaped the way the API escapes it).
_TOKENS = (
    " The",
    " quick",
    " brown",
    " fox",
    " jumps",
    " over",
    " the",
    " lazy",
    " dog",
    ".",
    " Caf\u00e9",
    " \u2014",
    " streaming",
    " tokens",
    " arrive",
    ",",
    " one",
    " by",
    " one",
    "\n\n",
)

_CHAT_ID = "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL"
_CHAT_MODEL = "gpt-4o-2024-08-06"
_FINGERPRINT = "fp_5050236cbd"
_CREATED = 1727346168
_RESPONSE_ID = "resp_0a63f40a2632b74300699f8818e5648196a8fa657ae8091421"
_ITEM_ID = "msg_0a63f40a2632b74300699f8819a5e08196ac270722d369af5a"
_RESPONSES_MODEL = "gpt-5.3-codex"
_MODEL_PREFIX = "bench-"


def model_for(size: int) -> str:
    """The model name that asks the benchmark server for `size` content deltas."""
    return f"{_MODEL_PREFIX}{size}"


def size_from_model(model: str) -> int:
    """The number of content deltas a model name asks for (see `model_for`)."""
    if not model.startswith(_MODEL_PREFIX):
        raise ValueError(f"model {model!r} does not name a size; use model_for(n)")
    size = int(model[len(_MODEL_PREFIX) :])
    if size < 1:
        raise ValueError(f"model {model!r} asks for {size} deltas; at least 1 is needed")
    return size


@lru_cache(maxsize=16)
def token_text(size: int) -> str:
    """The full text that `size` deltas spell out: what every client's aggregate must equal."""
    return "".join(_TOKENS[i % len(_TOKENS)] for i in range(size))


def _json_str(text: str) -> bytes:
    # ASCII-only escapes for non-ASCII text, as the API sends them.
    return json.dumps(text, ensure_ascii=True).encode("ascii")


def _chunked(event: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(event), event)


def _sse(data: bytes, event_name: str | None = None) -> bytes:
    head = b"event: %s\n" % event_name.encode() if event_name else b""
    return head + b"data: " + data + b"\n\n"


@dataclass(frozen=True)
class RenderedStream:
    """One stream's body as HTTP chunks, and what a correct client must report for it."""

    #: Each element is one complete HTTP chunk holding exactly one SSE event; the terminating
    #: zero-length chunk is not included.
    chunks: tuple[bytes, ...]
    #: Events a client reports (the `[DONE]` sentinel excluded).
    events: int
    #: Length of the aggregated text.
    text_chars: int

    @property
    def body_bytes(self) -> int:
        """Bytes on the wire for the body, chunk framing included."""
        return sum(len(chunk) for chunk in self.chunks) + 5


def chat_stream(size: int) -> RenderedStream:
    """A `chat.completion.chunk` stream with `size` content deltas, usage and `[DONE]`."""
    prefix = (
        b'{"id":"%s","object":"chat.completion.chunk","created":%d,"model":"%s",'
        b'"system_fingerprint":"%s","choices":[{"index":0,"delta":'
        % (_CHAT_ID.encode(), _CREATED, _CHAT_MODEL.encode(), _FINGERPRINT.encode())
    )
    suffix = b',"logprobs":null,"finish_reason":null}]}'
    rendered = [_json_str(token) for token in _TOKENS]
    chunks = [_chunked(_sse(prefix + b'{"role":"assistant","content":"","refusal":null}' + suffix))]
    for i in range(size):
        delta = b'{"content":' + rendered[i % len(_TOKENS)] + b"}"
        chunks.append(_chunked(_sse(prefix + delta + suffix)))
    chunks.append(_chunked(_sse(prefix + b'{},"logprobs":null,"finish_reason":"stop"}]}')))
    usage = (
        b'{"id":"%s","object":"chat.completion.chunk","created":%d,"model":"%s",'
        b'"system_fingerprint":"%s","choices":[],"usage":{"prompt_tokens":14,'
        b'"completion_tokens":%d,"total_tokens":%d,'
        b'"completion_tokens_details":{"reasoning_tokens":0}}}'
        % (
            _CHAT_ID.encode(),
            _CREATED,
            _CHAT_MODEL.encode(),
            _FINGERPRINT.encode(),
            size,
            size + 14,
        )
    )
    chunks.append(_chunked(_sse(usage)))
    chunks.append(_chunked(_sse(b"[DONE]")))
    return RenderedStream(tuple(chunks), size + CHAT_EXTRA_EVENTS, len(token_text(size)))


def _response_object(status: str, text: str | None, size: int) -> bytes:
    if text is None:
        output = b"[]"
        usage = b"null"
    else:
        output = (
            b'[{"id":"%s","type":"message","status":"completed","content":[%s],'
            % (
                _ITEM_ID.encode(),
                _output_text_part(text),
            )
            + b'"role":"assistant"}]'
        )
        usage = (
            b'{"input_tokens":14,"input_tokens_details":{"cached_tokens":0},'
            b'"output_tokens":%d,"output_tokens_details":{"reasoning_tokens":0},'
            b'"total_tokens":%d}' % (size, size + 14)
        )
    return (
        b'{"id":"%s","object":"response","created_at":1772062745,"status":"%s","model":"%s",'
        b'"output":%s,"service_tier":"auto","usage":%s}'
        % (_RESPONSE_ID.encode(), status.encode(), _RESPONSES_MODEL.encode(), output, usage)
    )


def _output_text_part(text: str) -> bytes:
    return b'{"type":"output_text","annotations":[],"logprobs":[],"text":%s}' % _json_str(text)


def responses_stream(size: int) -> RenderedStream:
    """A Responses stream: one message item whose text arrives in `size` deltas."""
    text = token_text(size)
    seq = 0
    chunks: list[bytes] = []

    def add(kind: str, fields: bytes) -> None:
        nonlocal seq
        payload = b'{"type":"%s",%s,"sequence_number":%d}' % (kind.encode(), fields, seq)
        chunks.append(_chunked(_sse(payload, kind)))
        seq += 1

    item_ref = b'"item_id":"%s","output_index":0' % _ITEM_ID.encode()
    add("response.created", b'"response":' + _response_object("in_progress", None, size))
    add("response.in_progress", b'"response":' + _response_object("in_progress", None, size))
    add(
        "response.output_item.added",
        b'"item":{"id":"%s","type":"message","status":"in_progress","content":[],'
        b'"role":"assistant"},"output_index":0' % _ITEM_ID.encode(),
    )
    add(
        "response.content_part.added",
        b'"content_index":0,%s,"part":%s' % (item_ref, _output_text_part("")),
    )
    rendered = [_json_str(token) for token in _TOKENS]
    for i in range(size):
        add(
            "response.output_text.delta",
            b'"content_index":0,"delta":%s,%s' % (rendered[i % len(_TOKENS)], item_ref),
        )
    add(
        "response.output_text.done",
        b'"content_index":0,%s,"logprobs":[],"text":%s' % (item_ref, _json_str(text)),
    )
    add(
        "response.content_part.done",
        b'"content_index":0,%s,"part":%s' % (item_ref, _output_text_part(text)),
    )
    add(
        "response.output_item.done",
        b'"item":{"id":"%s","type":"message","status":"completed","content":[%s],'
        b'"role":"assistant"},"output_index":0' % (_ITEM_ID.encode(), _output_text_part(text)),
    )
    add("response.completed", b'"response":' + _response_object("completed", text, size))
    return RenderedStream(tuple(chunks), size + RESPONSES_EXTRA_EVENTS, len(text))


def chat_completion_body(size: int) -> bytes:
    """A non-streamed `chat.completion` whose message is the text of `size` tokens."""
    return (
        b'{"id":"%s","object":"chat.completion","created":%d,"model":"%s",'
        b'"choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null,'
        b'"annotations":[]},"logprobs":null,"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":14,"completion_tokens":%d,"total_tokens":%d,'
        b'"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},'
        b'"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,'
        b'"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},'
        b'"service_tier":"default","system_fingerprint":"%s"}'
        % (
            _CHAT_ID.encode(),
            _CREATED,
            _CHAT_MODEL.encode(),
            _json_str(token_text(size)),
            size,
            size + 14,
            _FINGERPRINT.encode(),
        )
    )
