"""`python -m openai_ergo.mock --port 0`: serve the mock API until interrupted.

The first line printed is the base URL (flushed at once), so a parent process can read it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from openai_ergo._errors import ConfigurationError
from openai_ergo.mock._app import MockOpenAI
from openai_ergo.mock._server import MockServer


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, serve, and stop cleanly on Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m openai_ergo.mock", description="Serve the mock OpenAI API on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated replies")
    parser.add_argument(
        "--tokens-per-second", type=float, default=None, help="pace of streamed tokens"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before the 1st token")
    parser.add_argument(
        "--reply-tokens", type=int, default=None, help="length of every reply, in tokens"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument(
        "--fail-next",
        action="append",
        default=[],
        metavar="FAULT",
        help='fail the next request with FAULT, e.g. "rate_limit; retry_after=1" (repeatable)',
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=None,
        metavar="KEY",
        help="accept only this key; others get 401 invalid_api_key (repeatable)",
    )
    parser.add_argument(
        "--strict-models",
        action="store_true",
        help="refuse models outside the catalog, as the service does (default: accept any name)",
    )
    args = parser.parse_args(argv)
    app = MockOpenAI(
        seed=args.seed,
        tokens_per_second=args.tokens_per_second,
        latency=args.latency,
        reply_tokens=args.reply_tokens if args.reply_tokens is not None else (16, 48),
        strict_models=args.strict_models,
        api_keys=args.api_key,
    )
    for fault in args.fail_next:
        try:
            app.fail_next(fault)
        except ValueError as exc:
            parser.error(f"--fail-next {fault!r}: {exc}")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server = MockServer(app, port=args.port, access_log=args.access_log)
        server.start()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        print(f"Mock OpenAI API listening on {server.url}", flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        # A timeout keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
