"""The `openai-ergo` command tree (Typer), and `run_app`, which turns every failure into one
line on stderr and an exit status: 0 success, 1 an API error, 2 a usage error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from openai_ergo import OpenAIErgoError
from openai_ergo.cli import _chat, _doctor, _files, _tokens
from openai_ergo.cli._chat import Api
from openai_ergo.cli._session import (
    INTERRUPTED,
    OK,
    SETTINGS,
    USAGE_ERROR,
    Backend,
    UsageProblem,
    open_client,
    print_table,
    report,
    run,
)

__all__ = ["app", "run_app"]

app = typer.Typer(
    name="openai-ergo",
    help=(
        "Talk to the OpenAI API (or the embedded mock) from a terminal: chat, ask, files, "
        "batches, models, tokens, doctor."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Print the traceback of an error, not only its line.")
    ] = False,
    mock: Annotated[
        bool,
        typer.Option(
            "--mock", help="Talk to the embedded mock server, whatever the environment says."
        ),
    ] = False,
    backend: Annotated[
        Backend,
        typer.Option("--backend", help="The event loop to run on (trio needs trio installed)."),
    ] = "asyncio",
) -> None:
    SETTINGS.debug = debug
    SETTINGS.mock = mock
    SETTINGS.backend = backend


# -- chat and ask ---------------------------------------------------------------------------

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help=f"The model (default: $OPENAI_ERGO_MODEL or {_chat.DEFAULT_MODEL})."
    ),
]
SystemOption = Annotated[
    str | None, typer.Option("--system", "-s", help="Instructions: the system message.")
]
ApiOption = Annotated[Api, typer.Option("--api", help="The API to call.")]
UsageOption = Annotated[
    bool, typer.Option("--usage", help="After each answer, show token usage and timing.")
]
PlainOption = Annotated[
    bool, typer.Option("--plain", help="Print the streamed text as is, never as Markdown.")
]


@app.command()
def chat(
    model: ModelOption = None,
    system: SystemOption = None,
    api: ApiOption = "responses",
    usage: UsageOption = False,
    plain: PlainOption = False,
) -> None:
    """An interactive session: answers stream as they are written and the history is kept.
    Ctrl-C stops an answer; Ctrl-D or /exit leaves. Piped stdin is read a question per line."""
    _chat.chat(
        model=model or _chat.default_model(),
        system=system,
        api=api,
        usage=usage,
        plain=plain,
    )


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question; text piped on stdin is added to it.")
    ] = None,
    model: ModelOption = None,
    system: SystemOption = None,
    api: ApiOption = "responses",
    usage: UsageOption = False,
    plain: PlainOption = False,
) -> None:
    """One answer, streamed."""
    _chat.ask(
        question,
        model=model or _chat.default_model(),
        system=system,
        api=api,
        usage=usage,
        plain=plain,
    )


# -- models ---------------------------------------------------------------------------------


@app.command()
def models() -> None:
    """The models the key may use."""

    async def main() -> None:
        async with open_client(fallback=True) as client:
            found = [model async for model in client.models.list()]
        rows = [[m.id or "", m.owned_by or ""] for m in sorted(found, key=lambda m: m.id or "")]
        print_table(["id", "owned by"], rows)

    run(main)


# -- tools of the repository: mock, bench, codegen ------------------------------------------


@app.command()
def mock(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed of the generated replies.")] = 0,
    tokens_per_second: Annotated[
        float | None, typer.Option(help="Pace of streamed tokens (default: unpaced).")
    ] = None,
    latency: Annotated[float, typer.Option(help="Seconds before the first token.")] = 0.0,
    reply_tokens: Annotated[int | None, typer.Option(help="Length of every reply.")] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    fail_next: Annotated[
        list[str] | None,
        typer.Option(
            metavar="FAULT",
            help='Fail the next request with FAULT, e.g. "rate_limit; retry_after=1" '
            "(repeatable; docs/mock-server.md lists the faults).",
        ),
    ] = None,
    api_key: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY", help="Accept only this key; others get 401 (repeatable)."),
    ] = None,
    strict_models: Annotated[
        bool, typer.Option(help="Refuse models outside the catalog, as the service does.")
    ] = False,
) -> None:
    """Serve the mock OpenAI API on 127.0.0.1 until Ctrl-C (the first line printed is its URL)."""
    from openai_ergo.mock.__main__ import main as serve_mock

    argv = ["--port", str(port), "--seed", str(seed), "--latency", str(latency)]
    if tokens_per_second is not None:
        argv += ["--tokens-per-second", str(tokens_per_second)]
    if reply_tokens is not None:
        argv += ["--reply-tokens", str(reply_tokens)]
    if access_log:
        argv.append("--access-log")
    for fault in fail_next or ():
        from openai_ergo.mock import Fault

        try:
            Fault.parse(fault)
        except ValueError as exc:
            raise typer.BadParameter(f"{fault!r}: {exc}", param_hint="--fail-next") from None
        argv += ["--fail-next", fault]
    for key in api_key or ():
        argv += ["--api-key", key]
    if strict_models:
        argv.append("--strict-models")
    raise typer.Exit(serve_mock(argv))


def _checkout() -> Path | None:
    """The source checkout this package runs from, if it does (benchmarks and spec beside it)."""
    root = Path(__file__).resolve().parent.parent.parent
    return root if (root / "benchmarks" / "__main__.py").is_file() else None


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context) -> None:
    """Run the benchmarks (python -m benchmarks, from a source checkout); the options are the
    benchmarks' own, e.g. --quick."""
    root = _checkout()
    if root is None:
        raise UsageProblem(
            "the benchmarks live in the source repository, not in the installed package: "
            "clone it and run `make bench` (or `openai-ergo bench` from the checkout)"
        )
    completed = subprocess.run([sys.executable, "-m", "benchmarks", *ctx.args], cwd=root)
    raise typer.Exit(completed.returncode)


