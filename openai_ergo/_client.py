"""The `Client`: configuration, one shared connection pool, and the raw request tier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, final, overload

from anyio.abc import AsyncResource

from openai_ergo._config import (
    DEFAULT_AZURE_API_VERSION,
    DEFAULT_BASE_URL,
    AzureSettings,
    RequestOptions,
    Timeouts,
    env,
    http_url,
    model_of,
    require,
    setting,
)
from openai_ergo._errors import ConfigurationError
from openai_ergo._namespaces._generated import Namespaces
from openai_ergo._webhooks import Webhooks, checked_secret

if TYPE_CHECKING:
    import ssl

    import httpx
    from msgspec.json import encode as _encode

    from openai_ergo._cache._response_cache import ResponseCache
    from openai_ergo._health import Health
    from openai_ergo._multipart import MultipartBody
    from openai_ergo._pagination import Paginator
    from openai_ergo._pipeline._call import Call, CallHeaders, HeaderBase
    from openai_ergo._pipeline._circuit import CircuitBreaker
    from openai_ergo._pipeline._clock import Clock
    from openai_ergo._pipeline._middleware import Middleware
    from openai_ergo._pipeline._observe import Observer
    from openai_ergo._pipeline._ratelimit import RateLimiter
    from openai_ergo._pipeline._retry import RetryPolicy
    from openai_ergo._pipeline._send import Pipeline
    from openai_ergo._redis._ratelimit import RedisRateLimiter
    from openai_ergo._response import APIResponse, BinaryResponse, EventStream
    from openai_ergo.resources import SpeechBuilder, TranscriptionBuilder
    from openai_ergo.resources._assistants import AssistantRunBuilder
    from openai_ergo.resources._batch import BatchBuilder
    from openai_ergo.resources._fine_tuning import FineTuningJobBuilder
    from openai_ergo.resources._vector_stores import VectorStoreBuilder

T = TypeVar("T")

_VERSION = "0.1.0"
_NO_OPTIONS = RequestOptions()
#: The `Accept` header by what `request(stream=...)` returns.
_ACCEPT: dict[object, str] = {
    False: "application/json",
    True: "text/event-stream",
    "bytes": "*/*",
}


def _load_network_stack() -> None:
    """Import httpx, the transport and the request pipeline: the first `Client` pays for them,
    not `import openai_ergo` nor reading `openai_ergo.Client` (docs/design.md, "Decision:
    import cost"). What `request` uses becomes a module global, as cheap to reach as before."""
    global _encode, Call, CallHeaders, MultipartBody, Pipeline
    from msgspec.json import encode as _encode

    from openai_ergo._multipart import MultipartBody
    from openai_ergo._pipeline._call import Call, CallHeaders
    from openai_ergo._pipeline._send import Pipeline


def _merged_headers(base: httpx.AsyncClient | HeaderBase, extra: Mapping[str, str]) -> HeaderBase:
    import httpx

    from openai_ergo._pipeline._call import HeaderBase

    # Merged once here, so each request adds its own few to one shared list.
    merged = httpx.Headers(base.headers)
    merged.update(extra)
    return HeaderBase(merged)


def _checked_cache(cache: object) -> ResponseCache | None:
    if cache is None:
        return None
    from openai_ergo._cache._response_cache import ResponseCache

    if not isinstance(cache, ResponseCache):
        raise ConfigurationError(
            f"cache must be a ResponseCache, not {type(cache).__name__} (a CacheBackend goes "
            "in ResponseCache(backend=...))"
        )
    return cache


def _checked_observers(observers: Sequence[Observer]) -> tuple[Observer, ...]:
    from openai_ergo._pipeline._observe import Observer

    given = tuple(observers)
    for observer in given:
        if not isinstance(observer, Observer):
            raise ConfigurationError(
                f"observers= takes Observer instances (OpenTelemetry(), PrometheusMetrics(), "
                f"AuditLog(...) or your own subclass), not {type(observer).__name__}"
            )
    return given


@final
class Client(Namespaces, AsyncResource):
    """An async client for the OpenAI API (and Azure OpenAI, and compatible servers).

    Network settings: `proxy` (else `HTTP(S)_PROXY`/`ALL_PROXY`/`NO_PROXY` while `trust_env`),
    `verify` (an `ssl.SSLContext` for a private CA or a client certificate, or `False`),
    `http2`, `limits`; or your own `transport`, or a whole `http_client` (an
    `httpx.AsyncClient`, closed with this client, as the official SDK does).
    `observers` hear about every request: `OpenTelemetry()`, `PrometheusMetrics()`,
    `AuditLog(sink)` (docs/observability.md).

    Configuration comes from the arguments or the environment: `OPENAI_API_KEY`,
    `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID` (stripped of surrounding
    whitespace). It is checked here: a key that cannot go in an HTTP header, or a base URL
    without http:// or https://, is a `ConfigurationError` naming its source. Use it as an
    async context manager, or call `aclose()`. One `httpx.AsyncClient` (one connection pool)
    serves every request, and the clients `with_options()` derives from this one.

    The official SDK's constructor arguments work too, mapped onto these: `max_retries`
    (`retry=`), `timeout` in seconds or an `httpx.Timeout` (`timeouts=`), `default_headers`
    (`headers=`), `default_query` (query parameters on every request) and `webhook_secret`
    (else `OPENAI_WEBHOOK_SECRET`; `client.webhooks` verifies deliveries with it). Passing
    one beside the setting it maps onto is a `ConfigurationError` naming both.
    `cache=ResponseCache(...)` answers repeated requests without the network
    (docs/caching.md); accounting middleware (`UsageTracker`, `Budget`) goes in `middleware`.

    Every operation of the API is a typed method of a namespace named as the official SDK
    names it (`await client.files.retrieve(file_id)`, `client.vector_stores.files.list(...)`;
    docs/api-coverage.md lists them); `client.responses("gpt-5")` and `client.chat("m")` are
    the builders; `client.request(...)` reaches any path.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | RedisRateLimiter | Literal[False] | None = None,
        circuit_breaker: CircuitBreaker | Literal[False] | None = None,
        middleware: Sequence[Middleware] = (),
        cache: ResponseCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http2: bool = False,
        limits: httpx.Limits | None = None,
        proxy: str | httpx.URL | httpx.Proxy | None = None,
        verify: ssl.SSLContext | bool = True,
        trust_env: bool = True,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, Any] | None = None,
        webhook_secret: str | None = None,
        observers: Sequence[Observer] = (),
        _azure: AzureSettings | None = None,
    ) -> None:
        _load_network_stack()
        import httpx

        from openai_ergo._http_client import make_http_client
        from openai_ergo._pipeline._auth import APIKeyAuth, checked_setting
        from openai_ergo._pipeline._circuit import CircuitBreaker
        from openai_ergo._pipeline._clock import SYSTEM_CLOCK
        from openai_ergo._pipeline._ratelimit import RateLimiter
        from openai_ergo._pipeline._retry import RetryPolicy
        from openai_ergo._sdk_arguments import (
            headers_from_sdk,
            query_from_sdk,
            retry_from_sdk,
            timeouts_from_sdk,
        )

        given: object = api_key  # typed str, but untyped callers pass what they have
        if given is not None and not isinstance(given, str):
            # A KeyPool or TokenProvider is auth, not a key: say where it goes rather than
            # fail inside the header check with a TypeError.
            hint = (
                " (a KeyPool or TokenProvider goes in auth=)"
                if isinstance(given, httpx.Auth)
                else ""
            )
            raise ConfigurationError(f"api_key must be a string, not {type(given).__name__}{hint}")
        if auth is None:
            what, variable, header = (
                ("OpenAI API key", "OPENAI_API_KEY", "Authorization")
                if _azure is None
                else ("Azure OpenAI API key", "AZURE_OPENAI_API_KEY", "api-key")
            )
            key, source = setting(api_key, "api_key", variable)
            key = require(key, what, variable, "api_key")
            auth = APIKeyAuth(key, header=header, source=source)
        elif api_key is not None:
            raise ConfigurationError("pass either api_key or auth, not both")
        # The official SDK's names for settings we have (docs/migrating.md).
        retry = retry_from_sdk(max_retries, retry)
        timeouts = timeouts_from_sdk(timeout, timeouts)
        headers = headers_from_sdk(default_headers, headers)
        self._default_query = query_from_sdk(default_query)
        secret, source = setting(webhook_secret, "webhook_secret", "OPENAI_WEBHOOK_SECRET")
        self._webhook_secret = None if secret is None else checked_secret(secret, source)
        self._azure = _azure
        client_headers: dict[str, str] = {"User-Agent": f"openai-ergo/{_VERSION}"}
        if _azure is not None:
            self.base_url = _azure.endpoint
        else:
            url, source = setting(base_url, "base_url", "OPENAI_BASE_URL")
            self.base_url = http_url(url or DEFAULT_BASE_URL, source).rstrip("/")
            for header, value, name, variable in (
                ("OpenAI-Organization", organization, "organization", "OPENAI_ORG_ID"),
                ("OpenAI-Project", project, "project", "OPENAI_PROJECT_ID"),
            ):
                value, source = setting(value, name, variable)
                if value:
                    client_headers[header] = checked_setting(value, source)
        client_headers.update(headers or {})
        clock = clock or SYSTEM_CLOCK
        self._http = make_http_client(
            http_client=http_client,
            transport=transport,
            http2=http2,
            limits=limits,
            proxy=proxy,
            verify=verify,
            trust_env=trust_env,
        )
        self._headers = _merged_headers(self._http, client_headers)
        self._owns_http = True
        self._pipeline = Pipeline(
            http=self._http,
            auth=auth,
            middleware=tuple(middleware),
            rate_limiter=RateLimiter(clock=clock) if rate_limiter is None else rate_limiter or None,
            circuit_breaker=(
                CircuitBreaker(clock=clock) if circuit_breaker is None else circuit_breaker or None
            ),
            retry=retry or RetryPolicy(),
            timeouts=timeouts or Timeouts(),
            clock=clock,
            cache=_checked_cache(cache),
            observers=_checked_observers(observers),
        )

    @classmethod
    def azure(
        cls,
        endpoint: str | None = None,
        *,
        api_key: str | None = None,
        api_version: str | None = None,
        auth: httpx.Auth | None = None,
        v1: bool | None = None,
        **kwargs: Any,
    ) -> Client:
        """A client for Azure OpenAI.

        From the arguments or `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY` (sent as the
        `api-key` header) and `OPENAI_API_VERSION`. Deployment-scoped routes go to
        `{endpoint}/openai/deployments/{model}/...?api-version=...` with the request's `model`
        as the deployment name. `v1=True` uses the version-less `{endpoint}/openai/v1/` API
        instead, as does an endpoint that ends in `/openai/v1`; it sends an `api-version` only
        when `api_version` is passed (never `OPENAI_API_VERSION`, which holds a dated version).
        For Entra ID pass `auth=TokenProvider(...)` (a bearer token) and no key. Other keyword
        arguments are the `Client` constructor's.
        """
        raw, source = setting(endpoint, "endpoint", "AZURE_OPENAI_ENDPOINT")
        raw = require(raw, "Azure OpenAI endpoint", "AZURE_OPENAI_ENDPOINT", "endpoint")
        endpoint = http_url(raw, source).rstrip("/")
        # Azure's docs give the v1 base URL (.../openai/v1/) as the endpoint; the routes add
        # /openai themselves.
        v1_endpoint = endpoint.endswith("/openai/v1")
        endpoint = endpoint.removesuffix("/openai/v1").removesuffix("/openai")
        if v1 is None:
            v1 = v1_endpoint
        elif v1_endpoint and not v1:
            raise ConfigurationError(
                f"{source} ends in /openai/v1, Azure's v1 API, but v1=False asks for the dated "
                "API: drop /openai/v1 from the endpoint, or leave v1 unset"
            )
        version = api_version
        if not v1 and version is None:
            version = env("OPENAI_API_VERSION") or DEFAULT_AZURE_API_VERSION
        settings = AzureSettings(endpoint=endpoint, api_version=version, v1=v1)
        return cls(api_key, auth=auth, _azure=settings, **kwargs)

    # -- audio builders (docs/images-and-audio.md) ------------------------------------------

    def speech(self, model: str) -> SpeechBuilder:
        """A text-to-speech request for `model`: `.voice(v).input(text)`, then await it for the
        audio bytes, `.save(path)` or `.stream()` it (`client.audio.speech.create` is the typed
        method)."""
        from openai_ergo.resources import SpeechBuilder

        return SpeechBuilder(self, model)

    def transcription(self, model: str) -> TranscriptionBuilder:
        """A speech-to-text request for `model`: `.file(path)`, then await it for a
        `Transcript` or `.stream()` the text (`client.audio.transcriptions.create` is the
        typed method)."""
        from openai_ergo.resources import TranscriptionBuilder

        return TranscriptionBuilder(self, model)

    def translation(self, model: str) -> TranscriptionBuilder:
        """A request to translate speech into English text for `model`: `.file(path)`, then
        await it for a `Transcript` (`client.audio.translations.create` is the typed
        method)."""
        from openai_ergo.resources import TranscriptionBuilder

        return TranscriptionBuilder(self, model, translate=True)

    # -- derived clients and lifetime -------------------------------------------------------

    def with_options(
        self,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | RedisRateLimiter | Literal[False] | None = None,
        circuit_breaker: CircuitBreaker | Literal[False] | None = None,
        middleware: Sequence[Middleware] | None = None,
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        default_headers: Mapping[str, str] | None = None,
        cache: ResponseCache | Literal[False] | None = None,
        observers: Sequence[Observer] | None = None,
    ) -> Client:
        """A client that shares this one's connection pool with some settings changed.

        The derived client never closes the pool (closing it is a no-op); the pool lives until
        the client that created it is closed. Unchanged settings — including the rate limiter,
        circuit breaker and response cache state — are shared (`cache=False` drops the cache).
        `max_retries`, `timeout` and `default_headers` are the official SDK's names, as in the
        constructor.
        """
        from openai_ergo._sdk_arguments import headers_from_sdk, retry_from_sdk, timeouts_from_sdk

        retry = retry_from_sdk(max_retries, retry)
        timeouts = timeouts_from_sdk(timeout, timeouts)
        headers = headers_from_sdk(default_headers, headers)
        base = self._pipeline
        derived = object.__new__(Client)
        derived._azure = self._azure
        derived.base_url = self.base_url
        derived._default_query = self._default_query
        derived._webhook_secret = self._webhook_secret
        derived._headers = _merged_headers(self._headers, headers or {})
        derived._http = self._http
        derived._owns_http = False
        derived._pipeline = Pipeline(
            http=self._http,
            auth=auth or base.auth,
            middleware=base.middleware if middleware is None else tuple(middleware),
            rate_limiter=base.rate_limiter if rate_limiter is None else rate_limiter or None,
            circuit_breaker=(
                base.circuit_breaker if circuit_breaker is None else circuit_breaker or None
            ),
            retry=retry or base.retry,
            timeouts=timeouts or base.timeouts,
            clock=base.clock,
            cache=base.cache if cache is None else _checked_cache(cache or None),
            observers=base.observers if observers is None else _checked_observers(observers),
        )
        return derived

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The shared `httpx.AsyncClient` (the connection pool)."""
        return self._http

    @property
    def webhooks(self) -> Webhooks:
        """Verify and decode webhook deliveries (`unwrap`, `verify_signature`), with this
        client's `webhook_secret` unless one is passed."""
        return Webhooks(self._webhook_secret)

    @property
    def is_closed(self) -> bool:
        """Whether the connection pool was closed."""
        return self._http.is_closed

    def batch(
        self,
        *,
        endpoint: str | None = None,
        completion_window: str = "24h",
        metadata: Mapping[str, str] | None = None,
    ) -> BatchBuilder:
        """A Batch API builder: `.add(custom_id, builder)` requests, then `await .submit()`
        for a `BatchJob` (docs/uploads-and-batches.md). `endpoint` (e.g.
        "/v1/chat/completions") is taken from the first builder added when not given."""
        from openai_ergo.resources._batch import BatchBuilder

        return BatchBuilder(
            self, endpoint=endpoint, completion_window=completion_window, metadata=metadata
        )

    @property
    def rate_limiter(self) -> RateLimiter | RedisRateLimiter | None:
        """The client-side rate limiter, if any."""
        # One of the two the constructor takes; the pipeline knows it by its protocol.
        limiter: RateLimiter | RedisRateLimiter | None = self._pipeline.rate_limiter  # type: ignore[assignment]
        return limiter

    @property
    def cache(self) -> ResponseCache | None:
        """The response cache, if any (docs/caching.md)."""
        return self._pipeline.cache

    @property
    def circuit_breaker(self) -> CircuitBreaker | None:
        """The per-endpoint circuit breaker, if any."""
        return self._pipeline.circuit_breaker

    async def health(self, *, timeout: float = 10.0) -> Health:  # noqa: ASYNC109
        """Probe the API once (`GET /models`, no retry, bypassing the rate limiter and circuit
        breaker) and report reachability, whether the key is accepted, latency, rate-limit
        headroom, the models listed and clock skew, as a `Health`. What the server answers
        (401, 429, a refused connection) is reported, not raised; `timeout` bounds the probe."""
        from openai_ergo._health import check_health

        return await check_health(self, timeout=timeout)

    async def aclose(self) -> None:
        """Close the connection pool (a no-op for a client made by `with_options`)."""
        if self._owns_http:
            await self._http.aclose()

    def __repr__(self) -> str:
        kind = "azure" if self._azure is not None else "openai"
        return f"Client({kind}, base_url={self.base_url!r}, auth={self._pipeline.auth!r})"

    __str__ = __repr__

    # -- requests --------------------------------------------------------------------------

    def _url(self, path: str, body: Any, options: RequestOptions) -> tuple[str, dict[str, str]]:
        if path.startswith(("http://", "https://")):
            return path, {}
        if not path.startswith("/"):
            path = "/" + path
        if self._azure is not None:
            return self._azure.url(path, options.deployment or model_of(body))
        return self.base_url + path, {}

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: Literal[False] = False,
        options: RequestOptions | None = None,
    ) -> APIResponse: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: Literal[True],
        options: RequestOptions | None = None,
    ) -> EventStream: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: Literal["bytes"],
        options: RequestOptions | None = None,
    ) -> BinaryResponse: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool | Literal["bytes"] = False,
        options: RequestOptions | None = None,
    ) -> APIResponse | EventStream | BinaryResponse:
        """Send a request to any endpoint: `path` is relative to the base URL (`"/responses"`).

        `body` is a dict, a msgspec Struct (encoded with msgspec), raw bytes or a streamed
        `MultipartBody`. Returns an
        `APIResponse`, with `stream=True` an `EventStream` once its first events arrived, or
        with `stream="bytes"` a `BinaryResponse` once the headers arrived (its body is read
        as you iterate it).
        Non-2xx statuses raise the matching `APIStatusError` subclass after the retry policy
        gave up; failures to connect raise `APIConnectionError` / `APITimeoutError`.
        """
        if self._http.is_closed:
            raise ConfigurationError("this Client is closed; create a new one to send requests")
        options = options or _NO_OPTIONS
        method = method.upper()
        url, azure_query = self._url(path, body, options)
        call_headers = CallHeaders(self._headers)
        content: bytes | MultipartBody | None
        if body is None:
            content = None
        elif isinstance(body, MultipartBody):
            # Streamed as the transport asks for it; chunked when a file's size is unknown.
            content = body
            call_headers.set("Content-Type", body.content_type)
            length = body.content_length
            if length is None:
                call_headers.set("Transfer-Encoding", "chunked")
            else:
                call_headers.set("Content-Length", str(length))
        else:
            content = bytes(body) if isinstance(body, (bytes, bytearray)) else _encode(body)
            call_headers.set_ascii(b"content-type", "Content-Type", "application/json")
        call_headers.set_ascii(b"accept", "Accept", _ACCEPT[stream])
        if headers:
            call_headers.update(headers)
        default_query = self._default_query
        if default_query:
            merged_query: dict[str, Any] | None = {**azure_query, **default_query, **(query or {})}
        else:
            merged_query = {**azure_query, **query} if query else azure_query or None
        target, url_path = self._pipeline.target(url)
        call = Call(
            method=method,
            path=url_path,
            url=url,
            target=target,
            content=content,
            headers=call_headers,
            query=merged_query,
            stream=stream,
            body=body,
            options=options,
        )
        return await self._pipeline.send(call)

    @overload
    def paginate(
        self, path: str, *, query: Mapping[str, Any] | None = None
    ) -> Paginator[dict[str, Any]]: ...

    @overload
    def paginate(
        self, path: str, *, query: Mapping[str, Any] | None = None, item_type: type[T]
    ) -> Paginator[T]: ...

    def paginate(
        self, path: str, *, query: Mapping[str, Any] | None = None, item_type: Any = None
    ) -> Paginator[Any]:
        """An async iterator over every item of a cursor-paginated list (`/files`, `/batches`,
        ...), fetching pages as it goes; `.pages()` iterates whole pages instead. Items are
        dicts unless `item_type` (a msgspec Struct or a pydantic model, say) is given."""
        from openai_ergo._pagination import Paginator

        return Paginator(self, path, query=query, item_type=item_type or dict[str, Any])

    # -- workflows (the tier above the builders) ----------------------------------------------

    @property
    def clock(self) -> Clock:
        """The clock this client waits on: retries, rate limits and workflow polls."""
        return self._pipeline.clock

    def vector_store(self, name: str | None = None) -> VectorStoreBuilder:
        """A new vector store: `await client.vector_store("docs").files("a.md")` creates it,
        uploads and attaches the files, and returns the `VectorStore` handle."""
        from openai_ergo.resources._vector_stores import VectorStoreBuilder

        return VectorStoreBuilder(self, name)

    def fine_tuning_job(self, model: str) -> FineTuningJobBuilder:
        """A new fine-tuning job of `model`: `await client.fine_tuning_job(m).examples(...)`
        uploads the examples, creates the job and returns its `TuningJob` handle."""
        from openai_ergo.resources._fine_tuning import FineTuningJobBuilder

        return FineTuningJobBuilder(self, model)

    def assistant_run(self, assistant_id: str) -> AssistantRunBuilder:
        """A run of an assistant (the legacy Assistants API): `.user(...)`, then `await` it,
        `.stream()` it, or `.run()` the `@tool` loop through `submit_tool_outputs`."""
        from openai_ergo.resources._assistants import AssistantRunBuilder

        return AssistantRunBuilder(self, assistant_id)
