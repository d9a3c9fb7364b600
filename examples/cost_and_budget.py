"""What a run costs, per model and per caller, and a budget that stops spending before a limit.

- `UsageTracker` (middleware) adds up usage and cost per model and per tag
  (`RequestOptions(tag=...)`), from plain and streamed answers; `export()` is plain data.
- `cost_of(usage, model)` prices one answer from the dated, editable price table.
- `Budget(limit=..., period=...)` (middleware, shared by clients) refuses a request whose
  estimated cost would cross the limit, with `BudgetExceededError`, before anything is sent.
- `tracker.reconcile(client)` compares the counts with the organization's Usage and Costs API
  (an admin key's client; the mock answers with the spec's example data).

Run it with OPENAI_API_KEY set to talk to OpenAI; without a key it starts the embedded mock server
and talks to that.
"""

from __future__ import annotations

import json

import anyio

from openai_ergo import Budget, BudgetExceededError, RequestOptions, UsageTracker, cost_of
from openai_ergo.mock import client_or_mock


async def main() -> None:
    tracker = UsageTracker()
    budget = Budget(limit="0.02", period="day")
    async with client_or_mock(seed=7) as base:
        client = base.with_options(middleware=[tracker, budget])
        support = RequestOptions(tag="support")

        reply = await client.responses("gpt-5-mini").input("Summarise the return policy.")
        if reply.usage is not None:
            print(f"one answer: ${cost_of(reply.usage, 'gpt-5-mini'):.6f}")
        await client.chat("gpt-4o-mini").user("Hello!").options(support)
        async with client.chat("gpt-4o-mini").user("Count to five").options(support).stream() as s:
            await s.until_done()

        for row in tracker.rows():
            print(
                f"{row.model:<12} tag={row.tag!s:<8} requests={row.requests} "
                f"in={row.usage.input} out={row.usage.output} cost=${row.cost:.6f}"
            )
        print(f"support spent ${tracker.by_tag()['support'].cost:.6f}")
        print(f"budget: ${budget.spent:.6f} spent, ${budget.remaining:.6f} left today")

        try:  # 50k output tokens of gpt-4o is $0.50: refused before it is sent
            await client.responses("gpt-4o").input("Write a long report").max_output_tokens(50_000)
        except BudgetExceededError as error:
            print(f"refused: estimated ${error.estimate:.4f} against a ${error.limit} limit")

        report = await tracker.reconcile(base, start_time=1_730_419_200)
        print(
            f"reconciled: tracked ${report.tracked_cost:.6f}, the organization reports "
            f"${report.reported_cost} (difference ${report.cost_difference:.6f})"
        )
        print(json.dumps(tracker.export())[:120], "...")


if __name__ == "__main__":
    anyio.run(main)
