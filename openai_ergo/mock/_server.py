"""The mock on a loopback socket: uvicorn in a background thread with its own event loop.

The caller's loop (asyncio or trio) never runs server code: starting and stopping happen in a
worker thread (`anyio.to_thread.run_sync`), so the same helper serves both backends, and sync
code (a pytest fixture, a script) can use it too.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, final

import anyio
from anyio.abc import AsyncResource

from openai_ergo._errors import ConfigurationError
from openai_ergo.mock._app import MockOpenAI
from openai_ergo.mock._exchange import ConnectionDropped
from openai_ergo.mock._faults import Fault
from openai_ergo.mock._replies import RecordedRequest, Reply

if TYPE_CHECKING:
    from openai_ergo._client import Client

__all__ = ["MockServer", "client_or_mock", "serve"]

_START_TIMEOUT = 30.0


_MISSING_UVICORN = (
    "The mock server needs uvicorn, which the `mock` extra installs: "
    "pip install 'openai-ergo[mock]'. (In-process, MockOpenAI() runs without it.)"
)


class _DroppedOnPurpose(logging.Filter):
    """uvicorn logs every app exception as an error; a deliberate disconnect is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _require_uvicorn() -> None:
    """Fail early and clearly when the `mock` extra is not installed (no import: that is slow)."""
    try:
        found = importlib.util.find_spec("uvicorn") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ConfigurationError(_MISSING_UVICORN)


def _uvicorn_server(app: MockOpenAI, on_ready: Callable[[], None], access_log: bool) -> Any:
    try:
        import uvicorn  # the `mock` extra: imported only when a socket server is wanted
    except ImportError as exc:
        raise ConfigurationError(_MISSING_UVICORN) from exc

    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DroppedOnPurpose) for f in error_log.filters):
        error_log.addFilter(_DroppedOnPurpose())

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            on_ready()

    config = uvicorn.Config(
        app,
        lifespan="off",
        # WebSocket connections (the Realtime API, the Responses WebSocket mode) on wsproto,
        # the project's one WebSocket library.
        ws="wsproto",
        # None keeps uvicorn from reconfiguring the host application's logging.
        log_config=None,
        log_level="warning",
        access_log=access_log,
        timeout_graceful_shutdown=5,
        # The app sends its own `Date` (see `_wire.http_date`); two would confuse clients.
        date_header=False,
    )
    return _Server(config)


@final
class MockServer(AsyncResource):
    """The mock OpenAI API served on 127.0.0.1 from a background thread.

    Use `async with serve(...) as server:` from asyncio or trio, or `with MockServer() as server:`
    from sync code. `url` is the base URL to give a client (it ends in `/v1`); `requests`,
    `reply_with`, `fail_next` and `reset` reach the app.
    """

    def __init__(
        self, app: MockOpenAI | None = None, *, port: int = 0, access_log: bool = False
    ) -> None:
        _require_uvicorn()
        self.app = app if app is not None else MockOpenAI()
        self._port = port
        self._access_log = access_log
        self._socket: socket.socket | None = None
        self._port_bound: int | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<MockServer {self.url if self.running else ''} {state}>"

    @property
    def running(self) -> bool:
        """True between `start()` and `stop()`."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        """The port the server listens on (or last listened on, once stopped)."""
        if self._port_bound is None:
            raise RuntimeError("the mock server is not started")
        return self._port_bound

    @property
    def url(self) -> str:
        """The base URL for clients, e.g. `http://127.0.0.1:54321/v1`."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first."""
        return self.app.requests

    def reply_with(self, *replies: Reply | str) -> None:
        """Queue canned replies (see `MockOpenAI.reply_with`)."""
        self.app.reply_with(*replies)

    def fail_next(self, fault: Fault | str, *, times: int = 1, path: str | None = None) -> None:
        """Fail the next requests (see `MockOpenAI.fail_next`)."""
        self.app.fail_next(fault, times=times, path=path)

    def reset(self) -> None:
        """Forget recorded requests, queued replies and armed faults."""
        self.app.reset()

    def start(self) -> None:
        """Bind 127.0.0.1 and serve from a background thread; returns once it accepts requests."""
        if self._thread is not None:
            raise RuntimeError("the mock server is already started")
        self._failure = None
        self._server = _uvicorn_server(self.app, self._ready.set, self._access_log)
        # Binding here, not in uvicorn, makes the port known before the thread runs. The
        # protocol is named: asyncio turns Nagle's algorithm off only on the connections of a
        # socket whose proto is IPPROTO_TCP (0, the default, leaves it on), and with it on,
        # each part of an answer after the first (headers, then body) waits for the client's
        # delayed ACK: about 40 ms a response on Linux, which every round trip measured.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", self._port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self._port_bound = int(sock.getsockname()[1])
        self.app._closing.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"openai-ergo-mock:{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT) or self._failure is not None:
            self.stop()
            raise RuntimeError("the mock server failed to start") from self._failure

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported by start(); a thread has nobody else to tell
            self._failure = exc
            self._ready.set()

    def stop(self) -> None:
        """Stop serving: hanging requests are released, the thread ends, the socket closes."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self.app.close()
        self._server.should_exit = True
        thread.join()
        if self._socket is not None:
            self._socket.close()
        self._ready.clear()

    async def aclose(self) -> None:
        """Stop serving without blocking the event loop; completes even when cancelled."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> MockServer:
        # Not cancellable while the thread starts the server: a cancellation lands at the
        # block's first checkpoint, and `__aexit__` stops the server.
        await anyio.to_thread.run_sync(self.start)
        return self


def serve(app: MockOpenAI | None = None, *, port: int = 0, **options: Any) -> MockServer:
    """The mock on a free loopback port: `async with serve(seed=1) as server: ...server.url`.

    `options` are `MockOpenAI`'s (seed, reply_tokens, tokens_per_second, responder, ...) when
    no `app` is given.
    """
    if app is not None and options:
        raise TypeError("pass either an app or its options, not both")
    return MockServer(app if app is not None else MockOpenAI(**options), port=port)


@asynccontextmanager
async def client_or_mock(**options: Any) -> AsyncIterator[Client]:
    """A `Client` for OpenAI when `OPENAI_API_KEY` is set, else one for the mock served on a
    free loopback port for it (`options` are `MockOpenAI`'s): how the examples and the demo
    run with a key or on a fresh clone with none. The client, and the server when there is
    one, close on exit.

    `async with client_or_mock(seed=7) as client: await client.responses("gpt-5")...`
    """
    from openai_ergo._client import Client

    if os.environ.get("OPENAI_API_KEY"):
        async with Client() as client:
            yield client
        return
    async with serve(**options) as server, Client(base_url=server.url, api_key="sk-mock") as client:
        yield client
