"""The message ledger's records and their reads: the pynamodb model, its statuses, and the queries the profile
views and the guards make. The writes, and what they emit, are runtime.ledger's; this module stays light, as the
profile and staff APIs load it on a cold start to list a customer's unconfirmed sends and sales tasks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute

from omnijourney.platform.tables import Table, table_meta

RETENTION_DAYS = 400
# SES publishes a Send record within seconds of taking a message, a Delivery within minutes: an entry still `pending`
# this long after it was claimed is counted as unconfirmed.
CONFIRM_WITHIN = timedelta(minutes=30)


class LedgerStatus(StrEnum):
    """pending (claimed, being sent) → sent | suppressed | deferred; retry after a retryable provider failure."""

    pending = "pending"
    sent = "sent"
    suppressed = "suppressed"
    deferred = "deferred"
    retry = "retry"


# What a provider's record of an accepted message completes: an entry the function left unfinished.
UNCONFIRMED = (LedgerStatus.pending.value, LedgerStatus.retry.value)


@dataclass(frozen=True)
class LedgerOffer:
    """The offer an entry's message presented, decoded from its `offer` column."""

    # The customer's offer as it stood when shown (profiles.model.IssuedOffer, as JSON).
    issued: dict[str, Any]
    # The offer the step asked for, when the customer's live one was shown instead of issuing a second.
    instead_of: str | None

    def as_report(self) -> dict[str, Any]:
        presented = {key: self.issued[key] for key in ("offer", "code", "discount", "skus")}
        return presented | ({"instead_of": self.instead_of} if self.instead_of is not None else {})


class LedgerRecord(Table):
    """Every send and every suppression, one item per (execution, step, visit) so retries write it once."""

    Meta = table_meta("ledger_table")

    customer_id = UnicodeAttribute(hash_key=True)
    # `<execution>#<step>#<visit>`: a step's visits sit together.
    message_key = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()
    journey = UnicodeAttribute()
    step = UnicodeAttribute()
    priority = NumberAttribute()
    channel = UnicodeAttribute()
    category = UnicodeAttribute()
    template = UnicodeAttribute()
    # The offer the message presented, {offer, code, discount, ...}: one code on every channel.
    offer = UnicodeAttribute(null=True)
    # The offer the step asked for but did not show, and why, {offer, reason}: its `without_offer` template went.
    offer_withheld = UnicodeAttribute(null=True)
    recipient = UnicodeAttribute(null=True)
    # What the customer read, {subject, body} (subject null but for email), set when it went out: personal, so
    # never logged nor passed to Step Functions, and scrubbed on erasure with the recipient.
    text = UnicodeAttribute(null=True)
    products = UnicodeAttribute(default="[]")
    status = UnicodeAttribute()  # a LedgerStatus
    reason = UnicodeAttribute(null=True)
    # The provider's id of the message that went out (SES, SNS, `note:<customer>` for a note).
    provider_id = UnicodeAttribute(null=True)
    # A deferred entry's seconds until the step is tried again.
    defer_seconds = NumberAttribute(null=True)
    # The delivery that started the run (events.correlation_id_of): logs and traces are searched by it. Entries
    # written before it existed have none.
    correlation_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    @property
    def presented_offer(self) -> LedgerOffer | None:
        """The `offer` column, decoded once for every reader: the offer as shown, and the one the step asked for
        when that was another (an entry written before the column kept it names none)."""
        if self.offer is None:
            return None
        issued = json.loads(self.offer)
        requested = issued.pop("requested", issued["offer"])
        return LedgerOffer(issued, requested if requested != issued["offer"] else None)

    @property
    def product_list(self) -> list[str]:
        return list(json.loads(self.products))

    @property
    def deferred_for(self) -> int:
        """A deferred entry's seconds; one written before `defer_seconds` existed kept them in `provider_id`."""
        if self.defer_seconds is not None:
            return int(self.defer_seconds)
        return int(self.provider_id or 1)

    def as_report(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "customer_id": self.customer_id,
            "execution": self.message_key.split("#", 1)[0],
            "journey": self.journey,
            "step": self.step,
            "channel": self.channel,
            "category": self.category,
            "template": self.template,
            "to": self.recipient,
            "products": self.product_list,
            "status": self.status,
            "reason": self.reason,
            "offer": offer.as_report() if (offer := self.presented_offer) is not None else None,
            "offer_withheld": json.loads(self.offer_withheld) if self.offer_withheld else None,
            "text": json.loads(self.text) if self.text else None,
        }

    def as_pending(self) -> dict[str, Any]:
        """An unconfirmed send as staff see it on the profile: when, where, which journey (no address, no text)."""
        return {
            "at": self.at.isoformat(),
            "channel": self.channel,
            "journey": self.journey,
            "step": self.step,
            "template": self.template,
        }


def entries(customer_id: str, key_prefix: str | None = None) -> list[LedgerRecord]:
    """A customer's entries, or only those whose message key starts with `key_prefix` (one step's visits)."""
    condition = LedgerRecord.message_key.startswith(key_prefix) if key_prefix is not None else None
    return list(LedgerRecord.query(customer_id, condition))


def sent_to(customer_id: str) -> Iterator[LedgerRecord]:
    """The messages that went out to one customer id (what frequency caps count)."""
    return LedgerRecord.query(customer_id, filter_condition=LedgerRecord.status == LedgerStatus.sent.value)


def get(customer_id: str, message_key: str) -> LedgerRecord:
    return LedgerRecord.get(customer_id, message_key)


def every_entry() -> Iterator[LedgerRecord]:
    """The whole ledger, in the table's order (a scan: for the simulation and tests, never on a function's path)."""
    return LedgerRecord.scan()
