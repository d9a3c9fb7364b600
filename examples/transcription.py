"""Speech to text: speak a sentence, transcribe it back with word timings, stream a transcript
as it is made, and translate the audio into English.

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that, so it works on a fresh clone with no network. The mock's speech encodes its
text, so what it transcribes is exactly what was said: compare the two lines it prints.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio

from openai_ergo.mock import client_or_mock

SENTENCE = "The quick brown fox jumps over the lazy dog. It was not amused."


async def main() -> None:
    async with client_or_mock(seed=7) as client:
        path = Path(tempfile.mkdtemp(prefix="transcription-")) / "fox.wav"
        await (
            client.speech("gpt-4o-mini-tts").voice("alloy").input(SENTENCE).format("wav").save(path)
        )
        print("said:  ", SENTENCE)

        # verbose_json gives the segments, and the words with their timings.
        heard = await (
            client.transcription("whisper-1")
            .file(path)
            .language("en")
            .format("verbose_json")
            .timestamp_granularities("word", "segment")
        )
        print("heard: ", heard.text)
        print(f"language {heard.language}, {heard.duration} s, {len(heard.segments)} segments")
        for word in heard.words[:4]:
            print(f"  {word.start:5.2f}-{word.end:5.2f} s  {word.word}")

        # Subtitles, as the service writes them.
        subtitles = await client.transcription("whisper-1").file(path).format("srt")
        print(subtitles.body.splitlines()[1] if subtitles.body else "", "...")

        # A streamed transcript (gpt-4o-*transcribe models): the text as it is made.
        async with client.transcription("gpt-4o-mini-transcribe").file(path).stream() as stream:
            async for delta in stream.text():
                print(delta, end="|", flush=True)
        print("\nstreamed text matches:", stream.final().text == heard.text)

        # A translation reads the audio into English text.
        translated = await client.translation("whisper-1").file(path)
        print("translated:", translated.text)


if __name__ == "__main__":
    anyio.run(main)
