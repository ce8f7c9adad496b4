"""Zendesk ticket events, from a trigger webhook whose JSON body is documented in docs/sources/zendesk.md.

Signed with X-Zendesk-Webhook-Signature = base64 HMAC-SHA256(secret, timestamp + body), the timestamp in
X-Zendesk-Webhook-Signature-Timestamp; deliveries older than the tolerance are refused as replays.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from omnijourney.errors import BadSignature, MalformedPayload
from omnijourney.events import CanonicalEvent, Channel, EventType, Ticket
from omnijourney.identifiers import identifiers_from
from omnijourney.sources.delivery import (
    Delivery,
    as_object,
    as_text,
    as_timestamp,
    b64,
    canonical_event,
    hmac_digest,
    load_json,
    require,
    require_signature,
)

EVENTS = ("ticket.created", "ticket.updated", "ticket.solved")
SOLVED = ("solved", "closed")
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"


class ZendeskSource:
    name = "zendesk"
    header = "X-Zendesk-Webhook-Signature"

    def sign(self, delivery: Delivery, secret: str, at: datetime) -> dict[str, str]:
        timestamp = delivery.header(TIMESTAMP_HEADER) or at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            self.header: b64(hmac_digest("sha256", secret, timestamp.encode() + delivery.body)),
            TIMESTAMP_HEADER: timestamp,
        }

    def verify(self, delivery: Delivery, secret: str, now: datetime, tolerance_seconds: int) -> None:
        timestamp = delivery.header(TIMESTAMP_HEADER)
        if not timestamp:
            raise BadSignature(f"the {TIMESTAMP_HEADER} header is missing", field=TIMESTAMP_HEADER)
        try:
            signed_at = as_timestamp(timestamp, TIMESTAMP_HEADER, now)
        except MalformedPayload as error:
            raise BadSignature(error.detail, field=TIMESTAMP_HEADER) from error
        if abs(now - signed_at) > timedelta(seconds=tolerance_seconds):
            raise BadSignature(
                f"the signature timestamp {timestamp} is outside the {tolerance_seconds} s window",
                field=TIMESTAMP_HEADER,
            )
        require_signature(delivery.header(self.header), self.sign(delivery, secret, now)[self.header], self.header)

    def parse(self, delivery: Delivery) -> list[CanonicalEvent]:
        payload = as_object(load_json(delivery.body), "body")
        event = require(payload, "event")
        if event not in EVENTS:
            raise MalformedPayload(f"event must be one of {', '.join(EVENTS)}, not {event!r}", field="event")
        ticket: dict[str, Any] = as_object(require(payload, "ticket"), "ticket")
        requester: dict[str, Any] = as_object(payload.get("requester") or {}, "requester")
        ticket_id = str(require(ticket, "id", "ticket."))
        status = str(require(ticket, "status", "ticket.")).strip().lower()
        occurred_at = as_timestamp(require(ticket, "updated_at", "ticket."), "ticket.updated_at", delivery.received_at)
        identifiers = identifiers_from(
            email=requester.get("email"), phone=requester.get("phone"), user_id=requester.get("external_id")
        )
        if not identifiers:
            raise MalformedPayload("requester needs an email, phone or external_id", field="requester")
        if event == "ticket.created":
            event_type = EventType.ticket_opened
        elif event == "ticket.solved" or status in SOLVED:
            event_type = EventType.ticket_solved
        else:
            event_type = EventType.ticket_updated
        return [
            canonical_event(
                event_id=f"zendesk:{ticket_id}:{occurred_at.isoformat()}:{event_type.value}:{_digest(ticket)}",
                source=self.name,
                type=event_type,
                name=event,
                channel=Channel.support,
                occurred_at=occurred_at,
                received_at=delivery.received_at,
                identifiers=identifiers,
                ticket=Ticket(ticket_id=ticket_id, subject=as_text(ticket.get("subject")), status=status),
                properties={"via": ticket.get("via"), "priority": ticket.get("priority")},
            )
        ]


def _digest(ticket: dict[str, Any]) -> str:
    """What tells two updates of a ticket apart when `updated_at` does not (it may render without seconds):
    a hash of every ticket field the trigger sent. A retried delivery has the same fields, and so do the
    *updated* and *solved* triggers firing for one update, so each is still applied once."""
    fields = json.dumps(ticket, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(fields.encode()).hexdigest()[:16]


SOURCE = ZendeskSource()
