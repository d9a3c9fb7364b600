"""The batch pipeline against the mock over loopback, on a fake clock that moves the mock's:
builders in, JSONL split at the limits, typed results per custom id, a typed error per failed
line, polling with backoff to a deadline, cancel and resume."""

from __future__ import annotations

import pytest

from openai_ergo import (
    Client,
    Embeddings,
    FileUpload,
    InvalidRequestError,
    Moderation,
    WaitTimeoutError,
)
from openai_ergo.mock import MockServer
from openai_ergo.resources import (
    BatchBuilder,
    BatchFailedError,
    BatchJob,
    BatchLineError,
    BatchProgress,
    BatchResult,
)
from openai_ergo.types import ChatCompletion, Response

from .clocks import MockTime, client_with

CHAT = "gpt-4o-mini"


@pytest.fixture
def clock(mock_openai: MockServer) -> MockTime:
    mock_openai.app.batch_seconds = 10
    return MockTime(mock_openai)


def _numbered(client: Client, count: int) -> BatchBuilder:
    batch = client.batch()
    for n in range(count):
        batch = batch.add(f"id-{n}", client.chat(CHAT).user(f"Item {n}"))
    return batch


async def _collect(job: BatchJob) -> dict[str, BatchResult | BatchLineError]:
    async with job.results() as results:
        return {item.custom_id: item async for item in results}


async def test_chat_requests_come_back_as_what_await_returns(
    mock_openai: MockServer, clock: MockTime
) -> None:
    async with client_with(clock) as client:
        questions = {f"q{n}": client.chat(CHAT).user(f"Question {n}?") for n in range(5)}
        batch = client.batch()
        for custom_id, builder in questions.items():
            batch = batch.add(custom_id, builder)
        job = await batch.submit()
        seen: list[BatchProgress] = []
        batches = await job.wait(progress=seen.append)
        assert [b.status for b in batches] == ["completed"]
        results = await _collect(job)
        assert sorted(results) == sorted(questions)
        for custom_id, builder in questions.items():
            result = results[custom_id]
            assert isinstance(result, BatchResult)
            assert isinstance(result.value, ChatCompletion)
            direct = await builder
            assert result.value.choices[0].message.content == direct.choices[0].message.content
    assert seen[-1].status == "completed"
    assert (seen[-1].total, seen[-1].completed) == (5, 5)
    assert seen[0].status in ("validating", "in_progress")
    # Polls back off: each wait is half again the one before, until the batch finished.
    assert clock.sleeps[:3] == [1.0, 1.5, 2.25]


async def test_responses_and_embeddings_builders_go_in_too(
    mock_openai: MockServer, clock: MockTime
) -> None:
    async with client_with(clock) as client:
        builder = client.responses("gpt-5-mini").instructions("Be brief.").input("Hi")
        job = await client.batch().add("r1", builder).submit()
        await job.wait()
        (result,) = (await _collect(job)).values()
        assert isinstance(result, BatchResult)
        assert isinstance(result.value, Response)
        assert result.value.output_text == (await builder).output_text


async def test_embeddings_and_moderations_builders_come_back_as_what_await_returns(
    mock_openai: MockServer, clock: MockTime
) -> None:
    async with client_with(clock) as client:
        embed = client.embeddings("text-embedding-3-small").input(["hello", "world"])
        embeddings = await client.batch(endpoint="/v1/embeddings").add("e1", embed).submit()
        assert embeddings.batches[0].endpoint == "/v1/embeddings"
        moderate = client.moderations().input("I will hurt you")
        moderations = await client.batch().add("m1", moderate).submit()
        assert moderations.batches[0].endpoint == "/v1/moderations"
        await embeddings.wait()
        await moderations.wait()
        (vectors,) = (await _collect(embeddings)).values()
        (verdict,) = (await _collect(moderations)).values()
        direct_vectors, direct_verdict = await embed, await moderate
    assert isinstance(vectors, BatchResult)
    assert isinstance(vectors.value, Embeddings)  # base64 on the wire, as awaiting asks
    assert [v.tolist() for v in vectors.value] == [v.tolist() for v in direct_vectors]
    assert isinstance(verdict, BatchResult)
    assert isinstance(verdict.value, Moderation)
    assert verdict.value.flagged == direct_verdict.flagged
    assert verdict.value.categories == direct_verdict.categories


