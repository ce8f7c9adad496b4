"""Issue 21 (review, item 3): a won deal deleted in HubSpot (a duplicate, a test deal) stops counting, in the simulate
report and in the scorecard alike, and a change older than the deletion arriving after it does not bring it back.

Lena wins a 1,299 € deal and a 300 € one; the rep deletes the 300 € duplicate, then an amount HubSpot recorded before
the deletion arrives late. Only the 1,299 € are revenue."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import sample
from tests.integration.test_deal_value import LENA, START, contact, deal, millis, simulated
from tests.integration.test_scorecard_equality import from_the_lake, from_the_report

KEPT, DUPLICATE = 9101, 9103


def deletion(deal_id: int, event_id: int, at_millis: int) -> dict[str, Any]:
    [template] = sample("hubspot", "deal_creation")
    event: dict[str, Any] = template | {
        "eventId": event_id,
        "subscriptionType": "deal.deletion",
        "objectId": deal_id,
        "occurredAt": at_millis,
        "changeFlag": "DELETED",
    }
    return event


def deliveries() -> list[tuple[datetime, list[dict[str, Any]]]]:
    at = START
    return [
        (at, [contact(LENA, 1, at, "lena.fischer@example.com")]),
        (
            at + timedelta(minutes=5),
            deal(KEPT, 10, at, amount="1299.00", deal_currency_code="EUR", dealstage="closedwon"),
        ),
        (
            at + timedelta(minutes=10),
            deal(DUPLICATE, 30, at, amount="300", deal_currency_code="EUR", dealstage="closedwon"),
        ),
        (at + timedelta(minutes=20), [deletion(DUPLICATE, 40, millis(at + timedelta(minutes=15)))]),
        # Told before the deletion, delivered after it.
        (at + timedelta(hours=1), deal(DUPLICATE, 50, at + timedelta(minutes=1), amount="350")),
    ]


def test_a_deleted_won_deal_is_no_revenue_in_report_and_scorecard_even_when_an_older_change_arrives_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, scorecard = simulated(tmp_path, capsys, deliveries())

    [lena] = report["profiles"]
    assert report["metrics"]["clv"]["by_customer"] == {lena["customer_id"]: 1299.0}
    assert report["metrics"]["revenue"] == 1299.0
    assert [deal["deal_id"] for deal in lena["deals"] if deal["status"] == "won"] == [str(KEPT)]
    assert from_the_lake(scorecard) == from_the_report(report)
