"""SES's records complete the ledger entries a journey-step function left unfinished; what no provider confirms is
listed for staff and counted (docs/operations.md, "Sends")."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from omnijourney.app import config
from omnijourney.channels.email import tag_value
from omnijourney.profiles.view import UNCONFIRMED, profile_view
from omnijourney.runtime import ledger, ledger_records
from omnijourney.runtime.ledger_records import LedgerRecord, LedgerStatus
from omnijourney.vocabulary import Category, MessageChannel
from tests.conftest import RECEIVED_AT, lena, sample
from tests.integration.conftest import Harness

KEY = "welcome_series-lena#welcome#2026-03-04T10:30:00+00:00"
SES_MESSAGE_ID = "0107018e6a11b3c5-4d6e8f0a-2b4c-4d6e-9f1a-3b5c7d9e1f2a-000000"  # events/ses/send.json's


def welcome_entry(key: str = KEY, status: LedgerStatus = LedgerStatus.pending) -> LedgerRecord:
    """Lena's welcome email as the journey-step function claims it, not yet written."""
    return ledger.entry(
        "cus_lena",
        key,
        at=RECEIVED_AT,
        journey="welcome_series",
        step="welcome",
        priority=1,
        channel=MessageChannel.email,
        category=Category.marketing,
        template="welcome",
        offer=None,
        offer_withheld=None,
        recipient="lena.fischer@example.com",
        products=[],
        status=status,
        reason=None,
    )


def claimed(key: str = KEY, status: LedgerStatus = LedgerStatus.pending) -> LedgerRecord:
    record = welcome_entry(key, status)
    assert ledger.claim(record, retrying=False)
    return record


def ses_publishes(harness: Harness, kind: str, message_key: str = KEY) -> None:
    """SES's record of kind `kind` (events/ses/<kind>.json) for the message tagged with `message_key`, as event
    publishing delivers it, and the profile function working through the queue."""
    record: dict[str, Any] = json.loads(sample("ses", kind)["Message"])
    record["mail"]["messageId"] = SES_MESSAGE_ID
    record["mail"]["tags"] |= {"customer_id": ["cus_lena"], "message_key": [tag_value(message_key)]}
    harness.backend.publish_ses_event(record)
    harness.backend.drain()
    assert harness.backend.dead_letters() == []


def test_an_ses_send_record_confirms_the_pending_entry_its_tags_name(harness: Harness) -> None:
    claimed()

    ses_publishes(harness, "send")

    entry = ledger_records.get("cus_lena", KEY)
    assert (entry.status, entry.provider_id, entry.reason) == (LedgerStatus.sent, SES_MESSAGE_ID, None)


def test_a_delivery_confirms_a_pending_entry_too(harness: Harness) -> None:
    claimed()

    ses_publishes(harness, "delivery")

    assert ledger_records.get("cus_lena", KEY).status == LedgerStatus.sent


def test_a_delivery_after_the_entry_was_sent_changes_nothing(harness: Harness) -> None:
    entry = claimed()
    ledger.mark_sent(entry, "ses-id-the-function-recorded", subject="Willkommen", body="Hallo Lena")
    before = ledger_records.get("cus_lena", KEY)

    ses_publishes(harness, "delivery")

    after = ledger_records.get("cus_lena", KEY)
    assert after.as_report() == before.as_report()
    assert after.provider_id == "ses-id-the-function-recorded"


def test_a_final_status_is_never_downgraded_or_upgraded_by_a_record(harness: Harness) -> None:
    claimed(status=LedgerStatus.suppressed)

    ses_publishes(harness, "send")

    assert ledger_records.get("cus_lena", KEY).status == LedgerStatus.suppressed


def test_an_email_ses_took_before_its_answer_timed_out_is_not_sent_again_once_confirmed(harness: Harness) -> None:
    entry = claimed()
    ledger.mark(entry, LedgerStatus.retry, "timeout")  # the adapter's read timeout: SES had taken it

    ses_publishes(harness, "send")

    assert ledger_records.get("cus_lena", KEY).status == LedgerStatus.sent
    # The retried Task's claim (allowed over `retry` only) finds the entry sent: it sends nothing.
    assert ledger.claim(claimed_again(), retrying=True) is False


def claimed_again() -> LedgerRecord:
    record = ledger_records.get("cus_lena", KEY)
    record.status = LedgerStatus.pending.value
    return record


def test_a_failure_marked_after_ses_confirmed_the_send_does_not_undo_it(harness: Harness) -> None:
    entry = claimed()
    ses_publishes(harness, "send")

    ledger.mark(entry, LedgerStatus.retry, "timeout")

    assert ledger_records.get("cus_lena", KEY).status == LedgerStatus.sent


def test_a_record_naming_no_entry_is_acknowledged_and_logged_without_the_address(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    claimed()
    caplog.set_level(logging.WARNING, logger="omnijourney.app.profile_updates")

    ses_publishes(harness, "send", message_key="another_run#welcome#2026-03-04T10:30:00+00:00")

    assert ledger_records.get("cus_lena", KEY).status == LedgerStatus.pending
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert warning.getMessage() == "SES Send record names no ledger entry"
    assert warning.ses_message_id == SES_MESSAGE_ID  # type: ignore[attr-defined]
    assert "lena.fischer@example.com" not in json.dumps(vars(warning), default=str)


def test_unconfirmed_sends_are_listed_for_staff_and_counted_once(harness: Harness) -> None:
    claimed()
    confirmed = claimed(key=f"{KEY}-confirmed")
    ledger.mark_sent(confirmed, "ses-1", subject="Willkommen", body="Hallo Lena")

    entries = ledger_records.entries("cus_lena")
    pending = [entry.as_pending() for entry in entries if entry.status == ledger_records.LedgerStatus.pending]
    view = profile_view(lena(), config.lifecycle(), RECEIVED_AT, pending_messages=pending)

    assert view["pending_messages"] == [
        {
            "at": RECEIVED_AT.isoformat(),
            "channel": "email",
            "journey": "welcome_series",
            "step": "welcome",
            "template": "welcome",
            "note": UNCONFIRMED,
        }
    ]
    # Counted by the hourly schedule in the hour that ends 30 minutes after it was claimed, and then no more.
    assert ledger.newly_unconfirmed(RECEIVED_AT + timedelta(minutes=20)) == 0
    assert ledger.newly_unconfirmed(RECEIVED_AT + timedelta(minutes=45)) == 1
    assert ledger.newly_unconfirmed(RECEIVED_AT + timedelta(hours=2)) == 0


def test_the_hourly_schedule_reports_the_sends_left_unconfirmed(harness: Harness) -> None:
    claimed()
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(minutes=45))

    answer = harness.backend.call_function("journey_schedule", {"segments": "daily"})

    assert answer["unreconciled"] == 1
