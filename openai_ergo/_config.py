"""Client configuration: timeouts, per-request options, and settings read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, final

from openai_ergo._errors import ConfigurationError

if TYPE_CHECKING:
    import httpx

    from openai_ergo._pipeline._retry import RetryPolicy

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: A dated Azure OpenAI data-plane version that serves every route the builders use,
#: `/responses` included (the GA 2024-10-21 does not).
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"

# Azure routes these per deployment: {endpoint}/openai/deployments/{model}{path}.
AZURE_DEPLOYMENT_PATHS = frozenset(
    {
        "/completions",
        "/chat/completions",
        "/embeddings",
        "/audio/transcriptions",
        "/audio/translations",
        "/audio/speech",
        "/images/generations",
        "/images/edits",
    }
)


@final
@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed for each phase of a request; `None` means no limit.

    `connect`, `read`, `write` and `pool` are the transport's (a read timeout bounds each read of
    a plain response). `total` bounds a whole plain request, retries and waits included.
    Streams use `stream_idle` — the longest silence between two reads — and `stream_total`, the
    deadline for the whole stream from its first byte. Override any of them per request with
    `RequestOptions(timeouts=...)`.
    """

    connect: float | None = 10.0
    read: float | None = 600.0
    write: float | None = 600.0
    pool: float | None = 30.0
    total: float | None = None
    stream_idle: float | None = 120.0
    stream_total: float | None = None

    def with_changes(self, **changes: float | None) -> Timeouts:
        """A copy with some fields changed: `timeouts.with_changes(read=30)`."""
        return replace(self, **changes)

    def for_transport(self, *, stream: bool) -> httpx.Timeout:
        """The httpx timeout for one attempt; a stream's reads are bounded by `stream_idle`."""
        import httpx  # loaded by the first Client: these settings are plain values until then

        read = self.stream_idle if stream else self.read
        return httpx.Timeout(connect=self.connect, read=read, write=self.write, pool=self.pool)


@final
@dataclass(frozen=True, slots=True)
class RequestOptions:
    """Per-request overrides of the client's defaults.

    `deployment` names the Azure deployment when the body has no `model` (raw bytes, say);
    `estimated_tokens` replaces the rate limiter's estimate; `endpoint` names the circuit-breaker
    route when the automatic one (method and path with ids folded) does not fit. `cache=False`
    keeps the request away from the client's `ResponseCache` (neither answered from it nor
    stored); `tag` names the caller for `UsageTracker` (usage and cost per tag) and for
    observers (audit records, metrics): it is never sent.
    """

    timeouts: Timeouts | None = None
    retry: RetryPolicy | None = None
    idempotency_key: str | None = None
    estimated_tokens: int | None = None
    deployment: str | None = None
    endpoint: str | None = None
    cache: bool = True
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class AzureSettings:
    """Where and how to reach an Azure OpenAI resource."""

    endpoint: str
    api_version: str | None
    #: The version-less `{endpoint}/openai/v1/` API, where `model` is the deployment name.
    v1: bool = False

    def url(self, path: str, model: str | None) -> tuple[str, dict[str, str]]:
        """The URL for an OpenAI-style `path`, and the query Azure expects with it."""
        query = {"api-version": self.api_version} if self.api_version else {}
        if self.v1:
            return f"{self.endpoint}/openai/v1{path}", query
        if path in AZURE_DEPLOYMENT_PATHS:
            if not model:
                raise ConfigurationError(
                    f"Azure routes {path} per deployment: give the request a model (the "
                    "deployment name) or RequestOptions(deployment=...)"
                )
            return f"{self.endpoint}/openai/deployments/{model}{path}", query
        return f"{self.endpoint}/openai{path}", query


def env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """An environment variable without the whitespace around it (a value set from a file keeps
    its final newline), with empty meaning unset."""
    value = (os.environ if environ is None else environ).get(name)
    return (value.strip() or None) if value else None


def setting(argument: str | None, name: str, variable: str) -> tuple[str | None, str]:
    """The argument if given, else the environment variable; with where the value came from
    (`name` or `variable`), for the message when the value is unusable."""
    if argument:
        return argument, name
    return env(variable), variable


def http_url(value: str, source: str) -> str:
    """`value` if it is an http:// or https:// URL with a host; else a `ConfigurationError`
    naming `source`, the argument or variable it came from."""
    import httpx

    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"{source} is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        hint = "" if "://" in value else f": write 'https://{value}' (http:// for a local server)"
        raise ConfigurationError(
            f"{source} must start with http:// or https:// (it is {value!r}){hint}"
        )
    if not url.host:
        raise ConfigurationError(f"{source} names no host (it is {value!r})")
    return value


def require(value: str | None, what: str, variable: str, argument: str) -> str:
    """`value`, or a `ConfigurationError` naming the variable and argument to set."""
    if not value:
        raise ConfigurationError(
            f"no {what}: set the {variable} environment variable or pass {argument}=..."
        )
    return value


def model_of(body: Any) -> str | None:
    """The `model` field of a dict or Struct body, if any."""
    model = body.get("model") if isinstance(body, dict) else getattr(body, "model", None)
    return model if isinstance(model, str) else None
