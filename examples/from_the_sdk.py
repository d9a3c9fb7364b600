"""Code written for the official SDK, running on openai-ergo: the calls, the streaming loop and
webhook verification unchanged; then the builders that do the same in fewer words.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock
server and talks to that. See docs/migrating.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import anyio

from openai_ergo import InvalidWebhookSignatureError, Webhooks
from openai_ergo.mock import client_or_mock

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"the endpoint's signing key").decode()


def signed_delivery(body: bytes) -> dict[str, str]:
    """The headers OpenAI puts on a webhook delivery (Standard Webhooks), made here with the
    demo secret so the example has a delivery to check."""
    webhook_id, timestamp = "msg_demo", str(int(time.time()))
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    digest = hmac.digest(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


async def main() -> None:
    async with client_or_mock(seed=7) as base:
        # AsyncOpenAI's settings, under AsyncOpenAI's names.
        client = base.with_options(max_retries=2, timeout=30)

        # 1. SDK code, line for line.
        completion = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "Name a river."},
            ],
        )
        print("chat:", completion.choices[0].message.content)
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Count to 5"}],
            stream=True,
        )
        print("stream: ", end="")
        async for chunk in stream:
            print(chunk.choices[0].delta.content or "", end="")
        print()
        response = await client.responses.create(model="gpt-5", input="Say hi")
        print("response:", response.output_text)
        print("models:", [model.id async for model in client.models.list()][:3])

        # 2. The builders: the same requests; a chat stream's final() has the usage, and the
        #    SDK's loop still runs over it (the usage chunk goes into final(), not the loop).
        chat = client.chat("gpt-4o-mini").system("Be terse.")
        print("builder chat:", (await chat.user("Name a river.")).choices[0].message.content)
        async with chat.user("Count to 5").stream() as stream:
            async for chunk in stream:
                print(chunk.choices[0].delta.content or "", end="")
        print()
        usage = stream.final().usage
        print("usage:", usage.total_tokens if usage else None, "tokens")
        print("builder response:", (await client.responses("gpt-5").input("Say hi")).output_text)

    # 3. Webhooks: `client.webhooks.unwrap(...)` as in the SDK, or `Webhooks(secret)` in the
    #    web app that receives them, which often has no client.
    webhooks = Webhooks(WEBHOOK_SECRET)
    body = b'{"id": "evt_1", "type": "batch.completed", "data": {"id": "batch_123"}}'
    event = webhooks.unwrap(body, signed_delivery(body))
    print("webhook:", event.type, getattr(event, "data", None))
    forged = body.replace(b"batch_123", b"batch_999")
    try:
        webhooks.unwrap(forged, signed_delivery(body))
    except InvalidWebhookSignatureError as exc:
        print("forged webhook refused:", exc.reason)


anyio.run(main)
