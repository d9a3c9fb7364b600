"""The event value: one dispatched Server-Sent Event.

`ServerSentEvent` is defined beside the decoder (`_decoder.py`), so that mypyc compiles both into
one extension module and the decoder builds events with a direct C call; this is its public home.
"""

from __future__ import annotations

from ._decoder import ServerSentEvent

__all__ = ["ServerSentEvent"]
