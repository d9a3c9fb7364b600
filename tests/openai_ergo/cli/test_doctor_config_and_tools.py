"""`doctor`, `config show`, `models`, and the repository's tools (`mock`, `bench`, `codegen`)."""

from __future__ import annotations

import email.utils
import http.server
import json
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from openai_ergo.codegen._emit_types import PACKAGE
from openai_ergo.mock import MockServer
from tests.openai_ergo.cli.conftest import KEY, clean_env, one_error_line, run_cli
from tests.openai_ergo.codegen.test_generator import _tiny_spec


def test_doctor_on_a_healthy_server_says_ready(
    mock_openai: MockServer, cli_env: dict[str, str]
) -> None:
    result = run_cli("doctor", env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"\$OPENAI_API_KEY\s+sk-…7890", out)  # in use, redacted
    assert KEY not in out
    assert re.search(rf"\$OPENAI_BASE_URL\s+{re.escape(mock_openai.url)}", out)
    assert re.search(r"ok\s+dns\s+127\.0\.0\.1", out)
    assert re.search(rf"ok\s+reachable\s+{re.escape(mock_openai.url)} answered 200 in \d+ ms", out)
    assert re.search(r"ok\s+auth\s+the key was accepted", out)
    assert re.search(r"ok\s+rate limit\s+\d+% of the tightest budget left", out)
    assert re.search(r"ok\s+models\s+\d+ available", out)
    assert re.search(r"ok\s+clock\s+skew [+-]\d", out)
    assert out.rstrip().endswith("verdict: ready: the API answers and accepts the key.")


def test_doctor_with_a_refused_key_says_what_to_fix(
    mock_openai: MockServer, cli_env: dict[str, str]
) -> None:
    mock_openai.app.api_keys = frozenset({"sk-the-only-good-key"})
    result = run_cli("doctor", env=cli_env)
    assert result.returncode == 1
    assert re.search(r"!!\s+auth\s+the key was refused \(401\)", result.stdout)
    assert "verdict: not ready. First, check OPENAI_API_KEY: it is wrong or revoked." in (
        result.stdout
    )
    assert KEY not in result.stdout + result.stderr


def test_doctor_without_a_key_names_the_variable(mock_openai: MockServer) -> None:
    result = run_cli("doctor", env=clean_env(OPENAI_BASE_URL=mock_openai.url))
    assert result.returncode == 1
    assert re.search(r"!!\s+api key\s+OPENAI_API_KEY is not set", result.stdout)
    # The server was still probed: it answers.
    assert re.search(r"ok\s+reachable", result.stdout)
    assert "verdict: not ready. First, set OPENAI_API_KEY" in result.stdout


def test_doctor_on_a_rate_limited_key_and_an_unreachable_host(
    mock_openai: MockServer, cli_env: dict[str, str]
) -> None:
    mock_openai.fail_next("rate_limit; retry_after=20", path="/v1/models")
    limited = run_cli("doctor", env=cli_env)
    assert limited.returncode == 1
    assert re.search(r"!!\s+rate limit\s+429: rate limited for 20 s", limited.stdout)
    gone = run_cli(
        "doctor", env=clean_env(OPENAI_BASE_URL="http://127.0.0.1:9/v1", OPENAI_API_KEY=KEY)
    )
    assert gone.returncode == 1
    assert re.search(r"!!\s+reachable\s+http://127\.0\.0\.1:9/v1 is unreachable", gone.stdout)
    assert "verdict: not ready. First, check the base URL (http://127.0.0.1:9/v1)." in gone.stdout


