"""The blocking facade: the async client's builders, namespaces, streams and paginators, used
from code that is not async (scripts, notebooks, a REPL).

```
with openai_ergo.blocking.Client() as client:
    reply = client.responses("gpt-5-mini").input("Hi").create()
    with client.chat("gpt-4o-mini").user("Count to 5").stream() as stream:
        for text in stream.text():
            print(text, end="")
    for model in client.models.list():
        print(model.id)
```

The async API stays the only implementation. `Client` runs an `openai_ergo.Client` on an event
loop of its own, in a thread (anyio's blocking portal: asyncio by default, trio with
`backend="trio"`), and hands out `Blocking` views of what the async API returns. A view is
generic, not a second copy of each method: calling a method runs it on that loop and waits;
a coroutine's result comes back as its value; an async iterator iterates with `for`; an async
context manager is a `with` block; anything awaitable (a builder, a tool run) gives with
`.result()` what `await` gives. Objects that are plain data (`Response`, `Parsed`, events)
come back as they are. Because the loop lives in its own thread, the facade works the same
from a plain script and from a notebook whose own asyncio loop is running.
"""

from __future__ import annotations

from openai_ergo._blocking import Blocking, Client, ClientClosedError, client_or_mock

__all__ = ["Blocking", "Client", "ClientClosedError", "client_or_mock"]
