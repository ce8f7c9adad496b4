"""Vendors as they really send (issue 14, defect 6), checked from the reports of two scenarios.

orders_that_are_not_revenue: Lena's real order, a test order, an order cancelled within the hour and an order
partly refunded, as Shopify sends them (orders/create, orders/cancelled, refunds/create), with an orders/paid the
shop subscribed to but the project does not use.
native_zendesk_ticket: Zendesk's own event-subscribed webhooks: a ticket from a requester known only by Zendesk
user id, while the shopper's cart reminder is due; the user event that names her email arrives minutes later.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_scenarios import EMAIL, Report, at, consistent, lookup, messages, run_of, scenario_report

REAL, TEST, REFUNDED, CANCELLED = "5820001234567", "5820001299011", "5820001299022", "5820001299033"
LENA_ZENDESK_ID = "39120445561"


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "orders_that_are_not_revenue")


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "native_zendesk_ticket")


def states(profile: dict[str, Any]) -> dict[str, str]:
    return {order["order_id"]: order["state"] for order in profile["orders"]}


def test_every_shopify_topic_is_acknowledged_even_one_the_project_does_not_use(orders: Report) -> None:
    assert [(entry["line"], entry["status"]) for entry in orders["inputs"]] == [
        (n, 202) for n in (1, 2, 3, 4, 5, 6, 7, 9)
    ]
    # Line 3 is orders/paid: acknowledged, and nothing came of it.
    assert len(lookup(orders, 8)["profile"]["orders"]) == 4


def test_the_store_sees_each_order_once_with_its_state(orders: Report) -> None:
    before_refund = lookup(orders, 8)["profile"]
    assert states(before_refund) == {REAL: "placed", TEST: "test", REFUNDED: "placed", CANCELLED: "cancelled"}
    # The cancelled order is the one placed an hour earlier, not a fifth order.
    [cancelled] = [order for order in before_refund["orders"] if order["order_id"] == CANCELLED]
    assert (cancelled["at"], cancelled["total"], cancelled["skus"]) == (
        "2026-03-05T07:02:19+00:00",
        129.95,
        ["SHOE-TRAIL-42"],
    )
    # A partly refunded order is still an order of what it bought, with what went back beside it.
    after_refund = lookup(orders, 10)["profile"]
    assert states(after_refund) == states(before_refund)
    assert {o["order_id"]: o["refunded"] for o in before_refund["orders"]} == dict.fromkeys(states(before_refund), 0)
    assert {o["order_id"]: o["refunded"] for o in after_refund["orders"] if o["refunded"]} == {REFUNDED: 29.9}
    consistent(orders)


def test_a_refund_that_names_only_its_order_joins_the_customer_who_placed_it(orders: Report) -> None:
    [profile] = orders["profiles"]
    assert profile["identifiers"]["email"] == [EMAIL]
    assert profile["customer_id"] == lookup(orders, 10)["profile"]["customer_id"]
    # The order id only links the refund: store staff do not see it as a way Lena is known.
    assert "shopify_order_id" not in profile["identifiers"]


def test_a_ticket_from_a_requester_not_yet_known_joins_her_profile_when_zendesk_names_her(native: Report) -> None:
    assert {entry["status"] for entry in native["inputs"]} == {202}
    before = lookup(native, 7)["profile"]
    assert (before["open_tickets"], before["identifiers"]["zendesk_user_id"]) == ([], [])
    after = lookup(native, 9)["profile"]
    assert after["customer_id"] == before["customer_id"]
    assert after["identifiers"]["zendesk_user_id"] == [LENA_ZENDESK_ID]
    assert [(t["ticket_id"], t["subject"]) for t in after["open_tickets"]] == [
        ("48350", "Fällt der Trail Runner 42 klein aus?")
    ]
    assert lookup(native, 11)["profile"]["open_tickets"] == []
    assert len(native["profiles"]) == 1


def test_the_cart_reminder_is_held_while_her_native_ticket_is_open(native: Report) -> None:
    [reminder] = messages(native, "cart_email")
    assert (reminder["at"], reminder["status"], reminder["reason"]) == (
        "2026-03-02T20:12:01+00:00",
        "suppressed",
        "exit_ticket_opened",
    )
    run = run_of(native, "abandoned_cart")
    assert (run["outcome"], run["reason"]) == ("exited", "exit_ticket_opened")
    opened, solved = at("2026-03-02T19:40:12Z"), at("2026-03-03T10:20:05Z")
    marketing = [
        m
        for m in native["messages"]
        if m["category"] == "marketing" and m["status"] == "sent" and opened <= at(m["at"]) <= solved
    ]
    assert marketing == []
    consistent(native)


def test_revenue_and_lifetime_value_count_only_what_was_kept(orders: Report) -> None:
    # The real order and the partly refunded one, less its refund; the test and the cancelled order earn nothing.
    [profile] = orders["profiles"]
    assert orders["metrics"]["revenue"] == 259.9
    assert orders["metrics"]["clv"]["by_customer"] == {profile["customer_id"]: 259.9}
    assert orders["metrics"]["orders"] == 4
