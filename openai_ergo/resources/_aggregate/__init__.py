"""Stream accumulators: fold streamed chunks and events into the object a non-streamed call returns.

Each delta costs O(1): text, refusal and argument fragments are appended to lists and joined only
when a snapshot or the final object is built. Nothing is dropped on failure: a snapshot taken when
the stream breaks is everything received so far, and `failure` says how a stream ended badly.
"""

from __future__ import annotations

from openai_ergo.resources._aggregate._chat import ChatCompletionAccumulator
from openai_ergo.resources._aggregate._failure import StreamFailure
from openai_ergo.resources._aggregate._responses import ResponseAccumulator

__all__ = ["ChatCompletionAccumulator", "ResponseAccumulator", "StreamFailure"]
