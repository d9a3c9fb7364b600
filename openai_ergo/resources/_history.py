"""`ChatHistory`: a conversation for Chat Completions, as an immutable value that grows by turns.

Each method returns a new history with one more message; the old one is unchanged, so a history
can be kept as a template, branched, or shared between tasks without copying by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, final, overload

from openai_ergo._errors import InvalidRequestError
from openai_ergo.resources._inputs import AudioInput, Content, FileInput, ImageInput, chat_part
from openai_ergo.types import ChatCompletion, ChatCompletionMessage

__all__ = ["ChatHistory", "assistant_message", "user_message"]

_CONTENT_KINDS = (str, ImageInput, FileInput, AudioInput)


def user_message(content: tuple[Content, ...], *, name: str | None = None) -> dict[str, Any]:
    """A user message from text and input values (plain text stays a plain string)."""
    if not content:
        raise InvalidRequestError("user() needs text or an input value", param="messages")
    for part in content:
        if not isinstance(part, _CONTENT_KINDS):
            raise InvalidRequestError(
                f"user() takes text, image(), file() or audio(), not {part!r}", param="messages"
            )
    message: dict[str, Any] = {"role": "user"}
    if len(content) == 1 and isinstance(content[0], str):
        message["content"] = content[0]
    else:
        message["content"] = [chat_part(part) for part in content]
    if name is not None:
        message["name"] = name
    return message


def assistant_message(message: ChatCompletionMessage) -> dict[str, Any]:
    """The request form of an assistant message the API returned (tool calls included)."""
    result: dict[str, Any] = {"role": "assistant"}
    # The API takes `content` as optional once `tool_calls` is there, and some compatible
    # servers (llama-cpp-python) reject `"content": null`: a turn of only tool calls omits it.
    if message.content is not None or not message.tool_calls:
        result["content"] = message.content
    if message.refusal:
        result["refusal"] = message.refusal
    if message.tool_calls:
        calls = []
        for call in message.tool_calls:
            entry: dict[str, Any] = {"id": call.id, "type": call.type}
            if call.function is not None:
                entry["function"] = {
                    "name": call.function.name,
                    "arguments": call.function.arguments,
                }
            if call.custom is not None:
                entry["custom"] = {"name": call.custom.name, "input": call.custom.input}
            calls.append(entry)
        result["tool_calls"] = calls
    if message.audio and message.audio.get("id"):
        result["audio"] = {"id": message.audio["id"]}
    return result


def _text(role: str, text: str, name: str | None) -> dict[str, Any]:
    if not isinstance(text, str):
        raise InvalidRequestError(f"{role}() takes text, not {text!r}", param="messages")
    message: dict[str, Any] = {"role": role, "content": text}
    if name is not None:
        message["name"] = name
    return message


@final
class ChatHistory:
    """An immutable list of chat messages: `history.user("Hi")` returns a longer history.

    ```python
    history = ChatHistory().system("Be terse.").user("Name a colour.")
    reply = await client.chat("gpt-4o-mini").messages(history)
    history = history.reply(reply).user("Another one.")
    ```
    """

    __slots__ = ("_messages",)

    def __init__(self, messages: Iterable[Mapping[str, Any]] = ()) -> None:
        checked: list[dict[str, Any]] = []
        for message in messages:
            if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
                raise InvalidRequestError(
                    f"every message needs a 'role', not {message!r}", param="messages"
                )
            checked.append(dict(message))
        self._messages: tuple[dict[str, Any], ...] = tuple(checked)

    @classmethod
    def _of(cls, messages: tuple[dict[str, Any], ...]) -> ChatHistory:
        history = object.__new__(cls)
        history._messages = messages
        return history

    def add(self, message: Mapping[str, Any]) -> ChatHistory:
        """A history with `message` (the API's JSON form) appended."""
        if not isinstance(message.get("role"), str):
            raise InvalidRequestError(
                f"every message needs a 'role', not {message!r}", param="messages"
            )
        return ChatHistory._of((*self._messages, dict(message)))

    def system(self, text: str, *, name: str | None = None) -> ChatHistory:
        """A history with a system message appended."""
        return self.add(_text("system", text, name))

    def developer(self, text: str, *, name: str | None = None) -> ChatHistory:
        """A history with a developer message appended (the system role of newer models)."""
        return self.add(_text("developer", text, name))

    def user(self, *content: Content, name: str | None = None) -> ChatHistory:
        """A history with a user message appended: text, images, files or audio."""
        return self.add(user_message(content, name=name))

    def assistant(self, text: str, *, name: str | None = None) -> ChatHistory:
        """A history with an assistant message appended (a past answer, or an example)."""
        return self.add(_text("assistant", text, name))

    def tool(self, call_id: str, output: str) -> ChatHistory:
        """A history with a tool result appended, answering tool call `call_id`."""
        return self.add({"role": "tool", "tool_call_id": call_id, "content": output})

    def reply(
        self, reply: ChatCompletion | ChatCompletionMessage, *, choice: int = 0
    ) -> ChatHistory:
        """A history with the model's answer appended (choice `choice` of a completion)."""
        if isinstance(reply, ChatCompletion):
            if not 0 <= choice < len(reply.choices):
                raise InvalidRequestError(
                    f"the completion has no choice {choice} ({len(reply.choices)} choices)",
                    param="choice",
                )
            reply = reply.choices[choice].message
        return self.add(assistant_message(reply))

    @property
    def messages(self) -> tuple[dict[str, Any], ...]:
        """The messages, oldest first, in the API's JSON form."""
        return self._messages

    def to_list(self) -> list[dict[str, Any]]:
        """The messages as a new list (for JSON, or for the official SDK)."""
        return [dict(message) for message in self._messages]

    def __len__(self) -> int:
        return len(self._messages)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._messages)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> ChatHistory: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | ChatHistory:
        if isinstance(index, slice):
            return ChatHistory._of(self._messages[index])
        return self._messages[index]

    def __add__(self, other: ChatHistory) -> ChatHistory:
        if not isinstance(other, ChatHistory):
            return NotImplemented
        return ChatHistory._of(self._messages + other._messages)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChatHistory):
            return NotImplemented
        return self._messages == other._messages

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        roles = ", ".join(message["role"] for message in self._messages[-6:])
        more = "…, " if len(self._messages) > 6 else ""
        return f"ChatHistory({len(self._messages)} messages: {more}{roles})"
