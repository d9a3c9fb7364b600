"""Audit records: one per request, written as JSON lines by a sink you supply.

A record holds who asked (the caller's tag), what (method, path, model), and how it went (status
or error, request id, attempts, tokens, duration). It never holds the API key, and holds prompts
and answers only when asked (`include_content=True`), then scrubbed of keys and tokens and
passed through your own `redact` rule.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock
server and talks to that.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import anyio

from openai_ergo import AuditLog, AuditRecord, RequestOptions
from openai_ergo.mock import client_or_mock

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


async def main() -> None:
    path = Path(tempfile.mkdtemp()) / "audit.jsonl"
    with path.open("ab") as file:

        def write(record: AuditRecord) -> None:
            file.write(record.to_json() + b"\n")

        audit = AuditLog(
            write,
            tag="support-bot",
            include_content=True,
            redact=lambda text: EMAIL.sub("[email]", text),
        )
        async with client_or_mock(seed=5) as plain:
            client = plain.with_options(observers=[audit])
            await client.chat("gpt-4o-mini").user("Reset the password of ann@example.com")
            nightly = RequestOptions(tag="nightly-report")
            await client.responses("gpt-5-mini").input("Summarise today.").options(nightly)

    for line in path.read_text().splitlines():
        record = json.loads(line)
        print(
            f"{record['tag']:>14}  {record['method']} {record['path']}  model={record['model']}  "
            f"status={record['status']}  tokens={record['input_tokens']}+{record['output_tokens']}"
            f"  request_id={record['request_id']}"
        )
        asked = record["content"]["input"][0]["parts"][0]["content"]
        print(f"{'':>14}  asked: {asked}")


if __name__ == "__main__":
    anyio.run(main)
