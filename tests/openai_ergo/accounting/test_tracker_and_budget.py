"""`UsageTracker` and `Budget` against the mock over loopback: usage and cost per model and
tag from plain and streamed answers, estimates for a stream that broke off, refusals before
anything is sent, and a budget shared between clients."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from openai_ergo import (
    Budget,
    BudgetExceededError,
    Client,
    InternalServerError,
    InvalidRequestError,
    PriceNotFoundError,
    RequestOptions,
    ResponseCache,
    RetryPolicy,
    StreamInterruptedError,
    TokenCounter,
    TokenUsage,
    UsageTracker,
    cost_of,
)
from openai_ergo.mock import Fault, MockServer
from openai_ergo.types import CostsResult, UsageCompletionsResult


def _client(server: MockServer, *middleware: Any, **options: Any) -> Client:
    return Client(
        api_key="sk-mock",
        base_url=server.url,
        rate_limiter=False,
        retry=RetryPolicy.never(),
        middleware=middleware,
        **options,
    )


async def test_the_tracker_adds_up_usage_and_cost_per_model_and_tag(
    mock_openai: MockServer,
) -> None:
    tracker = UsageTracker()
    async with _client(mock_openai, tracker) as client:
        a = await client.responses("gpt-5-mini").input("One")
        b = await client.responses("gpt-5-mini").input("Two").options(RequestOptions(tag="team-a"))
        async with client.chat("gpt-4o-mini").user("Three").stream() as stream:
            await stream.until_done()
        async with client.responses("gpt-5-mini").input("Four").stream() as rstream:
            await rstream.until_done()
    c = stream.final()
    d = rstream.final()
    assert a.usage
    assert b.usage
    assert c.usage
    assert d.usage
    by_model = tracker.by_model()
    mini = by_model["gpt-5-mini"]
    assert mini.requests == 3
    assert mini.usage == TokenUsage.of(a.usage) + TokenUsage.of(b.usage) + TokenUsage.of(d.usage)
    assert mini.cost == sum(cost_of(u, "gpt-5-mini") for u in (a.usage, b.usage, d.usage))
    assert by_model["gpt-4o-mini"].usage == TokenUsage.of(c.usage)
    assert by_model["gpt-4o-mini"].estimated == 0
    by_tag = tracker.by_tag()
    assert by_tag["team-a"].requests == 1
    assert by_tag["team-a"].usage == TokenUsage.of(b.usage)
    assert by_tag[None].requests == 3
    assert tracker.total_cost() == sum(r.cost or 0 for r in tracker.rows())
    exported = json.loads(json.dumps(tracker.export()))
    assert exported["prices_as_of"] == "2025-08-07"
    assert Decimal(exported["total_cost_usd"]) == tracker.total_cost()
    assert {(r["model"], r["tag"]) for r in exported["rows"]} == {
        ("gpt-5-mini", None),
        ("gpt-5-mini", "team-a"),
        ("gpt-4o-mini", None),
    }


async def test_a_broken_stream_is_counted_from_an_estimate(mock_openai: MockServer) -> None:
    tracker = UsageTracker()
    async with _client(mock_openai, tracker) as client:
        ask = client.chat("gpt-4o-mini").user("Tell me a story")
        mock_openai.app.fail_next(Fault.disconnect(after=6))
        with pytest.raises(StreamInterruptedError) as caught:
            async with ask.stream() as stream:
                await stream.until_done()
    row = tracker.by_model()["gpt-4o-mini"]
    assert row.estimated == 1
    counted = TokenCounter("gpt-4o-mini").count_request(ask.request_body())
    assert row.usage.input == counted
    # One output token per delta chunk received before the break.
    received: list[Any] = list(caught.value.events or [])
    assert 0 < len(received) <= 6
    assert row.usage.output == len(received)


async def test_unpriced_models_are_tracked_without_a_cost(mock_openai: MockServer) -> None:
    tracker = UsageTracker()
    async with _client(mock_openai, tracker) as client:
        await client.responses("my-local-model").input("Hi")
    assert tracker.unpriced_models() == ["my-local-model"]
    assert tracker.rows()[0].cost is None
    assert tracker.total_cost() == 0
    tracker.reset()
    assert tracker.rows() == []


async def test_a_budget_refuses_before_sending_and_counts_what_was_spent(
    mock_openai: MockServer,
) -> None:
    budget = Budget(limit="0.001", period="day")
    async with _client(mock_openai, budget) as client:
        reply = await client.responses("gpt-5-mini").input("Hi").max_output_tokens(100)
        assert reply.usage is not None
        assert budget.spent == cost_of(reply.usage, "gpt-5-mini")
        assert budget.reserved == 0
        sent = len(mock_openai.requests)
        # 10k output tokens of gpt-4o is $0.10: far past the limit.
        with pytest.raises(BudgetExceededError, match="was not sent") as caught:
            await client.responses("gpt-4o").input("Write a book").max_output_tokens(10_000)
    assert len(mock_openai.requests) == sent
    error = caught.value
    assert error.limit == Decimal("0.001")
    assert error.estimate == budget.estimate(
        {"model": "gpt-4o", "input": "Write a book", "max_output_tokens": 10_000}, "gpt-4o"
    )
    assert error.spent == budget.spent
    assert error.model == "gpt-4o"
    assert error.resets_at is not None
    assert budget.statistics()["refused"] == 1


async def test_one_budget_is_shared_between_clients(mock_openai: MockServer) -> None:
    budget = Budget(limit=1, period=None)
    async with _client(mock_openai, budget) as one, _client(mock_openai, budget) as two:
        first = await one.chat("gpt-4o-mini").user("Hi")
        second = await two.chat("gpt-4o-mini").user("Hello")
    assert first.usage
    assert second.usage
    assert budget.spent == cost_of(first.usage, "gpt-4o-mini") + cost_of(
        second.usage, "gpt-4o-mini"
    )
    assert budget.resets_at is None


async def test_a_failed_stream_spends_its_partial_usage(mock_openai: MockServer) -> None:
    budget = Budget(limit=1)
    async with _client(mock_openai, budget) as client:
        ask = client.responses("gpt-5-mini").input("Tell me a story")
        mock_openai.app.fail_next(Fault.disconnect(after=8))
        with pytest.raises(StreamInterruptedError):
            async with ask.stream() as stream:
                await stream.until_done()
    assert budget.reserved == 0
    counted = TokenCounter("gpt-5-mini").count_request(ask.request_body()) or 0
    assert budget.spent > cost_of(TokenUsage(input=counted), "gpt-5-mini")  # input + deltas
    assert budget.spent <= cost_of(TokenUsage(input=counted, output=8), "gpt-5-mini")


async def test_a_failed_request_gives_its_reservation_back(mock_openai: MockServer) -> None:
    budget = Budget(limit=1)
    async with _client(mock_openai, budget) as client:
        mock_openai.app.fail_next(Fault.server_error())
        with pytest.raises(InternalServerError):
            await client.responses("gpt-5-mini").input("Hi")
    assert budget.spent == 0
    assert budget.reserved == 0


async def test_cache_hits_cost_the_budget_nothing(mock_openai: MockServer) -> None:
    budget = Budget(limit=1)
    tracker = UsageTracker()
    async with _client(mock_openai, budget, tracker, cache=ResponseCache()) as client:
        await client.responses("gpt-5-mini").input("Hi")
        spent = budget.spent
        await client.responses("gpt-5-mini").input("Hi")
    assert budget.spent == spent
    assert tracker.by_model()["gpt-5-mini"].requests == 1


def test_the_period_rolls_over_on_the_clock() -> None:
    now = [86400.0 * 100 + 10]
    budget = Budget(limit=1, period="day", now=lambda: now[0])
    cost = budget.charge(TokenUsage(input=200_000), "gpt-5-mini")  # 200k x $0.25/M
    assert cost == Decimal("0.05")
    assert budget.remaining == Decimal("0.95")
    assert budget.resets_at == 86400.0 * 101
    now[0] += 86400
    assert budget.spent == 0
    hourly = Budget(limit=1, period=timedelta(minutes=30), now=lambda: 1800.0 * 3 + 1)
    assert hourly.resets_at == 1800.0 * 4
    monthly = Budget(limit=1, period="month", now=lambda: 1_700_000_000.0)  # 2023-11-14
    assert monthly.resets_at == 1_701_388_800.0  # 2023-12-01 00:00 UTC


def test_bad_budgets_and_unpriced_models_are_named() -> None:
    with pytest.raises(InvalidRequestError, match="limit"):
        Budget(limit=-1)
    with pytest.raises(InvalidRequestError, match="period"):
        Budget(limit=1, period="fortnight")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="assumed_output_tokens"):
        Budget(limit=1, assumed_output_tokens=-5)
    with pytest.raises(PriceNotFoundError):
        Budget(limit=1).estimate({"input": "hi"}, "unknown-model")


async def test_reconciling_reads_the_organizations_usage_and_costs(
    mock_openai: MockServer,
) -> None:
    tracker = UsageTracker()
    async with _client(mock_openai, tracker) as client:
        await client.responses("gpt-5-mini").input("Hi")
        report = await tracker.reconcile(client, start_time=1_730_419_200)
        billed = [
            result
            async for bucket in client.organization.costs.list(start_time=1_730_419_200)
            for result in bucket.results or ()
        ]
        used = [
            result
            async for bucket in client.organization.usage.completions.list(start_time=1_730_419_200)
            for result in bucket.results or ()
        ]
    assert billed
    assert used
    amounts = [r.amount.value for r in billed if isinstance(r, CostsResult) and r.amount]
    assert report.reported_cost == sum(Decimal(repr(v)) for v in amounts if v is not None)
    assert report.tracked_cost == tracker.total_cost() > 0
    assert report.cost_difference == report.reported_cost - report.tracked_cost
    assert report.tracked_usage == {"gpt-5-mini": tracker.total_usage()}
    assert sum(u.input for u in report.reported_usage.values()) == sum(
        r.input_tokens or 0 for r in used if isinstance(r, UsageCompletionsResult)
    )
    paths = {r.path for r in mock_openai.requests}
    assert {"/v1/organization/costs", "/v1/organization/usage/completions"} <= paths


async def test_a_refusal_after_another_budget_reserved_gives_that_reservation_back(
    mock_openai: MockServer,
) -> None:
    roomy = Budget(limit=10)
    tight = Budget(limit="0.000001")
    async with _client(mock_openai, roomy, tight) as client:
        with pytest.raises(BudgetExceededError):
            await client.responses("gpt-5-mini").input("Hi")
    assert len(mock_openai.requests) == 0
    assert roomy.reserved == 0
    assert roomy.spent == 0
