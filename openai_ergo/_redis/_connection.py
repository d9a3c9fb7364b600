"""One Redis connection for everything the client shares between processes.

Every call runs under a timeout, so a slow or unreachable Redis costs at most that long and
never hangs a request: a cancel scope's deadline, or for a script call on the open script
socket, that socket's watcher task, which costs less CPU per call (`_resp.ScriptLane`). A
failed call marks Redis unavailable: a warning is logged once for the outage
(`openai_ergo.redis.unavailable`), and for `retry_interval` seconds calls fail at once with
`RedisUnavailableError` instead of each paying the timeout again. The first call after that
interval tries Redis again; when it answers, the recovery is logged
(`openai_ergo.redis.recovered`) and calls go through as before.

Lua scripts are registered once (`RedisConnection.script`) and run with EVALSHA; a server that
does not know the script (restarted, or flushed with SCRIPT FLUSH) answers NOSCRIPT, and the
script is then sent whole with EVAL, which also caches it again. Scripts run on the connection's
own lean socket (`_resp.ScriptLane`): they are on every request's path, and coredis's
per-command machinery would cost more CPU than the whole admission may.

coredis is imported when the first connection is made: `import openai_ergo` never loads it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, final
from urllib.parse import urlsplit, urlunsplit

import anyio

from openai_ergo._errors import ConfigurationError, RedisCommandError, RedisUnavailableError
from openai_ergo._pipeline._logging import log_event
from openai_ergo._redis._resp import ProtocolError, ReplyError, ScriptLane, bulk, script_args

if TYPE_CHECKING:
    import coredis

T = TypeVar("T")

UNAVAILABLE_EVENT = "openai_ergo.redis.unavailable"
RECOVERED_EVENT = "openai_ergo.redis.recovered"

#: Arguments a script takes: Redis strings, integers and floats.
ScriptArg = str | bytes | int | float


def masked_url(url: str) -> str:
    """`url` with its password (and a username standing alone) replaced by `****`."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    secret = "****" if parts.password is not None or user else ""
    credentials = f"{user}:{secret}" if parts.password is not None else secret
    return urlunsplit((parts.scheme, f"{credentials}@{host}", parts.path, parts.query, ""))


def _import_coredis() -> Any:
    try:
        import coredis
        import coredis.exceptions
        import coredis.retry
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise ConfigurationError(
            "Sharing limits and state through Redis needs the `redis` extra: "
            "pip install 'openai-ergo[redis]'"
        ) from exc
    return coredis


_BUFFERS = (
    "_write_buffer_in",
    "_write_buffer_out",
    "_push_message_buffer_in",
    "_push_message_buffer_out",
    "_streamed_message_buffer_in",
    "_streamed_message_buffer_out",
)
_closing_classes: dict[type[Any], type[Any]] = {}


def _closing_connection_class(base: type[Any]) -> type[Any]:
    """`base` (a coredis connection class) that also closes its buffers when it never
    connected: coredis 6.9 closes them only once connected, so each attempt on a Redis that is
    down would leave six memory streams to warn `ResourceWarning` when collected."""
    made = _closing_classes.get(base)
    if made is None:

        async def run(self: Any, **kwargs: Any) -> None:
            try:
                await base.run(self, **kwargs)
            finally:
                for name in _BUFFERS:
                    buffer = getattr(self, name, None)
                    if buffer is not None:
                        buffer.close()

        made = _closing_classes[base] = type(base.__name__, (base,), {"run": run})
    return made


#: What a call raises when Redis refused the command, and when it could not be reached (the
#: coredis classes join once coredis is loaded, when the first connection opens).
_REFUSED: tuple[type[BaseException], ...] = (ReplyError,)
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    ProtocolError,
    anyio.EndOfStream,
    anyio.BrokenResourceError,
)


@final
class RedisScript:
    """A Lua script registered on a `RedisConnection`: call it with keys and arguments.

    It runs with EVALSHA (only the digest travels), and falls back to EVAL once when the server
    answers NOSCRIPT, all in the one call's timeout.
    """

    __slots__ = ("_connection", "_eval", "_evalsha", "sha", "source")

    def __init__(self, connection: RedisConnection, source: str) -> None:
        self._connection = connection
        self.source = source
        #: The SHA1 digest Redis knows the script by.
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        # The command's first two bulk strings, encoded once: every call starts with them.
        self._evalsha = bulk("EVALSHA") + bulk(self.sha)
        self._eval = bulk("EVAL") + bulk(source.encode())

    async def __call__(
        self,
        keys: Sequence[str] = (),
        args: Sequence[ScriptArg] = (),
        *,
        limit: float | None = None,
    ) -> Any:
        """Run the script atomically on the server; its reply (RESP2: bytes, integers, lists,
        None). `limit` replaces the connection's timeout for this call."""
        tail = script_args(keys, args)
        return await self._connection._run_script(self, len(tail), b"".join(map(bulk, tail)), limit)

    async def call_encoded(self, count: int, body: bytes, *, limit: float | None = None) -> Any:
        """`__call__` with the key count, keys and arguments already encoded: `body` holds
        `count` RESP bulk strings (`_resp.bulk`). A caller that sends the same keys and most
        of the same arguments each time encodes them once."""
        return await self._connection._run_script(self, count, body, limit)

    def __repr__(self) -> str:
        return f"RedisScript(sha={self.sha[:12]}…)"


