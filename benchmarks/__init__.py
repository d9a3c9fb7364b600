"""The benchmark suite: openai-ergo against the official SDK, httpx and the Python ceilings.

Run `python -m benchmarks` (about 15 minutes) or `python -m benchmarks --quick` (under two
minutes, the CI smoke run). A loopback server in its own process serves pre-rendered
OpenAI-shaped bodies; every measurement runs in a fresh client process; rows are interleaved to
cancel drift; results land in `benchmarks/results/` (JSON, Markdown, PNG) and are summarised in
`docs/performance.md`.
"""

from __future__ import annotations

__all__: list[str] = []
