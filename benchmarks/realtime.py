"""CPU per received Realtime event: our `RealtimeSession` against the official SDK's realtime
client (`openai[realtime]`, on `websockets`), on the same bytes.

One spoken answer of the mock's Realtime session (audio deltas, transcript deltas and the
events around them) is recorded once; a replay server in its own process then sends those
frames `--copies` times over each connection and closes it, so both clients receive exactly
the same messages and the server's CPU is not counted. Each client runs in a fresh interpreter:
it opens a connection (warm-up), then `--sessions` more, reading every event as its typed
object (`async for event in session`), and reports the process's CPU time per event. The ratio
SDK / ours is the figure of merit; the target is at least 5x less CPU.

Run as `python -m benchmarks.realtime [--quick]`; it prints the rows and a PASS/MISS line, and
the JSON of the result last.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["TARGET", "main"]

#: Our CPU per event must be at most this fraction of the SDK's (5x less).
TARGET = 5.0
_ROOT = Path(__file__).resolve().parent.parent


async def _record() -> list[str]:
    """One spoken answer of the mock's Realtime session, as the text frames it sent."""
    from openai_ergo.mock import serve
    from openai_ergo.types import realtime_create_item, realtime_create_response
    from streaming import connect_websocket

    frames: list[str] = []
    async with serve(seed=11, reply_tokens=120) as server:
        url = server.url.replace("http://", "ws://") + "/realtime?model=gpt-realtime"
        headers = {"Authorization": "Bearer sk-mock"}
        async with connect_websocket(url, headers=headers) as socket:
            item = {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Tell me a story."}],
            }
            await socket.send(realtime_create_item(item))
            await socket.send(realtime_create_response())
            async for message in socket:
                assert isinstance(message, str)
                frames.append(message)
                if '"type":"response.done"' in message:
                    break
    return frames


def _serve(copies: int) -> None:
    """The replay server: every connection gets the recorded frames `copies` times, then a
    normal close. Prints its port, then serves until killed."""
    import asyncio

    import anyio
    import websockets

    frames = anyio.run(_record)
    body = frames * copies

    async def replay(connection: Any) -> None:
        for frame in body:
            await connection.send(frame)
        await connection.close()

    async def run() -> None:
        async with websockets.serve(replay, "127.0.0.1", 0, max_size=None) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            print(json.dumps({"port": port, "events": len(body)}), flush=True)
            await asyncio.Future()

    asyncio.run(run())


async def _timed(row: str, one: Any, sessions: int) -> dict[str, Any]:
    """Warm up with one session, then time `sessions` more: CPU seconds and events."""
    await one()  # imports, decoders, the first connection
    events = 0
    cpu = time.process_time()
    wall = time.perf_counter()
    for _ in range(sessions):
        events += await one()
    return {
        "row": row,
        "events": events,
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
    }


def _client(row: str, port: int, sessions: int) -> None:
    """One row in this fresh interpreter: CPU seconds and events over `sessions` sessions."""
    import anyio

    base = f"http://127.0.0.1:{port}/v1"

    async def main() -> dict[str, Any]:
        # One client per row, as an application keeps one: what is measured is the sessions.
        if row == "ergo":
            from openai_ergo import Client

            async with Client(base_url=base, api_key="sk-bench") as client:
                builder = client.realtime("gpt-realtime")

                async def one() -> int:
                    count = 0
                    async with builder.connect() as session:
                        async for _ in session:
                            count += 1
                    return count

                return await _timed(row, one, sessions)
        from openai import AsyncOpenAI

        sdk = AsyncOpenAI(
            api_key="sk-bench", base_url=base, websocket_base_url=f"ws://127.0.0.1:{port}/v1"
        )

        async def one_sdk() -> int:
            count = 0
            async with sdk.realtime.connect(model="gpt-realtime") as connection:
                async for _ in connection:
                    count += 1
            return count

        try:
            return await _timed(row, one_sdk, sessions)
        finally:
            await sdk.close()

    backend = "asyncio"  # the SDK's client runs on asyncio only
    print(json.dumps(anyio.run(main, backend=backend)))


def measure(*, copies: int, sessions: int) -> dict[str, Any]:
    """Start the replay server, run both rows, return the result."""
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.realtime", "--serve", str(copies)],
        cwd=_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        started = json.loads(server.stdout.readline())
        rows = {}
        for row in ("ergo", "sdk"):
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.realtime",
                    "--client",
                    row,
                    str(started["port"]),
                    str(sessions),
                ],
                cwd=_ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            rows[row] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=30)
    expected = started["events"] * sessions
    for row in rows.values():
        if row["events"] != expected:
            raise RuntimeError(f"{row['row']} read {row['events']} events, not {expected}")
        row["cpu_us_per_event"] = row["cpu_s"] / row["events"] * 1e6
    ratio = rows["sdk"]["cpu_us_per_event"] / rows["ergo"]["cpu_us_per_event"]
    return {
        "events_per_session": started["events"],
        "sessions": sessions,
        "rows": rows,
        "ratio": ratio,
        "target": TARGET,
        "verdict": "PASS" if ratio >= TARGET else "MISS",
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, internally, the replay server or one client row)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.realtime")
    parser.add_argument("--quick", action="store_true", help="a small run (CI smoke)")
    parser.add_argument("--serve", type=int, metavar="COPIES", help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=3, metavar=("ROW", "PORT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        _serve(args.serve)
        return
    if args.client is not None:
        row, port, sessions = args.client
        _client(row, int(port), int(sessions))
        return
    copies, sessions = (2, 3) if args.quick else (10, 10)
    result = measure(copies=copies, sessions=sessions)
    for name, row in result["rows"].items():
        print(
            f"  {name:<5} {row['cpu_us_per_event']:8.1f} µs CPU per event"
            f" ({row['events']} events, {row['cpu_s']:.2f} s CPU)"
        )
    print(
        f"  {result['verdict']:<7} CPU per received Realtime event: {result['ratio']:.1f}x less"
        f" than the official SDK's realtime client (target >= {TARGET:.0f}x)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
