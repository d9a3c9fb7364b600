"""`tokens count` (the tokens of text, chat messages or Responses input, counted offline) and
`tokens cost` (what a usage costs, from the dated price table). Neither needs a key or the
network: both are the library's `TokenCounter` and `cost_of` from a terminal."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from openai_ergo import InvalidRequestError, TokenCounter, TokenUsage, default_prices
from openai_ergo.cli._session import UsageProblem

__all__ = ["tokens_app"]

tokens_app = typer.Typer(
    help="Count tokens and price usage, offline (no key, no network).", no_args_is_help=True
)

DEFAULT_MODEL = "gpt-4o"
METHODS = {"tiktoken": "tiktoken (exact)", "estimate": "estimate (4 characters a token)"}

JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


def _read(path: Path, option: str) -> str:
    if not path.is_file():
        raise UsageProblem(f"{option}: no file at {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageProblem(f"{option}: {path} is not UTF-8 text ({exc.reason})") from None


def _load_json(path: Path, option: str) -> Any:
    text = _read(path, option)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageProblem(
            f"{option}: {path} is not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
        ) from None


def _is_chat(items: list[Any]) -> bool:
    """Chat messages carry a role and no item `type`; Responses input items may carry both."""
    return all(isinstance(m, Mapping) and "role" in m and "type" not in m for m in items)


def _count_messages(counter: TokenCounter, data: Any, path: Path) -> tuple[int, str]:
    """The tokens of a messages file, and its shape: `chat` or `responses`."""
    if isinstance(data, list):
        if _is_chat(data):
            return counter.count_messages(data), "chat"
        return counter.count_responses_input(data), "responses"
    if isinstance(data, Mapping):
        if isinstance(data.get("messages"), list):
            return counter.count_messages(data["messages"], tools=data.get("tools") or None), "chat"
        if "input" in data or "instructions" in data:
            value = data.get("input")
            instructions = data.get("instructions")
            if value is not None and not isinstance(value, str | list):
                raise UsageProblem(f"--messages: {path}: input must be a string or a list")
            if instructions is not None and not isinstance(instructions, str):
                raise UsageProblem(f"--messages: {path}: instructions must be a string")
            return counter.count_responses_input(
                value, instructions=instructions, tools=data.get("tools") or None
            ), "responses"
    raise UsageProblem(
        f"--messages: {path} holds neither a list of messages or input items nor a request "
        'with "messages" or "input"'
    )


@tokens_app.command("count")
def count(
    text: Annotated[
        str | None, typer.Argument(help="The text (else --file, --messages or piped stdin).")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="The model whose encoding counts.")
    ] = DEFAULT_MODEL,
    file: Annotated[
        Path | None, typer.Option("--file", help="Count this UTF-8 text file.", dir_okay=False)
    ] = None,
    messages: Annotated[
        Path | None,
        typer.Option(
            "--messages",
            help="A JSON file of chat messages, Responses input items, or a request body "
            "with them; counted with the per-message overheads.",
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The tokens of text or of a request's messages, as the model reads them: exact with
    tiktoken (the tokens extra), else an estimate."""
    given = [
        name
        for name, value in (("TEXT", text), ("--file", file), ("--messages", messages))
        if value is not None
    ]
    if len(given) > 1:
        raise UsageProblem(f"give one of TEXT, --file or --messages, not {' and '.join(given)}")
    if not model.strip():
        raise UsageProblem("--model: give a model name")
    counter = TokenCounter(model)
    kind = "text"
    if messages is not None:
        tokens, kind = _count_messages(counter, _load_json(messages, "--messages"), messages)
    else:
        if file is not None:
            content = _read(file, "--file")
        elif text is not None:
            content = text
        elif not sys.stdin.isatty():
            content = sys.stdin.read()
        else:
            raise UsageProblem("give the text to count: TEXT, --file PATH, --messages or stdin")
        tokens = counter.count(content)
    if as_json:
        print(
            json.dumps(
                {
                    "tokens": tokens,
                    "model": model,
                    "encoding": counter.encoding_name,
                    "method": counter.method,
                    "input": kind,
                }
            )
        )
        return
    print(f"tokens    {tokens}")
    print(f"model     {model}")
    print(f"encoding  {counter.encoding_name}")
    print(f"method    {METHODS[counter.method]}")
    if kind != "text":
        print(f"input     {kind} (with the per-message overheads)")


