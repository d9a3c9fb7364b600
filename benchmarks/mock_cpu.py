"""CPU per request of the mock server itself: the ASGI app called directly (no client, no
socket), so only the mock's own work is counted.

Two 200-request mixes, each measured as the best of `--runs` runs of `time.process_time()`:

- `hot`: today's hot endpoints: chat completions and Responses (streamed and not), embeddings
  and the models list;
- `generic`: operations the generic handler answers from the spec's examples (evals, admin
  projects and users, usage and costs, videos, skills, graders, realtime client secrets,
  chatkit, ...), each request validated against its operation's request schema.

Run as `python -m benchmarks.mock_cpu [--runs 5] [--mix hot|generic|all]`; it prints one JSON
object: microseconds of CPU per request for each mix.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import MutableMapping, Sequence
from typing import Any

import anyio

from openai_ergo.mock import MockOpenAI

__all__ = ["GENERIC", "HOT", "main", "measure"]

Request = tuple[str, str, Any]

_CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi there"}]}
_RESPONSES = {"model": "gpt-5-mini", "input": "Why is the sky blue?"}

#: Today's hot endpoints, in the proportions a test suite sends them.
HOT: tuple[Request, ...] = (
    ("POST", "/v1/chat/completions", _CHAT),
    ("POST", "/v1/chat/completions", {**_CHAT, "stream": True}),
    ("POST", "/v1/responses", _RESPONSES),
    ("POST", "/v1/responses", {**_RESPONSES, "stream": True}),
    ("POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a", "b"]}),
    ("POST", "/v1/chat/completions", _CHAT),
    ("POST", "/v1/responses", _RESPONSES),
    ("GET", "/v1/models", None),
)

#: Operations only the generic handler answers.
GENERIC: tuple[Request, ...] = (
    (
        "POST",
        "/v1/evals",
        {
            "name": "Sentiment",
            "data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
            "testing_criteria": [],
        },
    ),
    ("GET", "/v1/evals/eval_1", None),
    ("GET", "/v1/evals?limit=5", None),
    ("GET", "/v1/evals/eval_1/runs/evalrun_1", None),
    ("POST", "/v1/organization/projects", {"name": "Project X"}),
    ("GET", "/v1/organization/projects/proj_1/users", None),
    ("GET", "/v1/organization/costs?start_time=1730419200", None),
    ("GET", "/v1/organization/usage/completions?start_time=1730419200", None),
    ("GET", "/v1/videos/video_1", None),
    ("GET", "/v1/skills", None),
    (
        "POST",
        "/v1/fine_tuning/alpha/graders/validate",
        {
            "grader": {
                "type": "string_check",
                "name": "g",
                "input": "a",
                "reference": "a",
                "operation": "eq",
            }
        },
    ),
    ("POST", "/v1/realtime/client_secrets", {"session": {"type": "realtime"}}),
    ("GET", "/v1/chatkit/threads", None),
    ("DELETE", "/v1/evals/eval_1", None),
)


async def _call(app: MockOpenAI, method: str, target: str, body: Any) -> int:
    path, _, query = target.partition("?")
    raw = b"" if body is None else json.dumps(body).encode()
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": [(b"authorization", b"Bearer sk-bench"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await anyio.sleep_forever()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _run(mix: Sequence[Request], count: int) -> float:
    app = MockOpenAI()
    for method, target, body in mix:  # warm: decoders built, modules imported
        status = await _call(app, method, target, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {target} answered {status}")
    requests = [mix[i % len(mix)] for i in range(count)]
    app.reset()
    started = time.process_time()
    for method, target, body in requests:
        await _call(app, method, target, body)
    return (time.process_time() - started) / count * 1e6


def measure(mix: Sequence[Request], *, runs: int = 5, count: int = 200) -> float:
    """The best of `runs` runs: microseconds of CPU per request over `count` requests."""
    return min(anyio.run(_run, mix, count) for _ in range(runs))


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: print the µs of CPU per request of each mix, as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mock_cpu")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mix", choices=("hot", "generic", "all"), default="all")
    args = parser.parse_args(argv)
    mixes = {"hot": HOT, "generic": GENERIC}
    chosen = mixes if args.mix == "all" else {args.mix: mixes[args.mix]}
    result = {
        f"{name}_us_cpu_per_request": round(measure(mix, runs=args.runs), 1)
        for name, mix in chosen.items()
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
