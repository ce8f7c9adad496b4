"""Zendesk tickets and users: a trigger webhook's JSON body (documented in docs/sources/zendesk.md), or Zendesk's
own event-subscribed webhooks (`{"type": "zen:event-type:ticket.created", "detail": {...}, ...}`).

Signed with X-Zendesk-Webhook-Signature = base64 HMAC-SHA256(secret, timestamp + body), the timestamp in
X-Zendesk-Webhook-Signature-Timestamp; deliveries older than the tolerance are refused as replays.
Native ticket events name the requester by Zendesk user id only; user events link that id to an email, so a
ticket from a requester not yet known is kept on a profile of its own and joins the customer's when the user
event arrives.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from omnijourney.edge.sources.delivery import (
    Delivery,
    as_object,
    as_text,
    as_timestamp,
    b64,
    canonical_event,
    hmac_digest,
    load_json,
    numeric_id,
    require,
    require_signature,
)
from omnijourney.events import CanonicalEvent, Channel, EventType, Ticket
from omnijourney.identifiers import Identifier, IdentifierKind, identifiers_from
from omnijourney.platform.errors import BadSignature, MalformedPayload

EVENTS = ("ticket.created", "ticket.updated", "ticket.solved")
SOLVED = ("solved", "closed")
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
# Native event-subscribed webhooks: `type` is this prefix and the event, e.g. `ticket.created`.
NATIVE_PREFIX = "zen:event-type:"
# The native events the profile uses; every other one is acknowledged and ignored.
NATIVE_TICKET_EVENTS = ("ticket.created", "ticket.status_changed")
NATIVE_USER_EVENTS = ("user.created", "user.identity_created", "user.identity_changed", "user.external_id_changed")
# Staff are not customers: their user events link nothing.
CUSTOMER_ROLE = "end-user"


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
        native = payload.get("type")
        if isinstance(native, str) and native.startswith(NATIVE_PREFIX):
            return _native(payload, native.removeprefix(NATIVE_PREFIX), delivery)
        return [_trigger(payload, delivery)]


def _trigger(payload: dict[str, Any], delivery: Delivery) -> CanonicalEvent:
    """A trigger's body, as docs/sources/zendesk.md tells to write it: its `event` is ours, so an unknown one is a
    mistake in the trigger, refused (400) rather than lost."""
    event = require(payload, "event")
    if event not in EVENTS:
        raise MalformedPayload(f"event must be one of {', '.join(EVENTS)}, not {event!r}", field="event")
    ticket: dict[str, Any] = as_object(require(payload, "ticket"), "ticket")
    requester: dict[str, Any] = as_object(payload.get("requester") or {}, "requester")
    ticket_id = str(require(ticket, "id", "ticket."))
    status = str(require(ticket, "status", "ticket.")).strip().lower()
    occurred_at = as_timestamp(require(ticket, "updated_at", "ticket."), "ticket.updated_at", delivery.received_at)
    identifiers = identifiers_from(
        email=requester.get("email"),
        phone=requester.get("phone"),
        user_id=requester.get("external_id"),
        zendesk_user_id=_secondary_zendesk_user(requester.get("id")),
    )
    if not identifiers:
        raise MalformedPayload(
            "requester needs an email, phone or external_id, or a Zendesk user id as id", field="requester"
        )
    if event == "ticket.created":
        event_type = EventType.ticket_opened
    elif event == "ticket.solved":
        event_type = EventType.ticket_solved
    else:
        event_type = _by_status(status)
    return canonical_event(
        event_id=f"zendesk:{ticket_id}:{occurred_at.isoformat()}:{event_type.value}:{_digest(ticket)}",
        source=SOURCE.name,
        type=event_type,
        name=event,
        channel=Channel.support,
        occurred_at=occurred_at,
        received_at=delivery.received_at,
        identifiers=identifiers,
        # The requester's Zendesk locale ("de", "en-us"), where the trigger's body has it.
        locale=requester.get("locale"),
        ticket=Ticket(ticket_id=ticket_id, subject=as_text(ticket.get("subject")), status=status),
        properties={"via": ticket.get("via"), "priority": ticket.get("priority")},
    )


def _native(payload: dict[str, Any], event: str, delivery: Delivery) -> list[CanonicalEvent]:
    """An event-subscribed webhook's body; events the profile does not use are acknowledged with no events."""
    if event not in NATIVE_TICKET_EVENTS + NATIVE_USER_EVENTS:
        return []
    detail = as_object(require(payload, "detail"), "detail")
    fields: dict[str, Any] = {
        # Zendesk's event id is the same on every retry of one event.
        "event_id": f"zendesk:{event}:{as_text(require(payload, 'id'))}",
        "source": SOURCE.name,
        "name": event,
        "channel": Channel.support,
        "occurred_at": as_timestamp(require(payload, "time"), "time", delivery.received_at),
        "received_at": delivery.received_at,
    }
    if event in NATIVE_TICKET_EVENTS:
        return [
            canonical_event(**fields, **_native_ticket(detail, event, as_object(payload.get("event") or {}, "event")))
        ]
    if str(detail.get("role") or CUSTOMER_ROLE).lower() != CUSTOMER_ROLE:
        return []
    return [canonical_event(**fields, **_native_user(detail))]


def _native_ticket(detail: dict[str, Any], event: str, change: dict[str, Any]) -> dict[str, Any]:
    ticket_id = numeric_id(require(detail, "id", "detail."), "detail.id")
    # `detail` is the ticket after the change; a status change also names the new status in `event.current`.
    status = str(detail.get("status") or require(change, "current", "event.")).strip().lower()
    via = detail.get("via")
    return {
        "type": EventType.ticket_opened if event == "ticket.created" else _by_status(status),
        "identifiers": [_zendesk_user(require(detail, "requester_id", "detail."), "detail.requester_id")],
        "ticket": Ticket(ticket_id=ticket_id, subject=as_text(detail.get("subject")), status=status),
        "properties": {
            "via": via.get("channel") if isinstance(via, dict) else None,
            "priority": str(detail["priority"]).lower() if detail.get("priority") else None,
        },
    }


def _native_user(detail: dict[str, Any]) -> dict[str, Any]:
    """A user event links the Zendesk user id that tickets name to the email (and phone, external id) the other
    channels know."""
    zendesk_user = _zendesk_user(require(detail, "id", "detail."), "detail.id")
    others = identifiers_from(email=detail.get("email"), phone=detail.get("phone"), user_id=detail.get("external_id"))
    return {"type": EventType.identify, "identifiers": [zendesk_user, *others], "locale": detail.get("locale")}


def _zendesk_user(value: Any, where: str) -> Identifier:
    return Identifier(kind=IdentifierKind.zendesk_user_id, value=numeric_id(value, where))


def _secondary_zendesk_user(value: Any) -> str | None:
    """A trigger body's `requester.id`: linked when it is a Zendesk user id, else dropped like any other
    invalid secondary identifier (the ticket is still applied through the requester's email or phone)."""
    try:
        return None if value is None or value == "" else numeric_id(value, "requester.id")
    except MalformedPayload:
        return None


def _by_status(status: str) -> EventType:
    return EventType.ticket_solved if status in SOLVED else EventType.ticket_updated


def _digest(ticket: dict[str, Any]) -> str:
    """What tells two updates of a ticket apart when `updated_at` does not (it may render without seconds):
    a hash of every ticket field the trigger sent. A retried delivery has the same fields, and so do the
    *updated* and *solved* triggers firing for one update, so each is still applied once."""
    fields = json.dumps(ticket, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(fields.encode()).hexdigest()[:16]


SOURCE = ZendeskSource()
