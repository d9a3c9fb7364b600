"""Vision input: images by URL, from a local file (sent inline as base64), and by uploaded file id.

`image(...)` makes an image input once; the same value goes into a Responses input or a chat
message (as `input_image` or `image_url`). A local file or bytes is read when the value is made
and sent as a `data:` URL whose media type comes from the bytes themselves.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that (the mock answers with generated text: it does not look at the pixels).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio

from openai_ergo import InvalidRequestError, image
from openai_ergo.mock import client_or_mock

URL = "https://upload.wikimedia.org/wikipedia/commons/3/3f/Fronalpstock_big.jpg"
# A 1x1 PNG: small enough to spell out here; any PNG, JPEG, GIF or WEBP works the same way.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        # 1. By URL: the API fetches the image itself; `detail` trades tokens for resolution.
        by_url = image(URL, detail="low")
        reply = await client.responses("gpt-5-mini").input("Describe this landscape.", by_url)
        print("by URL:", reply.output_text[:70], "...")

        # 2. From a local file: read now, sent inline. The name says .bin; the bytes say PNG.
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "upload.bin"
            path.write_bytes(PIXEL_PNG)
            from_file = image(path)
        builder = client.chat("gpt-4o-mini").user("What colour is this pixel?", from_file)
        part = builder.request_body()["messages"][0]["content"][1]
        print("from a file, sent as:", part["type"], part["image_url"]["url"][:30] + "...")
        answer = await builder
        print("chat answer:", answer.text[:70], "...")

        # 3. Several images in one message: a file uploaded once with purpose "vision" is
        #    referred to by id (Responses only), beside inline bytes.
        uploaded = await client.files.create(file=PIXEL_PNG, purpose="vision")
        compare = client.responses("gpt-5-mini").input(
            "Are these two images the same?", image(file_id=uploaded.id), image(PIXEL_PNG)
        )
        parts = compare.request_body()["input"][0]["content"]
        print("parts sent:", [p["type"] for p in parts], "| file:", parts[1]["file_id"])
        print("compare:", (await compare).output_text[:70], "...")

        # 4. Bytes that are no image are refused before anything is sent, naming the parameter.
        try:
            image(b"GIF? no, plain text")
        except InvalidRequestError as err:
            print(f"refused ({err.param}): {err}")


if __name__ == "__main__":
    anyio.run(main)
