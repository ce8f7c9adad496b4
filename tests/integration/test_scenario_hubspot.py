"""Sales on the same profile, from the shipped scenarios' reports (issue 21).

b2b_cart_to_sales: Lena, a HubSpot contact in the sales pipeline, leaves a large web cart: the order desk gets it by
webhook and her owner a task two hours later. Jonas leaves one while his Zendesk ticket is open: nothing goes to the
order desk or to sales until the ticket is solved, then both, once.

hubspot_deal_won: the club's deal for ten pairs of Trail Runner 42 is won in HubSpot; the cart email about a pair Lena
leaves later is held as already bought. A second contact a rep made for her joins her profile when HubSpot merges the
contacts, and Tom's GDPR deletion in HubSpot erases him.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.test_scenarios import Report, at, consistent, lookup, messages, scenario_report

LENA_CHECKOUT_AT = at("2026-03-09T10:05:00Z")
JONAS_TICKET_SOLVED_AT = at("2026-03-10T08:45:00Z")
JONAS_LOOKUP, LENA_LOOKUP = 8, 10
OUTBOUND_STEPS = ("quote_for_the_order_desk", "task_for_the_owner")


@pytest.fixture(scope="module")
def b2b(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "b2b_cart_to_sales")


@pytest.fixture(scope="module")
def won(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return scenario_report(tmp_path_factory, "hubspot_deal_won")


def outbound(report: Report, customer_id: str) -> list[tuple[str, str, str, str | None]]:
    """Each outbound send of the customer's: its step, where it went, its status and reason."""
    return [
        (m["step"], m["to"], m["status"], m["reason"])
        for step in OUTBOUND_STEPS
        for m in messages(report, step)
        if m["customer_id"] == customer_id
    ]


def test_every_hubspot_and_web_delivery_is_accepted(b2b: Report, won: Report) -> None:
    assert {entry["status"] for entry in b2b["inputs"] + won["inputs"]} == {202}


def test_the_order_desk_and_the_owner_hear_of_a_known_contacts_large_cart_two_hours_on(b2b: Report) -> None:
    lena = lookup(b2b, LENA_LOOKUP)["profile"]
    assert outbound(b2b, lena["customer_id"]) == [
        ("quote_for_the_order_desk", "order_desk", "sent", None),
        ("task_for_the_owner", "5101", "sent", None),
    ]
    [task] = [m for m in messages(b2b, "task_for_the_owner") if m["customer_id"] == lena["customer_id"]]
    assert at(task["at"]) - LENA_CHECKOUT_AT == timedelta(hours=2)
    assert task["text"]["subject"] == "Call Lena Fischer about their cart of €649.75"
    [quote] = [m for m in messages(b2b, "quote_for_the_order_desk") if m["customer_id"] == lena["customer_id"]]
    assert '"items":"5× Trail Runner 42"' in quote["text"]["body"]


def test_no_task_while_the_ticket_is_open_and_one_once_it_is_solved(b2b: Report) -> None:
    jonas = lookup(b2b, JONAS_LOOKUP)["profile"]
    assert [ticket["subject"] for ticket in jonas["open_tickets"]] == ["Invoice address for our club order"]
    sends = outbound(b2b, jonas["customer_id"])
    # The quote comes first and waits for the ticket; the task, after it, waits with it.
    assert {send for send in sends if send[2] != "sent"} == {
        ("quote_for_the_order_desk", "order_desk", "deferred", "open_ticket")
    }
    assert [send for send in sends if send[2] == "sent"] == [
        ("quote_for_the_order_desk", "order_desk", "sent", None),
        ("task_for_the_owner", "5102", "sent", None),
    ]
    sent_at = [
        at(m["at"])
        for step in OUTBOUND_STEPS
        for m in messages(b2b, step)
        if m["customer_id"] == jonas["customer_id"] and m["status"] == "sent"
    ]
    assert min(sent_at) > JONAS_TICKET_SOLVED_AT


def test_a_won_deal_holds_the_cart_email_about_what_it_sold(won: Report) -> None:
    [cart_email] = messages(won, "cart_email")
    assert (cart_email["status"], cart_email["reason"], cart_email["products"]) == (
        "suppressed",
        "already_purchased",
        ["SHOE-TRAIL-42"],
    )
    [deal] = lookup(won, 8)["profile"]["deals"]
    assert (deal["status"], deal["amount"], [item["sku"] for item in deal["line_items"]]) == (
        "won",
        1299,
        ["SHOE-TRAIL-42"],
    )


def test_a_hubspot_contact_merge_merges_the_two_profiles(won: Report) -> None:
    lena = lookup(won, 8)["profile"]
    before, after = lookup(won, 10)["profile"], lookup(won, 12)["profile"]
    assert before["customer_id"] != lena["customer_id"]
    assert after["customer_id"] == lena["customer_id"]
    assert after["identifiers"]["hubspot_contact_id"] == ["5101", "5102"]
    assert sorted(after["identifiers"]["email"]) == ["lena.fischer@example.com", "lena.fischer@lauftreff.example.com"]
    assert [profile["customer_id"] for profile in won["profiles"]] == [lena["customer_id"]]


def test_a_hubspot_privacy_deletion_erases_the_contact(won: Report) -> None:
    assert lookup(won, 15)["status"] == 200
    assert lookup(won, 17)["status"] == 404
    assert "tom.richter@example.com" not in str(won["profiles"])


def test_both_stories_break_no_consistency_rule(b2b: Report, won: Report) -> None:
    consistent(b2b)
    consistent(won)
