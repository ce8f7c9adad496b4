"""The message ledger: every write of it, and the reads that go with them (its records and plain reads:
runtime.ledger_records).

One item per (execution, step, visit): the entry is claimed (`pending`) before the provider is called and completed
after, so a retried Task finds the first outcome. An entry the function never completed (it died, or the write
failed, after the provider answered) is completed from the provider's own record where there is one: SES's records
confirm an email (`confirm_sent`); what stays `pending` is listed for staff and counted (docs/operations.md,
"Sends"). A sent entry keeps the message's text as the customer read it, so a marketer can see what went out; erasure
keeps the entries but not their address or text.

Columns hold what their names say. Items already stored keep their attribute names; one column changed meaning:
a deferral's seconds were kept in `provider_id` until they got `defer_seconds`, and an entry written so still
reads as deferred for those seconds (`LedgerRecord.deferred_for`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action

from omnijourney.analytics import facts, stream
from omnijourney.analytics.facts import LedgerOutcome, ShownOffer
from omnijourney.channels.email import tag_value
from omnijourney.profiles import store
from omnijourney.profiles.model import Profile
from omnijourney.runtime.consistency import consistency
from omnijourney.runtime.guards import local_time
from omnijourney.runtime.ledger_records import (
    CONFIRM_WITHIN,
    RETENTION_DAYS,
    UNCONFIRMED,
    LedgerOffer,
    LedgerRecord,
    LedgerStatus,
    entries,
    every_entry,
)
from omnijourney.vocabulary import Category, MessageChannel


def entry(
    customer_id: str,
    message_key: str,
    *,
    at: datetime,
    journey: str,
    step: str,
    priority: int,
    channel: MessageChannel,
    category: Category,
    template: str,
    offer: dict[str, Any] | None,
    offer_withheld: dict[str, Any] | None,
    recipient: str | None,
    products: Sequence[str],
    status: LedgerStatus,
    reason: str | None,
    defer_seconds: int | None = None,
    correlation_id: str | None = None,
) -> LedgerRecord:
    """An entry not yet written (`claim` writes it), kept for RETENTION_DAYS."""
    return LedgerRecord(
        customer_id,
        message_key,
        at=at,
        journey=journey,
        step=step,
        priority=priority,
        channel=channel,
        category=category,
        template=template,
        offer=json.dumps(offer) if offer else None,
        offer_withheld=json.dumps(offer_withheld) if offer_withheld else None,
        recipient=recipient,
        products=json.dumps(list(products)),
        status=status.value,
        reason=reason,
        defer_seconds=defer_seconds,
        correlation_id=correlation_id,
        expires_at=at + timedelta(days=RETENTION_DAYS),
    )


def claim(record: LedgerRecord, retrying: bool) -> bool:
    """Write the entry unless another attempt already did (a retry after `retry` status may overwrite it)."""
    condition = (
        LedgerRecord.status == LedgerStatus.retry.value if retrying else LedgerRecord.message_key.does_not_exist()
    )
    try:
        record.save(condition=condition)
    except PutError as error:
        # Only the condition says another attempt wrote it; throttling or an outage is no claim at all.
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def mark(record: LedgerRecord, status: LedgerStatus, reason: str) -> None:
    """A claimed entry's provider failed: `retry` (another attempt will come) or `suppressed` (it never will). Only a
    `pending` entry: one the provider's record already confirmed sent (a timeout after SES took it) stays sent, and
    the retried Task finds it so."""
    actions: list[Action] = [LedgerRecord.status.set(status.value), LedgerRecord.reason.set(reason)]
    try:
        record.update(actions=actions, condition=LedgerRecord.status == LedgerStatus.pending.value)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def mark_sent(record: LedgerRecord, provider_id: str, *, subject: str | None, body: str) -> None:
    """The message went out as `subject` and `body`: written with the status, in the same update, unless the
    customer was erased while it was being sent (their entries' recipients are gone): then the text is not written
    back, as nothing would scrub it again."""
    sent: list[Action] = [LedgerRecord.status.set(LedgerStatus.sent.value), LedgerRecord.provider_id.set(provider_id)]
    text = LedgerRecord.text.set(json.dumps({"subject": subject, "body": body}, ensure_ascii=False))
    try:
        record.update(actions=[*sent, text], condition=LedgerRecord.recipient.exists())
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        record.update(actions=sent)


def confirm_sent(customer_id: str, message_key_tag: str, provider_id: str) -> LedgerRecord | None:
    """The provider's record that it accepted the message of the entry whose key, as a tag carries it, is
    `message_key_tag`: a `pending` entry (the function died or its write failed after the provider answered) or one
    to `retry` (the answer timed out after the provider took it) becomes `sent` with the provider's id, so a retried
    Task does not send it again. Any other status is final and stays. The entry as read (None when the customer has
    no such entry).

    A confirmation puts the entry's facts, as the function would have once it marked the entry sent (the same ids:
    the message `sent`, and the offer its send issued), in a put of its own; a record delivered again finds the entry
    confirmed by the provider (`sent` with its id and without the text the function writes) and puts them again, as
    the first delivery's put may have failed."""
    found = next((record for record in entries(customer_id) if tag_value(record.message_key) == message_key_tag), None)
    if found is None:
        return None
    if found.status in UNCONFIRMED:
        confirmed: list[Action] = [
            LedgerRecord.status.set(LedgerStatus.sent.value),
            LedgerRecord.provider_id.set(provider_id),
            LedgerRecord.reason.remove(),
        ]
        try:
            found.update(actions=confirmed, condition=LedgerRecord.status.is_in(*UNCONFIRMED))
        except UpdateError as error:
            # The function completed it meanwhile: its outcome stands, and it puts its facts itself.
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return found
    elif not _confirmed_by_provider(found, provider_id):
        return found
    stored = store.load(customer_id)
    emit_outcome(found, stored.profile if stored else None)
    stream.flush()  # failing, the record fails: SQS delivers it again, and it puts them again
    return found