async def test_a_failed_line_is_a_typed_error_and_the_others_are_unaffected(
    mock_openai: MockServer, clock: MockTime
) -> None:
    async with client_with(clock) as client:
        batch = (
            client.batch()
            .add("good-1", client.chat(CHAT).user("One"))
            .add("bad", client.chat(CHAT).user("Two").extra_body({"stream": True}))
            .add("good-2", client.chat(CHAT).user("Three"))
        )
        job = await batch.submit()
        await job.wait()
        results = await _collect(job)
    assert isinstance(results["good-1"], BatchResult)
    assert isinstance(results["good-2"], BatchResult)
    error = results["bad"]
    assert isinstance(error, BatchLineError)
    assert error.custom_id == "bad"
    assert error.status_code == 400
    assert error.param == "stream"
    assert "'bad'" in str(error)
    assert "Streaming is not supported" in str(error)


async def test_requests_split_at_the_limits_into_several_batches(
    mock_openai: MockServer, clock: MockTime
) -> None:
    async with client_with(clock) as client:
        batch = _numbered(client, 5)
        by_count = batch.limits(max_requests=2)
        assert by_count.jsonl_parts() == 3
        job = await by_count.submit()
        assert len(job.ids) == 3
        await job.wait()
        assert sorted(await _collect(job)) == [f"id-{n}" for n in range(5)]
        inputs = [
            await (await client.files.content(b.input_file_id or "")).read() for b in job.batches
        ]
        assert [len(data.splitlines()) for data in inputs] == [2, 2, 1]

        lines = batch.jsonl().splitlines(keepends=True)
        assert len({len(line) for line in lines}) == 1  # "Item 0" ... "Item 4": one length
        by_size = batch.limits(max_bytes=len(lines[0]) * 2 + 1)
        assert by_size.jsonl_parts() == 3
        with pytest.raises(InvalidRequestError) as caught:
            await batch.limits(max_bytes=len(lines[0]) - 1).submit()
        assert caught.value.param == "custom_id"


async def test_wait_stops_at_its_deadline_with_the_state_it_saw(
    mock_openai: MockServer, clock: MockTime
) -> None:
    mock_openai.app.batch_seconds = 100
    async with client_with(clock) as client:
        job = await client.batch().add("a", client.chat(CHAT).user("Hi")).submit()
        with pytest.raises(WaitTimeoutError) as caught:
            await job.wait(timeout=30)
        error = caught.value
        assert error.waited == pytest.approx(30.0)
        assert clock.time == pytest.approx(30.0)  # fired at the deadline, not a poll later
        assert error.state == "in_progress"
        assert error.what == f"batch job {job.ids[0]}"
        assert "0 of 1 requests done" in error.detail
        assert "in_progress" in str(error)
        assert [b.id for b in error.last] == job.ids

        # The same keywords and backoff as every workflow's wait: from `interval` to the cap,
        # the last sleep cut at the deadline; `progress` says when each reading came.
        seen: list[BatchProgress] = []
        sleeps = len(clock.sleeps)
        with pytest.raises(WaitTimeoutError):
            await job.wait(timeout=10, progress=seen.append, interval=2, max_interval=3)
        assert clock.sleeps[sleeps:] == [2.0, 3.0, 3.0, 2.0]
        assert [p.elapsed for p in seen] == pytest.approx([0.0, 2.0, 5.0, 8.0, 10.0])
        with pytest.raises(InvalidRequestError) as bad:
            await job.wait(interval=5, max_interval=1)
        assert bad.value.param == "max_interval"


