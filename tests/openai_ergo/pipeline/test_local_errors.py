"""Mistakes made on our side fail fast: checked when the client is made, and a request that a
transport refuses to send is neither retried nor counted against the circuit breaker."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from openai_ergo import (
    CircuitBreaker,
    Client,
    ConfigurationError,
    InvalidRequestError,
    KeyPool,
    Middleware,
    OpenAIErgoError,
    TokenProvider,
)
from tests.openai_ergo.pipeline.conftest import FakeClock
from tests.openai_ergo.pipeline.scripted import Reply, scripted_server

KEY = "sk-test-0123456789abcdef"
ENDPOINT = "GET /v1/models"


def _no_key_in(error: BaseException, key: str) -> None:
    for text in (str(error), repr(error), repr(error.args)):
        assert key not in text
        assert key.strip() not in text


# -- configuration checked when the client is made --------------------------------------------


async def test_whitespace_around_azure_environment_values_is_stripped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with scripted_server() as server:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url.removesuffix("/v1") + "/\n")
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-123456\n")
        monkeypatch.setenv("OPENAI_API_VERSION", " 2024-10-21\n")
        async with Client.azure() as client:
            await client.request("POST", "/embeddings", body={"model": "emb", "input": "x"})
    seen = server.requests[0]
    assert seen.target == "/openai/deployments/emb/embeddings?api-version=2024-10-21"
    assert seen.headers["api-key"] == "azure-key-123456"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (KEY + "\n", "a line break at its end"),
        (KEY + "\r\n", "a line break at character 25 of 26"),
        ("sk-test\x00" + "0" * 16, "a control character (U+0000) at character 8 of 24"),
        ("\x1b" + KEY, "a control character (U+001B) at its start"),
        (KEY[:10] + "\t" + KEY[10:], "a tab at character 11 of 25"),
        (KEY + " ", "a space or tab at its start or end"),
        ("sk-tést-0123456789abcdef", "a non-ASCII character at character 5 of 24"),
    ],
    ids=["newline", "crlf", "nul", "escape", "tab", "space", "non-ascii"],
)
async def test_a_key_argument_that_cannot_be_sent_is_refused_by_name(
    key: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Client(key)
    assert str(caught.value).startswith(f"api_key contains {problem}, ")
    _no_key_in(caught.value, key)


@pytest.mark.parametrize(
    ("variable", "make"),
    [
        ("OPENAI_API_KEY", lambda: Client()),
        ("AZURE_OPENAI_API_KEY", lambda: Client.azure("https://x.openai.azure.com")),
    ],
)
async def test_a_key_variable_with_a_control_character_inside_is_refused_by_name(
    variable: str, make: Callable[[], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Surrounding whitespace is stripped; a line break inside (two keys pasted) is not a key.
    key = f"{KEY}\nsk-second-key-0000"
    monkeypatch.setenv(variable, key)
    with pytest.raises(ConfigurationError, match=f"^{variable} contains a line break") as caught:
        make()
    _no_key_in(caught.value, key)


async def test_a_key_pool_names_the_key_that_cannot_be_sent() -> None:
    with pytest.raises(ConfigurationError, match=r"^KeyPool key 2 of 3 contains a line break"):
        KeyPool([KEY, KEY[::-1] + "\n", "sk-third-key-00000000"])
    pool = KeyPool([KEY])
    with pytest.raises(ConfigurationError, match=r"^KeyPool key 1 of 1 contains a control"):
        pool.replace(["sk-\x07" + KEY])
    assert pool.secrets() == (KEY,)  # the refused set did not replace the good one


async def test_an_organization_that_cannot_be_sent_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigurationError, match=r"^organization contains a line break"):
        Client(KEY, organization="org-1\norg-2")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj\x07")
    with pytest.raises(ConfigurationError, match=r"^OPENAI_PROJECT_ID contains a control"):
        Client(KEY)


@pytest.mark.parametrize(
    "url",
    ["localhost:1234/v1", "127.0.0.1:8000/v1", "api.openai.com/v1", "ftp://files.example/v1"],
)
async def test_a_base_url_without_http_or_https_is_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match=r"^base_url must start with http:// or https://"):
        Client(KEY, base_url=url)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    with pytest.raises(ConfigurationError, match=r"^OPENAI_BASE_URL must start with http://") as e:
        Client(KEY)
    assert repr(url) in str(e.value)


async def test_a_base_url_without_a_scheme_says_what_to_write() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Client(KEY, base_url="localhost:1234/v1")
    assert "write 'https://localhost:1234/v1' (http:// for a local server)" in str(caught.value)
    with pytest.raises(ConfigurationError, match="names no host"):
        Client(KEY, base_url="http://")


async def test_an_azure_endpoint_without_http_or_https_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigurationError, match=r"^endpoint must start with http"):
        Client.azure("my-resource.openai.azure.com", api_key=KEY)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "my-resource.openai.azure.com/openai/v1")
    with pytest.raises(ConfigurationError, match=r"^AZURE_OPENAI_ENDPOINT must start with http"):
        Client.azure(api_key=KEY)


# -- failures at send time: not retried, not counted --------------------------------------------


class _FtpScheme(Middleware):
    """Points the request at a scheme no transport serves (a middleware's own mistake)."""

    async def on_request(self, request: httpx.Request, state: dict[str, object]) -> httpx.Request:
        return httpx.Request(request.method, request.url.copy_with(scheme="ftp"))


async def _newline_token() -> tuple[str, float]:
    return "entra-token-abcdef\n", 4_000_000_000.0


async def _good_token() -> tuple[str, float]:
    return "entra-token-abcdef", 4_000_000_000.0


# Each case: the client's settings (made per test: a TokenProvider's lock belongs to one event
# loop), the request's headers, the error and what its message says.
LOCAL_FAILURES: dict[str, tuple[Callable[[], dict[str, object]], dict[str, str], type, str]] = {
    "header with a line break": (
        dict,
        {"X-Tenant": "search\n"},
        InvalidRequestError,
        "GET /v1/models was not sent: the value of its X-Tenant header contains a line break "
        "at its end; remove it",
    ),
    "header with a NUL": (
        dict,
        {"X-Tenant": "sea\x00rch"},
        InvalidRequestError,
        "the value of its X-Tenant header contains a control character (U+0000)",
    ),
    "token with a line break": (
        lambda: {"auth": TokenProvider(_newline_token)},
        {},
        ConfigurationError,
        "the token from the token provider contains a line break at its end",
    ),
    "url with another scheme": (
        lambda: {"middleware": [_FtpScheme()]},
        {},
        ConfigurationError,
        "GET /v1/models was not sent: its URL must start with http:// or https:// (it has 'ftp').",
    ),
}
TRANSPORTS: dict[str, Callable[[], httpx.AsyncBaseTransport | None]] = {
    "HTTP11Transport": lambda: None,
    "httpx transport": httpx.AsyncHTTPTransport,
}


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("case", list(LOCAL_FAILURES))
async def test_a_local_failure_fails_at_once_and_the_circuit_stays_closed_after_ten(
    case: str, transport: str, clock: FakeClock
) -> None:
    make_settings, headers, error, message = LOCAL_FAILURES[case]
    settings = make_settings()
    breaker = CircuitBreaker(failure_threshold=3, clock=clock)
    key: dict[str, object] = {} if "auth" in settings else {"api_key": KEY}
    async with (
        scripted_server(Reply(json={"object": "list"})) as server,
        Client(
            base_url=server.url,
            circuit_breaker=breaker,
            clock=clock,
            transport=TRANSPORTS[transport](),
            **key,  # type: ignore[arg-type]
            **settings,  # type: ignore[arg-type]
        ) as client,
    ):
        for _ in range(10):
            with pytest.raises(error) as caught:
                await client.request("GET", "/models", headers=headers)
            assert message in str(caught.value)
            assert isinstance(caught.value, OpenAIErgoError)
        assert server.requests == []  # nothing reached the server
        assert clock.sleeps == []  # and nothing was retried
        assert breaker.state(ENDPOINT) == "closed"
        # The same breaker lets the endpoint through once the mistake is fixed.
        fixed = client.with_options(auth=TokenProvider(_good_token), middleware=[])
        response = await fixed.request("GET", "/models")
    assert response.json() == {"object": "list"}
    assert response.attempts == 1
    assert len(server.requests) == 1


async def test_a_refused_header_is_named_never_quoted(clock: FakeClock) -> None:
    secret = "sk-proxy-SECRET-0123456789"
    async with (
        scripted_server() as server,
        Client(KEY, base_url=server.url, clock=clock) as client,
    ):
        with pytest.raises(InvalidRequestError) as caught:
            await client.request("GET", "/models", headers={"X-Proxy-Key": secret + "\r\n"})
    assert caught.value.param == "X-Proxy-Key"
    assert caught.value.__cause__ is None  # httpx's own message may quote the value
    _no_key_in(caught.value, secret)
