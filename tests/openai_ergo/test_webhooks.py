"""Webhook deliveries: Standard Webhooks signatures checked, events decoded by type.

The official SDK verifies the same deliveries: where it accepts, we accept; where it refuses,
we refuse, with a reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import subprocess
import sys
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from openai_ergo import (
    Client,
    ConfigurationError,
    InvalidWebhookSignatureError,
    WebhookError,
    Webhooks,
)
from openai_ergo.types import (
    UnknownTypeVariant,
    WebhookBatchFailed,
    WebhookEvent,
    WebhookResponseCompleted,
    decode_webhook_event,
)

KEY = b"a signing key of the endpoint"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
BODY = (
    b'{"id": "evt_1", "type": "response.completed", "object": "event", '
    b'"created_at": 1750000000, "data": {"id": "resp_1"}}'
)
SPEC = Path(__file__).resolve().parents[2] / "openai_ergo" / "codegen" / "spec"


def _signed(
    body: bytes, *, key: bytes = KEY, at: int | None = None, webhook_id: str = "msg_1"
) -> dict[str, str]:
    """The headers a sender following Standard Webhooks puts on `body`."""
    timestamp = str(int(time.time()) if at is None else at)
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"v1,{signature}",
    }


def _sdk() -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:1/v1", webhook_secret=SECRET)


def test_a_genuine_delivery_unwraps_to_its_typed_event() -> None:
    client = Client("sk-test", base_url="http://127.0.0.1:1/v1", webhook_secret=SECRET)
    headers = _signed(BODY)
    event = client.webhooks.unwrap(BODY, headers)
    assert isinstance(event, WebhookResponseCompleted)
    assert event.type == "response.completed"
    assert event.data is not None
    assert event.data.id == "resp_1"
    # The official SDK reads the same delivery the same way.
    theirs = _sdk().webhooks.unwrap(BODY, headers)
    assert theirs.type == event.type
    assert theirs.data.id == event.data.id


def test_a_payload_as_text_verifies_as_its_bytes() -> None:
    Webhooks(SECRET).verify_signature(BODY.decode(), _signed(BODY))


@pytest.mark.parametrize(
    "shape",
    [
        lambda signed: {k.upper(): v for k, v in signed.items()},
        lambda signed: list(signed.items()),
        httpx.Headers,
    ],
    ids=["upper-case names", "pairs", "httpx.Headers"],
)
def test_headers_come_in_any_shape(shape: Callable[[dict[str, str]], Any]) -> None:
    # Signed when the test runs, not when it is collected: a long run would age the delivery
    # past the five-minute tolerance.
    Webhooks(SECRET).verify_signature(BODY, shape(_signed(BODY)))


def test_one_matching_signature_among_several_is_enough() -> None:
    # While a secret rotates, a delivery carries a signature under each secret.
    genuine = _signed(BODY)["webhook-signature"]
    other = _signed(BODY, key=b"the old key")["webhook-signature"]
    headers = {**_signed(BODY), "webhook-signature": f"{other} v1a,{genuine[3:]} {genuine}"}
    Webhooks(SECRET).verify_signature(BODY, headers)
    only_other_versions = {**headers, "webhook-signature": f"{other} v1a,{genuine[3:]}"}
    with pytest.raises(InvalidWebhookSignatureError) as caught:
        Webhooks(SECRET).verify_signature(BODY, only_other_versions)
    assert caught.value.reason == "no match"


@pytest.mark.parametrize(
    ("body", "key"),
    [(BODY.replace(b"resp_1", b"resp_2"), KEY), (BODY, b"another endpoint's key")],
    ids=["changed body", "other secret"],
)
def test_a_forged_delivery_is_refused_as_the_sdk_refuses_it(body: bytes, key: bytes) -> None:
    headers = _signed(BODY, key=key)
    with pytest.raises(InvalidWebhookSignatureError, match="no v1 signature") as caught:
        Webhooks(SECRET).unwrap(body, headers)
    assert caught.value.reason == "no match"
    with pytest.raises(openai.InvalidWebhookSignatureError):
        _sdk().webhooks.verify_signature(body, headers)


@pytest.mark.parametrize(
    ("offset", "reason", "message"),
    [
        # A minute past the tolerance either way: a loaded machine can take seconds between
        # signing and checking, which would bring a delivery dated 301 s ahead back inside it.
        (-360, "too old", r"is 3[56]\d s old, more than the tolerance of 300 s"),
        (360, "too new", r"dated 3[56]\d s in the future"),
    ],
)
def test_a_delivery_outside_the_tolerance_is_refused(
    offset: int, reason: str, message: str
) -> None:
    headers = _signed(BODY, at=int(time.time()) + offset)
    with pytest.raises(InvalidWebhookSignatureError, match=message) as caught:
        Webhooks(SECRET).verify_signature(BODY, headers)
    assert caught.value.reason == reason
    with pytest.raises(openai.InvalidWebhookSignatureError):
        _sdk().webhooks.verify_signature(BODY, headers)


def test_the_tolerance_is_yours_to_set() -> None:
    headers = _signed(BODY, at=int(time.time()) - 1000)
    Webhooks(SECRET).verify_signature(BODY, headers, tolerance=3600)
    with pytest.raises(ConfigurationError, match="tolerance= takes whole seconds"):
        Webhooks(SECRET).verify_signature(BODY, headers, tolerance=-1)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_named(missing: str) -> None:
    headers = {k: v for k, v in _signed(BODY).items() if k != missing}
    with pytest.raises(InvalidWebhookSignatureError, match=f"no {missing} header") as caught:
        Webhooks(SECRET).verify_signature(BODY, headers)
    assert caught.value.reason == "missing header"


@pytest.mark.parametrize("timestamp", ["soon", "12.5", "-5", "١٢٣"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp: str) -> None:
    headers = {**_signed(BODY), "webhook-timestamp": timestamp}
    with pytest.raises(InvalidWebhookSignatureError, match="not whole Unix seconds") as caught:
        Webhooks(SECRET).verify_signature(BODY, headers)
    assert caught.value.reason == "bad timestamp"


def test_a_secret_without_the_prefix_signs_with_its_own_bytes_as_in_the_sdk() -> None:
    headers = _signed(BODY, key=b"plain-secret")
    Webhooks("plain-secret").verify_signature(BODY, headers)
    _sdk().webhooks.verify_signature(BODY, headers, secret="plain-secret")


def test_a_secret_passed_to_the_call_wins_over_the_clients() -> None:
    headers = _signed(BODY, key=b"plain-secret")
    client = Client("sk-test", base_url="http://127.0.0.1:1/v1", webhook_secret=SECRET)
    with pytest.raises(InvalidWebhookSignatureError):
        client.webhooks.verify_signature(BODY, headers)
    client.webhooks.verify_signature(BODY, headers, secret="plain-secret")


def test_no_secret_anywhere_names_where_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    client = Client("sk-test", base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ConfigurationError, match="OPENAI_WEBHOOK_SECRET") as caught:
        client.webhooks.unwrap(BODY, _signed(BODY))
    assert "webhook_secret=" in str(caught.value)


def test_no_error_or_repr_shows_the_secret() -> None:
    webhooks = Webhooks(SECRET)
    texts = [repr(webhooks)]
    for headers in (
        _signed(BODY, key=b"wrong"),
        _signed(BODY, at=0),
        {"webhook-id": "x"},
    ):
        with pytest.raises(InvalidWebhookSignatureError) as caught:
            webhooks.verify_signature(BODY, headers)
        texts.append(str(caught.value))
    with pytest.raises(ConfigurationError) as bad:
        Webhooks("whsec_" + SECRET[6:] + "!")
    texts.append(str(bad.value))
    for text in texts:
        assert SECRET[6:] not in text
        assert KEY.decode() not in text


def test_an_event_type_this_version_does_not_know_keeps_its_payload() -> None:
    body = b'{"id": "evt_2", "type": "video.completed", "data": {"id": "video_1"}}'
    event = Webhooks(SECRET).unwrap(body, _signed(body))
    assert isinstance(event, UnknownTypeVariant)
    assert event.raw["data"] == {"id": "video_1"}


def test_a_verified_body_that_is_not_an_event_is_a_webhook_error() -> None:
    for body in (b"not json", b'{"type": "batch.failed", "data": 5}'):
        with pytest.raises(WebhookError, match="not an event") as caught:
            Webhooks(SECRET).unwrap(body, _signed(body))
        assert caught.value.reason == "bad payload"
        assert not isinstance(caught.value, InvalidWebhookSignatureError)


def test_decode_webhook_event_reads_each_kind_by_its_type() -> None:
    event = decode_webhook_event(b'{"type": "batch.failed", "data": {"id": "batch_1"}}')
    assert isinstance(event, WebhookBatchFailed)
    assert event.data is not None
    assert event.data.id == "batch_1"


def test_the_event_union_holds_every_webhook_the_spec_names() -> None:
    # The spec's top-level `webhooks:` section, read as text: parsing 3 MB of YAML for one
    # section would cost seconds.
    text = (SPEC / "openai-openapi.yaml").read_text()
    section = re.search(r"^webhooks:\n(.*?)^\S", text, re.MULTILINE | re.DOTALL)
    assert section is not None
    named = set(re.findall(r'\$ref: "#/components/schemas/(\w+)"', section.group(1)))
    assert len(named) == len(re.findall(r"^  \w+:$", section.group(1), re.MULTILINE))
    members = {member.__name__ for member in typing.get_args(WebhookEvent)}
    assert members - {"UnknownTypeVariant"} == named


def test_the_event_union_is_the_generated_one_and_loads_on_first_use() -> None:
    # One definition: the generator makes the union from the spec's `webhooks:` section, and
    # the decoder and `openai_ergo.types` hand out that same object.
    import openai_ergo.types._webhooks as webhooks
    from openai_ergo.types._generated import standalone

    assert WebhookEvent is standalone.WebhookEvent is webhooks.WebhookEvent
    program = (
        "import sys, openai_ergo.types as t; "
        "loaded = lambda: 'openai_ergo.types._generated.standalone' in sys.modules; "
        "before = loaded(); t.decode_webhook_event; print(before, loaded())"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert run.stdout.split() == ["False", "True"]
