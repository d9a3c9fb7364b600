"""Fixtures every transport test module shares."""

from __future__ import annotations

import pytest
import trustme


@pytest.fixture(autouse=True)
def no_proxy_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the proxy variables a test sets apply: the machine's own would reroute loopback."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A private certificate authority for TLS on loopback."""
    return trustme.CA()
