"""Amazon SES event publishing records, delivered SES → SNS → SQS (never as a webhook).

The queue's policy admits only the SNS topic, so the SNS envelope is trusted rather than re-verified.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omnijourney.errors import MalformedPayload
from omnijourney.events import (
    CanonicalEvent,
    Channel,
    ConsentChange,
    ConsentChannel,
    ConsentStatus,
    EventType,
    Message,
)
from omnijourney.identifiers import identifiers_from
from omnijourney.sources.delivery import (
    Delivery,
    as_object,
    as_timestamp,
    canonical_event,
    load_json,
    require,
)

_TYPES = {
    "Send": None,
    "Delivery": EventType.message_delivered,
    "Bounce": EventType.message_bounced,
    "Complaint": EventType.message_complained,
    "Open": EventType.message_opened,
    "Click": EventType.message_clicked,
    "Subscription": EventType.consent_changed,
}
UNSUBSCRIBED = (ConsentChange(channel=ConsentChannel.email, status=ConsentStatus.unsubscribed),)


class SesSource:
    name = "ses"
    webhook = False

    def sign(self, delivery: Delivery, secret: str, at: datetime) -> dict[str, str]:
        return {}

    def verify(self, delivery: Delivery, secret: str, now: datetime, tolerance_seconds: int) -> None:
        """Nothing to check: only the SNS topic can write to the queue."""

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        envelope = as_object(load_json(delivery.body), "body")
        # Raw message delivery hands over the SES record itself; otherwise it is in the SNS envelope.
        record = (
            as_object(load_json(str(envelope["Message"]).encode()), "Message") if "Message" in envelope else envelope
        )
        kind = require(record, "eventType")
        if kind not in _TYPES:
            raise MalformedPayload(f"eventType {kind!r} is not an SES event type", field="eventType")
        event_type = _TYPES[kind]
        if event_type is None:
            return []
        mail = as_object(require(record, "mail"), "mail")
        detail = as_object(record.get(kind.lower()) or {}, kind.lower())
        occurred_at = as_timestamp(detail.get("timestamp") or mail.get("timestamp"), "timestamp", delivery.received_at)
        consent: tuple[ConsentChange, ...] = ()
        if kind == "Complaint" or (kind == "Bounce" and detail.get("bounceType") == "Permanent"):
            consent = UNSUBSCRIBED
        elif kind == "Subscription":
            if not (detail.get("newTopicPreferences") or {}).get("unsubscribeAll"):
                return []
            consent = UNSUBSCRIBED
        mail_id = str(require(mail, "messageId", "mail."))
        return [
            canonical_event(
                event_id=f"ses:{mail_id}:{kind}:{recipient}:{occurred_at.isoformat()}",
                source=self.name,
                type=event_type,
                name=f"Email {kind}",
                channel=Channel.email,
                occurred_at=occurred_at,
                received_at=delivery.received_at,
                identifiers=identifiers_from(email=recipient),
                consent=consent,
                message=Message(
                    message_id=mail_id,
                    recipient=recipient,
                    detail=detail.get("bounceType") or detail.get("complaintFeedbackType"),
                    link=detail.get("link"),
                    tags={key: list(value) for key, value in (mail.get("tags") or {}).items()},
                ),
            )
            for recipient in _recipients(kind, detail, mail)
        ]


def _recipients(kind: str, detail: dict[str, Any], mail: dict[str, Any]) -> list[str]:
    if kind == "Bounce":
        return [entry["emailAddress"] for entry in detail.get("bouncedRecipients") or []]
    if kind == "Complaint":
        return [entry["emailAddress"] for entry in detail.get("complainedRecipients") or []]
    if kind == "Delivery":
        return list(detail.get("recipients") or [])
    return list(mail.get("destination") or [])


SOURCE = SesSource()
