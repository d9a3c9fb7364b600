"""Image generation: an awaited image saved to a file, several images from one request, and a
stream of partial images as the picture is drawn.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that, so it works on a fresh clone with no network. It writes its images to a
temporary directory and prints what it wrote.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio

from openai_ergo import GeneratedImage
from openai_ergo.mock import client_or_mock


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        folder = Path(tempfile.mkdtemp(prefix="images-"))

        # Awaiting the builder gives the images with their bytes; save() writes one to a file.
        otter = client.images("gpt-image-1").prompt("An otter reading a map").quality("low")
        made = await otter.size("1536x1024")
        written = await made[0].save(folder / "otter.png")
        print(f"otter.png: {made[0].dimensions} {made[0].format}, {written} bytes")
        if made.usage is not None:
            print("image tokens billed:", made.usage.output_tokens)

        # dall-e-2 answers URLs; the builder downloads them, so `.data` is there either way.
        for image in await client.images("dall-e-2").prompt("A lighthouse").size("256x256").n(2):
            print(f"lighthouse #{image.index}: {len(image.data)} bytes from {image.url}")

        # A stream yields typed events: the partial images (coarse to fine), then the final one.
        async with otter.partial_images(2).stream() as stream:
            async for event in stream:
                image = GeneratedImage.from_event(event)
                name = f"partial-{image.partial_index}.png" if image.partial else "final.png"
                await image.save(folder / name)
                print(f"{event.type}: {name}")
        print("saved in", folder)


if __name__ == "__main__":
    anyio.run(main)
