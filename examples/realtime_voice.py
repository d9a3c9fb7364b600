"""A voice round trip over the Realtime API: speak to the model in PCM16, hear it answer.

The question is spoken audio, 24 kHz 16-bit mono PCM: here the speech endpoint says it (any
microphone capture in that format works the same). It goes to a Realtime session in chunks,
is committed, and transcribed by the session; the model answers with audio deltas, which are
written to a WAV file with the standard library's `wave` module, and with their transcript.
No audio library is needed.

With OPENAI_API_KEY set it talks to OpenAI; without, to the embedded mock, whose voice is a
deterministic tone signal that its own transcription reads back.
"""

from __future__ import annotations

import tempfile
import wave
from pathlib import Path

import anyio

from openai_ergo import Client
from openai_ergo.mock import client_or_mock

#: PCM16 as the Realtime API takes it and sends it: 24 000 samples a second, 2 bytes each, mono.
RATE = 24_000
CHUNK = RATE * 2 // 10  # 100 ms of audio per message


async def spoken(client: Client, text: str) -> bytes:
    """`text` as PCM16 speech (a stand-in for a microphone)."""
    return await client.speech("gpt-4o-mini-tts").voice("alloy").input(text).format("pcm")


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        question = await spoken(client, "What is a good name for a cat?")
        builder = (
            client.realtime("gpt-realtime")
            .instructions("Answer in one short sentence.")
            .voice("alloy")
            .input_format("pcm16")
            .output_format("pcm16")
            .transcription("gpt-4o-transcribe")
            .turn_detection(None)  # this program says when the question ends
        )
        async with builder.connect(idle_timeout=30) as session:
            for start in range(0, len(question), CHUNK):
                await session.append_audio(question[start : start + CHUNK])
            await session.commit()
            print("you said:", await session.input_transcript())
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "answer.wav"
                with wave.open(str(path), "wb") as wav:
                    wav.setnchannels(1)
                    wav.setsampwidth(2)
                    wav.setframerate(RATE)
                    async with session.respond() as response:
                        async for pcm in response.audio():
                            wav.writeframes(pcm)
                with wave.open(str(path), "rb") as wav:
                    seconds = wav.getnframes() / wav.getframerate()
                print(f"the answer: {seconds:.1f} s of audio in {path.name}")
            print("the model said:", response.transcript)
            print("status:", response.status)


if __name__ == "__main__":
    anyio.run(main)
