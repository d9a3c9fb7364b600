"""The examples run as a user runs them: no OPENAI_API_KEY, so each starts the mock, and what each
prints is checked for the facts it reports (attempts, kept text, request ids, counts, URLs)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from openai_ergo import count_tokens

ROOT = Path(__file__).resolve().parents[3]


def _run(name: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_answers_streams_and_reuses_a_template() -> None:
    lines = _run("quickstart.py").splitlines()
    assert lines[0].startswith("answer: ")
    assert len(lines[0]) > len("answer: ")
    tokens = next(line for line in lines if line.startswith("tokens: "))
    assert int(tokens.removeprefix("tokens: ")) > 0
    assert any(line.startswith("Capital of France? -> ") for line in lines)
    assert any(line.startswith("Colour of the sea? -> ") for line in lines)


def test_tools_runs_both_tools_and_answers() -> None:
    out = _run("tools.py")
    assert (
        'get_weather({"city":"Paris","unit":null}) -> 18 degrees celsius and sunny in Paris' in out
    )
    assert 'local_time({"city":"Paris"}) -> 14:05' in out
    assert "answer: It is 14:05 in Paris" in out


def test_structured_output_prints_the_decoded_recipe() -> None:
    out = _run("structured_output.py").splitlines()
    assert out[0] == "Pancakes (serves 4)"
    assert "- 200 g flour" in out
    assert out[-1] == "3. Fry in a hot pan."


def test_chat_history_grows_and_branches() -> None:
    out = _run("chat_history.py")
    assert out.count("assistant: ") == 3
    assert "(7 messages so far)" in out
    assert "branch: " in out
    assert "responses: " in out


def test_responses_streaming_counts_events_and_keeps_the_text_of_a_broken_stream() -> None:
    out = _run("responses_streaming.py")
    assert re.search(r"^\s+1 x response\.completed$", out, re.MULTILINE)
    deltas = re.search(r"^\s+(\d+) x response\.output_text\.delta$", out, re.MULTILINE)
    assert deltas is not None
    assert f"output tokens: {deltas.group(1)}" in out  # the mock streams a delta a token
    assert "until_done(): " in out
    kept = re.search(r"interrupted after 8 events; kept text: '(.+)'", out)
    assert kept is not None
    # 8 events: 4 before the first delta, then 4 deltas, a token each.
    assert count_tokens(kept.group(1), "gpt-5-mini") == 4


def test_chat_streaming_keeps_both_choices_and_the_text_before_a_silence() -> None:
    out = _run("chat_streaming.py")
    assert "finish: stop | tokens: " in out
    assert re.search(r"^choice 0: \S", out, re.MULTILINE)
    assert re.search(r"^choice 1: \S", out, re.MULTILINE)
    assert "history: 4 messages, last reply {'role': 'assistant'" in out
    assert re.search(r"went quiet after 4 chunks; kept: '\S.*'", out)


def test_parallel_tools_run_in_one_turn_at_the_same_time() -> None:
    out = _run("parallel_tools.py")
    assert "turn 1 asked for 3 tools at once:" in out
    assert 'get_weather({"city":"Paris"}) -> 18 degrees and sunny in Paris' in out
    assert "the pollen service has no station in Paris (failed)" in out
    assert "at most 3 tools ran at the same time" in out
    assert "answer after 2 turns: Paris: 18 degrees" in out


def test_vision_input_sends_a_local_file_inline_and_refuses_text() -> None:
    out = _run("vision_input.py")
    assert "from a file, sent as: image_url data:image/png;base64," in out
    assert re.search(
        r"parts sent: \['input_text', 'input_image', 'input_image'\] \| file: file-", out
    )
    assert "refused (image): image: cannot tell the image format" in out


def test_retries_and_rate_limits_show_each_attempt_and_the_key_pool() -> None:
    out = _run("retries_and_rate_limits.py")
    assert "attempt 1: 503\n    attempt 2: 503\n    attempt 3: 200" in out
    assert "one idempotency key for the 3 attempts: True" in out
    assert "learned for model 'gpt-4o-mini': 30 requests a minute" in out
    assert "after 3 attempts." in out
    assert "attempts: [500, 500, 500]" in out
    assert "not retried: the server asked for 120 s, more than max_retry_after (60 s)." in out
    assert "after a 401: KeyPool(3 keys, 1 revoked, 2 ready)" in out
    assert "(the retry went out on the other key): KeyPool(3 keys, 1 revoked, 1 ready)" in out
    assert "sk-team" not in out  # no key is ever printed


def test_middleware_adds_headers_and_pairs_request_ids() -> None:
    out = _run("middleware.py")
    expected = "{'x-app': 'middleware-example', 'x-tenant': 'search', 'x-feature': 'greeting'}"
    assert f"the server saw: {expected}" in out
    assert "event='openai_ergo.request'" in out
    assert re.search(r"stream on /v1/chat/completions: \d+ events, error=None", out)
    pairs = re.findall(r"^  req-[0-9a-f]{12} -> (req_\w+)$", out, re.MULTILINE)
    assert len(pairs) == 2
    assert f"its request id: {pairs[1]}" in out
    assert "httpx hook: POST /v1/responses\n  httpx hook: 200 application/json" in out
    assert "pairs still 2" in out


def test_caching_answers_a_repeated_request_from_memory() -> None:
    out = _run("caching.py")
    assert "0 from the prompt cache" in out
    assert "cache: 3 hits, 3 misses, 3 stored" in out
    assert "same answer from the cache: True" in out
    assert "replayed stream, same final: True" in out
    # Two prompt-cache questions and one chat, then the three cache misses and the one request
    # that opted out reach the server.
    assert "requests the server saw: 7" in out


def test_token_counting_matches_the_count_with_the_usage() -> None:
    out = _run("token_counting.py")
    assert "counting with: tiktoken" in out
    counted = re.search(r"o200k_base \(tiktoken\): (\d+) input tokens; the API counts (\d+)", out)
    assert counted is not None
    assert counted.group(1) == counted.group(2)
    assert f"used: {counted.group(1)} in (0 cached)" in out
    chat = re.search(r"chat prompt: (\d+) tokens, (\d+) with the tool", out)
    assert chat is not None
    assert int(chat.group(2)) > int(chat.group(1))
    assert re.search(rf"chat: {chat.group(1)} prompt \+ \d+ completion = \d+ tokens", out)
    assert "max_output_tokens(16): incomplete (max_output_tokens)" in out


def test_cost_and_budget_tracks_refuses_and_reconciles() -> None:
    out = _run("cost_and_budget.py")
    assert re.search(r"gpt-5-mini +tag=None +requests=1 ", out)
    assert re.search(r"gpt-4o-mini +tag=support +requests=2 ", out)
    assert "refused: estimated $0.5000 against a $0.02 limit" in out
    assert "the organization reports $" in out
    assert '{"prices_as_of": "2025-08-07"' in out


def test_testing_with_mock_passes_its_own_tests_on_both_backends() -> None:
    out = _run("testing_with_mock.py")
    assert "10 passed" in out
    assert out.count("[trio] PASSED") == 5


def test_trio_app_cancels_a_stream_and_carries_on() -> None:
    out = _run("trio_app.py")
    assert "4 answers in " in out
    assert "cancelled after 0.3 s: True" in out
    assert "the next request works: True" in out


def test_azure_routes_to_deployments_and_the_v1_api() -> None:
    out = _run("azure.py")
    assert "azure-mock-key" not in out
    version = "?api-version=2024-10-21"
    assert f"POST /openai/deployments/my-gpt-4o-mini/chat/completions{version}" in out
    assert f"POST /openai/deployments/my-embedder/embeddings{version}" in out
    assert "v1 API, the URLs used: ['/openai/v1/responses', '/openai/v1/chat/completions']" in out
    assert "authorized with a bearer token: True" in out
