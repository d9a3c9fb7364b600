"""Structured logging of each attempt, and scrubbing of secrets from anything printed.

Events go to `structlog.get_logger("openai_ergo")` only once the application has configured
structlog: unconfigured structlog prints to stdout, and a library must not talk until asked.
An application that configured structlog has imported it, so the client never imports structlog
itself (about 15 ms of import time saved for everyone else).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

LOGGER_NAME = "openai_ergo"
_logger: Any = None

_SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "api-key",
        "api_key",
        "apikey",
        "x-api-key",
        "token",
        "access_token",
        "password",
        "secret",
        "client_secret",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    }
)
_SECRET_PATTERNS = re.compile(
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=\-]+"  # an Authorization header value
    r"|\bsk-[A-Za-z0-9_\-]{6,}"  # OpenAI-style keys
    r"|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"  # JWTs (Entra, OAuth2)
)
REDACTED = "[redacted]"


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret and anything shaped like a key or token replaced."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    if "sk-" in text or "eyJ" in text or "earer" in text:
        text = _SECRET_PATTERNS.sub(REDACTED, text)
    return text


#: How much of a bad body or event an error quotes.
EXCERPT_CHARS = 160


def excerpt(data: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """The start of `data` as text on one line, at most `limit` characters, secrets removed."""
    if isinstance(data, bytes):
        # Decode a little more than is shown: a cut multi-byte character becomes U+FFFD.
        data = data[: limit * 4].decode("utf-8", errors="replace")
    text = " ".join(data.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    # Redact after cutting, so a key cut in two by the limit is still caught by its prefix.
    return redact_text(text)


def _redact_value(key: str, value: Any, secrets: Iterable[str]) -> Any:
    if key.lower() in _SENSITIVE_KEYS:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value("", v, secrets) for v in value)
    return value


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """`value` (a string, or dicts and lists of them) with every secret scrubbed."""
    return _redact_value("", value, tuple(secrets))


def redact_secrets(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor that scrubs API keys, bearer tokens and credential-named fields.

    The client applies it to its own events; add it to your own chain
    (`structlog.configure(processors=[redact_secrets, ...])`) to scrub everything else too.
    """
    for key, value in list(event_dict.items()):
        event_dict[key] = _redact_value(key, value, ())
    return event_dict


def logging_configured() -> bool:
    """Whether `log_event` would emit anything (the application configured structlog): a
    caller checks it before gathering what an event would say."""
    structlog = sys.modules.get("structlog")
    return structlog is not None and bool(structlog.is_configured())


def log_event(event: str, secrets: Iterable[str], /, *, failed: bool, **fields: Any) -> None:
    """Emit one event (warning when `failed`) once the application configured structlog;
    every field is scrubbed first."""
    global _logger
    structlog = sys.modules.get("structlog")
    if structlog is None or not structlog.is_configured():
        return
    if _logger is None:
        _logger = structlog.get_logger(LOGGER_NAME)
    logger = _logger
    clean = {key: _redact_value(key, value, secrets) for key, value in fields.items()}
    if failed:
        logger.warning(event, **clean)
    else:
        logger.info(event, **clean)
