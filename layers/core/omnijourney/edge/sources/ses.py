"""Amazon SES email feedback, delivered SES → SNS → SQS (never as a webhook).

Both of SES's formats are read: configuration-set event publishing (`eventType`) and an identity's feedback
notifications (`notificationType`: Bounce, Complaint, Delivery), whose records have the same fields.
The queue's policy admits only the SNS topic, so the SNS envelope is trusted rather than re-verified.
`send_receipt` reads the same records for what they prove about a send: SES accepted the message whose ledger key
its tags carry (docs/operations.md, "Sends").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any

from omnijourney.edge.sources.delivery import (
    Delivery,
    UnsignedSource,
    as_list,
    as_object,
    as_text,
    as_timestamp,
    canonical_event,
    load_json,
    require,
)
from omnijourney.events import (
    CanonicalEvent,
    Channel,
    ConsentChange,
    ConsentChannel,
    ConsentStatus,
    EventType,
)
from omnijourney.identifiers import identifiers_from
from omnijourney.platform.errors import MalformedPayload

_TYPES = {
    "Delivery": EventType.message_delivered,
    "Bounce": EventType.message_bounced,
    "Complaint": EventType.message_complained,
    "Open": EventType.message_opened,
    "Click": EventType.message_clicked,
    "Subscription": EventType.consent_changed,
}
# What SES publishes that changes nothing on a profile: the send itself, sends that never reached the
# customer (a virus, a template that did not render), delays (a delivery or a bounce follows), and the
# confirmation an identity's notification topic gets when it is set up. They are acknowledged, not retried.
IGNORED = ("Send", "Reject", "Rendering Failure", "DeliveryDelay", "AmazonSnsSubscriptionSucceeded")
# Records SES publishes only for a message it accepted: each confirms the send. Reject and Rendering Failure are for
# messages SES did not send.
ACCEPTED = ("Send", "Delivery", "DeliveryDelay", "Bounce", "Complaint", "Open", "Click")
# The plain-text message SES publishes to the topic when a configuration set's event destination is created.
TOPIC_VALIDATION = b"Successfully validated SNS topic for Amazon SES event publishing."
UNSUBSCRIBED = (ConsentChange(channel=ConsentChannel.email, status=ConsentStatus.unsubscribed),)
# A child of the functions' Powertools logger (service `omnijourney`), so its lines come out the same way.
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendReceipt:
    """SES's word that it accepted a message: its record's kind, SES's message id, and the customer id and ledger
    key the message's tags carry (as channels.email.tag_value writes them)."""

    kind: str
    ses_message_id: str
    customer_id: str
    message_key_tag: str


def send_receipt(body: bytes) -> SendReceipt | None:
    """The receipt in a queue message SES published through the configuration set, or None: another kind of record,
    or one without omnijourney's tags (an identity's notifications carry none; a message sent by someone else)."""
    record = _record(body)
    if record is None:
        return None
    kind = as_text(record.get("eventType") or record.get("notificationType"))
    if kind not in ACCEPTED:
        return None
    mail = as_object(require(record, "mail"), "mail")
    tags = _tags(mail)
    customer_ids, message_keys = tags.get("customer_id") or [], tags.get("message_key") or []
    if not customer_ids or not message_keys:
        return None
    return SendReceipt(kind, str(require(mail, "messageId", "mail.")), str(customer_ids[0]), str(message_keys[0]))


