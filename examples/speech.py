"""Text to speech: the audio awaited as bytes, saved to a file as it arrives, and streamed chunk
by chunk (as raw audio, and as server-sent events that also report the tokens billed).

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that, so it works on a fresh clone with no network. Play the WAV file it writes.
"""

from __future__ import annotations

import io
import os
import tempfile
import wave
from contextlib import AsyncExitStack
from pathlib import Path

import anyio

from openai_ergo import Client


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            client = await stack.enter_async_context(Client())
        else:
            from openai_ergo.mock import serve

            server = await stack.enter_async_context(serve(seed=7))
            client = await stack.enter_async_context(Client(base_url=server.url, api_key="sk-mock"))

        speech = (
            client.speech("gpt-4o-mini-tts")
            .voice("coral")
            .input("Today is a wonderful day to build something people love.")
            .instructions("Speak in a cheerful, positive tone.")
            .format("wav")
        )

        # Awaited: the whole file's bytes.
        audio = await speech
        with wave.open(io.BytesIO(audio)) as clip:
            seconds = clip.getnframes() / clip.getframerate()
            print(f"awaited: {len(audio)} bytes, {seconds:.2f} s at {clip.getframerate()} Hz")

        # Saved: written to the file as it arrives, never held whole.
        path = Path(tempfile.mkdtemp(prefix="speech-")) / "wonderful.wav"
        print(f"saved {await speech.save(path)} bytes to {path}")

        # Streamed: the chunks as they arrive (to a player, a socket, ...).
        async with speech.speed(1.25).stream() as chunks:
            sizes = [len(chunk) async for chunk in chunks]
        print(f"streamed {sum(sizes)} bytes in {len(sizes)} chunks (spoken 1.25x faster)")

        # As server-sent events (gpt-4o-mini-tts): the same audio, then the usage.
        async with speech.stream_format("sse").stream() as events:
            received = b"".join([chunk async for chunk in events])
        print(f"sse: {len(received)} bytes, same audio: {received == audio}, usage: {events.usage}")


if __name__ == "__main__":
    anyio.run(main)
