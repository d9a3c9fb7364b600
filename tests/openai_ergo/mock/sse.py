"""A deliberately naive SSE reader for asserting on the mock's bytes (the mock's output is
simple: LF line ends, one data line per event)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Frame:
    """One event as sent: its `event:` name (or None) and its raw data."""

    event: str | None
    data: str

    def json(self) -> Any:
        """The data as JSON."""
        return json.loads(self.data)


def frames(body: bytes | str) -> list[Frame]:
    """Split a whole SSE body into frames."""
    text = body.decode() if isinstance(body, bytes) else body
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event = None
        data = []
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        out.append(Frame(event, "\n".join(data)))
    return out
