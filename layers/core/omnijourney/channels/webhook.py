"""Outbound webhooks (`channel: webhook`): the rendered JSON payload POSTed to a target of config/webhooks.yaml,
signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`).

`webhook-id` is the ledger's message key: the same on every attempt and every retried Task, so a target that
deduplicates on it, as the specification asks, takes the message once; an attempt it may have taken (no answer) is
therefore sent again, and so is one a retried Task finds `pending` (runtime.steps). Retries and what counts as refused
for good: channels.https.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from omnijourney.channels import OutgoingMessage, SendFailed
from omnijourney.channels.https import HttpsAdapter, attempt
from omnijourney.channels.targets import outbound

logger = logging.getLogger(__name__)


def signed_headers(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of `body`: signed over `<id>.<timestamp>.<body>` with the target's secret."""
    from standardwebhooks import Webhook  # lazy: only a function that sends a webhook loads it

    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


class WebhookAdapter(HttpsAdapter):
    def send(self, message: OutgoingMessage) -> str:
        name = message.to
        target = outbound().targets.get(name)
        if target is None:
            raise SendFailed("unknown_target", retryable=False, detail=f"no target {name!r} in config/webhooks.yaml")
        # Signed at the wall clock's time, not the journeys': the target checks it against its own to refuse replays.
        secret = target.secret.read(f"the signing secret of {name}")
        headers = signed_headers(secret, message.message_key, datetime.now(UTC), message.body)
        body = message.body.encode()

        def call(timeout: float) -> int:
            return self._post(target.url, body, headers, timeout)

        status = attempt(name, target, call, sleep=self._sleep, pace=self._pace, resend_unanswered=True, now=self._now)
        logger.info("webhook %s delivered to %s: HTTP %d", message.message_key, name, status)
        return f"webhook:{name}:{message.message_key}"


ADAPTER = WebhookAdapter()