def test_config_show_redacts_the_key_and_proxy_password() -> None:
    env = clean_env(
        OPENAI_API_KEY=KEY,
        OPENAI_ORG_ID="org-123",
        HTTPS_PROXY="http://user:hunter2@proxy.example:3128",
    )
    result = run_cli("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in result.stdout.splitlines()}
    assert rows["api key"] == ["sk-…7890", "OPENAI_API_KEY"]
    assert rows["base url"] == ["https://api.openai.com/v1", "default"]
    assert rows["organization"] == ["org-123", "OPENAI_ORG_ID"]
    assert rows["proxy"] == ["http://user:***@proxy.example:3128", "environment"]
    assert rows["retry.max_attempts"] == ["3", "default"]
    assert KEY not in result.stdout
    assert "hunter2" not in result.stdout


def test_models_lists_the_catalog(mock_openai: MockServer, cli_env: dict[str, str]) -> None:
    result = run_cli("models", env=cli_env)
    assert result.returncode == 0, result.stderr
    ids = [line.split("\t")[0] for line in result.stdout.splitlines()[1:]]
    assert "gpt-4o-mini" in ids
    assert ids == sorted(ids)


def test_mock_serves_until_stopped_with_its_faults() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "openai_ergo", "mock", "--port", "0", "--api-key", "sk-one",
         "--fail-next", "rate_limit; retry_after=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/v1", first)
        assert found, first
        url = found.group(0)
        headers = {"Authorization": "Bearer sk-one"}
        assert httpx.get(f"{url}/models", headers=headers).status_code == 429  # the armed fault
        assert httpx.get(f"{url}/models", headers=headers).status_code == 200
        other = {"Authorization": "Bearer sk-other"}
        assert httpx.get(f"{url}/models", headers=other).status_code == 401
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_mock_refuses_an_unknown_fault() -> None:
    result = run_cli("mock", "--fail-next", "explode")
    assert result.returncode == 2
    line = one_error_line(result)
    assert "--fail-next" in line
    assert "unknown fault 'explode'" in line


def test_bench_hands_its_options_to_the_benchmarks() -> None:
    # An option the benchmarks' own parser refuses: proves it ran them, quickly.
    result = run_cli("bench", "--no-such-benchmark-option")
    assert result.returncode == 2
    assert "python -m benchmarks" in result.stderr
    assert "--no-such-benchmark-option" in result.stderr


def test_codegen_writes_the_typed_package_from_a_spec(tmp_path: Path) -> None:
    # The generator end to end through the command, on a one-operation spec (the repository's
    # own spec is regenerated and diffed by `make codegen-check`).
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(_tiny_spec()))
    out = tmp_path / "out"
    result = run_cli("codegen", str(spec), str(out))
    assert result.returncode == 0, result.stderr
    source = (out.joinpath(*PACKAGE.split(".")) / "things.py").read_text()
    assert source.startswith("# Generated")
    assert 'class Thing(ObjectTagged, tag="thing", kw_only=True):' in source


def test_codegen_needs_an_existing_spec(tmp_path: Path) -> None:
    result = run_cli("codegen", str(tmp_path / "spec.yaml"), str(tmp_path))
    assert result.returncode == 2
    assert "spec.yaml" in one_error_line(result)


def test_bench_and_codegen_outside_a_checkout_say_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As installed from a wheel: no benchmarks and no spec beside the package.
    from openai_ergo.cli import _app

    monkeypatch.setattr(_app, "_checkout", lambda: None)
    assert _app.run_app(["bench", "--quick"]) == 2
    assert "clone it and run `make bench`" in capsys.readouterr().err
    assert _app.run_app(["codegen"]) == 2
    assert "openai-ergo codegen SPEC OUT_DIR" in capsys.readouterr().err


