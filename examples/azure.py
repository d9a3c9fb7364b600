"""Azure OpenAI: the same builders and typed methods, routed to your deployments.

`Client.azure(endpoint, api_key=...)` sends the key as `api-key` and routes each request:
deployment-scoped operations (chat, embeddings, audio, images) to
`{endpoint}/openai/deployments/{deployment}/...?api-version=...`, where the request's `model` is
the deployment's name, and the rest (Responses, files, models) to `{endpoint}/openai/...`.
An endpoint ending in `/openai/v1` (or `v1=True`) selects Azure's version-less v1 API instead.
Entra ID: `auth=TokenProvider(fetch)` in place of the key.

Run it with AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY set (and AZURE_OPENAI_DEPLOYMENT
naming a chat deployment) to talk to your resource; without them it starts the embedded mock
server, which answers Azure's paths, and prints the URLs each request went to.
"""

from __future__ import annotations

import os
import time
from contextlib import AsyncExitStack

import anyio

from openai_ergo import Client, TokenProvider


async def entra_token() -> tuple[str, float]:
    """Stands for azure-identity's `get_token(...)`: a bearer token and when it expires."""
    return "entra-token-for-the-example", time.time() + 3600


async def main() -> None:
    async with AsyncExitStack() as stack:
        server = None
        deployment = os.environ.get("AZURE_OPENAI_DEPLOYMENT", "my-gpt-4o-mini")
        if os.environ.get("AZURE_OPENAI_ENDPOINT"):
            endpoint = os.environ["AZURE_OPENAI_ENDPOINT"]
            client = await stack.enter_async_context(Client.azure())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7))
            endpoint = server.url.removesuffix("/v1")  # the mock's root stands for the resource
            client = await stack.enter_async_context(
                Client.azure(endpoint, api_key="azure-mock-key", api_version="2024-10-21")
            )
        print(client)  # never shows the key

        # The model names a deployment: yours, not OpenAI's model name.
        chat = await client.chat(deployment).user("Say hi from Azure")
        print("chat:", chat.text[:60])
        async with client.chat(deployment).user("Count to 3").stream() as stream:
            streamed = await stream.until_done()
        print("streamed:", streamed.choices[0].finish_reason)
        vectors = await client.embeddings.create(model="my-embedder", input="hello")
        print("embedding length:", len(vectors.data[0].embedding or []) if vectors.data else 0)
        if server is not None:
            print("dated API, the URLs used:")
            for request in server.requests:
                print(f"  {request.method} {request.path}?{request.query}")
                assert request.headers["api-key"] == "azure-mock-key"
            server.app.reset()

            # The v1 API: one path for every operation, the deployment in the body's `model`;
            # and Entra ID instead of a key.
            v1 = Client.azure(f"{endpoint}/openai/v1", auth=TokenProvider(entra_token))
            async with v1:
                reply = await v1.responses(deployment).input("Say hi")
                await v1.chat(deployment).user("Say hi")
            print("v1 API, the URLs used:", [r.path for r in server.requests])
            sent = server.requests[0].headers
            print("authorized with a bearer token:", sent["authorization"].startswith("Bearer "))
            print("responses:", reply.model, reply.output_text[:40])


if __name__ == "__main__":
    anyio.run(main)
