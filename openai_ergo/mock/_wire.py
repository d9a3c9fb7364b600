"""Bytes on the wire: JSON bodies, SSE frames, ids, and the headers OpenAI sends.

Payloads are plain dicts encoded once by msgspec: the mock stays independent of the client's
types, and the official SDK accepting what we send is the proof that the shapes are right.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import time
from collections.abc import Callable, Mapping
from email.utils import formatdate
from typing import Any

import msgspec

JSON_CONTENT_TYPE = b"application/json"
SSE_CONTENT_TYPE = b"text/event-stream; charset=utf-8"

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_counter = itertools.count(1)
# Ids are unique per process run (like the real API's) but cheap: a random prefix and a counter.
_run_prefix = os.urandom(6).hex()

Headers = list[tuple[bytes, bytes]]


def encode_json(payload: Any) -> bytes:
    """One JSON document, compact, as OpenAI sends it."""
    return _encoder.encode(payload)


def decode_json(body: bytes) -> Any:
    """Parse a request body; raises `msgspec.DecodeError` for anything that is not JSON."""
    return _decoder.decode(body)


def sse_frame(payload: Any, event: str | None = None) -> bytes:
    """One Server-Sent Event: Responses streams name the event, chat streams do not."""
    data = encode_json(payload)
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


DONE_FRAME = b"data: [DONE]\n\n"


def error_event_frames(_sequence: int, code: str, message: str) -> list[bytes]:
    """The `error` event that ends a stream of typed events (images, audio) when it fails."""
    error = {"type": "server_error", "code": code, "message": message, "param": None}
    return [sse_frame({"type": "error", "error": error}, "error")]


def new_id(prefix: str) -> str:
    """An opaque id in OpenAI's style (`resp_…`, `msg_…`, `chatcmpl-…`), unique in this process."""
    return f"{prefix}{_run_prefix}{next(_counter):020x}"


def obfuscation(token: str, sequence_number: int) -> str:
    """The padding OpenAI adds to delta events so their size does not reveal the token.

    Deterministic here, so identical requests give byte-identical streams.
    """
    digest = hashlib.blake2s(f"{sequence_number}:{token}".encode(), digest_size=12).hexdigest()
    return digest[: max(1, 16 - len(token))]


def now() -> int:
    """Unix seconds, as in every `created` / `created_at` field."""
    return int(time.time())


def error_body(
    message: str,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The error envelope every OpenAI endpoint returns."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class RateLimitWindow:
    """Request and token buckets that refill continuously, as OpenAI's do, so the
    `x-ratelimit-*` headers move like the real ones.

    Each bucket holds a minute's limit and refills at that limit per minute; a request takes one
    request and its tokens out. `remaining` is what is left now, `reset` the time until the
    bucket is full again (not until some fixed window ends). Time is `clock` (the app's).
    """

    def __init__(
        self,
        requests_per_minute: int,
        tokens_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._clock = clock
        self._last = clock()
        # What each bucket lacks of being full.
        self._requests = 0.0
        self._tokens = 0.0

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._requests = max(0.0, self._requests - elapsed * self.requests_per_minute / 60.0)
        self._tokens = max(0.0, self._tokens - elapsed * self.tokens_per_minute / 60.0)

    def record(self, tokens: int) -> Headers:
        """Take one request of `tokens` tokens and return the headers describing the buckets."""
        self._refill()
        self._requests += 1
        self._tokens += tokens
        return self._headers()

    def headers(self) -> Headers:
        """The `x-ratelimit-*` headers now, without taking anything."""
        self._refill()
        return self._headers()

    def _headers(self) -> Headers:
        remaining_requests = max(0, math.floor(self.requests_per_minute - self._requests))
        remaining_tokens = max(0, math.floor(self.tokens_per_minute - self._tokens))
        # OpenAI reports how long until the bucket is full again, e.g. "6ms", "1.2s", "6m0s".
        request_reset = _duration(60.0 * self._requests / max(1, self.requests_per_minute))
        token_reset = _duration(60.0 * self._tokens / max(1, self.tokens_per_minute))
        return [
            (b"x-ratelimit-limit-requests", str(self.requests_per_minute).encode()),
            (b"x-ratelimit-limit-tokens", str(self.tokens_per_minute).encode()),
            (b"x-ratelimit-remaining-requests", str(remaining_requests).encode()),
            (b"x-ratelimit-remaining-tokens", str(remaining_tokens).encode()),
            (b"x-ratelimit-reset-requests", request_reset.encode()),
            (b"x-ratelimit-reset-tokens", token_reset.encode()),
        ]


def _duration(seconds: float) -> str:
    if seconds < 1.0:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60.0)
    if minutes:
        return f"{int(minutes)}m{rest:.0f}s"
    return f"{rest:.3g}s"


_last_date: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The `Date` header for now, formatted once per second.

    The mock sends its own rather than uvicorn's, which is refreshed by the server loop's ticks and
    can lag by seconds on a busy machine: clients measure clock skew from it.
    """
    global _last_date
    now = int(time.time())
    if _last_date[0] != now:
        _last_date = (now, formatdate(now, usegmt=True).encode())
    return _last_date[1]


def response_headers(
    *,
    content_type: bytes,
    request_id: str,
    processing_ms: int,
    extra: Headers | None = None,
) -> Headers:
    """The headers every OpenAI response carries."""
    headers: Headers = [
        (b"date", http_date()),
        (b"content-type", content_type),
        (b"x-request-id", request_id.encode()),
        (b"openai-processing-ms", str(processing_ms).encode()),
        (b"openai-version", b"2020-10-01"),
        (b"openai-organization", b"mock-org"),
    ]
    if content_type == SSE_CONTENT_TYPE:
        headers.append((b"cache-control", b"no-cache"))
    if extra:
        headers.extend(extra)
    return headers


def lower_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI headers as a dict with lower-case names (the last value of a repeated header wins)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}


def header_float(headers: Mapping[str, str], name: str) -> float | None:
    """A numeric control header, or None when absent or not a number."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
