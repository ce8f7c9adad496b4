"""How events change a profile, and how two profiles become one: pure domain, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from omnijourney import config
from omnijourney.events import (
    CanonicalEvent,
    CartChange,
    Channel,
    ConsentChange,
    ConsentChannel,
    ConsentStatus,
    EventType,
    LineItem,
    Order,
    Ticket,
)
from omnijourney.identifiers import identifiers_from
from omnijourney.profiles.model import apply_event, merge_profiles, new_profile

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
SHOES = LineItem(sku="SHOE-TRAIL-42", name="Trail Runner 42", quantity=1, price=Decimal("129.95"))
SOCKS = LineItem(sku="SOCK-MERINO-M", name="Merino Running Socks M", quantity=2, price=Decimal("14.95"))


def event(event_id: str, event_type: EventType, minutes: int = 0, **fields: Any) -> CanonicalEvent:
    at = T0 + timedelta(minutes=minutes)
    defaults: dict[str, Any] = {"source": "test", "name": event_type.value, "channel": Channel.web}
    return CanonicalEvent(
        event_id=f"test:{event_id}", type=event_type, occurred_at=at, received_at=at, **(defaults | fields)
    )


def apply(*events: CanonicalEvent, profile: Any = None) -> Any:
    profile = profile or new_profile("cus_1", T0)
    for item in events:
        profile = apply_event(profile, item, config.lifecycle())
    return profile


def test_cart_adds_accumulate_and_removes_take_the_item_out() -> None:
    profile = apply(
        event("e1", EventType.cart_updated, 1, cart=CartChange(action="add", items=(SHOES,))),
        event("e2", EventType.cart_updated, 2, cart=CartChange(action="add", items=(SOCKS,))),
        event("e3", EventType.cart_updated, 3, cart=CartChange(action="add", items=(SOCKS,))),
        event("e4", EventType.cart_updated, 4, cart=CartChange(action="remove", items=(SHOES,))),
    )
    assert [(item.sku, item.quantity) for item in profile.cart.items] == [("SOCK-MERINO-M", 4)]


def test_a_late_cart_event_does_not_overwrite_a_newer_cart() -> None:
    newer = event("e2", EventType.cart_updated, 10, cart=CartChange(action="replace", items=(SOCKS,)))
    older = event("e1", EventType.checkout_started, 5, cart=CartChange(action="replace", items=(SHOES,)))
    profile = apply(newer, older)
    assert [item.sku for item in profile.cart.items] == ["SOCK-MERINO-M"]


def test_an_order_on_any_channel_takes_its_skus_out_of_the_cart() -> None:
    order = Order(order_id="pos-1", total=Decimal("129.95"), currency="EUR", items=(SHOES,))
    profile = apply(
        event("e1", EventType.cart_updated, 1, cart=CartChange(action="replace", items=(SHOES, SOCKS))),
        event("e2", EventType.order_completed, 60, channel=Channel.pos, order=order),
    )
    assert [item.sku for item in profile.cart.items] == ["SOCK-MERINO-M"]
    assert profile.orders[0].channel is Channel.pos
    assert profile.lifecycle_stage == "first_time_customer"


def test_the_same_event_applied_twice_changes_nothing_the_second_time() -> None:
    add = event("e1", EventType.cart_updated, 1, cart=CartChange(action="add", items=(SOCKS,)))
    once = apply(add)
    assert apply(add, profile=once) == once


def test_the_same_order_from_a_second_delivery_is_counted_once() -> None:
    order = Order(order_id="5820001234567", total=Decimal("129.95"), currency="EUR", items=(SHOES,))
    profile = apply(
        event("e1", EventType.order_completed, 1, order=order),
        event("e2", EventType.order_completed, 2, order=order),
    )
    assert len(profile.orders) == 1


def test_tickets_open_and_solve() -> None:
    opened = event("t1", EventType.ticket_opened, 1, ticket=Ticket(ticket_id="48213", subject="Heel", status="new"))
    updated = event(
        "t2", EventType.ticket_updated, 2, ticket=Ticket(ticket_id="48213", subject="Heel", status="pending")
    )
    solved = event("t3", EventType.ticket_solved, 3, ticket=Ticket(ticket_id="48213", subject="Heel", status="solved"))
    assert [t.opened_at for t in apply(opened, updated).open_tickets] == [T0 + timedelta(minutes=1)]
    assert apply(opened, updated, solved).open_tickets == ()


def test_an_older_consent_change_does_not_undo_a_newer_one() -> None:
    stop = event(
        "s",
        EventType.consent_changed,
        10,
        consent=(ConsentChange(channel=ConsentChannel.sms, status=ConsentStatus.unsubscribed),),
    )
    stale = event(
        "o",
        EventType.identify,
        5,
        consent=(ConsentChange(channel=ConsentChannel.sms, status=ConsentStatus.subscribed),),
    )
    assert apply(stop, stale).consent_status(ConsentChannel.sms) is ConsentStatus.unsubscribed


def test_identifying_moves_a_visitor_to_prospect() -> None:
    visitor = apply(event("p", EventType.page_viewed, 0, identifiers=identifiers_from(anonymous_id="anon")))
    assert visitor.lifecycle_stage == "visitor"
    known = apply(
        event("i", EventType.identify, 1, identifiers=identifiers_from(email="Lena@Example.com")),
        profile=visitor,
    )
    assert known.lifecycle_stage == "prospect"
    assert known.identifiers["email"] == ("lena@example.com",)


def test_a_page_view_of_a_known_customer_leaves_the_profile_as_it_was() -> None:
    known = apply(event("i", EventType.identify, 0, identifiers=identifiers_from(anonymous_id="anon")))
    assert (
        apply(
            event("p", EventType.page_viewed, 5, identifiers=identifiers_from(anonymous_id="anon")),
            profile=known,
        )
        == known
    )


def test_merge_keeps_everything_both_knew_and_the_newer_facts() -> None:
    web = apply(
        event(
            "w1",
            EventType.cart_updated,
            1,
            identifiers=identifiers_from(anonymous_id="anon"),
            cart=CartChange(action="add", items=(SHOES,)),
        ),
        event(
            "w2",
            EventType.consent_changed,
            30,
            consent=(ConsentChange(channel=ConsentChannel.email, status=ConsentStatus.unsubscribed),),
        ),
    )
    store = apply(
        event(
            "s1",
            EventType.identify,
            0,
            identifiers=identifiers_from(phone="+49 151 23456789"),
            consent=(ConsentChange(channel=ConsentChannel.email, status=ConsentStatus.subscribed),),
        ),
        profile=new_profile("cus_2", T0 - timedelta(days=1)),
    )
    merged = merge_profiles(store, web)
    assert merged.customer_id == "cus_2"
    assert merged.identifiers["anonymous_id"] == ("anon",)
    assert merged.identifiers["phone"] == ("+4915123456789",)
    assert [item.sku for item in merged.cart.items] == ["SHOE-TRAIL-42"]
    assert merged.consent_status(ConsentChannel.email) is ConsentStatus.unsubscribed
    assert merged.merged_from == ("cus_1",)


@pytest.mark.parametrize(
    ("days_since_order", "orders", "stage"),
    [(10, 1, "first_time_customer"), (10, 2, "repeat_customer"), (95, 2, "at_risk"), (200, 1, "lapsed")],
)
def test_lifecycle_stage_follows_orders_and_time(days_since_order: int, orders: int, stage: str) -> None:
    events = [
        event(
            f"o{n}",
            EventType.order_completed,
            n,
            order=Order(order_id=f"o{n}", total=Decimal(10), currency="EUR", items=(SHOES,)),
        )
        for n in range(orders)
    ]
    profile = apply(*events)
    assert config.lifecycle().stage_of(profile, T0 + timedelta(days=days_since_order)) == stage


def test_single_adds_count_whatever_order_they_arrive_in() -> None:
    later = event("e2", EventType.cart_updated, 2, cart=CartChange(action="add", items=(SOCKS,)))
    earlier = event("e1", EventType.cart_updated, 1, cart=CartChange(action="add", items=(SHOES,)))
    assert {item.sku for item in apply(later, earlier).cart.items} == {"SHOE-TRAIL-42", "SOCK-MERINO-M"}


def test_an_add_from_before_a_whole_cart_is_already_in_that_cart() -> None:
    whole = event("e2", EventType.checkout_started, 5, cart=CartChange(action="replace", items=(SHOES,)))
    stale_add = event("e1", EventType.cart_updated, 1, cart=CartChange(action="add", items=(SOCKS,)))
    assert [item.sku for item in apply(whole, stale_add).cart.items] == ["SHOE-TRAIL-42"]


def test_a_late_add_of_something_bought_since_does_not_come_back_into_the_cart() -> None:
    order = Order(order_id="pos-1", total=Decimal("129.95"), currency="EUR", items=(SHOES,))
    bought = event("o", EventType.order_completed, 60, channel=Channel.pos, order=order)
    late_add = event("a", EventType.cart_updated, 10, cart=CartChange(action="add", items=(SHOES,)))
    assert apply(bought, late_add).cart.items == ()


def test_a_late_whole_cart_does_not_bring_back_what_an_order_bought_since() -> None:
    order = Order(order_id="5820001234567", total=Decimal("129.95"), currency="EUR", items=(SHOES,))
    bought = event("o", EventType.order_completed, 60, order=order)
    late_checkout = event("c", EventType.cart_updated, 10, cart=CartChange(action="replace", items=(SHOES, SOCKS)))
    assert [item.sku for item in apply(bought, late_checkout).cart.items] == ["SOCK-MERINO-M"]


def test_an_old_consent_synced_later_does_not_undo_a_newer_opt_out() -> None:
    complaint = event(
        "e1",
        EventType.message_complained,
        60,
        consent=(ConsentChange(channel=ConsentChannel.email, status=ConsentStatus.unsubscribed),),
    )
    given_before = T0 - timedelta(days=1)
    sync = event(
        "e2",
        EventType.identify,
        90,  # arrives later, but carries the consent as the customer gave it the day before
        consent=(ConsentChange(channel=ConsentChannel.email, status=ConsentStatus.subscribed, at=given_before),),
    )
    assert apply(complaint, sync).consent_status(ConsentChannel.email) == ConsentStatus.unsubscribed


def test_merging_in_an_older_cart_does_not_bring_back_what_was_bought() -> None:
    web = apply(event("e1", EventType.cart_updated, 1, cart=CartChange(action="add", items=(SHOES, SOCKS))))
    store = apply(
        event(
            "e2",
            EventType.order_completed,
            60,
            channel=Channel.pos,
            order=Order(order_id="o1", total=Decimal("129.95"), currency="EUR", items=(SHOES,)),
        ),
        profile=new_profile("cus_2", T0),
    )
    merged = merge_profiles(store, web)
    assert [item.sku for item in merged.cart.items] == ["SOCK-MERINO-M"]
