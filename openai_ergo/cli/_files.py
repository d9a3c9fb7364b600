"""`files upload|list|download|delete` and `batch submit|status|wait|results|cancel`, on
`client.files.upload`, the typed `client.files` and `client.batches`, and the batch pipeline
(`client.batch()`), with progress bars on stderr when it is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import msgspec
import typer

from openai_ergo import OpenAIErgoError
from openai_ergo.cli._session import UsageProblem, open_client, print_table, run

__all__ = ["batch_app", "files_app"]

files_app = typer.Typer(help="Upload, list, download and delete files.", no_args_is_help=True)
batch_app = typer.Typer(
    help="Submit a JSONL file of requests as batches, follow them, read their results.",
    no_args_is_help=True,
)

#: The purposes the Files API takes.
Purpose = Literal["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]


@contextmanager
def _progress(description: str, total: float | None) -> Iterator[Any]:
    """A Rich progress bar on stderr (hidden when stderr is not a terminal); yields a function
    that sets how far it is."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    columns = [TextColumn("{task.description}"), BarColumn()]
    columns.append(DownloadColumn() if description.endswith("bytes") else TextColumn(""))
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(description.removesuffix(" bytes"), total=total)

        def update(done: float, new_total: float | None = None) -> None:
            bar.update(task, completed=done, total=new_total if new_total else total)

        yield update


def _when(timestamp: int | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


# -- files ----------------------------------------------------------------------------------

ExistingFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The file to upload.")
]


@files_app.command("upload")
def files_upload(
    path: ExistingFile,
    purpose: Annotated[Purpose, typer.Option(help="What the file is for.")] = "user_data",
) -> None:
    """Upload a file (large ones in parts, through the Uploads API); prints its id."""

    async def main() -> None:
        async with open_client() as client:
            with _progress(f"uploading {path.name} bytes", path.stat().st_size) as update:
                file = await client.files.upload(
                    path, purpose=purpose, on_progress=lambda sent, total: update(sent, total)
                )
        print(file.id)
        print(f"{file.filename}: {file.bytes} bytes, purpose {file.purpose}", file=sys.stderr)

    run(main)


@files_app.command("list")
def files_list(
    purpose: Annotated[str | None, typer.Option(help="Only the files with this purpose.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many files.")] = 100,
) -> None:
    """The files stored, newest first."""

    async def main() -> None:
        rows: list[list[str]] = []
        async with open_client() as client:
            async for file in client.files.list(purpose=purpose, order="desc"):
                rows.append(
                    [
                        file.id or "",
                        file.filename or "",
                        str(file.bytes or 0),
                        file.purpose or "",
                        _when(file.created_at),
                    ]
                )
                if len(rows) >= limit:
                    break
        print_table(["id", "filename", "bytes", "purpose", "created (UTC)"], rows)

    run(main)


@files_app.command("download")
def files_download(
    file_id: Annotated[str, typer.Argument(help="The file's id (file-...).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", dir_okay=False, help="Where to write it (default: its filename)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a file already there.")] = False,
) -> None:
    """Download a file's content, streamed to disk."""

    async def main() -> None:
        async with open_client() as client:
            target = output
            info = None
            if target is None:
                info = await client.files.retrieve(file_id)
                target = Path(Path(info.filename or file_id).name)
            if target.exists() and not force:
                raise UsageProblem(f"{target} exists: pass --force to overwrite it, or -o PATH")
            body = await client.files.content(file_id)
            total = body.content_length
            written = 0
            try:
                if total is None:
                    # A chunked answer has no length: the file's own size makes the bar a
                    # bar, not a counter.
                    info = info or await client.files.retrieve(file_id)
                    total = info.bytes
                with _progress(f"downloading {target.name} bytes", total) as update:
                    async with await anyio.open_file(target, "wb") as out:
                        async for chunk in body:
                            await out.write(chunk)
                            written += len(chunk)
                            update(written)
            finally:
                await body.aclose()
        print(f"{target}: {written} bytes", file=sys.stderr)

    run(main)


@files_app.command("delete")
def files_delete(
    file_ids: Annotated[list[str], typer.Argument(help="The ids of the files to delete.")],
) -> None:
    """Delete files."""

    async def main() -> None:
        async with open_client() as client:
            for file_id in file_ids:
                await client.files.delete(file_id)
                print(f"deleted {file_id}")

    run(main)


# -- batches --------------------------------------------------------------------------------


class _Line:
    """One line of a batch input file, as the batch pipeline takes a builder: its path and
    body."""

    __slots__ = ("_body", "path")

    def __init__(self, path: str, body: dict[str, Any]) -> None:
        self.path = path
        self._body = body

    def request_body(self) -> dict[str, Any]:
        """The line's body."""
        return self._body


