"""The timeline `omnijourney simulate` prints: every reason in words, times in UTC and the customer's own."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from omnijourney.vocabulary import Reason, SkipReason
from omnijourney_tools.simulation.timeline import REASONS_IN_WORDS, SKIPS_IN_WORDS, in_words, timeline

BERLIN = ZoneInfo("Europe/Berlin")
CUSTOMER = "cus_a14367a1756351d4aeae"


def test_every_reason_a_message_is_held_for_has_words() -> None:
    assert set(REASONS_IN_WORDS) == set(Reason)
    assert set(SKIPS_IN_WORDS) == set(SkipReason)


@pytest.mark.parametrize("reason", [*Reason, *SkipReason])
def test_no_reason_is_shown_as_its_code(reason: str) -> None:
    words = in_words(reason, "sms")
    assert words != reason
    assert len(words.split()) >= 4
    assert "{" not in words


def test_consent_is_explained_for_the_channel_of_the_message() -> None:
    assert in_words(Reason.no_consent, "sms") == "not sent: SMS marketing needs the customer's opt-in"
    assert in_words(Reason.opted_out, "email") == "not sent: the customer opted out of email"


def test_composed_reasons_and_a_journeys_own_exit_text_read_as_words() -> None:
    assert in_words("exit_ticket_opened") == "left the journey: ticket opened ends it"
    assert in_words("undeliverable_bounced", "email") == "not sent: the provider refused it (bounced)"
    assert in_words("reminders sent") == "reminders sent"


def _message(at: str, status: str, reason: str | None, **more: Any) -> dict[str, Any]:
    return {
        "at": at,
        "customer_id": CUSTOMER,
        "execution": "abandoned_cart-a14367a1756351d4aeae-269b5afdeae56140",
        "journey": "abandoned_cart",
        "step": "cart_sms",
        "channel": "sms",
        "category": "marketing",
        "template": "abandoned_cart_sms",
        "to": "+4915123456789",
        "products": ["SHOE-TRAIL-42"],
        "status": status,
        "reason": reason,
        "offer": None,
        "offer_withheld": None,
        "text": None,
    } | more


REPORT: dict[str, Any] = {
    "inputs": [],
    "lookups": [],
    "profiles": [{"customer_id": CUSTOMER, "timezone": "Europe/Berlin"}],
    "journeys": [],
    "skipped": [
        {"at": "2026-03-02T18:35:00+00:00", "customer_id": CUSTOMER, "journey": "abandoned_cart", "reason": "running"}
    ],
    "messages": [
        _message("2026-03-04T21:30:00+00:00", "deferred", "quiet_hours"),
        _message("2026-03-04T21:30:00+00:00", "deferred", "quiet_hours"),
        _message(
            "2026-03-05T08:00:00+00:00",
            "sent",
            None,
            text={"subject": None, "body": "Your Trail Runner 42 is still in your cart."},
        ),
        _message("2026-03-06T12:00:00+00:00", "suppressed", "no_consent", step="second_sms"),
    ],
}


def test_the_timeline_names_every_hold_in_words_at_the_customers_time() -> None:
    rows = timeline(REPORT, [], BERLIN)
    assert rows == [
        "  Mon 02 Mar 18:35 UTC     ↷ abandoned_cart not started for cus_a14367a1: "
        "a run of this journey is already in progress for the customer",
        "  Wed 04 Mar 21:30 UTC     ⏸ cus_a14367a1 at 22:30 Europe/Berlin: abandoned_cart › cart_sms: "
        "SMS abandoned_cart_sms (marketing) waited for the customer's morning ×2",
        "  Thu 05 Mar 08:00 UTC     ✉ cus_a14367a1 at 09:00 Europe/Berlin: abandoned_cart › cart_sms: "
        "SMS abandoned_cart_sms (marketing) sent to +4915123456789 naming SHOE-TRAIL-42 "
        '— "Your Trail Runner 42 is still in your cart."',
        "  Fri 06 Mar 12:00 UTC     ✗ cus_a14367a1 at 13:00 Europe/Berlin: abandoned_cart › second_sms: "
        "SMS abandoned_cart_sms (marketing) not sent: SMS marketing needs the customer's opt-in",
    ]


def test_a_customer_without_a_known_timezone_is_shown_in_the_shops() -> None:
    report = REPORT | {"profiles": [{"customer_id": CUSTOMER, "timezone": None}], "skipped": []}
    [first, *_] = timeline(report, [], ZoneInfo("America/New_York"))
    assert "at 16:30 America/New_York" in first