@app.command()
def codegen(
    spec: Annotated[
        Path | None,
        typer.Argument(help="The OpenAPI spec (default: the checkout's copy).", dir_okay=False),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Argument(
            help="The project root to write under (default: the checkout).", file_okay=False
        ),
    ] = None,
) -> None:
    """Regenerate the typed tier from the OpenAPI spec (openai_ergo.codegen)."""
    root = _checkout()
    if spec is None or out_dir is None:
        if root is None:
            raise UsageProblem(
                "give the spec and the output folder: openai-ergo codegen SPEC OUT_DIR "
                "(the defaults exist only in a source checkout)"
            )
        spec = spec or root / "openai_ergo" / "codegen" / "spec" / "openai-openapi.yaml"
        out_dir = out_dir or root
    if not spec.is_file():
        raise UsageProblem(f"no spec at {spec}")
    try:
        from openai_ergo.codegen import main as generate
    except ImportError as exc:
        raise UsageProblem(
            f"the generator needs its extra ({exc.name} is missing): "
            "pip install 'openai-ergo[codegen]'"
        ) from exc
    raise typer.Exit(generate([str(spec), str(out_dir)]))


# -- the rest lives beside its subject ------------------------------------------------------

app.command()(_doctor.doctor)
config_app = typer.Typer(help="The effective configuration.", no_args_is_help=True)
config_app.command("show")(_doctor.config_show)
app.add_typer(config_app, name="config")
app.add_typer(_files.files_app, name="files")
app.add_typer(_files.batch_app, name="batch")
app.add_typer(_tokens.tokens_app, name="tokens")


def _usage_error(exc: Exception) -> tuple[str, int] | None:
    """The message and status of a command-line parsing error, if `exc` is one. Typer raises
    its own copy of click's exceptions, so they are told apart by their interface."""
    message = getattr(exc, "format_message", None)
    status = getattr(exc, "exit_code", None)
    if isinstance(exc, OpenAIErgoError) or message is None or not isinstance(status, int):
        return None
    if type(exc).__name__ == "NoArgsIsHelpError":  # a group run bare: its help, as is
        return "", status
    text = " ".join(str(message()).split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and status == USAGE_ERROR:
        text += f" (see {ctx.command_path} --help)"
    return text, status


def run_app(argv: list[str]) -> int:
    """Run the command line; every failure becomes one line on stderr and its exit status."""
    command = typer.main.get_command(app)
    try:
        result: Any = command.main(args=argv, prog_name="openai-ergo", standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        return INTERRUPTED
    except (Exception, KeyboardInterrupt) as exc:
        usage = _usage_error(exc) if isinstance(exc, Exception) else None
        if usage is None:
            return report(exc)
        text, status = usage
        if text:
            print(f"error: {text}", file=sys.stderr, flush=True)
        else:
            print(str(getattr(exc, "format_message", str)()).rstrip(), file=sys.stderr)
        return status
    return result if isinstance(result, int) else OK
