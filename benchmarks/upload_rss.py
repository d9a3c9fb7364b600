"""Peak memory (RSS) of uploading a large file through `client.files.create`: it stays flat.

A sparse file of `--mib` MiB (1024 by default) is made in a temporary directory (and deleted
after); `client.files.create(file=path, purpose="assistants")` sends it as a streamed multipart
body to a loopback sink in the same process, which reads the body to its end, counts it and
discards it, then answers a file object. The process's peak RSS (`ru_maxrss`) is read before
the upload (after imports, the client and the sink are up) and after it: the growth is what the
upload cost in memory, client and sink together.

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
from anyio.abc import SocketStream

from openai_ergo import Client, RetryPolicy

__all__ = ["main", "measure"]

_MIB = 1024 * 1024


def _peak_rss_mib() -> float:
    # Linux reports KiB, macOS bytes.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (_MIB if sys.platform == "darwin" else 1024)


async def _sink(stream: SocketStream, received: list[int]) -> None:
    """Read one request (Content-Length or chunked body), count its body, answer a file."""
    async with stream:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += await stream.receive()
        head, _, rest = buffer.partition(b"\r\n\r\n")
        headers = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
        lengths = {k.strip().lower(): v.strip() for k, v in headers.items()}
        length = int(lengths.get(b"content-length", b"0"))
        body = len(rest)
        while body < length:
            body += len(await stream.receive())
        received.append(body)  # the multipart body: the file plus a few hundred bytes
        answer = json.dumps(
            {
                "id": "file-sink",
                "object": "file",
                "bytes": body,
                "created_at": int(time.time()),
                "filename": "big.bin",
                "purpose": "assistants",
            }
        ).encode()
        await stream.send(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%b" % (len(answer), answer)
        )


async def measure(mib: int) -> dict[str, Any]:
    """Upload a sparse file of `mib` MiB to a loopback sink; the RSS before and after."""
    received: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.bin"
        with path.open("wb") as sparse:
            sparse.truncate(mib * _MIB)
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as group:
            group.start_soon(listener.serve, lambda s: _sink(s, received))
            async with Client(
                api_key="sk-sink",
                base_url=f"http://127.0.0.1:{port}/v1",
                retry=RetryPolicy(max_attempts=1),
                rate_limiter=False,
            ) as client:
                # A small upload first: the modules and decoders it loads are not the upload's.
                await client.files.create(file=b"x", purpose="assistants")
                before = _peak_rss_mib()
                started = time.perf_counter()
                await client.files.create(file=path, purpose="assistants")
                seconds = time.perf_counter() - started
                after = _peak_rss_mib()
            group.cancel_scope.cancel()
    return {
        "file_mib": mib,
        "body_bytes_received": received[-1] if received else None,
        "peak_rss_before_mib": round(before, 1),
        "peak_rss_after_mib": round(after, 1),
        "peak_rss_growth_mib": round(after - before, 1),
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
