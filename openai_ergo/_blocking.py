"""The blocking facade's machinery: the portal-backed `Client`, the generic `Blocking` view and
what they run on the loop (`openai_ergo.blocking` exports the public names)."""

from __future__ import annotations

import functools
import inspect
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, final

from anyio.from_thread import BlockingPortal, start_blocking_portal

from openai_ergo._errors import OpenAIErgoError

if TYPE_CHECKING:
    from openai_ergo._client import Client as AsyncClient

__all__ = ["Blocking", "Client", "ClientClosedError", "client_or_mock"]


class ClientClosedError(OpenAIErgoError, RuntimeError):
    """The blocking client (and so its event loop) was closed: nothing can run on it any more."""


_PLAIN = frozenset({str, bytes, bytearray, int, float, bool, type(None), list, dict, tuple, set})


_ASYNC_KINDS: dict[type, bool] = {}


def _is_async_api(kind: type) -> bool:
    """Whether objects of `kind` need a blocking view (decided once per class)."""
    known = _ASYNC_KINDS.get(kind)
    if known is None:
        known = _ASYNC_KINDS[kind] = _has_async_api(kind)
    return known


def _has_async_api(kind: type) -> bool:
    """Whether objects of `kind` need a blocking view: they are awaited, iterated or entered
    asynchronously, or have coroutine methods (a namespace's typed methods are coroutine
    functions under a checking wrapper, so namespaces are named here)."""
    if kind in _PLAIN:
        return False
    if any(hasattr(kind, name) for name in ("__await__", "__aiter__", "__aenter__")):
        return True
    from openai_ergo._namespaces._base import Namespace

    if issubclass(kind, Namespace):
        return True
    try:
        members = inspect.getmembers(kind)
    except Exception:  # a class that will not list its members is used as it is
        return False
    return any(
        inspect.iscoroutinefunction(member) for name, member in members if not name.startswith("_")
    )


def _unwrapped(value: Any) -> Any:
    """An argument for the async API: a view gives its object (`batch.add("q", builder)`),
    also inside a list, tuple or dict."""
    if isinstance(value, Blocking):
        return value._target
    if isinstance(value, list | tuple):
        items = [_unwrapped(item) for item in value]
        return type(value)(items) if any(isinstance(v, Blocking) for v in value) else value
    if isinstance(value, dict) and any(isinstance(v, Blocking) for v in value.values()):
        return {key: _unwrapped(item) for key, item in value.items()}
    return value


async def _invoke(function: Callable[..., Any], args: tuple[Any, ...], kwargs: Any) -> Any:
    """Call `function` on the loop; a coroutine it returns is awaited there (an awaitable
    that is not a coroutine, such as a builder, is a value: it comes back as it is)."""
    result = function(*args, **kwargs)
    if inspect.iscoroutine(result):
        result = await result
    return result


async def _awaited(target: Any) -> Any:
    return await target


async def _next(iterator: Any) -> list[tuple[Any, Any]]:
    """The next item, and those the iterator holds ready after it (a stream's events decoded
    from the same read: `_ready_items()`, each with its position), so a stream crosses
    threads once per read, not once per event; an empty list at the end."""
    try:
        first = await iterator.__anext__()
    except StopAsyncIteration:
        return []
    ready = getattr(iterator, "_ready_items", None)
    return [(first, None), *ready()] if ready is not None else [(first, None)]


def _run(portal: BlockingPortal, function: Callable[..., Any], *args: Any) -> Any:
    """Run `function(*args)` as a task on the portal's loop and wait for it. An interrupt
    (Ctrl-C in a notebook) cancels the task instead of leaving it running."""
    try:
        future = portal.start_task_soon(function, *args)
    except RuntimeError as exc:
        if "not running" in str(exc):
            raise ClientClosedError(
                "the blocking client was closed, and with it the event loop its objects run "
                "on: make a new openai_ergo.blocking.Client"
            ) from None
        raise
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise


def _view(value: Any, portal: BlockingPortal) -> Any:
    """`value` as blocking code uses it: a view of async objects, a blocking callable for a
    method, plain data as it is."""
    if inspect.ismethod(value) or inspect.isfunction(value) or isinstance(value, functools.partial):
        return _BlockingCallable(value, portal)
    if _is_async_api(type(value)):
        return Blocking(value, portal)
    return value


