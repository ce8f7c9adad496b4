"""Sales on the customer's page (issue 21, item 4): the staff API and the profile API show Lena's HubSpot deals, open
ones first, with their line items, and the task a journey created for her owner in HubSpot, for 30 days."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from omnijourney.runtime import ledger_records
from omnijourney_tools.local import LocalBackend
from omnijourney_tools.local.hubspot import LocalHubSpot
from omnijourney_tools.local.webhook_receiver import WebhookReceiver, install, uninstall
from tests.conftest import RECEIVED_AT, sample
from tests.integration.conftest import Harness
from tests.integration.test_outbound_journeys import a_known_buyer, leaves_a_large_cart, post
from tests.integration.test_staff_api import staff

LENA_EMAIL = "lena.fischer@example.com"
KIT = {
    "deal_id": "9101",
    "name": "Trail running kit for the club",
    "stage": "contractsent",
    "status": "open",
    "amount": 1299,
    "currency": "EUR",
    "close_date": "2026-03-04T10:29:16+00:00",
    "owner": "83712",
    "line_items": [
        {"line_item_id": "7101", "sku": "SHOE-TRAIL-42", "name": "Trail Runner 42", "quantity": 10, "price": 129.9}
    ],
    "associated_at": "2026-03-04T10:29:18+00:00",
}
JACKETS = {
    "deal_id": "9102",
    "name": "Club jackets",
    "stage": "closedwon",
    "status": "won",
    "amount": 480.5,
    "currency": "EUR",
    "close_date": None,
    "owner": "83712",
    "line_items": [],
    "associated_at": "2026-03-04T10:29:18+00:00",
}


@contextmanager
def sales_backend() -> Iterator[Harness]:
    """The local backend whose sales tasks go to a local HubSpot (and webhooks to a local receiver)."""
    with LocalBackend(stage="test", start=RECEIVED_AT) as backend:
        install(WebhookReceiver(), LocalHubSpot())
        try:
            yield Harness(backend)
        finally:
            uninstall()


def deal_events(deal_id: int, event_id: int, **properties: str) -> list[dict[str, Any]]:
    """HubSpot's property changes of a deal, one per property, a second apart after the sample deal's."""
    [template] = sample("hubspot", "deal_creation")
    return [
        template
        | {
            "eventId": event_id + index,
            "objectId": deal_id,
            "occurredAt": template["occurredAt"] + 10_000 + 1000 * index,
            "subscriptionType": "deal.propertyChange",
            "propertyName": name,
            "propertyValue": value,
        }
        for index, (name, value) in enumerate(properties.items())
    ]


def deals_and_a_sales_task(harness: Harness) -> str:
    """Lena, a HubSpot contact owned by rep 83712, has an open deal (the sample's, its contract sent) with a line item
    and a newer one won; she leaves a large cart, and two hours later b2b_cart_to_sales creates a task for her owner.
    Her customer id."""
    a_known_buyer(harness)
    kit = sample("hubspot", "deal_property_change")
    kit[-1]["propertyValue"] = "contractsent"
    for case, body in [
        ("deal_creation", None),
        ("deal_property_change", kit),
        ("deal_association_change", None),
        ("line_item_property_change", None),
    ]:
        post(harness, "hubspot", case, body)
    jackets = deal_events(9102, 1101, dealname="Club jackets", amount="480.50", deal_currency_code="EUR")
    jackets += deal_events(9102, 1104, hubspot_owner_id="83712", dealstage="closedwon")
    [to_lena, _] = sample("hubspot", "deal_association_change")
    post(harness, "hubspot", "deal_property_change", jackets)
    post(harness, "hubspot", "deal_association_change", [to_lena | {"eventId": 1110, "fromObjectId": 9102}])
    leaves_a_large_cart(harness)
    harness.backend.clock.advance_to(RECEIVED_AT + timedelta(hours=3))
    status, found = harness.lookup(email=LENA_EMAIL)
    assert status == 200, found
    return str(found["customer_id"])


def test_staff_see_the_open_deal_first_with_its_line_items_and_the_task_a_journey_created_for_the_owner() -> None:
    with sales_backend() as harness:
        lena = deals_and_a_sales_task(harness)
        [task] = [entry for entry in ledger_records.entries(lena) if entry.channel == "sales_task"]
        answers = [staff(harness, "GET", f"/staff/customers/{lena}"), harness.profile(lena)]

    assert task.status == "sent"
    for status, page in answers:
        assert status == 200, page
        assert page["deals"] == [KIT, JACKETS]
        assert page["sales_tasks"] == [
            {
                "at": task.at.isoformat(),
                "journey": "b2b_cart_to_sales",
                "step": "task_for_the_owner",
                "template": "b2b_cart_sales_task",
                "subject": "Call Lena Fischer about their cart of €649.75",
                "owner": "83712",
            }
        ]


def test_a_sales_task_is_listed_for_30_days_and_the_deals_stay() -> None:
    with sales_backend() as harness:
        lena = deals_and_a_sales_task(harness)
        [task] = [entry for entry in ledger_records.entries(lena) if entry.channel == "sales_task"]
        harness.backend.clock.advance_to(task.at + timedelta(days=30))
        _, on_the_30th_day = staff(harness, "GET", f"/staff/customers/{lena}")
        harness.backend.clock.advance_to(task.at + timedelta(days=30, minutes=1))
        _, after = staff(harness, "GET", f"/staff/customers/{lena}")

    assert [listed["journey"] for listed in on_the_30th_day["sales_tasks"]] == ["b2b_cart_to_sales"]
    assert after["sales_tasks"] == []
    assert [deal["deal_id"] for deal in after["deals"]] == ["9101", "9102"]


def test_a_customer_without_deals_or_sales_tasks_has_empty_lists(harness: Harness) -> None:
    post(harness, "segment", "identify_app")
    status, page = harness.lookup(email=LENA_EMAIL)

    assert status == 200, page
    assert (page["deals"], page["sales_tasks"]) == ([], [])
