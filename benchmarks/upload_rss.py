"""Peak memory (RSS) of uploading a large file to the mock: it stays flat.

A sparse file of `--mib` MiB (1024 by default) is made in a temporary directory (and deleted
after); `client.files.upload(path, purpose="assistants")` sends it to the mock server, served
from a thread of the same process: in one streamed multipart request up to 512 MB, through the
Uploads API above (parts of 64 MiB, four at a time, each streamed from the file). The mock reads
each body as it arrives and spools the file (memory up to 1 MiB, then a temporary file:
`openai_ergo/mock/_files.py`). The process's peak RSS (`ru_maxrss`) is read before the upload
(after imports, the client and the mock are up) and after it: the growth is what the upload
cost in memory, client and mock together. The file is read back through `client.files.content`
(streamed) to show the mock kept all of it.

Run as `python -m benchmarks.upload_rss [--mib 1024] [--backend asyncio|trio]`; it prints one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from openai_ergo import Client, RetryPolicy
from openai_ergo.mock import serve

__all__ = ["main", "measure"]

_MIB = 1024 * 1024


def _peak_rss_mib() -> float:
    # Linux reports KiB, macOS bytes.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (_MIB if sys.platform == "darwin" else 1024)


async def measure(mib: int) -> dict[str, Any]:
    """Upload a sparse file of `mib` MiB to the mock; the RSS before and after."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.bin"
        with path.open("wb") as sparse:
            sparse.truncate(mib * _MIB)
        async with (
            serve() as server,
            Client(
                api_key="sk-mock",
                base_url=server.url,
                retry=RetryPolicy(max_attempts=1),
                rate_limiter=False,
            ) as client,
        ):
            # A small upload first: the modules and decoders it loads are not the upload's.
            await client.files.create(file=b"x", purpose="assistants")
            before = _peak_rss_mib()
            started = time.perf_counter()
            stored = await client.files.upload(path, purpose="assistants")
            seconds = time.perf_counter() - started
            after = _peak_rss_mib()
            # The mock read the whole file: the size it stored is the size sent.
            assert stored.id is not None, stored
            content = await client.files.content(stored.id)
            stored_bytes = 0
            async for chunk in content:
                stored_bytes += len(chunk)
            downloaded = _peak_rss_mib()
    return {
        "file_mib": mib,
        "file_bytes_stored": stored.bytes,
        "file_bytes_read_back": stored_bytes,
        "peak_rss_before_mib": round(before, 1),
        "peak_rss_after_mib": round(after, 1),
        "peak_rss_growth_mib": round(after - before, 1),
        # Reading it back streams too: the download adds nothing to the peak either.
        "peak_rss_growth_after_download_mib": round(downloaded - before, 1),
        "seconds": round(seconds, 2),
        "mib_per_second": round(mib / seconds, 1) if seconds else None,
    }


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, measure, print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB")
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    args = parser.parse_args(argv)
    result = anyio.run(measure, args.mib, backend=args.backend)
    print(json.dumps({"backend": args.backend, **result}))


if __name__ == "__main__":
    main()
