"""SSE decoding alone: `streaming.SSEDecoder` against httpx-sse on the same bytes, same process.

Both decoders get the body of a chat stream as the network hands it over. httpx-sse's path is
what `aiter_sse()` runs per HTTP chunk: an incremental UTF-8 text decoder (what httpx's
`aiter_text()` does), its line splitter, `rstrip("\\n")`, and its field interpreter. Ours takes
the bytes directly. Two feeds: one event per call (what httpx's chunk iterator delivers) and
64 KiB reads (what a transport that de-chunks whole socket reads delivers). Ours is measured in
both forms: as installed (compiled by mypyc when `make` could build it) and as the interpreter runs
the same source. Runs rotate among the decoders so drift hits all alike.

Run as `python -m benchmarks._decoder_bench '<json>'` with `events` and `repeats`.
"""

from __future__ import annotations

import codecs
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks._bodies import chat_stream
from streaming import SSEDecoder
from streaming._decoder import COMPILED
from streaming._interpreted import interpreted_decoder

__all__ = ["main", "run"]

_READ_SIZE = 64 * 1024


def _payloads(events: int) -> list[bytes]:
    # Strip the chunked framing: a decoder sees only the body bytes.
    return [chunk.split(b"\r\n", 1)[1][:-2] for chunk in chat_stream(events).chunks]


def _reads(payloads: Sequence[bytes]) -> list[bytes]:
    body = b"".join(payloads)
    return [body[i : i + _READ_SIZE] for i in range(0, len(body), _READ_SIZE)]


def _ours(chunks: Sequence[bytes]) -> int:
    return _feed_all(SSEDecoder(), chunks)


def _ours_interpreted(chunks: Sequence[bytes]) -> int:
    return _feed_all(interpreted_decoder()(), chunks)


def _feed_all(decoder: SSEDecoder, chunks: Sequence[bytes]) -> int:
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    return count + len(decoder.end())


def _httpx_sse(chunks: Sequence[bytes]) -> int:
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    count = 0
    for chunk in chunks:
        for line in lines.decode(text.decode(chunk)):
            if decoder.decode(line.rstrip("\n")) is not None:
                count += 1
    for line in lines.flush():
        if decoder.decode(line.rstrip("\n")) is not None:
            count += 1
    return count


def _time(decode: Callable[[Sequence[bytes]], int], chunks: Sequence[bytes]) -> tuple[float, int]:
    start = time.process_time()
    count = decode(chunks)
    return time.process_time() - start, count


def run(events: int, repeats: int) -> dict[str, Any]:
    """Measure the decoders on both feeds; return events/s, MB/s and the ratios per feed.

    `ratio` is ours as installed over httpx-sse; `ratio_interpreted` the same for the source run
    by the interpreter; `compiled` says which form "as installed" was.
    """
    payloads = _payloads(events)
    body_bytes = sum(len(p) for p in payloads)
    expected = events + 4  # role, finish, usage, [DONE]: the decoder sees every event
    feeds = {"per_event": payloads, "reads_64k": _reads(payloads)}
    result: dict[str, Any] = {
        "events": expected,
        "body_bytes": body_bytes,
        "compiled": COMPILED,
        "feeds": {},
    }
    decoders = {
        "streaming": _ours,
        "streaming_interpreted": _ours_interpreted,
        "httpx_sse": _httpx_sse,
    }
    for feed, chunks in feeds.items():
        seconds: dict[str, list[float]] = {name: [] for name in decoders}
        for repeat in range(repeats + 1):
            names = list(decoders)
            order = names[repeat % len(names) :] + names[: repeat % len(names)]
            for name in order:
                spent, count = _time(decoders[name], chunks)
                if count != expected:
                    raise AssertionError(f"{name} decoded {count} events, expected {expected}")
                if repeat:  # the first round warms imports and caches
                    seconds[name].append(spent)
        summary: dict[str, Any] = {}
        for name, samples in seconds.items():
            best = statistics.median(samples)
            summary[name] = {
                "cpu_s": best,
                "cpu_s_min": min(samples),
                "cpu_s_max": max(samples),
                "events_per_s": expected / best,
                "mb_per_s": body_bytes / best / 1e6,
            }
        baseline = summary["httpx_sse"]["events_per_s"]
        summary["ratio"] = summary["streaming"]["events_per_s"] / baseline
        summary["ratio_interpreted"] = summary["streaming_interpreted"]["events_per_s"] / baseline
        result["feeds"][feed] = summary
    return result


def main(argv: list[str] | None = None) -> None:
    """Entry point: one JSON argument (`events`, `repeats`); prints one JSON line."""
    args = json.loads((sys.argv[1:] if argv is None else argv)[0])
    sys.stdout.write(json.dumps(run(args["events"], args["repeats"])) + "\n")


if __name__ == "__main__":
    main()
