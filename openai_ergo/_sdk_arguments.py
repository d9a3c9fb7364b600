"""The official SDK's constructor arguments, mapped onto `Client`'s own.

`AsyncOpenAI(max_retries=2, timeout=30, default_headers=..., default_query=...)` ports to
`Client(...)` unchanged. Each SDK argument sets one of ours (`max_retries` → `retry`,
`timeout` → `timeouts`, `default_headers` → `headers`); given both, the client could only
guess which one you meant, so that is a `ConfigurationError` naming both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import httpx

from openai_ergo._config import Timeouts
from openai_ergo._errors import ConfigurationError
from openai_ergo._pipeline._retry import RetryPolicy

__all__ = ["headers_from_sdk", "query_from_sdk", "retry_from_sdk", "timeouts_from_sdk"]


def _one_of(sdk_name: str, ours: str, ours_given: bool) -> None:
    if ours_given:
        raise ConfigurationError(
            f"pass either {sdk_name}= (the official SDK's name) or {ours}=, not both: "
            f"{sdk_name}= sets {ours}="
        )


def retry_from_sdk(max_retries: object, retry: RetryPolicy | None) -> RetryPolicy | None:
    """`retry`, or the `RetryPolicy` that retries `max_retries` times (`max_attempts` is one
    more: the first attempt is not a retry). `max_retries=0` never retries."""
    if max_retries is None:
        return retry
    _one_of("max_retries", "retry", retry is not None)
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(
            f"max_retries= takes a whole number of retries, 0 or more, not {max_retries!r}"
        )
    return RetryPolicy(max_attempts=max_retries + 1)


def timeouts_from_sdk(timeout: object, timeouts: Timeouts | None) -> Timeouts | None:
    """`timeouts`, or the `Timeouts` the SDK's `timeout` means.

    Seconds bound each phase of an attempt, as `httpx.Timeout(seconds)` does: connect, read,
    write, pool, and the silence between a stream's events (a read, to httpx). An
    `httpx.Timeout` sets each phase from its own field (`None`: no limit), the stream's silence
    from its `read`. Neither bounds a whole request with its retries (`Timeouts.total`), as in
    the SDK.
    """
    if timeout is None:
        return timeouts
    _one_of("timeout", "timeouts", timeouts is not None)
    if isinstance(timeout, httpx.Timeout):
        return Timeouts(
            connect=timeout.connect,
            read=timeout.read,
            write=timeout.write,
            pool=timeout.pool,
            stream_idle=timeout.read,
        )
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not (math.isfinite(timeout) and timeout > 0)
    ):
        raise ConfigurationError(
            f"timeout= takes seconds (a positive number) or an httpx.Timeout, not {timeout!r}; "
            "for no limit on a phase, pass timeouts=Timeouts(read=None, ...)"
        )
    seconds = float(timeout)
    return Timeouts(connect=seconds, read=seconds, write=seconds, pool=seconds, stream_idle=seconds)


def headers_from_sdk(
    default_headers: Mapping[str, str] | None, headers: Mapping[str, str] | None
) -> Mapping[str, str] | None:
    """`headers`, or the SDK's `default_headers` (the same thing under its name)."""
    if default_headers is None:
        return headers
    _one_of("default_headers", "headers", headers is not None)
    return _checked_mapping("default_headers", default_headers, str)


def query_from_sdk(default_query: Mapping[str, Any] | None) -> dict[str, Any]:
    """The query parameters every request carries (the SDK's `default_query`); a request's own
    parameters of the same name win."""
    if default_query is None:
        return {}
    return dict(_checked_mapping("default_query", default_query, object))


def _checked_mapping(name: str, value: object, kind: type) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name}= takes a mapping of names to values, not {value!r}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, kind):
            raise ConfigurationError(
                f"{name}= takes {'strings' if kind is str else 'values'} by string names; "
                f"{key!r} maps to {type(item).__name__}"
            )
    return value