async def test_cancel_keeps_finished_lines_and_resume_finds_the_job(
    mock_openai: MockServer, clock: MockTime
) -> None:
    async with client_with(clock) as client:
        job = await _numbered(client, 10).submit()
        await clock.sleep(5)  # halfway through the lines
        cancelled = await job.cancel()
        assert [b.status for b in cancelled] == ["cancelling"]
        again = await client.batch().resume(*job.ids)
        batches = await again.wait()
        assert [b.status for b in batches] == ["cancelled"]
        finished = await _collect(again)
        assert 0 < len(finished) < 10
        assert all(isinstance(r, BatchResult) for r in finished.values())


async def test_a_refused_input_fails_the_batch_naming_the_lines(
    mock_openai: MockServer, clock: MockTime
) -> None:
    line = b'{"custom_id": "x", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'
    async with client_with(clock) as client:
        file = await client.files.create(
            file=FileUpload(line * 2, filename="bad.jsonl"), purpose="batch"
        )
        created = await client.batches.create(
            input_file_id=file.id or "", endpoint="/v1/chat/completions", completion_window="24h"
        )
        job = await client.batch().resume(created.id or "")
        with pytest.raises(BatchFailedError) as caught:
            await job.wait()
    assert caught.value.batch.id == created.id
    assert "line 2" in str(caught.value)


async def test_leaving_the_results_early_closes_the_download(
    mock_openai: MockServer, clock: MockTime
) -> None:
    async with client_with(clock) as client:
        job = await _numbered(client, 3).submit()
        await job.wait()
        async with job.results() as results:
            async for first in results:
                assert first.custom_id == "id-0"
                break
        # -W error: an unclosed download would fail this test with a ResourceWarning.


async def test_bad_input_is_refused_before_anything_is_sent(
    mock_openai: MockServer, clock: MockTime
) -> None:
    async with client_with(clock) as client:
        base = client.batch().add("a", client.chat(CHAT).user("Hi"))
        with pytest.raises(InvalidRequestError) as caught:
            base.add("a", client.chat(CHAT).user("Again"))
        assert caught.value.param == "custom_id"
        with pytest.raises(InvalidRequestError) as caught:
            base.add("b", client.responses("gpt-5").input("Hi"))
        assert caught.value.param == "endpoint"
        with pytest.raises(InvalidRequestError) as caught:
            base.add("", client.chat(CHAT).user("Hi"))
        assert caught.value.param == "custom_id"
        with pytest.raises(InvalidRequestError) as caught:
            base.add("c", "not a builder")  # type: ignore[arg-type]
        assert caught.value.param == "request"
        with pytest.raises(InvalidRequestError) as caught:
            client.batch(endpoint="/v1/images/generations")
        assert caught.value.param == "endpoint"
        with pytest.raises(InvalidRequestError) as caught:
            base.limits(max_requests=50_001)
        assert caught.value.param == "max_requests"
        with pytest.raises(InvalidRequestError) as caught:
            await client.batch().submit()
        assert caught.value.param == "requests"
        job = await base.submit()
        with pytest.raises(InvalidRequestError) as caught:
            await job.wait(timeout=0)
        assert caught.value.param == "timeout"
    assert [r.path for r in mock_openai.app.requests][-2:] == ["/v1/files", "/v1/batches"]


async def test_builders_are_values(mock_openai: MockServer, clock: MockTime) -> None:
    async with client_with(clock) as client:
        base = client.batch().add("a", client.chat(CHAT).user("Hi"))
        left = base.add("b", client.chat(CHAT).user("Left"))
        right = base.add("b", client.chat(CHAT).user("Right"))  # same id, another branch
        assert (len(base), len(left), len(right)) == (1, 2, 2)
        assert b"Right" in right.jsonl()
        assert b"Right" not in left.jsonl()
        assert b"Left" not in base.jsonl()
