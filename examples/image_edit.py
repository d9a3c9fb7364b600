"""Image edits and variations: change a picture under a mask, combine two pictures, and ask for
variations of one, with the images given as paths, bytes or open files.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that, so it works on a fresh clone with no network.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from pathlib import Path

import anyio

from openai_ergo.mock import client_or_mock


def transparent_png(width: int, height: int) -> bytes:
    """A fully transparent RGBA PNG: as a mask, it lets the model change the whole picture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\x00" + b"\x00\x00\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        folder = Path(tempfile.mkdtemp(prefix="edits-"))

        # A picture to edit, made first and saved to a file.
        room = await client.images("gpt-image-1").prompt("An empty room").quality("low")
        await room[0].save(folder / "room.png")
        width, height = room[0].dimensions or (1024, 1024)
        (folder / "mask.png").write_bytes(transparent_png(width, height))

        # An edit from paths: the image, and a mask whose transparent pixels may change.
        edited = await (
            client.images("gpt-image-1")
            .image(folder / "room.png")
            .mask(folder / "mask.png")
            .prompt("Add a sofa by the window")
            .quality("low")
        )
        await edited[0].save(folder / "room-with-sofa.png")
        print("edited:", edited[0], "differs:", edited[0].data != room[0].data)

        # Several input images (an open file and bytes) in one edit.
        with (folder / "room.png").open("rb") as photo:
            combined = await (
                client.images("gpt-image-1")
                .edit(photo, edited[0].data)
                .prompt("A catalogue page with both rooms")
            )
        print("combined:", combined[0])

        # Variations of one square PNG (dall-e-2), answered as base64 here.
        lamp = (
            await client.images("dall-e-2")
            .prompt("A lamp")
            .size("256x256")
            .response_format("b64_json")
        )
        variations = await client.images("dall-e-2").variation(lamp[0].data).size("256x256").n(3)
        for image in variations:
            print(f"variation #{image.index}: {image.dimensions}, {len(image.data)} bytes")
        print("saved in", folder)


if __name__ == "__main__":
    anyio.run(main)
