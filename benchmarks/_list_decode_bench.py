"""Decoding a large list page: the generated types against the official SDK's models.

A page of `files` file objects (`GET /files`) and one of `batches` batch objects (`GET /batches`),
built in the shape the API sends, decoded from the same bytes by `openai_ergo.types.decode`
into `ListFilesResponse` / `ListBatchesResponse` and by the SDK as it does it: `json.loads`,
then its pydantic models (`SyncCursorPage[FileObject]`, `SyncCursorPage[Batch]`) built from the
dicts by `construct_type`, as its client does by default. CPU time (`process_time`), the
median of `repeats` runs after one warm-up, runs alternating between the two; `ratio` is the
SDK's CPU over ours (target >= 10).

Run as `python -m benchmarks._list_decode_bench '<json>'` with `files`, `batches`, `repeats`.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["main", "run"]


def _file(i: int) -> dict[str, Any]:
    return {
        "id": f"file-{i:024d}",
        "object": "file",
        "bytes": 120_000 + i,
        "created_at": 1_700_000_000 + i,
        "expires_at": None,
        "filename": f"training-{i}.jsonl",
        "purpose": "fine-tune",
        "status": "processed",
        "status_details": None,
    }


def _batch(i: int) -> dict[str, Any]:
    return {
        "id": f"batch_{i:024d}",
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": None,
        "input_file_id": f"file-{i:024d}",
        "completion_window": "24h",
        "status": "completed",
        "output_file_id": f"file-out-{i:020d}",
        "error_file_id": None,
        "created_at": 1_700_000_000 + i,
        "in_progress_at": 1_700_000_010 + i,
        "expires_at": 1_700_086_400 + i,
        "finalizing_at": 1_700_000_900 + i,
        "completed_at": 1_700_001_000 + i,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 100, "completed": 98, "failed": 2},
        "metadata": {"customer_id": f"user_{i}", "batch_description": "nightly eval job"},
    }


def _page(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "object": "list",
            "data": items,
            "first_id": items[0]["id"],
            "last_id": items[-1]["id"],
            "has_more": False,
        }
    ).encode()


def _decoders(kind: str) -> tuple[Callable[[bytes], int], Callable[[bytes], int]]:
    from openai._models import construct_type
    from openai.pagination import SyncCursorPage
    from openai.types import Batch as SDKBatch
    from openai.types import FileObject as SDKFile

    from openai_ergo.types import ListBatchesResponse, ListFilesResponse, decode

    ours_type: Any = ListFilesResponse if kind == "files" else ListBatchesResponse
    sdk_model: Any = SyncCursorPage[SDKFile] if kind == "files" else SyncCursorPage[SDKBatch]

    def ours(body: bytes) -> int:
        return len(decode(body, type=ours_type).data or [])

    def sdk(body: bytes) -> int:
        # What the SDK's client does with a 200 (`_process_response_data`, not strict):
        # json.loads, then `construct_type` builds its models from the dicts.
        page: Any = construct_type(type_=sdk_model, value=json.loads(body))
        return len(page.data)

    return ours, sdk


def _measure(kind: str, body: bytes, count: int, repeats: int) -> dict[str, Any]:
    ours, sdk = _decoders(kind)
    samples: dict[str, list[float]] = {"ergo": [], "sdk": []}
    for repeat in range(repeats + 1):
        order = [("ergo", ours), ("sdk", sdk)]
        if repeat % 2:
            order.reverse()
        for name, decode in order:
            start = time.process_time()
            decoded = decode(body)
            spent = time.process_time() - start
            if decoded != count:
                raise AssertionError(f"{name} decoded {decoded} items, expected {count}")
            if repeat:  # the first round warms imports and caches
                samples[name].append(spent)
    ergo = statistics.median(samples["ergo"])
    sdk_s = statistics.median(samples["sdk"])
    return {
        "items": count,
        "body_bytes": len(body),
        "ergo_cpu_s": ergo,
        "sdk_cpu_s": sdk_s,
        "ratio": sdk_s / ergo if ergo else float("inf"),
    }


def run(files: int, batches: int, repeats: int) -> dict[str, Any]:
    """Both pages measured; per page the CPU seconds of each side and the ratio."""
    return {
        "files": _measure("files", _page([_file(i) for i in range(files)]), files, repeats),
        "batches": _measure(
            "batches", _page([_batch(i) for i in range(batches)]), batches, repeats
        ),
    }


def main(argv: list[str] | None = None) -> None:
    """Entry point: one JSON argument (`files`, `batches`, `repeats`); prints one JSON line."""
    args = json.loads((sys.argv[1:] if argv is None else argv)[0])
    sys.stdout.write(json.dumps(run(args["files"], args["batches"], args["repeats"])) + "\n")


if __name__ == "__main__":
    main()
