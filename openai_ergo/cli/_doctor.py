"""`doctor` (is this machine ready to talk to the API, and if not, why) and `config show`
(the effective configuration, secrets redacted)."""

from __future__ import annotations

import contextlib
import os
import ssl
import sys
import urllib.request
from dataclasses import dataclass, field, fields
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import anyio
import typer

from openai_ergo import Client, RetryPolicy, Timeouts
from openai_ergo.cli._session import SETTINGS, print_table, run

__all__ = ["config_show", "doctor"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: The variables the client, the command and httpx read, in the order shown.
VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_ERGO_MODEL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
SECRET_VARIABLES = frozenset({"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"})
#: A server clock further off than this breaks signed URLs and expiry checks.
MAX_SKEW = 5.0
CHECK_TIMEOUT = 10.0


def redact_key(key: str) -> str:
    """`sk-…wxyz`: enough to tell keys apart, never enough to use one."""
    return f"{key[:3]}…{key[-4:]}" if len(key) >= 12 else "…"


def redact_url(url: str) -> str:
    """The URL with any password replaced (proxy URLs carry them)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _variable(name: str) -> str | None:
    value = os.environ.get(name) or os.environ.get(name.lower())
    return value.strip() if value and value.strip() else None


def _shown(name: str, value: str) -> str:
    if name in SECRET_VARIABLES:
        return redact_key(value)
    if name.endswith("_PROXY") or "://" in value:
        return redact_url(value)
    return value


def _proxy_for(url: str) -> str | None:
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    host = parts.hostname or ""
    # On POSIX this reads NO_PROXY from the environment, as httpx does.
    if urllib.request.proxy_bypass(host):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


# -- config show ------------------------------------------------------------------------------


def config_show() -> None:
    """The effective configuration: where each setting comes from, secrets redacted."""
    from openai_ergo.cli._chat import default_model

    rows: list[tuple[str, str, str]] = []
    key = _variable("OPENAI_API_KEY")
    if SETTINGS.mock:
        rows.append(("server", "the embedded mock (--mock)", "--mock"))
    rows.append(
        ("api key", redact_key(key) if key else "(not set)", "OPENAI_API_KEY" if key else "")
    )
    base = _variable("OPENAI_BASE_URL")
    shown_base = redact_url(base) if base else DEFAULT_BASE_URL
    rows.append(("base url", shown_base, "OPENAI_BASE_URL" if base else "default"))
    for label, name in (("organization", "OPENAI_ORG_ID"), ("project", "OPENAI_PROJECT_ID")):
        value = _variable(name)
        if value:
            rows.append((label, value, name))
    model = _variable("OPENAI_ERGO_MODEL")
    rows.append(("model", default_model(), "OPENAI_ERGO_MODEL" if model else "default"))
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"):
        value = _variable(name)
        if value:
            rows.append((name.lower().replace("_", " "), _shown(name, value), name))
    proxy = _proxy_for(base or DEFAULT_BASE_URL)
    rows.append(("proxy", redact_url(proxy) if proxy else "(none)", "environment" if proxy else ""))
    for policy, prefix in ((Timeouts(), "timeouts"), (RetryPolicy(), "retry")):
        for item in fields(policy):
            value = getattr(policy, item.name)
            if isinstance(value, frozenset):
                value = ",".join(str(v) for v in sorted(value))
            rows.append((f"{prefix}.{item.name}", str(value), "default"))
    rows.append(("backend", SETTINGS.backend, "--backend"))
    print_table(["setting", "value", "from"], [list(row) for row in rows])


# -- doctor ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Findings:
    """What the checks found: lines to show, and the problems for the verdict."""

    lines: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def ok(self, what: str, detail: str) -> None:
        """A check that passed."""
        self.lines.append(("ok", what, detail))

    def note(self, what: str, detail: str) -> None:
        """Information, not a problem."""
        self.lines.append(("--", what, detail))

    def problem(self, what: str, detail: str, action: str) -> None:
        """A check that failed, with what to do about it."""
        self.lines.append(("!!", what, detail))
        self.problems.append(action)


def _configuration(found: Findings) -> None:
    used = [name for name in VARIABLES if _variable(name)]
    for name in used:
        value = _variable(name)
        assert value is not None
        found.note(f"${name}", _shown(name, value))
    if not used:
        found.note("environment", "no OPENAI_* variable set")


async def _dns(found: Findings, host: str, port: int) -> bool:
    try:
        with anyio.fail_after(CHECK_TIMEOUT):
            infos = await anyio.getaddrinfo(host, port)
    except TimeoutError:
        found.problem("dns", f"{host} did not resolve within {CHECK_TIMEOUT:g} s", "check DNS")
        return False
    except OSError as exc:
        found.problem(
            "dns",
            f"{host} does not resolve: {exc.strerror or exc}",
            f"check the host name in the base URL ({host}) and this machine's DNS",
        )
        return False
    addresses = sorted({str(info[4][0]) for info in infos})
    found.ok("dns", f"{host} -> {', '.join(addresses[:4])}")
    return True


async def _tls(found: Findings, host: str, port: int) -> None:
    context = ssl.create_default_context()
    try:
        import certifi  # httpx's own CA bundle, which the client verifies against

        context.load_verify_locations(certifi.where())
    except ImportError:
        pass
    try:
        with anyio.fail_after(CHECK_TIMEOUT):
            stream = await anyio.connect_tcp(host, port, tls=True, ssl_context=context)
    except TimeoutError:
        found.problem(
            "tls",
            f"no TLS handshake with {host}:{port} within {CHECK_TIMEOUT:g} s",
            "check the network path (firewall, proxy)",
        )
        return
    except (OSError, ssl.SSLError) as exc:
        found.problem(
            "tls",
            f"{host}:{port}: {exc}",
            "a proxy or firewall may intercept TLS: pass its CA as Client(verify=ssl_context) "
            "or set SSL_CERT_FILE",
        )
        return
    from anyio.streams.tls import TLSAttribute

    version = stream.extra(TLSAttribute.tls_version)
    cert = stream.extra(TLSAttribute.peer_certificate) or {}
    # The server may hang up first: the handshake, which is what was checked, is done.
    with contextlib.suppress(anyio.BrokenResourceError, OSError, ssl.SSLError):
        await stream.aclose()
    expires = cert.get("notAfter", "?") if isinstance(cert, dict) else "?"
    found.ok("tls", f"{version}, certificate valid until {expires}")


def doctor(
    timeout: Annotated[
        float, typer.Option(min=0.001, help="Seconds allowed for each network check.")
    ] = CHECK_TIMEOUT,
) -> None:
    """Check the configuration, DNS, TLS and proxies, the base URL's reachability and latency,
    the key, the models available and clock skew; end with a verdict. Exits 1 on a problem."""
    found = Findings()

    async def main() -> None:
        _configuration(found)
        if SETTINGS.mock:
            from openai_ergo.mock import serve

            async with serve() as server:
                await _api(found, Client(base_url=server.url, api_key="sk-mock"), timeout)
            return
        key = _variable("OPENAI_API_KEY")
        base = _variable("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        if key is None:
            found.problem(
                "api key",
                "OPENAI_API_KEY is not set",
                "set OPENAI_API_KEY (export OPENAI_API_KEY=sk-...), or use --mock",
            )
        parts = urlsplit(base)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        proxy = _proxy_for(base)
        if proxy:
            found.note("proxy", f"{redact_url(proxy)} (from the environment) for {host}")
        else:
            found.note("proxy", f"none for {host}")
        resolved = proxy is not None or await _dns(found, host, port)
        if resolved and parts.scheme == "https" and proxy is None:
            await _tls(found, host, port)
        # Without a key the probe still tells whether the server answers (with 401).
        client = Client(base_url=base, api_key=key or "sk-no-key-set-0000")
        await _api(found, client, timeout, key_known=key is not None, proxy=proxy)

    run(main)
    _print_findings(found)
    if found.problems:
        raise typer.Exit(1)


async def _api(
    found: Findings,
    client: Client,
    limit: float,
    *,
    key_known: bool = True,
    proxy: str | None = None,
) -> None:
    async with client:
        health = await client.health(timeout=limit)
    if not health.reachable:
        # Behind a proxy, the proxy is the first suspect: it is the host actually dialled.
        fix = f"check the base URL ({health.base_url})"
        if proxy is not None:
            fix = f"check the proxy ({redact_url(proxy)}) or the base URL ({health.base_url})"
        found.problem("reachable", health.error or "", fix)
        return
    latency = f"{health.latency * 1000:.0f} ms" if health.latency is not None else "?"
    found.ok("reachable", f"{health.base_url} answered {health.status_code} in {latency}")
    if health.authenticated is False:
        if key_known:
            found.problem(
                "auth", "the key was refused (401)", "check OPENAI_API_KEY: it is wrong or revoked"
            )
    elif health.rate_limited:
        wait = f" for {health.retry_after:g} s" if health.retry_after is not None else ""
        found.problem("rate limit", f"429: rate limited{wait}", "wait, or check the quota")
    elif health.error is not None:
        found.problem("api", health.error, "see the message above")
    else:
        found.ok("auth", "the key was accepted")
    if health.headroom is not None and not health.rate_limited:
        info = health.rate_limit
        detail = f"{health.headroom:.0%} of the tightest budget left"
        if info is not None and info.remaining_requests is not None:
            detail += f" ({info.remaining_requests}/{info.limit_requests} requests"
            detail += f", {info.remaining_tokens}/{info.limit_tokens} tokens per minute)"
        found.ok("rate limit", detail)
    if health.models:
        sample = ", ".join(sorted(health.models)[:5])
        found.ok("models", f"{len(health.models)} available ({sample}, ...)")
    if health.clock_skew is not None:
        skew = f"{health.clock_skew:+.1f} s"
        if abs(health.clock_skew) > MAX_SKEW:
            found.problem(
                "clock",
                f"this machine's clock is {skew} off the server's",
                "synchronise the clock (NTP)",
            )
        else:
            found.ok("clock", f"skew {skew} (the server's Date header has 1 s resolution)")


def _print_findings(found: Findings) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(box=None, show_header=False, pad_edge=False)
    styles = {"ok": "green", "!!": "bold red", "--": "dim"}
    for mark, what, detail in found.lines:
        table.add_row(f"[{styles[mark]}]{mark}[/]", what, detail)
    console.print(table)
    if found.problems:
        console.print(f"verdict: not ready. First, {found.problems[0]}.", highlight=False)
        if len(found.problems) > 1:
            console.print(f"({len(found.problems) - 1} more problem(s) above)", highlight=False)
    else:
        console.print("verdict: ready: the API answers and accepts the key.", highlight=False)
    sys.stdout.flush()
