"""The events webhook deliveries carry: one union of the spec's webhook event schemas, decoded
by their `type` tag, with `UnknownTypeVariant` for an event type this version does not know."""

from __future__ import annotations

from typing import Union

import msgspec

from openai_ergo.types._base import UnknownTypeVariant
from openai_ergo.types._generated.standalone import (
    WebhookBatchCancelled,
    WebhookBatchCompleted,
    WebhookBatchExpired,
    WebhookBatchFailed,
    WebhookEvalRunCanceled,
    WebhookEvalRunFailed,
    WebhookEvalRunSucceeded,
    WebhookFineTuningJobCancelled,
    WebhookFineTuningJobFailed,
    WebhookFineTuningJobSucceeded,
    WebhookLiveCallIncoming,
    WebhookRealtimeCallIncoming,
    WebhookResponseCancelled,
    WebhookResponseCompleted,
    WebhookResponseFailed,
    WebhookResponseIncomplete,
)
from openai_ergo.types._variants import decode

__all__ = ["WebhookEvent", "decode_webhook_event"]

# Union[...], not `|`: a runtime alias msgspec decodes into (the spec's `webhooks:` section;
# tests/openai_ergo/test_webhooks.py checks that this lists every event it names).
WebhookEvent = Union[  # noqa: UP007
    WebhookBatchCancelled,
    WebhookBatchCompleted,
    WebhookBatchExpired,
    WebhookBatchFailed,
    WebhookEvalRunCanceled,
    WebhookEvalRunFailed,
    WebhookEvalRunSucceeded,
    WebhookFineTuningJobCancelled,
    WebhookFineTuningJobFailed,
    WebhookFineTuningJobSucceeded,
    WebhookLiveCallIncoming,
    WebhookRealtimeCallIncoming,
    WebhookResponseCancelled,
    WebhookResponseCompleted,
    WebhookResponseFailed,
    WebhookResponseIncomplete,
    UnknownTypeVariant,
]


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
