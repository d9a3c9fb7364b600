"""`await client.health()`: is the API reachable, does it take the key, how fast, how much headroom.

One `GET /models`, sent once (no retry, no client-side rate limiter or circuit breaker: the point
is what the server says now, not what the client remembers), read into a `Health` report. The
report never raises for what the server answered: a 401, a 429 or a refused connection are
findings, each with a sentence a person can act on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, final

from openai_ergo._pipeline._ratelimit import RateLimitInfo

if TYPE_CHECKING:
    from openai_ergo._client import Client

__all__ = ["Health", "check_health"]

#: The path probed: cheap, read-only, and it needs a valid key on OpenAI and compatible servers.
PROBE_PATH = "/models"


@final
@dataclass(frozen=True, slots=True)
class Health:
    """What one probe of the API (`GET /models`) found; `await client.health()` returns it.

    `ok` is the short answer; `verdict` says it as a sentence. `reachable` is false when no HTTP
    answer came back (DNS, connect, TLS, timeout); `authenticated` is `None` when the answer
    does not tell (unreachable, or a server error before the key was checked).
    """

    #: The base URL probed.
    base_url: str
    #: An HTTP answer came back.
    reachable: bool
    #: The server accepted the credentials (`False` on 401; `None` when the answer cannot say).
    authenticated: bool | None
    #: Seconds from sending the probe to its whole answer, on the client's clock (`None` when
    #: no answer came).
    latency: float | None
    #: The HTTP status of the answer.
    status_code: int | None = None
    #: The answer's parsed `x-ratelimit-*` headers (`None` when the server sent none).
    rate_limit: RateLimitInfo | None = None
    #: The server answered 429: a rate limit or quota is spent right now.
    rate_limited: bool = False
    #: Seconds the server asked to wait (`Retry-After`), with a 429.
    retry_after: float | None = None
    #: The model ids the key may use, as the server listed them.
    models: tuple[str, ...] = ()
    #: The server's clock minus this machine's, in seconds, from the `Date` header (which has a
    #: resolution of one second); `None` when the server sent none.
    clock_skew: float | None = None
    #: The answer's request id, to quote to the provider.
    request_id: str | None = None
    #: Why the probe is not healthy, as a sentence; `None` when it is.
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Reachable, the key accepted, and not rate limited."""
        return self.error is None

    @property
    def headroom(self) -> float | None:
        """The fraction (0 to 1) left of the tightest rate-limit budget the server reported
        (requests or tokens per minute); `None` when it reported none."""
        info = self.rate_limit
        if info is None:
            return None
        fractions = [
            remaining / limit
            for remaining, limit in (
                (info.remaining_requests, info.limit_requests),
                (info.remaining_tokens, info.limit_tokens),
            )
            if remaining is not None and limit
        ]
        if not fractions:
            return 0.0 if self.rate_limited else None
        return max(0.0, min(1.0, *fractions))

    @property
    def verdict(self) -> str:
        """One sentence: healthy with the latency, or what is wrong."""
        if self.error is not None:
            return self.error
        latency = f" in {self.latency * 1000:.0f} ms" if self.latency is not None else ""
        return f"{self.base_url} answered{latency} and accepted the key."


def _clock_skew(headers: Any, local: float) -> float | None:
    raw = headers.get("date") if headers else None
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw).timestamp() - local
    except (TypeError, ValueError, IndexError):
        return None


def _model_ids(document: Any) -> tuple[str, ...]:
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        return ()
    return tuple(
        item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)
    )


async def check_health(client: Client, *, timeout: float) -> Health:
    """Probe `client`'s base URL once; see `Client.health`."""
    from openai_ergo._config import Timeouts
    from openai_ergo._errors import (
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        InvalidRequestError,
        RateLimitError,
    )
    from openai_ergo._pipeline._retry import RetryPolicy, parse_retry_after

    if not timeout > 0:
        raise InvalidRequestError(
            f"timeout must be a positive number of seconds (it is {timeout!r})", param="timeout"
        )
    probe = client.with_options(
        retry=RetryPolicy.never(),
        rate_limiter=False,
        circuit_breaker=False,
        timeouts=Timeouts(
            connect=timeout, read=timeout, write=timeout, pool=timeout, total=timeout
        ),
    )
    base = client.base_url
    clock = client.clock
    started = clock.now()
    try:
        response = await probe.request("GET", PROBE_PATH)
    except APITimeoutError:
        return Health(
            base_url=base,
            reachable=False,
            authenticated=None,
            latency=None,
            error=f"{base} did not answer within {timeout:g} s.",
        )
    except APIConnectionError as exc:
        return Health(
            base_url=base,
            reachable=False,
            authenticated=None,
            latency=None,
            error=f"{base} is unreachable: {exc}",
        )
    except APIStatusError as exc:
        latency = clock.now() - started
        headers = exc.headers
        limited = isinstance(exc, RateLimitError)
        if isinstance(exc, AuthenticationError):
            problem = f"{base} refused the credentials (401): {exc.message}"
        elif limited:
            problem = f"{base} is rate limiting this key (429): {exc.message}"
        else:
            problem = f"{base} answered {exc.status_code}: {exc.message}"
        return Health(
            base_url=base,
            reachable=True,
            # A 401 says no; 403, 404 and 429 come after the key was checked; a 5xx cannot say.
            authenticated=(
                False
                if isinstance(exc, AuthenticationError)
                else (True if exc.status_code < 500 else None)
            ),
            latency=latency,
            status_code=exc.status_code,
            rate_limit=RateLimitInfo.from_headers(headers),
            rate_limited=limited,
            retry_after=parse_retry_after(headers, now_epoch=time.time()) if limited else None,
            clock_skew=_clock_skew(headers, time.time() - latency / 2),
            request_id=exc.request_id,
            error=problem,
        )
    latency = clock.now() - started
    headers = response.headers
    error: str | None = None
    try:
        models = _model_ids(response.json())
    except APIResponseValidationError:
        models = ()
        error = (
            f"{base} answered {response.status_code} to GET {PROBE_PATH} with a body that is "
            "not JSON: is it an OpenAI-compatible API (does the base URL end in /v1)?"
        )
    return Health(
        base_url=base,
        reachable=True,
        authenticated=True,
        latency=latency,
        status_code=response.status_code,
        rate_limit=response.rate_limit,
        models=models,
        clock_skew=_clock_skew(headers, time.time() - latency / 2),
        request_id=response.request_id,
        error=error,
    )
