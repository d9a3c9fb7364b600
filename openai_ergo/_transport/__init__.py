"""A fast HTTP/1.1 transport for httpx on anyio (see docs/transport.md).

Provider-agnostic in content; it lives under `openai_ergo` because the `Client` owns the
choice of transport and makes this one its default for plain http and https.
"""

from __future__ import annotations

from openai_ergo._transport._transport import HTTP11Transport

__all__ = ["HTTP11Transport"]