def _confirmed_by_provider(record: LedgerRecord, provider_id: str) -> bool:
    """Sent, as the provider's record `provider_id` confirmed it: the function's own mark writes the text too."""
    return record.status == LedgerStatus.sent and record.provider_id == provider_id and record.text is None


def emit_outcome(record: LedgerRecord, profile: Profile | None) -> None:
    """An entry's outcome as facts (docs/analytics.md): the message, in the customer's timezone as quiet hours read it,
    and the offer this visit of its step issued. Nothing while it is pending or to retry."""
    if record.status not in (LedgerStatus.sent, LedgerStatus.suppressed, LedgerStatus.deferred):
        return
    offer = record.presented_offer
    shown = (
        ShownOffer(offer.issued["code"], tuple(offer.issued["skus"]), offer.instead_of) if offer is not None else None
    )
    outcome = LedgerOutcome(
        customer_id=record.customer_id,
        message_key=record.message_key,
        at=record.at,
        journey=record.journey,
        step=record.step,
        channel=record.channel,
        category=record.category,
        template=record.template,
        status=record.status,
        reason=record.reason,
        products=tuple(record.product_list),
        offer=shown,
    )
    timezone = local_time(profile, consistency()).key if profile is not None else None
    stream.emit(facts.message_fact(outcome, timezone))
    if offer is not None and _issued_by_visit(record, offer):
        issued = offer.issued
        issued_at, expires_at = (datetime.fromisoformat(issued[key]) for key in ("issued_at", "expires_at"))
        stream.emit(facts.offer_issued_fact(record.customer_id, issued["code"], issued["skus"], issued_at, expires_at))


def _issued_by_visit(record: LedgerRecord, offer: LedgerOffer) -> bool:
    """Whether the entry's step issued the offer it presents, in this visit: by its journey, once the step was entered
    (the visit in its key). Also when an earlier attempt of its Task issued it and failed before the entry was written:
    the retry presents the live offer, issued seconds before the entry's time, and puts the fact the failed attempt
    could not (its id is the code)."""
    entered = datetime.fromisoformat(record.message_key.rsplit("#", 1)[1])
    issued = offer.issued
    return bool(issued.get("issued_by") == record.journey and datetime.fromisoformat(issued["issued_at"]) >= entered)


def newly_unconfirmed(now: datetime) -> int:
    """Entries claimed in the hour that ended CONFIRM_WITHIN before `now` and still `pending`: the hourly schedule
    counts each once (the `MessagesUnreconciled` metric). A scan with a filter: its cost grows with the ledger."""
    until = now - CONFIRM_WITHIN
    pending = (
        (LedgerRecord.status == LedgerStatus.pending.value)
        & (LedgerRecord.at >= until - timedelta(hours=1))
        & (LedgerRecord.at < until)
    )
    return sum(1 for _ in LedgerRecord.scan(filter_condition=pending))


def forget_recipients_and_texts(customer_ids: Iterable[str]) -> None:
    """Erasure: the entries stay (caps and metrics count them), their addresses and texts go."""
    for customer_id in customer_ids:
        for record in LedgerRecord.query(customer_id):
            if record.recipient is not None or record.text is not None:
                record.update(actions=[LedgerRecord.recipient.remove(), LedgerRecord.text.remove()])


def report() -> list[dict[str, Any]]:
    """Every entry as the simulation's report lists it, in the table's order."""
    return [record.as_report() for record in every_entry()]
