"""Reading a batch's results: how fast `BatchJob.results()` turns an output file into typed
results.

An output file of `lines` chat completions in the service's line format (`{"id", "custom_id",
"response": {"status_code", "request_id", "body"}, "error"}`, about 900 bytes a line) is served
by an in-process `httpx.MockTransport` in 64 KiB chunks, as the mock and the service stream a
download, and read through the public API: `BatchJob(...).results()`, each line decoded into a
`ChatCompletion`. Wall time and CPU (`process_time`) for the whole file, the median of `repeats`
runs after one warm-up; `mb_per_s` is the file's megabytes (10^6 bytes) over the median wall
time (target >= 100).

Run as `python -m benchmarks._batch_results_bench '<json>'` with `lines`, `repeats`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

import anyio
import httpx
import msgspec

__all__ = ["main", "output_file", "run"]

CHUNK = 64 * 1024


def _line(i: int) -> dict[str, Any]:
    content = f"Answer {i}: " + "the quick brown fox jumps over the lazy dog " * 8
    return {
        "id": f"batch_req_{i:024d}",
        "custom_id": f"request-{i}",
        "response": {
            "status_code": 200,
            "request_id": f"req_{i:024x}",
            "body": {
                "id": f"chatcmpl-{i:024d}",
                "object": "chat.completion",
                "created": 1_700_000_000 + i,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 80, "total_tokens": 92},
                "system_fingerprint": "fp_0000000000",
            },
        },
        "error": None,
    }


def output_file(lines: int) -> bytes:
    """An output file of `lines` chat completions in the service's format."""
    encode = msgspec.json.encode
    return b"".join(encode(_line(i)) + b"\n" for i in range(lines))


async def _read(data: bytes) -> tuple[int, float, float]:
    from openai_ergo import Client
    from openai_ergo.resources import BatchJob, BatchResult
    from openai_ergo.types._generated.batch import Batch

    def handler(request: httpx.Request) -> httpx.Response:
        chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
        return httpx.Response(200, stream=httpx.ByteStream(b"") if not chunks else _Chunks(chunks))

    batch = Batch(id="batch_bench", endpoint="/v1/chat/completions", output_file_id="file-out")
    async with Client(
        api_key="sk-bench", base_url="http://bench/v1", transport=httpx.MockTransport(handler)
    ) as client:
        job = BatchJob(client, [batch])
        count = 0
        wall, cpu = time.perf_counter(), time.process_time()
        async with job.results() as results:
            async for result in results:
                assert isinstance(result, BatchResult)
                count += 1
        return count, time.perf_counter() - wall, time.process_time() - cpu


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> Any:
        for chunk in self._chunks:
            yield chunk


def run(*, lines: int, repeats: int) -> dict[str, Any]:
    """Read an output file of `lines` lines `repeats` times (after a warm-up); the medians."""
    data = output_file(lines)
    anyio.run(_read, output_file(10))
    walls, cpus = [], []
    for _ in range(repeats):
        count, wall, cpu = anyio.run(_read, data)
        if count != lines:
            raise AssertionError(f"read {count} results of {lines}")
        walls.append(wall)
        cpus.append(cpu)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {
        "lines": lines,
        "bytes": len(data),
        "wall_s": wall,
        "cpu_s": cpu,
        "mb_per_s": len(data) / 1e6 / wall,
        "lines_per_s": lines / wall,
    }


def main() -> None:
    """Run with the job given as JSON on the command line; print the result as JSON."""
    job = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {"lines": 100_000, "repeats": 5}
    print(json.dumps(run(lines=job["lines"], repeats=job["repeats"])))


if __name__ == "__main__":
    main()