def _read_jsonl(path: Path) -> list[tuple[str, _Line]]:
    """(custom_id, request) per line of a Batch API input file; a bad line is a usage error
    naming its number."""
    requests = []
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                line = msgspec.json.decode(raw)
            except msgspec.DecodeError as exc:
                raise UsageProblem(f"{path}:{number}: not JSON ({exc})") from None
            custom_id, url, body = (
                (line.get(key) for key in ("custom_id", "url", "body"))
                if isinstance(line, dict)
                else (None, None, None)
            )
            if not isinstance(custom_id, str) or not isinstance(body, dict):
                raise UsageProblem(
                    f"{path}:{number}: a batch line needs custom_id (a string), url and "
                    'body (an object), as in {"custom_id": "q1", "method": "POST", '
                    '"url": "/v1/chat/completions", "body": {...}}'
                )
            if not isinstance(url, str) or not url.startswith("/v1/"):
                raise UsageProblem(f"{path}:{number}: url must be an API path like /v1/responses")
            requests.append((custom_id, _Line(url.removeprefix("/v1"), body)))
    if not requests:
        raise UsageProblem(f"{path} holds no requests")
    return requests


def _wait_with_bar(job: Any, timeout: float) -> Any:
    async def wait() -> Any:
        with _progress("requests done", None) as update:

            def report(progress: Any) -> None:
                update(progress.completed + progress.failed, progress.total or None)

            return await job.wait(timeout=timeout, progress=report)

    return wait()


def _print_batches(batches: list[Any]) -> None:
    rows = []
    for batch in batches:
        counts = batch.request_counts
        done = f"{counts.completed or 0}/{counts.total or 0}" if counts else ""
        failed = str(counts.failed or 0) if counts else ""
        rows.append([batch.id or "", batch.status or "", done, failed, batch.endpoint or ""])
    print_table(["id", "status", "completed", "failed", "endpoint"], rows)


BatchIds = Annotated[list[str], typer.Argument(help="The batch ids (batch_...).")]
Timeout = Annotated[float, typer.Option(min=0.001, help="Give up waiting after this many seconds.")]


@batch_app.command("submit")
def batch_submit(
    path: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="The JSONL requests."),
    ],
    wait: Annotated[bool, typer.Option(help="Wait for the batches to end.")] = False,
    timeout: Timeout = 25 * 3600.0,
) -> None:
    """Split FILE.jsonl at the service's limits, upload it and create the batches; prints their
    ids (give them to status, wait, results, cancel)."""
    requests = _read_jsonl(path)

    async def main() -> None:
        async with open_client() as client:
            batch = client.batch()
            for custom_id, request in requests:
                batch = batch.add(custom_id, request)
            with _progress(f"submitting {len(requests)} requests", None):
                job = await batch.submit()
            for batch_id in job.ids:
                print(batch_id)
            if wait:
                _print_batches(await _wait_with_bar(job, timeout))

    run(main)


@batch_app.command("status")
def batch_status(batch_ids: BatchIds) -> None:
    """The status and request counts of batches."""

    async def main() -> None:
        async with open_client() as client:
            _print_batches([await client.batches.retrieve(b) for b in batch_ids])

    run(main)


@batch_app.command("wait")
def batch_wait(batch_ids: BatchIds, timeout: Timeout = 25 * 3600.0) -> None:
    """Wait, with a progress bar, until the batches have ended."""

    async def main() -> None:
        async with open_client() as client:
            job = await client.batch().resume(*batch_ids)
            _print_batches(await _wait_with_bar(job, timeout))

    run(main)


@batch_app.command("results")
def batch_results(
    batch_ids: BatchIds,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write the JSONL here, not stdout."),
    ] = None,
) -> None:
    """The results as JSONL, a line per request: {"custom_id", "response"} or {"custom_id",
    "error"}. Exits 1 when any request failed."""
    from openai_ergo import BatchLineError

    async def main() -> None:
        failed = 0
        out = output.open("wb") if output is not None else sys.stdout.buffer
        try:
            async with open_client() as client:
                job = await client.batch().resume(*batch_ids)
                async with job.results() as results:
                    async for result in results:
                        if isinstance(result, BatchLineError):
                            failed += 1
                            line: dict[str, Any] = {
                                "custom_id": result.custom_id,
                                "error": {
                                    "status_code": result.status_code,
                                    "code": result.code,
                                    "message": result.message,
                                },
                            }
                        else:
                            value = result.value
                            to_dict = getattr(value, "to_dict", None)
                            line = {
                                "custom_id": result.custom_id,
                                "response": to_dict() if to_dict else msgspec.to_builtins(value),
                            }
                        out.write(msgspec.json.encode(line) + b"\n")
        finally:
            out.flush()
            if output is not None:
                out.close()
        if failed:
            raise _FailedLines(failed)

    run(main)


class _FailedLines(OpenAIErgoError):
    """Some lines of a batch failed (their errors are in the output)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} request{'s' if count != 1 else ''} of the batch failed")


@batch_app.command("cancel")
def batch_cancel(batch_ids: BatchIds) -> None:
    """Cancel batches (what finished stays in their output)."""

    async def main() -> None:
        async with open_client() as client:
            job = await client.batch().resume(*batch_ids)
            _print_batches(await job.cancel())

    run(main)