@pytest.fixture
def tls_listener(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A TLS listener on localhost with a certificate from a private CA (trustme): it completes
    handshakes and says nothing. Yields its port and the CA's PEM file."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    ca_file = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            try:
                conn.settimeout(5)
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except OSError:
                pass  # a refused handshake or a reset: what the doctor is testing
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], ca_file
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_doctor_reports_tls_against_a_private_ca(tls_listener: tuple[int, Path]) -> None:
    port, ca_file = tls_listener
    base = f"https://localhost:{port}/v1"
    refused = run_cli("doctor", "--timeout", "3", env=clean_env(OPENAI_BASE_URL=base))
    assert refused.returncode == 1
    assert re.search(r"!!\s+tls\s+localhost:\d+: .*CERTIFICATE_VERIFY_FAILED", refused.stdout)
    # Trusting the private CA (as a company CA is trusted) makes the handshake pass.
    trusted = run_cli(
        "doctor", "--timeout", "3", env=clean_env(OPENAI_BASE_URL=base, SSL_CERT_FILE=str(ca_file))
    )
    assert re.search(r"ok\s+tls\s+TLSv1\.[23], certificate valid until ", trusted.stdout)
    assert re.search(r"--\s+\$SSL_CERT_FILE\s+", trusted.stdout)


class _ModelsServer:
    """A tiny OpenAI-compatible server (GET .../models) whose `Date` header is `skew` seconds
    off this machine's clock. It answers requests in proxy form too (`GET http://host/...`),
    so it can stand as the HTTP proxy in front of a base URL; `paths` records what it was sent."""

    def __init__(self, skew: float) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def date_time_string(self, timestamp: float | None = None) -> str:
                return email.utils.formatdate(time.time() + skew, usegmt=True)

            def do_GET(self) -> None:
                server.paths.append(self.path)
                body = json.dumps(
                    {"object": "list", "data": [{"id": "gpt-4o", "object": "model"}]}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _ModelsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.thread.join()
        self.httpd.server_close()


def test_doctor_names_a_clock_that_is_off_and_says_to_synchronise_it() -> None:
    with _ModelsServer(skew=-3600) as server:
        result = run_cli(
            "doctor", env=clean_env(OPENAI_BASE_URL=f"{server.url}/v1", OPENAI_API_KEY=KEY)
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"ok\s+auth\s+the key was accepted", result.stdout)
    assert re.search(r"!!\s+clock\s+this machine's clock is -3\d{3}\.\d s off", result.stdout)
    assert "verdict: not ready. First, synchronise the clock (NTP)." in result.stdout


def test_doctor_goes_through_the_proxy_of_the_environment_and_redacts_it() -> None:
    # The base URL's host does not resolve here: only the proxy can reach it, so an answer
    # proves the request went through the proxy (which sees it in proxy form).
    base = "http://api.doctor-test.invalid/v1"
    with _ModelsServer(skew=0) as proxy:
        proxy_url = proxy.url.replace("http://", "http://user:hunter2@")
        result = run_cli(
            "doctor", env=clean_env(OPENAI_BASE_URL=base, OPENAI_API_KEY=KEY, HTTP_PROXY=proxy_url)
        )
    assert result.returncode == 0, result.stdout + result.stderr
    shown = proxy.url.replace("http://", "http://user:***@")
    assert re.search(
        rf"--\s+proxy\s+{re.escape(shown)} \(from the environment\) for api\.doctor-test\.invalid",
        result.stdout,
    )
    assert "hunter2" not in result.stdout + result.stderr
    assert not re.search(r"\s+dns\s+", result.stdout)  # the proxy resolves the host
    assert re.search(rf"ok\s+reachable\s+{re.escape(base)} answered 200", result.stdout)
    assert proxy.paths == [f"{base}/models"]
    assert result.stdout.rstrip().endswith("verdict: ready: the API answers and accepts the key.")


def test_doctor_behind_a_dead_proxy_names_the_proxy() -> None:
    base = "http://api.doctor-test.invalid/v1"
    env = clean_env(
        OPENAI_BASE_URL=base, OPENAI_API_KEY=KEY, HTTP_PROXY="http://user:hunter2@127.0.0.1:9"
    )
    result = run_cli("doctor", "--timeout", "5", env=env)
    assert result.returncode == 1
    assert re.search(rf"!!\s+reachable\s+{re.escape(base)} is unreachable", result.stdout)
    assert "verdict: not ready. First, check the proxy (http://user:***@127.0.0.1:9)" in (
        result.stdout
    )
    assert "hunter2" not in result.stdout + result.stderr