class SesSource(UnsignedSource):
    """Unsigned: only the SNS topic can write to the queue."""

    name = "ses"

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        record = _record(delivery.body)
        if record is None:
            logger.info("SES topic validation message ignored")
            return []
        kind = as_text(record.get("eventType") or record.get("notificationType"))
        if not kind:
            raise MalformedPayload("eventType (or notificationType) is required", field="eventType")
        if kind in IGNORED:
            logger.info("SES %s record ignored: it changes no profile", kind)
            return []
        if kind not in _TYPES:
            raise MalformedPayload(f"eventType {kind!r} is not an SES event type", field="eventType")
        mail = as_object(require(record, "mail"), "mail")
        detail = as_object(record.get(kind.lower()) or {}, kind.lower())
        occurred_at = as_timestamp(detail.get("timestamp") or mail.get("timestamp"), "timestamp", delivery.received_at)
        consent: tuple[ConsentChange, ...] = ()
        if kind == "Complaint" or (kind == "Bounce" and detail.get("bounceType") == "Permanent"):
            consent = UNSUBSCRIBED
        elif kind == "Subscription":
            preferences = as_object(detail.get("newTopicPreferences") or {}, "subscription.newTopicPreferences")
            if not preferences.get("unsubscribeAll"):
                return []
            consent = UNSUBSCRIBED
        mail_id = str(require(mail, "messageId", "mail."))
        return [
            canonical_event(
                event_id=f"ses:{mail_id}:{kind}:{recipient}:{occurred_at.isoformat()}",
                source=self.name,
                type=_TYPES[kind],
                name=f"Email {kind}",
                channel=Channel.email,
                occurred_at=occurred_at,
                received_at=delivery.received_at,
                identifiers=identifiers_from(email=recipient),
                consent=consent,
                # As fields, not a Message: the event's validation names the field a vendor value fails in.
                message={
                    "message_id": mail_id,
                    "recipient": recipient,
                    "detail": detail.get("bounceType") or detail.get("complaintFeedbackType"),
                    "link": detail.get("link"),
                    "tags": _tags(mail),
                },
            )
            for recipient in _recipients(kind, detail, mail)
        ]


def _record(body: bytes) -> dict[str, Any] | None:
    """The SES record in a queue message, or None for the topic validation text. Raw message delivery
    hands over the message itself; otherwise it is the SNS envelope's `Message`."""
    if body.strip() == TOPIC_VALIDATION:
        return None
    envelope = as_object(load_json(body), "body")
    if "Message" not in envelope:
        return envelope
    message = str(envelope["Message"]).encode()
    if message.strip() == TOPIC_VALIDATION:
        return None
    return as_object(load_json(message), "Message")


def _tags(mail: dict[str, Any]) -> dict[str, list[Any]]:
    """The message tags SES publishes (`mail.tags`): each tag's values, a list."""
    tags = as_object(mail.get("tags") or {}, "mail.tags")
    return {key: as_list(values, f"mail.tags.{key}") for key, values in tags.items()}


def _recipients(kind: str, detail: dict[str, Any], mail: dict[str, Any]) -> list[str]:
    if kind == "Bounce":
        return _feedback_recipients(detail.get("bouncedRecipients"), "bounce.bouncedRecipients")
    if kind == "Complaint":
        return _feedback_recipients(detail.get("complainedRecipients"), "complaint.complainedRecipients")
    if kind == "Delivery":
        return [str(address) for address in as_list(detail.get("recipients"), "delivery.recipients")]
    return _addressees(mail)


def _feedback_recipients(entries: Any, where: str) -> list[str]:
    """The addresses a bounce or complaint names. An entry without `emailAddress` names no one a profile
    could be found by, so it is skipped rather than failing the record (and the other recipients with it)."""
    return [
        str(entry["emailAddress"])
        for entry in as_list(entries, where)
        if isinstance(entry, dict) and entry.get("emailAddress")
    ]


def _addressees(mail: dict[str, Any]) -> list[str]:
    """Who an open, click or unsubscribe is credited to. SES does not say which recipient it was, so the
    addresses in the To header stand for the customer: CC and BCC copies are rarely the journey's customer.
    Without a To header (identity notifications may omit headers), every address SES sent to."""
    headers = as_object(mail.get("commonHeaders") or {}, "mail.commonHeaders")
    to = [str(value) for value in as_list(headers.get("to"), "mail.commonHeaders.to")]
    addresses = [address for _, address in getaddresses(to) if address]
    return addresses or [str(address) for address in as_list(mail.get("destination"), "mail.destination")]


SOURCE = SesSource()
