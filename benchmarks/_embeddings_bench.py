"""Decoding embeddings: `client.embeddings(m)` against the official SDK's `embeddings.create`.

One response of `vectors` embeddings of `dimensions` floats, in base64 as the API sends them
(both clients ask for base64), is served from memory by a mock transport to both clients
(httpx's, or that of `httpx2`, the fork recent SDKs are built on), so what differs is what each
does with the body: ours decodes the base64 into one `array('f')`; the SDK parses the JSON into
its pydantic models, then turns each vector into a list of Python floats (through numpy when it
is installed, as here, else `array`).

CPU time (`process_time`) of the whole awaited call, the median of `repeats` runs after one
warm-up, the two sides alternating; memory with `tracemalloc` in separate runs (it slows what it
traces): what the result keeps (`retained`) and the peak during the call, both above what was
allocated before it. Ratios are the SDK's over ours.

Run as `python -m benchmarks._embeddings_bench '<json>'` with `vectors`, `dimensions`, `repeats`.
"""

from __future__ import annotations

import base64
import importlib
import json
import random
import statistics
import struct
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

__all__ = ["main", "run"]

_MODEL = "text-embedding-3-small"


def _body(vectors: int, dimensions: int) -> bytes:
    rng = random.Random(1536)
    data = []
    for index in range(vectors):
        floats = [rng.gauss(0.0, 0.03) for _ in range(dimensions)]
        packed = struct.pack(f"<{dimensions}f", *floats)
        data.append(
            {"object": "embedding", "index": index, "embedding": base64.b64encode(packed).decode()}
        )
    usage = {"prompt_tokens": vectors * 8, "total_tokens": vectors * 8}
    return json.dumps({"object": "list", "data": data, "model": _MODEL, "usage": usage}).encode()


def _sdk_httpx() -> Any:
    """The HTTP library the installed SDK is built on: recent releases use `httpx2`, a fork
    with httpx's API; older ones httpx itself."""
    try:
        return importlib.import_module("httpx2")
    except ImportError:
        return httpx


def _transport(body: bytes, library: Any = httpx) -> Any:
    """A transport of `library` (httpx or the SDK's fork) answering every request with `body`."""
    headers = {"content-type": "application/json"}

    def handle(request: Any) -> Any:
        return library.Response(200, content=body, headers=headers)

    return library.MockTransport(handle)


Call = Callable[[], Awaitable[Any]]


async def _measure(ours: Call, sdk: Call, vectors: int, repeats: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {"ergo": [], "sdk": []}
    sides = {"ergo": ours, "sdk": sdk}
    for repeat in range(repeats + 1):
        order = ["ergo", "sdk"] if repeat % 2 == 0 else ["sdk", "ergo"]
        for name in order:
            start = time.process_time()
            result = await sides[name]()
            spent = time.process_time() - start
            got = len(result) if name == "ergo" else len(result.data)
            if got != vectors:
                raise AssertionError(f"{name} decoded {got} vectors, expected {vectors}")
            del result
            if repeat:  # the first round warms imports, connections and caches
                samples[name].append(spent)
    memory: dict[str, dict[str, int]] = {}
    for name in ("ergo", "sdk"):
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = await sides[name]()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        memory[name] = {"retained_bytes": current - before, "peak_bytes": peak - before}
        del result
    ergo_cpu = statistics.median(samples["ergo"])
    sdk_cpu = statistics.median(samples["sdk"])
    return {
        "ergo_cpu_s": ergo_cpu,
        "sdk_cpu_s": sdk_cpu,
        "cpu_ratio": sdk_cpu / ergo_cpu if ergo_cpu else float("inf"),
        "ergo_retained_bytes": memory["ergo"]["retained_bytes"],
        "sdk_retained_bytes": memory["sdk"]["retained_bytes"],
        "retained_ratio": memory["sdk"]["retained_bytes"]
        / max(memory["ergo"]["retained_bytes"], 1),
        "ergo_peak_bytes": memory["ergo"]["peak_bytes"],
        "sdk_peak_bytes": memory["sdk"]["peak_bytes"],
        "peak_ratio": memory["sdk"]["peak_bytes"] / max(memory["ergo"]["peak_bytes"], 1),
    }


async def _run(vectors: int, dimensions: int, repeats: int) -> dict[str, Any]:
    from openai import AsyncOpenAI

    from openai_ergo import Client

    body = _body(vectors, dimensions)
    sdk_httpx = _sdk_httpx()
    texts = [f"document {i}" for i in range(vectors)]
    base_url = "http://embeddings.bench/v1"
    async with (
        Client(
            api_key="sk-bench", base_url=base_url, transport=_transport(body), rate_limiter=False
        ) as ours,
        sdk_httpx.AsyncClient(transport=_transport(body, sdk_httpx)) as sdk_http,
    ):
        sdk = AsyncOpenAI(
            api_key="sk-bench", base_url=base_url, http_client=sdk_http, max_retries=0
        )
        builder = ours.embeddings(_MODEL).input(texts)

        async def ergo_call() -> Any:
            return await builder

        async def sdk_call() -> Any:
            return await sdk.embeddings.create(model=_MODEL, input=texts)

        result = await _measure(ergo_call, sdk_call, vectors, repeats)
    try:
        import numpy  # noqa: F401

        sdk_path = "numpy"
    except ImportError:
        sdk_path = "array"
    return {
        "vectors": vectors,
        "dimensions": dimensions,
        "body_bytes": len(body),
        "sdk_decodes_with": sdk_path,
        **result,
    }


def run(vectors: int, dimensions: int, repeats: int) -> dict[str, Any]:
    """Both clients measured on the same body: CPU seconds, bytes retained and peak, ratios."""
    return anyio.run(_run, vectors, dimensions, repeats)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one JSON argument (`vectors`, `dimensions`, `repeats`); prints one JSON
    line."""
    args = json.loads((sys.argv[1:] if argv is None else argv)[0])
    result = run(args["vectors"], args["dimensions"], args["repeats"])
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
