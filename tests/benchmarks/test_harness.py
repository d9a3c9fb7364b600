"""The benchmark suite works: the server serves what it should, rows count what was sent, and a
run writes well-formed results. Nothing here judges speed: that is the suite's job, not CI's."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any

import msgspec
import pytest

from benchmarks import __main__ as bench_cli
from benchmarks import _decoder_bench as decoder_bench
from benchmarks._bodies import (
    CHAT_EXTRA_EVENTS,
    RESPONSES_EXTRA_EVENTS,
    chat_completion_body,
    chat_stream,
    model_for,
    responses_stream,
    size_from_model,
    token_text,
)
from benchmarks._harness import Plan, ScenarioPlan, Series, run_plan, running_server
from benchmarks._report import machine, markdown, write_chart, write_json
from benchmarks._rows import ROWS
from benchmarks._scenarios import SCENARIOS
from benchmarks._targets import Target, evaluate


def _event_of(chunk: bytes) -> bytes:
    size_line, _, rest = chunk.partition(b"\r\n")
    assert rest.endswith(b"\r\n")
    payload = rest[:-2]
    assert len(payload) == int(size_line, 16)
    return payload


def _data_of(event: bytes) -> bytes:
    assert event.endswith(b"\n\n")
    assert event.count(b"\n\n") == 1
    return next(line[6:] for line in event.split(b"\n") if line.startswith(b"data: "))


@pytest.mark.parametrize("size", [1, 7, 45])
def test_chat_stream_is_one_event_per_chunk_and_spells_the_text(size: int) -> None:
    stream = chat_stream(size)
    datas = [_data_of(_event_of(chunk)) for chunk in stream.chunks]
    assert datas[-1] == b"[DONE]"
    chunks = [json.loads(data) for data in datas[:-1]]
    assert len(chunks) == stream.events == size + CHAT_EXTRA_EVENTS
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == token_text(size)
    assert len(text) == stream.text_chars
    assert chunks[-1]["usage"]["completion_tokens"] == size


@pytest.mark.parametrize("size", [1, 30])
def test_responses_stream_names_each_event_and_completes_with_the_text(size: int) -> None:
    stream = responses_stream(size)
    events = [_event_of(chunk) for chunk in stream.chunks]
    payloads = [json.loads(_data_of(event)) for event in events]
    assert len(payloads) == stream.events == size + RESPONSES_EXTRA_EVENTS
    for event, payload in zip(events, payloads, strict=True):
        assert event.startswith(b"event: " + payload["type"].encode() + b"\n")
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    deltas = [p["delta"] for p in payloads if p["type"] == "response.output_text.delta"]
    assert "".join(deltas) == token_text(size)
    completed = payloads[-1]["response"]
    assert completed["status"] == "completed"
    assert completed["output"][0]["content"][0]["text"] == token_text(size)


def test_model_names_carry_the_size_and_reject_others() -> None:
    assert size_from_model(model_for(123)) == 123
    with pytest.raises(ValueError, match="does not name a size"):
        size_from_model("gpt-4o")
    with pytest.raises(ValueError, match="at least 1"):
        size_from_model("bench-0")


def _post(port: int, path: str, body: dict[str, Any]) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, json.dumps(body), {"content-type": "application/json"})
        response = connection.getresponse()
        return response.status, response.getheader("content-type") or "", response.read()
    finally:
        connection.close()


def test_server_serves_the_rendered_bodies_and_stops_with_its_parent() -> None:
    with running_server(max_seconds=60) as port:
        status, kind, body = _post(
            port, "/v1/chat/completions", {"model": model_for(9), "stream": True}
        )
        assert (status, kind) == (200, "text/event-stream; charset=utf-8")
        assert body == b"".join(_event_of(chunk) for chunk in chat_stream(9).chunks)

        status, _, body = _post(port, "/v1/responses", {"model": model_for(4), "stream": True})
        assert body == b"".join(_event_of(chunk) for chunk in responses_stream(4).chunks)

        status, kind, body = _post(port, "/v1/chat/completions", {"model": model_for(6)})
        assert (status, kind) == (200, "application/json")
        assert body == chat_completion_body(6)
        assert msgspec.json.decode(body)["choices"][0]["message"]["content"] == token_text(6)

        status, _, body = _post(port, "/v1/chat/completions", {"model": "gpt-4o"})
        assert status == 400
        assert b"does not name a size" in body
        status, _, _ = _post(port, "/v1/embeddings", {"model": model_for(1)})
        assert status == 404
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def _small_plan() -> Plan:
    rows = (("raw_msgspec", "asyncio"), ("httpx_sse", "asyncio"), ("httpx_bytes", "asyncio"))
    return Plan(
        "test",
        (
            ScenarioPlan("chat_long", {"size": 300}, 2, rows),
            ScenarioPlan("responses_long", {"size": 50}, 1, rows[:1]),
            ScenarioPlan("requests", {"count": 3, "size": 5}, 1, rows[:2]),
            ScenarioPlan("concurrent_streams", {"count": 4, "size": 5}, 1, rows[:1]),
            ScenarioPlan("sustained", {"count": 20, "size": 5}, 1, rows[:1]),
            ScenarioPlan("first_event", {"count": 2, "size": 5}, 1, rows[:1]),
        ),
        decoder_events=200,
        decoder_repeats=1,
        import_repeats=1,
    )


@pytest.fixture(scope="module")
def small_run() -> list[Series]:
    plan = _small_plan()
    with running_server(max_seconds=120) as port:
        return run_plan(plan, port, log=lambda *_: None)


def test_every_row_counts_exactly_what_the_server_sent(small_run: list[Series]) -> None:
    for series in small_run:
        assert (series.invalid, series.unavailable) == (None, None), series.key
        for record in series.records:
            assert record["expected_events"] > 0
            if record["events"] is not None:
                assert record["events"] == record["expected_events"]
            if record["text_chars"] is not None:
                assert record["text_chars"] == record["expected_chars"]
    chat = {s.key: s for s in small_run if s.scenario == "chat_long"}
    assert len(chat["raw_msgspec/asyncio"].records) == 2
    assert chat["raw_msgspec/asyncio"].records[0]["events"] == 300 + CHAT_EXTRA_EVENTS


def test_records_carry_cpu_memory_and_scenario_measurements(small_run: list[Series]) -> None:
    by_key = {(s.scenario, s.key): s for s in small_run}
    chat = by_key[("chat_long", "httpx_sse/asyncio")].metric("us_cpu_per_event")
    assert chat is not None
    assert 0 < chat["min"] <= chat["median"] <= chat["max"]
    concurrent = by_key[("concurrent_streams", "raw_msgspec/asyncio")].records[0]["extra"]
    assert concurrent["rss_all_open_kb"] >= concurrent["rss_before_kb"] > 0
    sustained = by_key[("sustained", "raw_msgspec/asyncio")].records[0]["extra"]
    assert len(sustained["rss_samples_kb"]) == 20
    ttfe = by_key[("first_event", "raw_msgspec/asyncio")].metric("ttfe_us")
    assert ttfe is not None
    assert ttfe["median"] > 0
    # The CPU spent on the way is part of the wait, never more (one thread, both clocks).
    cpu = by_key[("first_event", "raw_msgspec/asyncio")].metric("ttfe_cpu_us")
    assert cpu is not None
    assert 0 < cpu["median"] <= ttfe["median"] * 1.05
    # The rest is waiting, and the row's calls on the way were counted (a raw socket row
    # still runs the event loop and its own framing: dozens of calls, not none).
    wait = by_key[("first_event", "raw_msgspec/asyncio")].metric("ttfe_wait_us")
    assert wait is not None
    assert wait["median"] <= ttfe["median"]
    calls = by_key[("first_event", "raw_msgspec/asyncio")].metric("ttfe_calls")
    assert calls is not None
    assert 10 < calls["median"] < 5_000
    # Each request row's calls per request were counted too.
    for key in ("raw_msgspec/asyncio", "httpx_sse/asyncio"):
        per_request = by_key[("requests", key)].metric("request_calls")
        assert per_request is not None
        assert 10 < per_request["median"] < 5_000


def test_a_run_writes_json_markdown_and_a_chart(small_run: list[Series], tmp_path: Path) -> None:
    plan = _small_plan()
    decoder = decoder_bench.run(200, 1)
    imports = {"bare_ms": 10.0, "openai_ergo": {"ms": 80.0, "ms_min": 70.0, "ms_max": 90.0}}
    imports["openai"] = {"ms": 400.0, "ms_min": 390.0, "ms_max": 410.0}
    targets = evaluate(small_run, imports, decoder)
    info = machine()
    report = markdown(plan, small_run, targets, imports, decoder, info)
    write_json(tmp_path / "latest.json", plan, small_run, targets, imports, decoder, info)
    write_chart(tmp_path / "latest.png", small_run)

    document = json.loads((tmp_path / "latest.json").read_text())
    assert [s["name"] for s in document["plan"]["scenarios"]] == [s.name for s in plan.scenarios]
    assert len(document["series"]) == len(small_run)
    assert document["machine"]["versions"]["msgspec"] == msgspec.__version__
    verdicts = {t["name"]: t["verdict"] for t in document["targets"]}
    assert verdicts["import.ms"] == "PASS"
    assert verdicts["import.vs_sdk"] == "PASS"
    # No openai-ergo row ran, so no target about it can pass or fail.
    assert verdicts["chat_long.vs_sdk.asyncio"] == "UNKNOWN"
    assert "## Targets" in report
    assert "### One long Chat Completions stream" in report
    assert report.count("| raw socket + msgspec | asyncio |") == 6
    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _series(scenario: str, key: str, **metrics: float) -> Series:
    row, _, backend = key.partition("/")
    return Series(scenario, row, backend, [{"metrics": metrics}])


def test_targets_pass_miss_or_stay_unknown_from_the_medians() -> None:
    series = [
        _series("chat_long", "sdk/asyncio", events_per_cpu_s=8_000.0),
        _series("chat_long", "httpx_bytes/asyncio", events_per_cpu_s=100_000.0),
        _series("chat_long", "ergo_final/asyncio", events_per_cpu_s=90_000.0),
        _series("chat_long", "ergo_final/trio", events_per_cpu_s=80_000.0),
        _series("requests", "sdk/asyncio", us_cpu_per_unit=1000.0),
        _series("requests", "ergo_final/asyncio", us_cpu_per_unit=700.0),
        _series("sustained", "ergo_final/asyncio", rss_growth_kb=1024.0),
    ]
    unavailable = _series("sustained", "ergo_final/trio", rss_growth_kb=0.0)
    unavailable.unavailable = "not built yet"
    series.append(unavailable)
    targets = {t.name: t for t in evaluate(series, None, None)}
    assert targets["chat_long.vs_sdk.asyncio"].verdict == "PASS"
    assert targets["chat_long.vs_sdk.asyncio"].value == pytest.approx(90_000 / 8_000)
    assert targets["chat_long.vs_httpx_ceiling.asyncio"].verdict == "PASS"
    assert targets["chat_long.vs_httpx_ceiling.trio"].verdict == "MISS"
    assert targets["requests.vs_sdk"].verdict == "MISS"
    assert targets["requests.vs_sdk"].value == pytest.approx(0.7)
    assert targets["sustained.rss_growth.asyncio"].verdict == "PASS"
    assert targets["sustained.rss_growth.trio"].verdict == "UNKNOWN"
    assert "not built yet" in targets["sustained.rss_growth.trio"].note
    assert targets["responses_long.vs_sdk.asyncio"].verdict == "UNKNOWN"


def test_a_missed_first_event_target_names_its_floor_and_why() -> None:
    def first_event(key: str, wall: float, cpu: float, calls: float) -> Series:
        return _series(
            "first_event",
            key,
            ttfe_us=wall,
            ttfe_cpu_us=cpu,
            ttfe_wait_us=wall - cpu,
            ttfe_calls=calls,
        )

    missed = evaluate(
        [
            first_event("raw_msgspec/asyncio", 900.0, 400.0, 90.0),
            first_event("ergo_final/asyncio", 1_400.0, 950.0, 520.0),
        ],
        None,
        None,
    )
    target = next(t for t in missed if t.name == "first_event.vs_raw")
    assert target.verdict == "MISS"
    assert target.value == pytest.approx(500.0)
    assert "CPU on the way: 950 µs against the raw socket's 400" in target.note
    assert "waiting 450 µs against 500" in target.note
    assert "520 Python and C calls against 90" in target.note
    assert "Floor: the CPU gap, 550 µs" in target.note
    # Here our row waited less: nothing of the gap is waiting.
    assert "are waiting" not in target.note

    waited = evaluate(
        [
            first_event("raw_msgspec/asyncio", 900.0, 400.0, 90.0),
            first_event("ergo_final/asyncio", 3_000.0, 950.0, 520.0),
        ],
        None,
        None,
    )
    target = next(t for t in waited if t.name == "first_event.vs_raw")
    assert "Floor: the CPU gap, 550 µs" in target.note
    assert "the other 1,550 µs are waiting" in target.note

    passed = evaluate(
        [
            first_event("raw_msgspec/asyncio", 900.0, 400.0, 90.0),
            first_event("ergo_final/asyncio", 930.0, 430.0, 100.0),
        ],
        None,
        None,
    )
    target = next(t for t in passed if t.name == "first_event.vs_raw")
    assert target.verdict == "PASS"
    assert "Floor" not in target.note


def test_an_invalid_series_has_no_medians() -> None:
    series = _series("chat_long", "sdk/asyncio", events_per_cpu_s=1.0)
    assert series.metric("events_per_cpu_s") is not None
    series.invalid = "counted 3 events, the server sent 5"
    assert series.metric("events_per_cpu_s") is None


@pytest.mark.parametrize("plan", [bench_cli.full_plan(), bench_cli.quick_plan()])
def test_plans_name_only_known_scenarios_and_rows(plan: Plan) -> None:
    assert {s.name for s in plan.scenarios} == set(SCENARIOS)
    for scenario in plan.scenarios:
        assert scenario.repeats >= 1
        for row, backend in scenario.rows:
            assert backend in ROWS[row].backends


def test_the_list_page_benchmark_decodes_every_item_on_both_sides() -> None:
    from benchmarks import _list_decode_bench

    result = _list_decode_bench.run(files=30, batches=7, repeats=1)
    assert result["files"]["items"] == 30
    assert result["batches"]["items"] == 7
    for page in result.values():
        assert page["ergo_cpu_s"] >= 0
        assert page["sdk_cpu_s"] > 0
        assert page["ratio"] > 0


def test_the_batch_results_benchmark_reads_every_line_typed() -> None:
    from benchmarks import _batch_results_bench

    result = _batch_results_bench.run(lines=200, repeats=1)
    assert result["lines"] == 200
    assert result["bytes"] == len(_batch_results_bench.output_file(200))
    assert result["wall_s"] > 0
    assert result["mb_per_s"] == result["bytes"] / 1e6 / result["wall_s"]


def test_a_missed_request_target_names_its_floor_counted() -> None:
    def requests(key: str, cpu: float, calls: float) -> Series:
        return _series("requests", key, us_cpu_per_unit=cpu, request_calls=calls)

    def target_of(series: list[Series]) -> Target:
        return next(t for t in evaluate(series, None, None) if t.name == "requests.vs_raw")

    raw = requests("raw_msgspec/asyncio", 40.0, 92.0)
    missed = target_of([raw, requests("ergo_final/asyncio", 140.0, 330.0)])
    assert missed.verdict == "MISS"
    assert missed.value == pytest.approx(3.5)
    assert "140 µs of CPU per request against the raw socket's 40" in missed.note
    assert "330 Python and C calls against 92" in missed.note
    assert "Floor: the steps the raw socket does not take, 238 more calls" in missed.note

    passed = target_of([raw, requests("ergo_final/asyncio", 110.0, 300.0)])
    assert passed.verdict == "PASS"
    assert "110 µs of CPU per request" in passed.note
    assert "Floor" not in passed.note

    unknown = target_of([raw])
    assert unknown.verdict == "UNKNOWN"
