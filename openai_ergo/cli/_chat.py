"""`chat` (a session that keeps its history) and `ask` (one answer), both streamed.

Answers render as Markdown, live, when stdout is a terminal, and as the plain streamed text
otherwise. In an interactive session Ctrl-C stops the answer being streamed (the session and
its history stay: the question and the part of the answer shown are kept); at the prompt it
only says how to leave, which is Ctrl-D or `/exit`.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from anyio.abc import TaskStatus

from openai_ergo import Client, OpenAIErgoError
from openai_ergo.cli._session import UsageProblem, open_client, report, run

__all__ = ["DEFAULT_MODEL", "ask", "chat", "default_model"]

Api = Literal["responses", "chat"]

#: The model when neither --model nor OPENAI_ERGO_MODEL names one.
DEFAULT_MODEL = "gpt-4.1-mini"
PROMPT = "you> "
LEAVE_HINT = "(Ctrl-D or /exit leaves the session)"
SESSION_HELP = "/exit leaves, /reset forgets the history, /usage shows usage and timing, /help"


@dataclass(slots=True)
class Answer:
    """One streamed answer: its text, and what was measured of it."""

    parts: list[str] = field(default_factory=list)
    stopped: bool = False
    first_token: float | None = None
    elapsed: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self.parts)

    def stats(self) -> str:
        """Usage and timing as one line."""
        usage = (
            f"{self.input_tokens} input + {self.output_tokens} output tokens"
            if self.input_tokens is not None
            else "usage not reported"
        )
        ttft = f"{self.first_token * 1000:.0f} ms" if self.first_token is not None else "-"
        return f"[{usage}; first token {ttft}; {self.elapsed:.2f} s]"


class AnswerView:
    """Shows an answer as it streams: live Markdown on a terminal, plain text elsewhere.

    A delta is only appended here; the Markdown is parsed when Rich refreshes the screen (at
    most `REFRESHES` times a second), so a long answer costs a parse per frame, not per token.
    """

    REFRESHES = 12

    def __init__(self, *, markdown: bool) -> None:
        self._markdown = markdown
        self._parts: list[str] = []
        self._live: Any = None
        self._shown: tuple[int, Any] = (-1, None)

    def _renderable(self) -> Any:
        count, rendered = self._shown
        if count != len(self._parts):
            from rich.markdown import Markdown

            rendered = Markdown("".join(self._parts))
            self._shown = (len(self._parts), rendered)
        return rendered

    def __enter__(self) -> AnswerView:
        if self._markdown:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                console=Console(),
                get_renderable=self._renderable,
                refresh_per_second=self.REFRESHES,
                vertical_overflow="visible",
            )
            self._live.__enter__()
        return self

    def add(self, text: str) -> None:
        """Show one more piece of the answer."""
        self._parts.append(text)
        if self._live is None:
            sys.stdout.write(text)
            sys.stdout.flush()

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.__exit__(None, None, None)
        elif self._parts:
            sys.stdout.write("\n")
            sys.stdout.flush()


@dataclass(slots=True)
class Conversation:
    """The model, API and history of a session; `messages` alternate user and assistant."""

    model: str
    api: Api
    system: str | None
    messages: list[dict[str, str]] = field(default_factory=list)

    async def answer(self, client: Client, question: str, view: AnswerView) -> Answer:
        """Stream the answer to `question` into `view` and keep both in the history, also when
        cancelled (the part shown)."""
        answer = Answer()
        turn = [*self.messages, {"role": "user", "content": question}]
        started = time.perf_counter()
        try:
            if self.api == "responses":
                await self._responses(client, turn, view, answer, started)
            else:
                await self._chat(client, turn, view, answer, started)
        except anyio.get_cancelled_exc_class():
            answer.stopped = True
            if answer.text:
                self.messages = [*turn, {"role": "assistant", "content": answer.text}]
            raise
        finally:
            answer.elapsed = time.perf_counter() - started
        self.messages = [*turn, {"role": "assistant", "content": answer.text}]
        return answer

    def _seen(self, answer: Answer, view: AnswerView, text: str, started: float) -> None:
        if answer.first_token is None:
            answer.first_token = time.perf_counter() - started
        answer.parts.append(text)
        view.add(text)

    async def _responses(
        self,
        client: Client,
        turn: list[dict[str, str]],
        view: AnswerView,
        answer: Answer,
        started: float,
    ) -> None:
        builder = client.responses(self.model).input(turn)
        if self.system:
            builder = builder.instructions(self.system)
        async with builder.stream() as stream:
            async for text in stream.text():
                self._seen(answer, view, text, started)
        usage = stream.final().usage
        if usage is not None:
            answer.input_tokens, answer.output_tokens = usage.input_tokens, usage.output_tokens

    async def _chat(
        self,
        client: Client,
        turn: list[dict[str, str]],
        view: AnswerView,
        answer: Answer,
        started: float,
    ) -> None:
        system = [{"role": "system", "content": self.system}] if self.system else []
        builder = client.chat(self.model).messages([*system, *turn])
        async with builder.stream() as stream:
            async for text in stream.text():
                self._seen(answer, view, text, started)
        usage = stream.final().usage
        if usage is not None:
            answer.input_tokens = usage.prompt_tokens
            answer.output_tokens = usage.completion_tokens


def _markdown_wanted(plain: bool) -> bool:
    if plain or not sys.stdout.isatty():
        return False
    from rich.console import Console

    return not Console().is_dumb_terminal


def _mock_options() -> dict[str, Any]:
    # On a terminal the fallback mock paces its tokens like a model, so streaming shows.
    return {"tokens_per_second": 40.0} if sys.stdout.isatty() else {}


def _print_stats(answer: Answer) -> None:
    print(answer.stats(), file=sys.stderr, flush=True)


# -- ask ----------------------------------------------------------------------------------


def ask(
    question: str | None, *, model: str, system: str | None, api: Api, usage: bool, plain: bool
) -> None:
    """One streamed answer to `question`, with piped stdin appended to it."""
    piped = "" if sys.stdin.isatty() else sys.stdin.read()
    text = "\n\n".join(part for part in (question, piped.strip()) if part)
    if not text.strip():
        raise UsageProblem('ask needs a question: openai-ergo ask "..." (or text piped on stdin)')
    conversation = Conversation(model=model, api=api, system=system)

    async def main() -> None:
        async with open_client(fallback=True, **_mock_options()) as client:
            with AnswerView(markdown=_markdown_wanted(plain)) as view:
                answer = await conversation.answer(client, text, view)
        if usage:
            _print_stats(answer)

    run(main)


# -- chat ---------------------------------------------------------------------------------


class _Session:
    """An interactive session's state between the prompt and the answer being streamed."""

    def __init__(self) -> None:
        self.answering: anyio.CancelScope | None = None

    async def watch_interrupts(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Ctrl-C stops the answer in flight; at the prompt it says how to leave."""
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            task_status.started()
            async for _ in signals:
                if self.answering is not None:
                    self.answering.cancel()
                else:
                    # The terminal dropped the line being typed; the read goes on.
                    print(f"\n{LEAVE_HINT}", file=sys.stderr, flush=True)
                    print(PROMPT, end="", file=sys.stderr, flush=True)


def _read_line(prompt: str | None) -> str | None:
    if prompt is not None:
        print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    return None if line == "" else line.rstrip("\n")


def chat(*, model: str, system: str | None, api: Api, usage: bool, plain: bool) -> None:
    """The interactive session: a question per line, answers streamed, history kept."""
    interactive = sys.stdin.isatty()
    conversation = Conversation(model=model, api=api, system=system)
    markdown = _markdown_wanted(plain)

    async def turn(client: Client, question: str, session: _Session | None) -> Answer:
        with anyio.CancelScope() as scope:
            if session is not None:
                session.answering = scope
            try:
                with AnswerView(markdown=markdown) as view:
                    return await conversation.answer(client, question, view)
            finally:
                if session is not None:
                    session.answering = None
        print("(stopped)", file=sys.stderr, flush=True)
        return Answer(stopped=True)

    async def main() -> None:
        show_usage = usage
        async with open_client(fallback=True, **_mock_options()) as client:
            session = _Session() if interactive else None
            async with anyio.create_task_group() as tasks:
                if session is not None:
                    await tasks.start(session.watch_interrupts)
                    print(
                        f"{model} over the {api} API. {SESSION_HELP}.",
                        file=sys.stderr,
                        flush=True,
                    )
                while True:
                    line = await anyio.to_thread.run_sync(
                        _read_line, PROMPT if interactive else None
                    )
                    if line is None:
                        if interactive:
                            print(file=sys.stderr)
                        break
                    question = line.strip()
                    if not question:
                        continue
                    if interactive and question.startswith("/"):
                        command = question.lower()
                        if command in ("/exit", "/quit"):
                            break
                        if command == "/reset":
                            conversation.messages.clear()
                            print("(history cleared)", file=sys.stderr, flush=True)
                        elif command == "/usage":
                            show_usage = not show_usage
                            state = "on" if show_usage else "off"
                            print(f"(usage and timing {state})", file=sys.stderr, flush=True)
                        else:
                            print(SESSION_HELP, file=sys.stderr, flush=True)
                        continue
                    try:
                        answer = await turn(client, question, session)
                    except OpenAIErgoError as exc:
                        if not interactive:
                            raise
                        # One line, and the session goes on: the next question may work.
                        report(exc)
                        continue
                    if show_usage and not answer.stopped:
                        _print_stats(answer)
                tasks.cancel_scope.cancel()

    run(main)


def default_model() -> str:
    """OPENAI_ERGO_MODEL, else the built-in default."""
    return (os.environ.get("OPENAI_ERGO_MODEL") or "").strip() or DEFAULT_MODEL
