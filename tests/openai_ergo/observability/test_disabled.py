"""Observability installed but not enabled: a client without observers runs none of the
observers' code, counted call by call with the benchmark's own profiler hook (the same count
`python -m benchmarks.observability` reports as its `disabled` verdict)."""

from __future__ import annotations

from benchmarks._observing_calls import count_observing_calls
from openai_ergo import AuditLog, Client
from openai_ergo.mock import MockServer


async def test_a_client_without_observers_makes_no_call_into_the_observing_code(
    mock_openai: MockServer,
) -> None:
    async def requests(client: Client) -> None:
        await client.chat("gpt-4o-mini").user("Hi")
        async with client.responses("gpt-5-mini").input("Hi").stream() as stream:
            await stream.until_done()
        async for _ in client.files.list():
            pass

    async with Client(api_key="sk-test-observing", base_url=mock_openai.url) as client:
        await requests(client)  # first-use work (imports, caches) out of the count
        calls, names = await count_observing_calls(lambda: requests(client))
        assert (calls, names) == (0, [])
        # The same hook sees the observers' code as soon as there is an observer.
        observed = client.with_options(observers=[AuditLog(lambda record: None)])
        calls, names = await count_observing_calls(lambda: requests(observed))
    assert calls > 0
    assert "_observed.py:begin" in names
