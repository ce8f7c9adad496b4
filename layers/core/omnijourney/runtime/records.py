"""The journey runtime's tables: the message ledger and the journey runs, as pynamodb models."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute

from omnijourney.journeys.contract import Entry
from omnijourney.platform.tables import Table, named_by


class LedgerRecord(Table):
    """Every send and every suppression, one item per (execution, step, visit) so retries write it once."""

    class Meta:
        table_name = named_by("ledger_table")
        billing_mode = "PAY_PER_REQUEST"

    customer_id = UnicodeAttribute(hash_key=True)
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
    products = UnicodeAttribute(default="[]")
    # pending (claimed, being sent) → sent | suppressed | deferred; retry after a retryable provider failure.
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    provider_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    @property
    def product_list(self) -> list[str]:
        return list(json.loads(self.products))

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
            "offer": _presented(self.offer),
            "offer_withheld": json.loads(self.offer_withheld) if self.offer_withheld else None,
        }


def _presented(offer: str | None) -> dict[str, Any] | None:
    if offer is None:
        return None
    issued = json.loads(offer)
    presented = {
        "offer": issued["offer"],
        "code": issued["code"],
        "discount": issued["discount"],
        "skus": issued["skus"],
    }
    # The step asked for another offer: the customer's live one was shown instead of issuing a second.
    return presented | (
        {"instead_of": issued["requested"]} if issued.get("requested", issued["offer"]) != issued["offer"] else {}
    )


class JourneyRunRecord(Table):
    """One customer's run through one journey: what started it, where it waits, how it ended."""

    class Meta:
        table_name = named_by("journey_runs_table")
        billing_mode = "PAY_PER_REQUEST"

    customer_id = UnicodeAttribute(hash_key=True)
    # `<journey>#<execution name>`: a customer's runs of one journey sit together.
    run = UnicodeAttribute(range_key=True)
    journey = UnicodeAttribute()
    execution = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    ended_at = UTCDateTimeAttribute(null=True)
    # running | goal | exited | completed | holdout | stopped | failed
    outcome = UnicodeAttribute(default="running")
    reason = UnicodeAttribute(null=True)
    # The channel of the order (or event) that reached the goal: web, app, pos, phone…
    converted_on = UnicodeAttribute(null=True)
    entry = UnicodeAttribute(default="{}")
    # Set while a `wait_for` step waits: which step, the event it waits for, the token that resumes it.
    waiting_step = UnicodeAttribute(null=True)
    awaited = UnicodeAttribute(null=True)
    task_token = UnicodeAttribute(null=True)

    @property
    def entry_data(self) -> dict[str, Any]:
        return dict(json.loads(self.entry))

    @property
    def journey_entry(self) -> Entry:
        """The entry as the contract reads it (an erased run's, `{}`, as an empty one)."""
        data = json.loads(self.entry)
        if not data:
            return Entry(event_id="", type="", channel="", source="", at=self.started_at)
        return Entry.model_validate(data)

    @property
    def running(self) -> bool:
        return self.outcome == "running"

    def as_report(self) -> dict[str, Any]:
        return {
            "journey": self.journey,
            "customer_id": self.customer_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "outcome": self.outcome,
            "reason": self.reason,
            "execution": self.execution,
            "entry_channel": self.entry_data.get("channel"),
            "converted_on": self.converted_on,
        }


def runs_of(customer_ids: Iterable[str]) -> list[JourneyRunRecord]:
    """Every journey run of a customer and of everyone merged into them."""
    return [run for customer_id in customer_ids for run in JourneyRunRecord.query(customer_id)]


def run_key(journey: str, execution: str) -> str:
    return f"{journey}#{execution}"


def ended(
    record: JourneyRunRecord, outcome: str, at: datetime, reason: str | None = None, converted_on: str | None = None
) -> bool:
    """Record how a run ended, once: the first outcome stands (a later StopExecution or retry changes nothing)."""
    from pynamodb.exceptions import UpdateError
    from pynamodb.expressions.update import Action

    actions: list[Action] = [
        JourneyRunRecord.outcome.set(outcome),
        JourneyRunRecord.ended_at.set(at),
        JourneyRunRecord.task_token.remove(),
        JourneyRunRecord.waiting_step.remove(),
        JourneyRunRecord.awaited.remove(),
    ]
    if reason is not None:
        actions.append(JourneyRunRecord.reason.set(reason))
    if converted_on is not None:
        actions.append(JourneyRunRecord.converted_on.set(converted_on))
    try:
        record.update(actions=actions, condition=JourneyRunRecord.outcome == "running")
    except UpdateError:
        return False
    return True