@final
class _BlockingCallable:
    """A method of the async API, called on the loop; its result (a coroutine's value) viewed."""

    __slots__ = ("__wrapped__", "_portal")

    def __init__(self, function: Callable[..., Any], portal: BlockingPortal) -> None:
        self.__wrapped__ = function
        self._portal = portal

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = tuple(_unwrapped(arg) for arg in args)
        kwargs = {key: _unwrapped(value) for key, value in kwargs.items()}
        function = self.__wrapped__
        try:
            result = _run(self._portal, _invoke, function, args, kwargs)
        except ClientClosedError:
            # Once the client is closed, what needs no loop still works here (a stream's
            # `final()`, a builder's `request_body()`); what would send raises.
            result = function(*args, **kwargs)
            if inspect.iscoroutine(result):
                result.close()
                raise
        return _view(result, self._portal)

    def __repr__(self) -> str:
        return f"<blocking {self.__wrapped__!r}>"


@final
class _BlockingIterator(Iterator[Any]):
    """An async iterator, iterated with `for`: each item is read on the loop."""

    __slots__ = ("_index", "_items", "_iterator", "_portal")

    def __init__(self, iterator: Any, portal: BlockingPortal) -> None:
        self._iterator = iterator
        self._portal = portal
        self._items: list[Any] = []
        self._index = 0

    def __next__(self) -> Any:
        if self._index >= len(self._items):
            self._items = _run(self._portal, _next, self._iterator)
            self._index = 0
            if not self._items:
                raise StopIteration
        item, position = self._items[self._index]
        self._index += 1
        if position is not None:
            # A ready item is the async iterator's only once handed out here (no I/O: a
            # position is set, so this thread may do it).
            self._iterator._resume_at(position)
        return _view(item, self._portal)


class Blocking:
    """A blocking view of an object of the async API (a namespace, builder, stream,
    paginator, job ...). Attributes are the object's: a method runs on the client's loop and
    returns its result; `for` iterates an async iterator; `with` enters an async context
    manager; `result()` gives what `await obj` gives. Plain data comes back as it is."""

    __slots__ = ("_exits", "_portal", "_target")

    def __init__(self, target: Any, portal: BlockingPortal) -> None:
        self._target = target
        self._portal = portal
        #: The exits of the `with` blocks open on this view, by thread, innermost last.
        self._exits: dict[int, list[Callable[..., bool | None]]] = {}

    @property
    def async_object(self) -> Any:
        """The object of the async API this view runs (use it from async code only)."""
        return self._target

    def __getattr__(self, name: str) -> Any:
        # Only reached for a name the view lacks; a view still being made has no target yet.
        try:
            target = object.__getattribute__(self, "_target")
        except AttributeError:
            raise AttributeError(name) from None
        return _view(getattr(target, name), self._portal)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._target)) | {"async_object", "result"})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not callable(self._target):
            raise TypeError(f"{type(self._target).__name__} is not callable")
        return _BlockingCallable(self._target, self._portal)(*args, **kwargs)

    def result(self) -> Any:
        """What `await obj` gives in async code: send a builder's request and return its
        object, run a tool loop to its answer."""
        if not hasattr(self._target, "__await__"):
            raise TypeError(
                f"{type(self._target).__name__} is not awaitable: call its methods instead"
            )
        return _view(_run(self._portal, _awaited, self._target), self._portal)

    def __iter__(self) -> Iterator[Any]:
        target = self._target
        if hasattr(target, "__aiter__"):
            iterator = _run(self._portal, _invoke, type(target).__aiter__, (target,), {})
            return _BlockingIterator(iterator, self._portal)
        if hasattr(target, "__iter__"):
            return (_view(item, self._portal) for item in target)
        raise TypeError(f"{type(target).__name__} is not iterable")

    def __enter__(self) -> Any:
        if not hasattr(self._target, "__aenter__"):
            raise TypeError(f"{type(self._target).__name__} is not a context manager")
        manager: AbstractContextManager[Any] = self._portal.wrap_async_context_manager(self._target)
        entered = manager.__enter__()
        self._exits.setdefault(threading.get_ident(), []).append(manager.__exit__)
        return self if entered is self._target else _view(entered, self._portal)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        thread = threading.get_ident()
        exits = self._exits.get(thread)
        if not exits:
            return None
        leave = exits.pop()
        if not exits:
            del self._exits[thread]
        return leave(exc_type, exc, tb)

    def __len__(self) -> int:
        return len(self._target)

    def __getitem__(self, key: Any) -> Any:
        return _view(self._target[key], self._portal)

    def __bool__(self) -> bool:
        return bool(self._target)

    def __repr__(self) -> str:
        return f"<blocking {self._target!r}>"


