"""Fine-tuning: turn chat examples into a training file, start a job, follow its events to the
end, and ask the fine-tuned model a question with the same builders as any other model.

Run it with OPENAI_API_KEY set to talk to OpenAI (a real job takes minutes and is billed);
without a key it starts the embedded mock server, whose jobs finish in a few seconds, so it works
on a fresh clone with no network.
"""

from __future__ import annotations

import anyio

from openai_ergo.mock import client_or_mock

CAPITALS = {
    "France": "Paris",
    "Spain": "Madrid",
    "Italy": "Rome",
    "Japan": "Tokyo",
    "Kenya": "Nairobi",
    "Peru": "Lima",
    "Egypt": "Cairo",
    "Chile": "Santiago",
    "Norway": "Oslo",
    "Canada": "Ottawa",
}


async def main() -> None:
    async with client_or_mock(seed=7, fine_tuning_seconds=2) as client:
        # Each example is a chat builder ending in the answer the model should learn.
        template = client.chat("gpt-4o-mini").system("Answer with the capital city only.")
        examples = [template.user(f"Capital of {c}?").assistant(v) for c, v in CAPITALS.items()]

        # Awaiting the builder writes the JSONL, uploads it and creates the job.
        job = await (
            client.fine_tuning_job("gpt-4o-mini")
            .examples(*examples)
            .hyperparameters(n_epochs=3)
            .suffix("capitals")
        )
        print("job:", job.id, job.status)

        # Follow the job: each event once, oldest first, until it has finished.
        async for event in job.events(timeout=3600, interval=0.5):
            print(f"  [{event.level}] {event.message}")

        done = await job.wait(timeout=3600)
        print("status:", done.status, "| trained tokens:", done.trained_tokens)
        print("model:", job.model)

        # The fine-tuned model works wherever a model name does.
        answer = await template.with_model(job.model).user("Capital of Peru?")
        print("answer:", answer.text)


if __name__ == "__main__":
    anyio.run(main)
