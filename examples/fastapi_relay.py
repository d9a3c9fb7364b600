"""A FastAPI app streaming a model's tokens to a browser page, as Server-Sent Events.

`GET /` is a page whose few lines of JavaScript open an `EventSource` on `/tokens` and append
each token as it arrives; `GET /tokens?prompt=...` relays a chat stream with
`StarletteSSEResponse`: one `token` event per text delta, then a `done` event. When the browser
goes away mid-answer (a closed tab), the relay cancels the stream to the model and closes it,
so its HTTP connection is handed back at once.

Run it as it is: it serves the app with uvicorn on a free port, fetches the page and the token
stream the way a browser would (with httpx and `streaming.connect_sse`), prints the tokens and
exits. With OPENAI_API_KEY set the tokens come from OpenAI; without, from the embedded mock.
To try it in a browser, serve `app` yourself (`uvicorn.run(build_app(client))`) and open `/`.

Needs: `pip install "openai-ergo[mock]" fastapi` (uvicorn comes with the `mock` extra).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import anyio
import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from openai_ergo import Client
from openai_ergo.mock import client_or_mock
from streaming import ServerSentEvent, StarletteSSEResponse, connect_sse

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>Tokens</title>
<form id="ask"><input name="prompt" value="Write a haiku about rivers"><button>Ask</button></form>
<pre id="answer"></pre>
<script>
document.getElementById("ask").onsubmit = (e) => {
  e.preventDefault();
  const answer = document.getElementById("answer");
  answer.textContent = "";
  const prompt = new FormData(e.target).get("prompt");
  const source = new EventSource("/tokens?prompt=" + encodeURIComponent(prompt));
  source.addEventListener("token", (event) => { answer.textContent += event.data; });
  source.addEventListener("done", () => source.close());
};
</script>
"""


def build_app(client: Client) -> FastAPI:
    """The app: the page, and the token stream it reads."""
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.get("/tokens")
    async def tokens(prompt: str) -> StarletteSSEResponse:
        async def events() -> AsyncIterator[ServerSentEvent]:
            # The chat stream lives inside this generator: when the browser leaves, the relay
            # cancels it here and closes it, and `async with` hands its connection back.
            async with client.chat("gpt-4o-mini").user(prompt).stream() as stream:
                async for text in stream.text():
                    yield ServerSentEvent(event="token", data=text)
            yield ServerSentEvent(event="done", data="")

        # A comment every 15 s keeps proxies from closing a quiet stream (heartbeat=15.0).
        return StarletteSSEResponse(events())

    return app


async def main() -> None:
    async with client_or_mock(seed=3) as client:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            url = f"http://127.0.0.1:{listener.getsockname()[1]}"
            config = uvicorn.Config(build_app(client), log_level="warning", lifespan="off")
            server = uvicorn.Server(config)
            async with anyio.create_task_group() as group:
                group.start_soon(server.serve, [listener])
                # uvicorn offers a flag for this, not an event to wait on.
                while not server.started:  # noqa: ASYNC110
                    await anyio.sleep(0.01)

                # What a browser does: load the page, then open the EventSource it names.
                async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
                    page = await browser.get("/")
                    print("page:", page.status_code, "EventSource" in page.text)
                    async with connect_sse(
                        browser, "GET", "/tokens", params={"prompt": "Write a haiku about rivers"}
                    ) as source:
                        async for event in source:
                            if event.event == "done":
                                break
                            print(event.data, end="", flush=True)
                    print()
                server.should_exit = True


if __name__ == "__main__":
    anyio.run(main)  # uvicorn runs on asyncio