def _usage(
    usage_file: Path | None, input: int | None, output: int | None, cached: int | None
) -> TokenUsage:
    if usage_file is not None:
        if input is not None or output is not None or cached is not None:
            raise UsageProblem("give --usage or --input/--output/--cached, not both")
        data = _load_json(usage_file, "--usage")
        if isinstance(data, Mapping) and isinstance(data.get("usage"), Mapping):
            data = data["usage"]  # a whole response, as saved
        known = ("input_tokens", "output_tokens", "prompt_tokens", "completion_tokens")
        if not isinstance(data, Mapping) or not any(key in data for key in known):
            raise UsageProblem(
                f"--usage: {usage_file} is not a usage object (no input_tokens/output_tokens "
                "or prompt_tokens/completion_tokens)"
            )
        try:
            usage = TokenUsage.of(data)
        except InvalidRequestError as exc:
            raise UsageProblem(f"--usage: {usage_file}: {exc}") from None
    else:
        if input is None and output is None:
            raise UsageProblem("give the tokens: --input N and --output N, or --usage FILE.json")
        usage = TokenUsage(input=input or 0, output=output or 0, cached_input=cached or 0)
    if usage.cached_input > usage.input:
        raise UsageProblem(
            f"cached tokens ({usage.cached_input}) are part of the input, so cannot exceed "
            f"it ({usage.input})"
        )
    return usage


def _exact(value: Decimal) -> str:
    """The amount with no trailing zeros and no exponent: `2.5`, `0.0000375`."""
    return f"{value.normalize():f}"


def _dollars(value: Decimal) -> str:
    """Exact, never rounded, never in exponent notation: `$0.0000375`."""
    exact = value.normalize()
    places = -int(exact.as_tuple().exponent)
    return f"${exact:.{max(places, 2)}f}"


@tokens_app.command("cost")
def cost(
    model: Annotated[str, typer.Option("--model", "-m", help="The model billed.")],
    input: Annotated[int | None, typer.Option("--input", min=0, help="Input tokens.")] = None,
    output: Annotated[int | None, typer.Option("--output", min=0, help="Output tokens.")] = None,
    cached: Annotated[
        int | None, typer.Option("--cached", min=0, help="Cached input tokens (part of --input).")
    ] = None,
    usage_file: Annotated[
        Path | None,
        typer.Option(
            "--usage",
            help="A usage object as the API returns it (chat or Responses), or a response "
            "holding one.",
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """What a usage costs on a model, by part, from the dated price table (US dollars)."""
    usage = _usage(usage_file, input, output, cached)
    table = default_prices()
    price = table.find(model)
    if price is None:
        close = difflib.get_close_matches(model, list(table), n=3, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise UsageProblem(f"--model: no price for {model!r} in the table of {table.as_of}{hint}")
    # A snapshot, fine-tune or longer name is billed as the entry it derives from: say which.
    entry = next(name for name, found in table.items() if found is price)
    parts = price.parts(usage)
    total = price.cost(usage)
    if as_json:
        print(
            json.dumps(
                {
                    "model": model,
                    "priced_as": entry,
                    "as_of": table.as_of.isoformat(),
                    "usage": {
                        "input": usage.input,
                        "output": usage.output,
                        "cached_input": usage.cached_input,
                        "reasoning": usage.reasoning,
                        "audio_input": usage.audio_input,
                        "audio_output": usage.audio_output,
                        "image_input": usage.image_input,
                        "image_output": usage.image_output,
                    },
                    "parts": {name: _exact(value) for name, value in parts.items() if value},
                    "total": _exact(total),
                }
            )
        )
        return
    shown = model if entry == model else f"{model}, priced as {entry}"
    print(f"model         {shown} (prices as of {table.as_of}, US dollars)")
    for name, value in parts.items():
        if value or name in ("input", "output"):
            print(f"{name.replace('_', ' '):<14}{_dollars(value)}")
    print(f"{'total':<14}{_dollars(total)}")
