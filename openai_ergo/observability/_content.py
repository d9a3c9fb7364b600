"""Prompts and completions in the GenAI semantic conventions' message shape, redacted.

Captured only when asked (`OpenTelemetry(capture_content=True)`, `AuditLog(include_content=True)`).
Every text passes through the secret scrubber (API keys, bearer tokens, JWTs: the same one the
logs use), then the caller's own `redact` (for personal data), then is cut to `max_chars`. Only
text and tool calls are kept: images, audio and files are named by their kind, never inlined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from openai_ergo._pipeline._logging import redact_text
from openai_ergo._pipeline._observe import Operation

__all__ = ["ContentRedactor", "input_messages", "output_messages", "system_instructions"]

Redact = Callable[[str], str]


class ContentRedactor:
    """Scrubs secrets, applies the caller's `redact`, and cuts each text to `max_chars`."""

    __slots__ = ("max_chars", "redact", "secrets")

    def __init__(
        self, redact: Redact | None = None, max_chars: int = 4096, secrets: tuple[str, ...] = ()
    ) -> None:
        if max_chars < 1:
            raise ValueError(f"max_content_chars must be >= 1, not {max_chars!r}")
        self.redact = redact
        self.max_chars = max_chars
        self.secrets = secrets

    def __call__(self, text: str) -> str:
        text = redact_text(text, self.secrets)
        if self.redact is not None:
            text = self.redact(text)
        if len(text) > self.max_chars:
            text = text[: self.max_chars - 1] + "…"
        return text


def _plain(value: Any) -> Any:
    """A body or result as dicts and lists (a Struct converted, a dict as it is)."""
    if value is None or isinstance(value, dict | list | str):
        return value
    if isinstance(value, bytes | bytearray):
        try:
            return msgspec.json.decode(value)
        except msgspec.DecodeError:
            return None
    try:
        return msgspec.to_builtins(value)
    except TypeError:
        return None


def _text_parts(content: Any, clean: ContentRedactor) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": clean(content)}]
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, Mapping):
                continue
            kind = str(part.get("type", ""))
            text = part.get("text")
            if isinstance(text, str):
                parts.append({"type": "text", "content": clean(text)})
            elif kind:
                # An image, audio or file: named, never inlined.
                parts.append({"type": kind})
    return parts


def _tool_call(call_id: Any, name: Any, arguments: Any, clean: ContentRedactor) -> dict[str, Any]:
    return {
        "type": "tool_call",
        "id": call_id,
        "name": name,
        "arguments": clean(arguments) if isinstance(arguments, str) else arguments,
    }


def system_instructions(body: Any, clean: ContentRedactor) -> list[dict[str, Any]]:
    """The Responses API's `instructions`, as text parts (chat keeps its system messages in
    the history)."""
    plain = _plain(body)
    if not isinstance(plain, Mapping):
        return []
    instructions = plain.get("instructions")
    return _text_parts(instructions, clean) if isinstance(instructions, str) else []


def input_messages(body: Any, clean: ContentRedactor) -> list[dict[str, Any]]:
    """The messages a chat or Responses request sent, oldest first."""
    plain = _plain(body)
    if not isinstance(plain, Mapping):
        return []
    messages: list[dict[str, Any]] = []
    items = plain.get("messages")
    if items is None:
        items = plain.get("input")
    if isinstance(items, str):
        return [{"role": "user", "parts": _text_parts(items, clean)}]
    if not isinstance(items, list):
        return messages
    for item in items:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "function_call_output":
            output = item.get("output")
            result = clean(output) if isinstance(output, str) else output
            part = {"type": "tool_call_response", "id": item.get("call_id"), "result": result}
            messages.append({"role": "tool", "parts": [part]})
        elif kind == "function_call":
            call = _tool_call(item.get("call_id"), item.get("name"), item.get("arguments"), clean)
            messages.append({"role": "assistant", "parts": [call]})
        elif item.get("role") == "tool":
            content = item.get("content")
            result = clean(content) if isinstance(content, str) else content
            part = {"type": "tool_call_response", "id": item.get("tool_call_id"), "result": result}
            messages.append({"role": "tool", "parts": [part]})
        elif "role" in item:
            parts = _text_parts(item.get("content"), clean)
            for call in item.get("tool_calls") or ():
                function = call.get("function") or {}
                parts.append(
                    _tool_call(
                        call.get("id"), function.get("name"), function.get("arguments"), clean
                    )
                )
            messages.append({"role": item["role"], "parts": parts})
    return messages


def output_messages(operation: Operation, clean: ContentRedactor) -> list[dict[str, Any]]:
    """What the model answered: one message per choice (chat), or the output items
    (Responses), each with its finish reason."""
    plain = _plain(operation.result if operation.result is not None else operation.content)
    if not isinstance(plain, Mapping):
        return []
    reasons = operation.finish_reasons
    messages: list[dict[str, Any]] = []
    choices = plain.get("choices")
    if isinstance(choices, list):
        for index, choice in enumerate(choices):
            message = choice.get("message") or {}
            parts = _text_parts(message.get("content"), clean)
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                parts.append(
                    _tool_call(
                        call.get("id"), function.get("name"), function.get("arguments"), clean
                    )
                )
            reason = choice.get("finish_reason") or (reasons[index] if index < len(reasons) else "")
            messages.append({"role": "assistant", "parts": parts, "finish_reason": reason})
        return messages
    output = plain.get("output")
    if not isinstance(output, list):
        return messages
    parts = []
    for item in output:
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "message":
            parts += _text_parts(item.get("content"), clean)
        elif item.get("type") == "function_call":
            parts.append(
                _tool_call(item.get("call_id"), item.get("name"), item.get("arguments"), clean)
            )
    if parts:
        messages.append(
            {"role": "assistant", "parts": parts, "finish_reason": reasons[0] if reasons else ""}
        )
    return messages