@final
class RedisConnection:
    """A Redis connection shared by the limiters and stores that coordinate processes.

    `url` is a `redis://` (or `rediss://`, `unix://`) URL; its password never appears in a log,
    an error or the repr. `timeout` bounds every call (connecting included); `retry_interval` is
    how long calls fail fast after an outage was detected before Redis is tried again. Use it as
    an async context manager (or call `aclose()`); a connection dropped open warns
    `ResourceWarning`. `prefix` starts every key the client's stores write.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        timeout: float = 0.25,
        retry_interval: float = 1.0,
        prefix: str = "openai-ergo",
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"RedisConnection(timeout={timeout!r}): must be positive seconds")
        if retry_interval < 0:
            raise ValueError(
                f"RedisConnection(retry_interval={retry_interval!r}): must be >= 0 seconds"
            )
        if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError(
                f"RedisConnection({masked_url(url)!r}): not a redis://, rediss:// or unix:// URL"
            )
        self._url = url
        #: The URL with its password masked.
        self.url = masked_url(url)
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.prefix = prefix
        self._client: coredis.Redis[bytes] | None = None
        self._lane: ScriptLane | None = None
        self._watcher: anyio.abc.TaskGroup | None = None
        self._opened = False
        self._closed = False
        #: Monotonic time the current outage was detected, or None while Redis answers.
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._calls = 0
        self._failures = 0
        self._outages = 0
        self._scripts: dict[str, RedisScript] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> RedisConnection:
        if self._opened:
            raise RuntimeError("a RedisConnection is entered once")
        coredis = _import_coredis()
        client = coredis.Redis.from_url(
            self._url,
            stream_timeout=self.timeout,
            connect_timeout=self.timeout,
            # The connection's own timeout and outage handling replace coredis's retries: a
            # retry inside a call would spend the call's whole budget on a server that is down.
            retry_policy=coredis.retry.NoRetryPolicy(),
        )
        pool = client.connection_pool
        pool.connection_class = _closing_connection_class(pool.connection_class)
        # Entering connects nothing yet: a Redis that is down at start is an outage like any.
        await client.__aenter__()
        global _REFUSED, _UNREACHABLE
        if coredis.exceptions.RedisError not in _UNREACHABLE:
            _REFUSED = (coredis.exceptions.ResponseError, ReplyError)
            _UNREACHABLE = (coredis.exceptions.RedisError, *_UNREACHABLE)
        self._client = client
        lane = self._lane = ScriptLane(self._url)
        # The lane's watcher times its script calls (see ScriptLane); it runs until closing.
        self._watcher = anyio.create_task_group()
        await self._watcher.__aenter__()
        self._watcher.start_soon(lane.watch)
        self._opened = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection (idempotent). Call it from the task that opened it: coredis
        runs its connections in a task group entered there."""
        client, self._client = self._client, None
        lane, self._lane = self._lane, None
        watcher, self._watcher = self._watcher, None
        self._closed = True
        if watcher is not None:
            watcher.cancel_scope.cancel()
            await watcher.__aexit__(None, None, None)
        if lane is not None:
            await lane.aclose()
        if client is not None:
            # No shield here: the client's task group was entered outside any scope of ours,
            # and a cancelled exit still cancels and awaits its tasks.
            await client.__aexit__(None, None, None)

    def __del__(self) -> None:
        if getattr(self, "_opened", False) and not self._closed:
            import warnings

            warnings.warn(
                f"{self!r} was never closed: use `async with RedisConnection(...)`",
                ResourceWarning,
                stacklevel=2,
            )

    # -- calls ----------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False from the failure that started an outage until a call succeeds again."""
        return self._down_since is None

    @property
    def client(self) -> coredis.Redis[bytes]:
        """The coredis client, for calls `run()` wraps; raises when the connection is not open."""
        if self._client is None:
            raise self._not_open()
        return self._client

    def _not_open(self) -> RuntimeError:
        state = "closed" if self._closed else "not open yet (use `async with`)"
        return RuntimeError(f"RedisConnection to {self.url} is {state}")

    def key(self, *parts: str) -> str:
        """A key under this connection's prefix: `prefix:part:part`."""
        return ":".join((self.prefix, *parts))

    def script(self, source: str) -> RedisScript:
        """Register a Lua script (once per source) and return it, ready to call."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = RedisScript(self, source)
        return script

    async def run(
        self, call: Callable[[coredis.Redis[bytes]], Awaitable[T]], *, limit: float | None = None
    ) -> T:
        """Run `call(client)` under the connection's timeout (or `limit` seconds); its result.

        Raises `RedisUnavailableError` when Redis does not answer in time, cannot be reached,
        or is inside an outage's `retry_interval`; `RedisCommandError` when Redis answered with
        an error (a script's bug, a key of the wrong type): that is no outage.
        """
        client = self.client
        return await self._guarded(lambda: call(client), limit)

    async def _guarded(self, call: Callable[[], Awaitable[T]], limit: float | None) -> T:
        """`call()` under the timeout, failing fast inside an outage's retry interval, its
        failures sorted into outages and refused commands."""
        if self._down_since is not None and time.monotonic() < self._retry_at:
            raise self._failing_fast()
        limit = self.timeout if limit is None else limit
        self._calls += 1
        try:
            # What `anyio.fail_after` does, without its two generator-based context managers.
            with anyio.CancelScope(deadline=anyio.current_time() + limit) as scope:
                result = await call()
            if scope.cancelled_caught:
                raise TimeoutError
        except TimeoutError as exc:
            raise self._failed(f"no answer within {limit:g} s") from exc
        except _REFUSED as exc:
            raise self._refused(exc) from exc
        except _UNREACHABLE as exc:
            raise self._failed(f"{type(exc).__name__}: {exc}") from exc
        if self._down_since is not None:
            self._recovered()
        return result

    async def _run_script(
        self, script: RedisScript, count: int, body: bytes, limit: float | None
    ) -> Any:
        """`_guarded` for a script call, written out: it is on every request's path, and a
        closure, the generic call's indirections, a re-encoding and a cancel scope per call
        all cost CPU."""
        lane = self._lane
        if lane is None:
            raise self._not_open()
        if self._down_since is not None and time.monotonic() < self._retry_at:
            raise self._failing_fast()
        limit = self.timeout if limit is None else limit
        self._calls += 1
        head = b"*%d\r\n" % (count + 2)
        # One deadline for both tries; the lane times the call without a cancel scope.
        deadline = time.monotonic() + limit
        try:
            try:
                reply = await lane.execute(head + script._evalsha + body, deadline)
            except ReplyError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                reply = await lane.execute(head + script._eval + body, deadline)
        except TimeoutError as exc:
            raise self._failed(f"no answer within {limit:g} s") from exc
        except _REFUSED as exc:
            raise self._refused(exc) from exc
        except _UNREACHABLE as exc:
            raise self._failed(f"{type(exc).__name__}: {exc}") from exc
        if self._down_since is not None:
            self._recovered()
        return reply

    def _failing_fast(self) -> RedisUnavailableError:
        now = time.monotonic()
        return RedisUnavailableError(
            f"Redis at {self.url} is unavailable (since {now - (self._down_since or now):.1f} s);"
            f" it is tried again in {self._retry_at - now:.1f} s",
            url=self.url,
        )

    def _refused(self, exc: BaseException) -> RedisCommandError:
        self._recovered()  # it answered
        return RedisCommandError(f"Redis at {self.url} refused a command: {exc}", url=self.url)

    def _failed(self, reason: str) -> RedisUnavailableError:
        now = time.monotonic()
        self._failures += 1
        self._retry_at = now + self.retry_interval
        if self._down_since is None:
            self._down_since = now
            self._outages += 1
            log_event(
                UNAVAILABLE_EVENT,
                (),
                failed=True,
                url=self.url,
                reason=reason,
                retry_in=self.retry_interval,
            )
        return RedisUnavailableError(f"Redis at {self.url} is unavailable: {reason}", url=self.url)

    def _recovered(self) -> None:
        down_since, self._down_since = self._down_since, None
        if down_since is not None:
            log_event(
                RECOVERED_EVENT,
                (),
                failed=False,
                url=self.url,
                down_seconds=round(time.monotonic() - down_since, 3),
            )

    def statistics(self) -> dict[str, Any]:
        """Counters: calls tried, calls failed, outages seen, and whether Redis is available."""
        return {
            "calls": self._calls,
            "failures": self._failures,
            "outages": self._outages,
            "available": self.available,
        }

    def __repr__(self) -> str:
        return f"RedisConnection({self.url!r}, timeout={self.timeout!r})"
