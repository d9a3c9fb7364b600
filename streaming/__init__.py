"""streaming: a provider-agnostic toolkit for Server-Sent Event streams on anyio and httpx.

Byte-level SSE decoding, event sources with backpressure, timeouts and ownership, and composition
(tee, merge, batching, aggregation) for any async iterable. It imports nothing from `openai_ergo`.
"""

from __future__ import annotations

__all__: list[str] = []
