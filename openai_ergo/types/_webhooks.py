"""The events webhook deliveries carry: `WebhookEvent`, the union of the schemas the spec's
`webhooks:` section names (generated, `openai_ergo.codegen`), decoded by their `type` tag, with
`UnknownTypeVariant` for an event type this version does not know."""

from __future__ import annotations

import msgspec

from openai_ergo.types._generated.standalone import WebhookEvent
from openai_ergo.types._variants import decode

__all__ = ["WebhookEvent", "decode_webhook_event"]


def decode_webhook_event(data: str | bytes, /) -> WebhookEvent:
    """Decode the body of a webhook delivery into its event (verify it first:
    `client.webhooks.unwrap(...)` does both). A body that is not an event raises
    `WebhookError` (reason `bad payload`)."""
    from openai_ergo._errors import WebhookError

    try:
        event: WebhookEvent = decode(data, type=WebhookEvent)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise WebhookError(
            f"the webhook body is not an event: {exc}", reason="bad payload"
        ) from None
    return event
