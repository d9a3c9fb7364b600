"""Webhook deliveries: signature verification and typed events.

OpenAI signs each delivery as Standard Webhooks specifies: the `webhook-signature` header
holds one or more space-separated `v1,<base64>` signatures, each an HMAC-SHA256 of
`{webhook-id}.{webhook-timestamp}.{body}` under the secret (`whsec_` followed by the key in
base64). A delivery is genuine when one signature matches and its timestamp is within the
tolerance of now, both ways, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import binascii
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, final

from openai_ergo._errors import ConfigurationError, InvalidWebhookSignatureError

if TYPE_CHECKING:
    from openai_ergo.types import WebhookEvent

__all__ = ["Webhooks", "checked_secret"]

_PREFIX = "whsec_"
#: How far a delivery's timestamp may be from now, in seconds, by default (the SDK's too).
DEFAULT_TOLERANCE = 300

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]]


def checked_secret(secret: object, source: str) -> str:
    """`secret` if it can sign: a non-empty string whose key, after `whsec_`, is base64;
    else a `ConfigurationError` naming `source` (never the secret)."""
    if not isinstance(secret, str) or not secret:
        raise ConfigurationError(
            f"{source} must be the endpoint's signing secret, a string (whsec_...), "
            f"not {type(secret).__name__}"
        )
    _key(secret, source)
    return secret


def _key(secret: str, source: str) -> bytes:
    if not secret.startswith(_PREFIX):
        # The SDK signs with such a secret's own bytes; so do we, for the same signatures.
        return secret.encode()
    import base64

    try:
        return base64.b64decode(secret[len(_PREFIX) :], validate=True)
    except binascii.Error:
        raise ConfigurationError(
            f"{source} starts with whsec_ but what follows is not base64: copy the whole "
            "secret the dashboard shows for the webhook endpoint"
        ) from None


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise InvalidWebhookSignatureError(
            f"the delivery has no {name} header: pass the request's headers as received",
            reason="missing header",
        )
    return value


def _lowered(headers: HeadersLike) -> dict[str, str]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return {str(name).lower(): str(value) for name, value in pairs}


@final
class Webhooks:
    """Verifies that a webhook delivery came from OpenAI, and decodes its event.

    `client.webhooks` uses the client's `webhook_secret` (or `OPENAI_WEBHOOK_SECRET`);
    `Webhooks(secret)` works without a client, in the web app that receives deliveries. Pass
    the request's raw body, exactly as received (re-encoded JSON no longer matches), and its
    headers (any mapping, or name-value pairs).
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: str | None = None) -> None:
        self._secret = None if secret is None else checked_secret(secret, "secret")

    def verify_signature(
        self,
        payload: str | bytes,
        headers: HeadersLike,
        *,
        secret: str | None = None,
        tolerance: int = DEFAULT_TOLERANCE,
    ) -> None:
        """Return if the delivery is genuine; else raise `InvalidWebhookSignatureError`
        saying why (a header missing, a timestamp outside `tolerance` seconds of now, no
        signature that matches). Without a secret here or on the client, a
        `ConfigurationError` naming where to set one."""
        import hashlib
        import hmac

        source = "secret"
        if secret is None:
            secret, source = self._secret, "webhook_secret"
        if secret is None:
            raise ConfigurationError(
                "no webhook secret: set the OPENAI_WEBHOOK_SECRET environment variable, pass "
                "Client(webhook_secret=...), or pass secret=... here"
            )
        key = _key(checked_secret(secret, source), source)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
            raise ConfigurationError(
                f"tolerance= takes whole seconds, 0 or more, not {tolerance!r}"
            )
        lowered = _lowered(headers)
        webhook_id = _header(lowered, "webhook-id")
        timestamp = _header(lowered, "webhook-timestamp")
        signatures = _header(lowered, "webhook-signature")
        if not timestamp.isascii() or not timestamp.isdigit():
            raise InvalidWebhookSignatureError(
                f"webhook-timestamp is not whole Unix seconds (it is {timestamp[:40]!r})",
                reason="bad timestamp",
            )
        age = int(time.time()) - int(timestamp)
        if age > tolerance:
            raise InvalidWebhookSignatureError(
                f"the delivery is {age} s old, more than the tolerance of {tolerance} s: a "
                "replay, or a clock far off",
                reason="too old",
            )
        if -age > tolerance:
            raise InvalidWebhookSignatureError(
                f"the delivery is dated {-age} s in the future, more than the tolerance of "
                f"{tolerance} s: check this machine's clock",
                reason="too new",
            )
        body = payload.encode() if isinstance(payload, str) else bytes(payload)
        signed = b"%s.%s.%s" % (webhook_id.encode(), timestamp.encode(), body)
        import base64

        expected = base64.b64encode(hmac.digest(key, signed, hashlib.sha256))
        for candidate in signatures.split():
            version, _, signature = candidate.partition(",")
            if version == "v1" and hmac.compare_digest(expected, signature.encode()):
                return
        raise InvalidWebhookSignatureError(
            "no v1 signature in webhook-signature matches the payload under this secret: "
            "the body was changed (pass it exactly as received), or the secret is another "
            "endpoint's",
            reason="no match",
        )

    def unwrap(
        self, payload: str | bytes, headers: HeadersLike, *, secret: str | None = None
    ) -> WebhookEvent:
        """Verify the delivery (as `verify_signature` does) and decode its event: a
        `WebhookResponseCompleted`, `WebhookBatchFailed`, ... (`event.type` tells which), or
        an `UnknownTypeVariant` holding the raw payload for an event type this version does
        not know."""
        self.verify_signature(payload, headers, secret=secret)
        from openai_ergo.types import decode_webhook_event

        return decode_webhook_event(payload)

    def __repr__(self) -> str:
        return f"Webhooks(secret={'set' if self._secret is not None else 'unset'})"
