"""Idempotency-Key values: one per logical POST, in the shape of a random UUID, cheap to make.

`uuid.uuid4()` costs a `getrandom` system call and a `UUID` object per request. A key only has
to be unique (the server deduplicates retries of one request by it), not unpredictable: the
first 74 random bits are drawn once per process, and the last group (48 bits) counts up from a
random start. The value keeps `uuid4`'s text form (version 4, RFC 4122 variant), so a server or
a log that parses it as a UUID still can.
"""

from __future__ import annotations

import itertools
import os

__all__ = ["new_idempotency_key"]

_PREFIX = "openai-ergo-"
_NODE_MASK = (1 << 48) - 1


class _KeySource:
    """The process's random part and its counter, drawn again in a forked child (which would
    otherwise send its parent's next keys)."""

    __slots__ = ("counter", "head")

    def __init__(self) -> None:
        self.head = ""
        self.counter: itertools.count[int] = itertools.count()
        self.reseed()

    def reseed(self) -> None:
        bits = int.from_bytes(os.urandom(16), "big")
        # Version 4 in bits 76-79, the RFC 4122 variant (0b10) in bits 62-63, as `uuid4` sets.
        bits = (bits & ~(0xF << 76)) | (4 << 76)
        bits = (bits & ~(0x3 << 62)) | (0x2 << 62)
        text = f"{bits:032x}"
        self.head = f"{_PREFIX}{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-"
        self.counter = itertools.count(bits & _NODE_MASK)


_SOURCE = _KeySource()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_SOURCE.reseed)


def new_idempotency_key() -> str:
    """A new key, "openai-ergo-" and a UUID's text, unique within the process and across
    processes (74 random bits per process)."""
    source = _SOURCE
    return f"{source.head}{next(source.counter) & _NODE_MASK:012x}"
