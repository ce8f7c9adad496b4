"""The ledger's items as DynamoDB holds them: a deferral written before `defer_seconds` had its own attribute (its
seconds in `provider_id`) still reads as deferred for those seconds, and a new one writes `defer_seconds`; an entry's
offer reads back as shown, with the one asked for when another (entries written before that was kept name none)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from omnijourney.platform import aws
from omnijourney.platform.settings import get_settings
from omnijourney.profiles.model import IssuedOffer
from omnijourney.runtime import ledger, ledger_records
from omnijourney.runtime.ledger_records import LedgerStatus
from tests.conftest import RECEIVED_AT
from tests.integration.conftest import Harness

CUSTOMER = "cus_compat"
EXECUTION = "welcome_series-compat-0000000000000000"
VISIT = "2025-03-01T08:00:00.000Z"
KEY = f"{EXECUTION}#welcome#{VISIT}"
WELCOME_OFFER = IssuedOffer(
    offer="welcome_gift",
    code="WELCOME-7K2QX9",
    discount="10%",
    skus=("SHOE-TRAIL-42",),
    issued_at=RECEIVED_AT,
    expires_at=RECEIVED_AT + timedelta(days=14),
    issued_by="welcome_series",
)
SHOWN = {"offer": "welcome_gift", "code": "WELCOME-7K2QX9", "discount": "10%", "skus": ["SHOE-TRAIL-42"]}


def _old_deferred_item() -> dict[str, Any]:
    """A deferred entry exactly as the journey-step function wrote it before: the seconds as provider_id (S)."""
    return {
        "customer_id": {"S": CUSTOMER},
        "message_key": {"S": KEY},
        "at": {"S": "2025-03-01T08:00:00.000000+0000"},
        "journey": {"S": "welcome_series"},
        "step": {"S": "welcome"},
        "priority": {"N": "40"},
        "channel": {"S": "email"},
        "category": {"S": "marketing"},
        "template": {"S": "welcome_email"},
        "recipient": {"S": "lena.fischer@example.com"},
        "products": {"S": "[]"},
        "status": {"S": "deferred"},
        "reason": {"S": "quiet_hours"},
        "provider_id": {"S": "3600"},
        "expires_at": {"N": "1775030400"},
    }


def _send_task() -> dict[str, Any]:
    return {
        "action": "send",
        "journey": "welcome_series",
        "step": "welcome",
        "execution": EXECUTION,
        "customer_id": CUSTOMER,
        "entry": {"event_id": "e1", "type": "identify", "channel": "web", "source": "shopify", "at": VISIT},
        "send": {"channel": "email", "template": "welcome_email", "category": "marketing", "promotes": "none"},
        "policy": {"journey": "welcome_series", "priority": 40},
        "visit": VISIT,
    }


def test_a_deferral_stored_in_the_old_shape_reads_with_its_seconds(harness: Harness) -> None:
    aws.client("dynamodb").put_item(TableName=get_settings().ledger_table, Item=_old_deferred_item())
    entry = ledger_records.get(CUSTOMER, KEY)
    assert (entry.status, entry.defer_seconds, entry.deferred_for) == (LedgerStatus.deferred, None, 3600)
    # A retry of the Task that wrote it answers with the stored deferral, as it did before the rename.
    answer = harness.backend.journey_step(_send_task())
    assert (answer["outcome"], answer["defer_seconds"]) == ("deferred", 3600)


def _welcome_entry(
    status: LedgerStatus, offer: dict[str, Any] | None = None, **fields: Any
) -> ledger_records.LedgerRecord:
    return ledger.entry(
        CUSTOMER,
        KEY,
        at=RECEIVED_AT,
        journey="welcome_series",
        step="welcome",
        priority=40,
        channel="email",
        category="marketing",
        template="welcome_email",
        offer=offer,
        offer_withheld=None,
        recipient="lena.fischer@example.com",
        products=(),
        status=status,
        **fields,
    )


def test_a_new_deferral_writes_its_seconds_to_their_own_attribute(harness: Harness) -> None:
    entry = _welcome_entry(LedgerStatus.deferred, reason="quiet_hours", defer_seconds=5400)
    assert ledger.claim(entry, retrying=False)
    stored = aws.client("dynamodb").get_item(
        TableName=get_settings().ledger_table, Key={"customer_id": {"S": CUSTOMER}, "message_key": {"S": KEY}}
    )["Item"]
    assert stored["defer_seconds"] == {"N": "5400"}
    assert "provider_id" not in stored
    assert stored["status"] == {"S": "deferred"}
    assert stored["expires_at"] == {
        "N": str(int((RECEIVED_AT + timedelta(days=ledger_records.RETENTION_DAYS)).timestamp()))
    }
    assert ledger_records.get(CUSTOMER, KEY).deferred_for == 5400


def test_a_message_sent_while_its_customer_was_being_erased_keeps_no_text(harness: Harness) -> None:
    """Erasure scrubbed the entry between its claim and the provider's answer: the text is not written back."""
    entry = _welcome_entry(LedgerStatus.pending, reason=None)
    assert ledger.claim(entry, retrying=False)
    ledger.forget_recipients_and_texts([CUSTOMER])
    ledger.mark_sent(entry, "ses-1", subject="Welcome, Lena", body="Hi Lena")
    stored = ledger_records.get(CUSTOMER, KEY)
    assert (stored.status, stored.provider_id, stored.recipient, stored.text) == (
        LedgerStatus.sent,
        "ses-1",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("requested", "reported"),
    [
        ({"requested": "welcome_gift"}, SHOWN),
        # The step asked for another offer on the same shoes: the customer's live one was shown instead of a second.
        ({"requested": "spring_shoes"}, SHOWN | {"instead_of": "spring_shoes"}),
        # Written before entries kept the offer asked for.
        ({}, SHOWN),
    ],
)
def test_an_entry_reads_back_the_offer_it_showed_and_the_one_asked_for_if_another(
    harness: Harness, requested: dict[str, str], reported: dict[str, Any]
) -> None:
    shown = WELCOME_OFFER.model_dump(mode="json") | requested
    assert ledger.claim(_welcome_entry(LedgerStatus.sent, offer=shown, reason=None), retrying=False)
    stored = ledger_records.get(CUSTOMER, KEY)
    assert stored.as_report()["offer"] == reported
    # A send delivered again presents the very offer it showed.
    presented = stored.presented_offer
    assert presented is not None
    assert IssuedOffer.model_validate(presented.issued) == WELCOME_OFFER
