"""The facts, one builder per kind, and their record as Firehose reads it (docs/analytics.md).

A fact holds customer ids, never an identifier's value, an address, a name or a text: the builders take only what a
fact may hold."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, NamedTuple

from omnijourney.analytics.columns import COLUMNS
from omnijourney.events import CanonicalEvent, EventType, event_digest

Value = str | bool | int | Decimal | datetime | tuple[str, ...] | None


class FactKind(StrEnum):
    event = "event"
    consent = "consent"
    order = "order"
    refund = "refund"
    ticket = "ticket"
    message = "message"
    run_started = "run_started"
    run_ended = "run_ended"
    offer_issued = "offer_issued"
    offer_redeemed = "offer_redeemed"
    merge = "merge"
    erasure = "erasure"
    deal = "deal"


class RunGroup(StrEnum):
    treatment = "treatment"
    holdout = "holdout"


@dataclass(frozen=True)
class Fact:
    """One row: its kind, when, whose, and the columns its kind uses; `identity` is what makes it itself (its id)."""

    kind: FactKind
    occurred_at: datetime
    customer_id: str
    identity: tuple[str, ...]
    columns: Mapping[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.columns) - set(COLUMNS)
        if unknown:
            raise ValueError(f"not columns of the facts table: {sorted(unknown)}")

    @property
    def fact_id(self) -> str:
        return hashlib.sha256("\x1f".join((self.kind, *self.identity)).encode()).hexdigest()[:32]

    def record(self) -> bytes:
        """One JSON object, newline-terminated: nulls left out, `occurred_at` in epoch milliseconds, amounts as
        numbers, and the partition keys `kind` and `day` (UTC)."""
        at = self.occurred_at.astimezone(UTC)
        values: dict[str, Value] = {
            "fact_id": self.fact_id,
            "kind": self.kind.value,
            "day": at.date().isoformat(),
            "occurred_at": at,
            "customer_id": self.customer_id,
            **self.columns,
        }
        data = {name: _json_value(value) for name, value in values.items() if value is not None}
        return (json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def _json_value(value: Value) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, Decimal):
        return float(value)  # shortest repr: exact for amounts within decimal(18,4)'s 15 significant digits
    if isinstance(value, tuple):
        return list(value)
    return value


def event_fact(event: CanonicalEvent, customer_id: str, *, known: bool) -> Fact:
    """`known`: whether the profile has an email or a phone once the event is recorded (lifecycle stages read it);
    whether, never which."""
    columns: dict[str, Value] = {
        "event_id": event_digest(event.event_id),
        "event_type": event.type.value,
        "channel": event.channel.value,
        "source": event.source,
        "known": known,
    }
    return Fact(FactKind.event, event.occurred_at, customer_id, (event.event_id,), columns)


def consent_fact(event: CanonicalEvent, customer_id: str, channel: str, status: str) -> Fact:
    columns = {"event_id": event_digest(event.event_id), "channel": channel, "status": status}
    return Fact(FactKind.consent, event.occurred_at, customer_id, (event.event_id, channel), columns)


def order_fact(event: CanonicalEvent, customer_id: str) -> Fact:
    order = event.order
    assert order is not None
    columns: dict[str, Value] = {
        "event_id": event_digest(event.event_id),
        "channel": event.channel.value,
        "order_id": order.order_id,
        "order_state": order.state.value,
        "amount": order.total,
        "currency": order.currency,
        "skus": tuple(order.skus),
    }
    return Fact(FactKind.order, event.occurred_at, customer_id, (event.event_id,), columns)


def refund_fact(event: CanonicalEvent, customer_id: str) -> Fact:
    refund = event.refund
    assert refund is not None
    columns: dict[str, Value] = {
        "event_id": event_digest(event.event_id),
        "order_id": refund.order_id,
        "refund_id": refund.refund_id,
        "amount": refund.amount,
        "currency": refund.currency,
    }
    return Fact(FactKind.refund, event.occurred_at, customer_id, (event.event_id, refund.refund_id), columns)


def ticket_fact(event: CanonicalEvent, customer_id: str) -> Fact:
    ticket = event.ticket
    assert ticket is not None
    status = "solved" if event.type is EventType.ticket_solved else "opened"
    columns = {"event_id": event_digest(event.event_id), "ticket_id": ticket.ticket_id, "status": status}
    return Fact(FactKind.ticket, event.occurred_at, customer_id, (event.event_id,), columns)


# The property a customer's association with a deal is told as ("true": the deal is theirs), stamped by the
# association event that decided it.
ASSOCIATED: Final = "associated"
# The CRM's deal properties a deal's value is joined from (metrics/facts.sql's `deal_book`, by the profile's rules),
# each → the column its value goes in: the amount, its currency, and the two that say whether it is won (HubSpot's
# `hs_is_closed_won` where told, else the stage `closedwon`), `archived` ("true": deleted in the CRM, a tombstone
# that makes it no deal at all), and the customer's association with it. A stage is a pipeline stage's id, never
# free text.
DEAL_VALUE: Final = {
    "amount": "amount",
    "deal_currency_code": "currency",
    "dealstage": "status",
    "hs_is_closed_won": "status",
    "archived": "status",
    ASSOCIATED: "status",
}


class DealTelling(NamedTuple):
    """What one CRM event told of a deal's property: its value (None: cleared), when, and a digest of the event's id
    (the profile's stamp)."""

    name: str
    value: str | None
    at: datetime
    event_id: str


def deal_facts(customer_id: str, deal_id: str, tellings: Iterable[DealTelling]) -> list[Fact]:
    """One fact per telling of the deal's value on the customer's copy of the deal (each as its event told it, not
    as joined so far), so the metrics join a deal's tellings as the profile does, per property by the latest, in
    whatever order they arrived; written again as the copy is, the same facts."""
    return [
        Fact(
            FactKind.deal,
            telling.at,
            customer_id,
            (customer_id, deal_id, telling.name, telling.event_id),
            {
                # Already a digest (the stamp's, profiles/model.py): ties are broken as the profile breaks them.
                "event_id": telling.event_id,
                "deal_id": deal_id,
                "deal_property": telling.name,
                column: Decimal(telling.value) if column == "amount" and telling.value is not None else telling.value,
            },
        )
        for telling in sorted(tellings)
        if (column := DEAL_VALUE.get(telling.name)) is not None
    ]


def merge_facts(survivor: str, merged_ids: Iterable[str], at: datetime) -> list[Fact]:
    return [Fact(FactKind.merge, at, survivor, (survivor, merged), {"merged_id": merged}) for merged in merged_ids]


def offer_redeemed_fact(customer_id: str, code: str, order_id: str | None, at: datetime) -> Fact:
    return Fact(FactKind.offer_redeemed, at, customer_id, (code,), {"offer_code": code, "order_id": order_id})


def offer_issued_fact(customer_id: str, code: str, skus: Iterable[str], at: datetime, expires_at: datetime) -> Fact:
    columns: dict[str, Value] = {"offer_code": code, "skus": tuple(skus), "expires_at": expires_at}
    return Fact(FactKind.offer_issued, at, customer_id, (code,), columns)


@dataclass(frozen=True)
class ShownOffer:
    """The offer a message showed, as a fact may hold it: its code and SKUs, and the offer the step asked for when
    the customer's live one was shown instead."""

    code: str
    skus: tuple[str, ...]
    instead_of: str | None = None


@dataclass(frozen=True)
class LedgerOutcome:
    """A message ledger entry's outcome, as a fact may hold it (never its recipient or text)."""

    customer_id: str
    message_key: str
    at: datetime
    journey: str
    step: str
    channel: str
    category: str
    template: str
    status: str
    reason: str | None
    products: tuple[str, ...]
    offer: ShownOffer | None


def message_fact(outcome: LedgerOutcome, timezone: str | None) -> Fact:
    offer = outcome.offer
    columns: dict[str, Value] = {
        "channel": outcome.channel,
        "status": outcome.status,
        "skus": outcome.products,
        "journey": outcome.journey,
        "step": outcome.step,
        "execution": outcome.message_key.split("#", 1)[0],
        "category": outcome.category,
        "template": outcome.template,
        "reason": outcome.reason,
        "offer_code": offer.code if offer else None,
        "offer_skus": offer.skus if offer else None,
        "offer_instead_of": offer.instead_of if offer else None,
        "timezone": timezone,
    }
    identity = (outcome.customer_id, outcome.message_key, outcome.status)
    return Fact(FactKind.message, outcome.at, outcome.customer_id, identity, columns)


def run_started_fact(
    customer_id: str, journey: str, execution: str, at: datetime, *, channel: str | None, group: RunGroup
) -> Fact:
    columns = {"journey": journey, "execution": execution, "channel": channel or None, "run_group": group.value}
    return Fact(FactKind.run_started, at, customer_id, (execution,), columns)


@dataclass(frozen=True)
class RunEnd:
    """How a journey run ended, as a fact may hold it."""

    customer_id: str
    journey: str
    execution: str
    at: datetime
    outcome: str
    reason: str | None
    converted_on: str | None
    transitions: int


def run_ended_fact(end: RunEnd) -> Fact:
    columns: dict[str, Value] = {
        "journey": end.journey,
        "execution": end.execution,
        "outcome": end.outcome,
        "reason": end.reason,
        "channel": end.converted_on,
        "transitions": end.transitions,
    }
    return Fact(FactKind.run_ended, end.at, end.customer_id, (end.execution,), columns)


def erasure_fact(customer_id: str, at: datetime) -> Fact:
    return Fact(FactKind.erasure, at, customer_id, (customer_id,))
