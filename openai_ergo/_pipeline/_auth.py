"""Credentials as `httpx.Auth`: a static key, a pool of keys, or an async token provider.

Each flow sets one header (`Authorization: Bearer …` for OpenAI, `api-key: …` for Azure keys) on
every attempt, so a retry picks up a rotated key or a refreshed token. No repr shows a secret.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, final, runtime_checkable

import anyio
import httpx

from openai_ergo._errors import ConfigurationError
from openai_ergo._pipeline._clock import SYSTEM_CLOCK, Clock
from openai_ergo._pipeline._retry import parse_retry_after

# What no HTTP header value may carry (a tab may, inside one): the transports refuse to send it.
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _where(index: int, length: int) -> str:
    if index == length - 1:
        return "at its end"
    return "at its start" if index == 0 else f"at character {index + 1} of {length}"


def header_value_problem(value: str) -> str | None:
    """What keeps `value` from going out as an HTTP header value, or `None` if nothing does.

    Says where the offending character is, never what the value is: it may be a key.
    """
    found = _UNSENDABLE.search(value)
    if found is not None:
        char = found.group()
        kind = "a line break" if char in "\r\n" else f"a control character (U+{ord(char):04X})"
        return f"{kind} {_where(found.start(), len(value))}"
    if value != value.strip(" \t"):
        return "a space or tab at its start or end"
    return None


def checked_setting(value: str, source: str) -> str:
    """`value`, which goes out in a header (a key, a token, an organization id), if it can;
    else a `ConfigurationError` naming `source`, the argument or variable it came from.

    Stricter than HTTP, which allows tabs and Latin-1 inside values: no key or id has them, so
    one there was pasted by mistake and would only earn a 401 later.
    """
    problem = header_value_problem(value)
    found = _NOT_PRINTABLE_ASCII.search(value) if problem is None else None
    if found is not None:
        kind = "a tab" if found.group() == "\t" else "a non-ASCII character"
        problem = f"{kind} {_where(found.start(), len(value))}"
    if problem is not None:
        raise ConfigurationError(
            f"{source} contains {problem}, which cannot go in an HTTP header: remove it "
            "(a value read from a file often keeps its final newline)"
        )
    return value


def _header_value(header: str, secret: str) -> str:
    return f"Bearer {secret}" if header.lower() == "authorization" else secret


def mask(secret: str) -> str:
    """`sk-…CRET`: enough to tell keys apart in a message, never enough to use one."""
    return f"{secret[:3]}…{secret[-4:]}" if len(secret) >= 12 else "…"


#: The request extension that names (by label, never by value) the pool key a request uses:
#: the pipeline sets it to the key the rate limiter reserved for, the pool sets it to the key
#: that was finally sent, so the response's budget headers are learned for that key.
KEY_LABEL = "openai_ergo.key_label"


class SecretHolder:
    """Auth that can list the secrets it may send, so the pipeline can scrub them from text."""

    def secrets(self) -> tuple[str, ...]:
        """Every secret this auth may currently put on a request."""
        return ()


@final
class APIKeyAuth(httpx.Auth, SecretHolder):
    """One static key on every request (`Authorization: Bearer <key>` or Azure's `api-key`)."""

    def __init__(
        self, key: str, *, header: str = "Authorization", source: str = "the API key"
    ) -> None:
        if not key:
            raise ConfigurationError("the API key is empty; pass a key or set OPENAI_API_KEY")
        self._key = checked_setting(key, source)
        self._header = header
        self._value = _header_value(header, key)
        # The value is printable ASCII (checked above); a name that is no HTTP token gets no
        # line, and its requests go through httpx's path, whose transport names the problem.
        self._line = (
            f"{header}: {self._value}\r\n".encode("ascii")
            if _HEADER_NAME.fullmatch(header)
            else None
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the header; one pass."""
        self.apply(request)
        yield request

    def apply(self, request: httpx.Request) -> None:
        """The whole flow without its generator (the pipeline's direct send calls this)."""
        request.headers[self._header] = self._value

    @property
    def header_name(self) -> str:
        """The header the key goes in (`Authorization`, or Azure's `api-key`)."""
        return self._header

    def head_line(self) -> bytes | None:
        """The header line as `apply` makes the transport write it, for the pipeline's plain
        send (`_pipeline/_plain.py`): checked once, here (None for a name that is no token)."""
        return self._line

    def secrets(self) -> tuple[str, ...]:
        """The key."""
        return (self._key,)

    def __repr__(self) -> str:
        return f"APIKeyAuth({mask(self._key)!r}, header={self._header!r})"


def key_fingerprint(secret: str) -> str:
    """A key's name where it is shared (Redis): the first 128 bits of a SHA-256 digest of the
    key under a fixed prefix, the same in every process. An API key carries far more entropy
    than anyone could search, so the key cannot be recovered from it."""
    digest = hashlib.sha256(b"openai-ergo key fingerprint\0" + secret.encode())
    return digest.hexdigest()[:32]


@runtime_checkable
class SharedKeyStates(Protocol):
    """Where a `KeyPool` shares what it learns about its keys with other processes (Redis's
    `RedisKeyCooldowns`). Keys travel only as `key_fingerprint`s. An implementation never
    raises for an outage: it answers None (nothing learned) and forgets what it could not
    tell; the pool goes on with what it knows itself."""

    async def pull(self, fingerprints: Sequence[str]) -> dict[str, tuple[bool, float]] | None:
        """What every process knows of these keys: fingerprint -> (revoked, seconds of
        cool-down left)."""
        ...

    async def revoke(self, fingerprint: str) -> None:
        """Tell every process that the key was answered with 401."""
        ...

    async def cool(self, fingerprint: str, seconds: float) -> None:
        """Tell every process that the key cools down for `seconds` (after a 429)."""
        ...


@dataclass(slots=True)
class _KeyState:
    label: str
    cooling_until: float = float("-inf")
    revoked: bool = False


@final
class KeyPool(httpx.Auth, SecretHolder):
    """Several API keys used round robin.

    A key answered with 401 is taken out of the pool (and the request is tried again at once with
    the next key); a key answered with 429 cools down for the server's `Retry-After` or
    `cooldown` seconds while the others carry on: the client's retry goes out at once on a key
    that is ready (counted as an attempt of its `RetryPolicy`), and waits for the server's
    `Retry-After` only when every key is cooling down. `replace([...])` swaps the keys while
    requests are in flight: new requests use the new set, and a request in flight whose old key
    is refused with 401 is sent again at once with a new one, so a rotation drops no request.
    Each key is its own rate-limit scope: `choose()` names the key the next request will use.

    With `shared` (a `RedisKeyCooldowns`), revocations and cool-downs reach every process: a
    401 or 429 is told to the others at once, and the pool reads what the others saw at most
    every `refresh_interval` seconds, before a request. Keys are shared only as fingerprints.
    """

    def __init__(
        self,
        keys: Iterable[str],
        *,
        cooldown: float = 20.0,
        header: str = "Authorization",
        clock: Clock | None = None,
        shared: SharedKeyStates | None = None,
        refresh_interval: float = 1.0,
    ) -> None:
        if shared is not None and not isinstance(shared, SharedKeyStates):
            raise ConfigurationError(
                f"KeyPool(shared=...) takes a RedisKeyCooldowns (pull, revoke, cool), not "
                f"{type(shared).__name__}"
            )
        if isinstance(refresh_interval, bool) or not refresh_interval >= 0:
            raise ConfigurationError(
                f"KeyPool(refresh_interval={refresh_interval!r}): must be seconds >= 0"
            )
        self._header = header
        self.cooldown = cooldown
        self._clock: Clock = clock or SYSTEM_CLOCK
        self._keys: list[str] = []
        self._states: dict[str, _KeyState] = {}
        self._cursor = 0
        #: Where revocations and cool-downs are shared with other processes, if anywhere.
        self.shared = shared
        self.refresh_interval = refresh_interval
        self._pulled_at = float("-inf")
        self._fingerprints: dict[str, str] = {}
        self.replace(keys)

    def replace(self, keys: Iterable[str]) -> None:
        """Use these keys from now on. Keys kept from the old set keep their state."""
        new_keys = list(dict.fromkeys(keys))
        if not new_keys or not all(new_keys):
            raise ConfigurationError("a KeyPool needs at least one non-empty key")
        for number, key in enumerate(new_keys, start=1):
            checked_setting(key, f"KeyPool key {number} of {len(new_keys)}")
        # Kept keys keep their labels (a request in flight may name one); new keys get theirs.
        kept = {key: self._states[key] for key in new_keys if key in self._states}
        labels = {state.label for state in kept.values()}
        states: dict[str, _KeyState] = {}
        for key in new_keys:
            state = kept.get(key) or _KeyState(_unique_label(mask(key), labels))
            labels.add(state.label)
            states[key] = state
        self._states = states
        self._labels = {state.label: key for key, state in states.items()}
        self._keys = new_keys
        self._cursor %= len(new_keys)
        if self.shared is not None:
            self._fingerprints = {key: key_fingerprint(key) for key in new_keys}
            self._pulled_at = float("-inf")  # learn the new keys' state before using them

    @property
    def available(self) -> int:
        """How many keys are neither revoked nor cooling down."""
        now = self._clock.now()
        return sum(1 for s in self._states.values() if not s.revoked and s.cooling_until <= now)

    def revoked(self) -> int:
        """How many keys were taken out after a 401."""
        return sum(1 for s in self._states.values() if s.revoked)

    def _pick(self, tried: set[str]) -> str | None:
        keys = self._keys
        now = self._clock.now()
        coolest: str | None = None
        for offset in range(len(keys)):
            key = keys[(self._cursor + offset) % len(keys)]
            state = self._states[key]
            if state.revoked or key in tried:
                continue
            if state.cooling_until <= now:
                self._cursor = (self._cursor + offset + 1) % len(keys)
                return key
            if coolest is None or state.cooling_until < self._states[coolest].cooling_until:
                coolest = key
        # Every usable key is cooling down: the one that recovers first is the best bet.
        return coolest

    def choose(self) -> str:
        """The label (masked, `sk-…CRET`) of the key the next request goes out with, so its
        rate-limit budget can be checked before sending; the request carries the label in
        its `openai_ergo.key_label` extension and `auth_flow` then uses that key."""
        key = self._pick(set())
        return self._states[key].label if key is not None else ""

    def _chosen(self, request: httpx.Request) -> str | None:
        key = self._labels.get(request.extensions.get(KEY_LABEL, ""))
        state = self._states.get(key) if key is not None else None
        return key if state is not None and not state.revoked else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Use the chosen key or pick one; on 401 revoke it and try the next; on 429 cool it
        down."""
        tried: set[str] = set()
        chosen = self._chosen(request)
        while True:
            key, chosen = chosen or self._pick(tried), None
            if key is None:
                raise ConfigurationError(
                    f"every key in the KeyPool was rejected with 401 ({len(self._keys)} keys); "
                    "give it valid keys with KeyPool.replace([...])"
                )
            request.headers[self._header] = _header_value(self._header, key)
            state = self._states.get(key)
            if state is not None:
                request.extensions[KEY_LABEL] = state.label
            response = yield request
            state = self._states.get(key)
            if state is None:
                # Rotated out while in flight: a 401 means the provider revoked it with the
                # rotation, so the request goes again with a key from the new set.
                if response.status_code != 401 or key in tried:
                    return
                tried.add(key)
                continue
            if response.status_code == 401:
                state.revoked = True
                tried.add(key)
                if self._pick(tried) is None:
                    return
                continue
            if response.status_code == 429:
                wait = parse_retry_after(response.headers, now_epoch=time.time())
                state.cooling_until = self._clock.now() + (wait if wait else self.cooldown)
            return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """`auth_flow`, after learning what other processes saw of the keys (with `shared`),
        and telling them what this request's answers taught."""
        shared = self.shared
        if shared is not None:
            await self._pull(shared, request)
        flow = self.auth_flow(request)
        sent = next(flow)
        while True:
            key = self._labels.get(sent.extensions.get(KEY_LABEL, ""))
            response = yield sent
            try:
                following: httpx.Request | None = flow.send(response)
            except StopIteration:
                following = None
            if shared is not None and key is not None:
                await self._push(shared, key, response.status_code)
            if following is None:
                return
            sent = following

    async def _pull(self, shared: SharedKeyStates, request: httpx.Request) -> None:
        now = self._clock.now()
        if now - self._pulled_at < self.refresh_interval:
            return
        self._pulled_at = now  # concurrent requests do not ask again meanwhile
        fingerprints = self._fingerprints
        known = await shared.pull(list(fingerprints.values()))
        if not known:
            return
        now = self._clock.now()
        for key, fingerprint in fingerprints.items():
            state = self._states.get(key)
            seen = known.get(fingerprint)
            if state is None or seen is None:
                continue
            revoked, cooling = seen
            state.revoked = state.revoked or revoked
            if cooling > 0:
                state.cooling_until = max(state.cooling_until, now + cooling)
        # The key chosen before (for its rate-limit scope) may be one another process saw
        # fail: the flow then picks a ready one.
        chosen = self._labels.get(request.extensions.get(KEY_LABEL, ""))
        state = self._states.get(chosen) if chosen is not None else None
        if state is not None and (state.revoked or state.cooling_until > now):
            del request.extensions[KEY_LABEL]

    async def _push(self, shared: SharedKeyStates, key: str, status: int) -> None:
        state = self._states.get(key)
        fingerprint = self._fingerprints.get(key)
        if state is None or fingerprint is None:
            return
        if status == 401 and state.revoked:
            await shared.revoke(fingerprint)
        elif status == 429:
            left = state.cooling_until - self._clock.now()
            if left > 0:
                await shared.cool(fingerprint, left)

    def secrets(self) -> tuple[str, ...]:
        """Every key in the pool."""
        return tuple(self._keys)

    def __repr__(self) -> str:
        return f"KeyPool({len(self._keys)} keys, {self.revoked()} revoked, {self.available} ready)"


def _unique_label(label: str, taken: set[str]) -> str:
    """`label`, or `label#2`, `label#3`... when two keys mask alike."""
    unique, n = label, 1
    while unique in taken:
        n += 1
        unique = f"{label}#{n}"
    return unique


TokenFetcher = Callable[[], Awaitable[tuple[str, float]]]


@final
class TokenProvider(httpx.Auth, SecretHolder):
    """A bearer token from an async callable, for OAuth2 or Azure Entra ID.

    `fetch()` returns `(token, expires_at)` with `expires_at` in seconds since the epoch (what
    `azure.identity`'s `AccessToken.expires_on` holds). The token is refreshed `refresh_margin`
    seconds before it expires, and after a 401 (once per request). Refreshes are single-flight:
    concurrent requests that find the token stale share one call to `fetch()`.
    """

    def __init__(
        self,
        fetch: TokenFetcher,
        *,
        refresh_margin: float = 60.0,
        header: str = "Authorization",
        time_source: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self.refresh_margin = refresh_margin
        self._header = header
        self._time = time_source
        self._token: str | None = None
        self._expires_at = float("-inf")
        self._generation = 0
        self._lock = anyio.Lock()
        #: How many times `fetch()` was called.
        self.refreshes = 0

    def _fresh(self) -> bool:
        return self._token is not None and self._time() < self._expires_at - self.refresh_margin

    async def token(self, *, stale_generation: int | None = None) -> tuple[str, int]:
        """The current token (refreshing it when stale) and its generation number."""
        if stale_generation is None and self._fresh():
            assert self._token is not None
            return self._token, self._generation
        async with self._lock:
            # Someone else may have refreshed while this request waited for the lock.
            must_refresh = not self._fresh() or self._generation == stale_generation
            if must_refresh:
                token, expires_at = await self._fetch()
                if not token:
                    raise ConfigurationError("the token provider returned an empty token")
                checked_setting(token, "the token from the token provider")
                self.refreshes += 1
                self._token, self._expires_at = token, float(expires_at)
                self._generation += 1
            assert self._token is not None
            return self._token, self._generation

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Not supported: the provider is async."""
        raise ConfigurationError("TokenProvider is async; use it with the async Client only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Set a fresh bearer token; after a 401, refresh once and resend."""
        token, generation = await self.token()
        request.headers[self._header] = _header_value(self._header, token)
        response = yield request
        if response.status_code == 401:
            token, _ = await self.token(stale_generation=generation)
            request.headers[self._header] = _header_value(self._header, token)
            yield request

    def secrets(self) -> tuple[str, ...]:
        """The current token."""
        return (self._token,) if self._token else ()

    def __repr__(self) -> str:
        state = "fresh" if self._fresh() else "stale"
        return f"TokenProvider({state}, {self.refreshes} refreshes)"