def _make_client(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[AsyncClient, int]:
    from openai_ergo._client import Client as AsyncClient

    return AsyncClient(*args, **kwargs), threading.get_ident()


def _close(
    session: AbstractContextManager[Any], portal_manager: AbstractContextManager[Any]
) -> None:
    """Close the async client (its pool), then stop the portal's loop and join its thread."""
    try:
        session.__exit__(None, None, None)
    finally:
        portal_manager.__exit__(None, None, None)


@final
class Client(Blocking):
    """A blocking OpenAI client: `with openai_ergo.blocking.Client() as client:`.

    Takes the arguments of `openai_ergo.Client` (the API key and base URL from the
    environment by default), and `backend` / `backend_options` for the event loop it runs on
    (`"asyncio"` or `"trio"`, as `anyio.run` takes them). Everything else is the async
    client's, used as a `Blocking` view: `client.responses(model)...create()`,
    `client.chat(model)...stream()` in a `with` block, `client.files.list()` in a `for` loop.

    `close()` (or leaving the `with` block) closes the connection pool and stops the loop and
    its thread; a client dropped unclosed is closed when collected, with a `ResourceWarning`.
    """

    __slots__ = ("_closed", "_loop_thread", "_portal_manager", "_session")

    def __init__(
        self,
        *args: Any,
        backend: str = "asyncio",
        backend_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._closed = True  # until everything below is open: `__del__` has nothing to do
        manager = start_blocking_portal(
            backend, dict(backend_options or {}), name="openai-ergo-blocking"
        )
        portal = manager.__enter__()
        try:
            client, loop_thread = _run(portal, _invoke, _make_client, (args, kwargs), {})
            session = portal.wrap_async_context_manager(client)
            session.__enter__()
        except BaseException as exc:
            manager.__exit__(type(exc), exc, exc.__traceback__)
            raise
        super().__init__(client, portal)
        self._portal_manager = manager
        self._session = session
        self._loop_thread = loop_thread
        self._closed = False

    @property
    def async_client(self) -> AsyncClient:
        """The `openai_ergo.Client` underneath (use it from async code on `portal` only)."""
        client: AsyncClient = self._target
        return client

    @property
    def portal(self) -> BlockingPortal:
        """The anyio blocking portal of the client's event loop: `client.portal.call(fn)` runs
        your own async function there."""
        return self._portal

    @property
    def closed(self) -> bool:
        """Whether `close()` ran: the pool is closed and the loop stopped."""
        return self._closed

    def close(self) -> None:
        """Close the connection pool, then stop the event loop and its thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        _close(self._session, self._portal_manager)

    def __enter__(self) -> Client:
        if self._closed:
            raise ClientClosedError("this blocking client was closed: make a new one")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        if threading.get_ident() == self._loop_thread:
            # Collected on its own loop, which cannot wait for itself to stop: another
            # thread closes it.
            self._closed = True
            parts = (self._session, self._portal_manager)
            threading.Thread(target=_close, args=parts, daemon=True).start()
        else:
            self.close()
        # Last: under `-W error` this raises, and the close above is done.
        warnings.warn(
            "an openai_ergo.blocking.Client was never closed, so its connection pool and "
            "event loop were closed at garbage collection: use `with "
            "openai_ergo.blocking.Client() as client:` or call `client.close()`",
            ResourceWarning,
            stacklevel=2,
        )

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<blocking {self._target!r} {state}>"


@contextmanager
def client_or_mock(**options: Any) -> Iterator[Client]:
    """A blocking `Client` for OpenAI when `OPENAI_API_KEY` is set, else one for the mock
    served on a free loopback port (`options` are `MockOpenAI`'s): the blocking twin of
    `openai_ergo.mock.client_or_mock`. The client, and the server when there is one, close
    on exit."""
    if os.environ.get("OPENAI_API_KEY"):
        with Client() as client:
            yield client
        return
    from openai_ergo.mock import MockOpenAI, MockServer

    with (
        MockServer(MockOpenAI(**options)) as server,
        Client(base_url=server.url, api_key="sk-mock") as client,
    ):
        yield client
