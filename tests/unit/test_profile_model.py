"""How events change a profile, and how two profiles become one: pure domain, no AWS."""

from __future__ import annotations

import json
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
    OrderState,
    Refund,
    Ticket,
)
from omnijourney.identifiers import Identifier, IdentifierKind, identifiers_from
from omnijourney.profiles.model import (
    MAX_TRAITS,
    TRAIT_BUDGET_BYTES,
    TRAITS_BUDGET_BYTES,
    Profile,
    apply_event,
    merge_profiles,
    new_profile,
)

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
SHOES = LineItem(sku="SHOE-TRAIL-42", name="Trail Runner 42", quantity=1, price=Decimal("129.95"))
SOCKS = LineItem(sku="SOCK-MERINO-M", name="Merino Running Socks M", quantity=2, price=Decimal("14.95"))
ZENDESK_USER = Identifier(kind=IdentifierKind.zendesk_user_id, value="381626101")


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
    assert merged.identifiers[IdentifierKind.anonymous_id] == ("anon",)
    assert merged.identifiers[IdentifierKind.phone] == ("+4915123456789",)
    assert merged.cart is not None
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
    assert merged.cart is not None
    assert [item.sku for item in merged.cart.items] == ["SOCK-MERINO-M"]


def test_two_devices_carts_merge_as_their_union_in_either_direction() -> None:
    web = apply(event("w", EventType.cart_updated, 1, cart=CartChange(action="add", items=(SHOES,))))
    app = apply(
        event("a", EventType.cart_updated, 2, channel=Channel.app, cart=CartChange(action="add", items=(SOCKS,))),
        profile=new_profile("cus_2", T0),
    )
    for merged in (merge_profiles(web, app), merge_profiles(app, web)):
        assert merged.cart is not None
        assert [item.sku for item in merged.cart.items] == ["SHOE-TRAIL-42", "SOCK-MERINO-M"]
        assert merged.cart.channel is Channel.app  # where the customer last changed it


def test_an_add_and_a_remove_of_one_sku_give_the_same_cart_in_either_arrival_order() -> None:
    add = event("e1", EventType.cart_updated, 1, cart=CartChange(action="add", items=(SHOES,)))
    remove = event("e2", EventType.cart_updated, 2, cart=CartChange(action="remove", items=(SHOES,)))
    assert apply(add, remove).cart.items == apply(remove, add).cart.items == ()


def test_an_add_after_an_order_brings_the_sku_back() -> None:
    order = Order(order_id="o1", total=Decimal("129.95"), currency="EUR", items=(SHOES,))
    bought = event("o", EventType.order_completed, 10, order=order)
    again = event("a", EventType.cart_updated, 20, cart=CartChange(action="add", items=(SHOES,)))
    assert [item.sku for item in apply(again, bought).cart.items] == ["SHOE-TRAIL-42"]


def test_a_consent_tie_goes_to_the_opt_out_on_one_profile_and_in_a_merge() -> None:
    def consent(event_id: str, status: ConsentStatus) -> CanonicalEvent:
        return event(
            event_id, EventType.consent_changed, 5, consent=(ConsentChange(channel=ConsentChannel.sms, status=status),)
        )

    stop, start = consent("stop", ConsentStatus.unsubscribed), consent("start", ConsentStatus.subscribed)
    assert apply(stop, start).consent_status(ConsentChannel.sms) is ConsentStatus.unsubscribed
    assert apply(start, stop).consent_status(ConsentChannel.sms) is ConsentStatus.unsubscribed
    one, other = apply(stop), apply(start, profile=new_profile("cus_2", T0))
    assert merge_profiles(one, other).consent_status(ConsentChannel.sms) is ConsentStatus.unsubscribed
    assert merge_profiles(other, one).consent_status(ConsentChannel.sms) is ConsentStatus.unsubscribed


def test_traits_are_capped_oldest_first_so_a_profile_cannot_outgrow_its_item() -> None:
    events = [event(f"t{n}", EventType.identify, n, traits={f"trait_{n:03}": "v" * 100}) for n in range(150)]
    huge = event("huge", EventType.identify, 200, traits={"essay": "x" * (TRAIT_BUDGET_BYTES + 1), "tier": "gold"})
    profile = apply(*events, huge)
    assert "essay" not in profile.traits
    assert profile.traits["tier"] == "gold"
    assert len(profile.traits) <= MAX_TRAITS
    assert len(json.dumps(profile.traits)) <= TRAITS_BUDGET_BYTES
    assert "trait_149" in profile.traits
    assert "trait_000" not in profile.traits


def test_a_later_trait_wins_whichever_arrives_first() -> None:
    gold = event("g", EventType.identify, 2, traits={"tier": "gold"})
    silver = event("s", EventType.identify, 1, traits={"tier": "silver"})
    assert apply(gold, silver).traits == apply(silver, gold).traits == {"tier": "gold"}


def _order(state: OrderState = OrderState.placed, order_id: str = "o1") -> Order:
    return Order(order_id=order_id, total=Decimal("100"), currency="EUR", items=(SHOES,), state=state)


def test_a_cancellation_beats_the_order_whichever_arrives_first() -> None:
    placed = event("p", EventType.order_completed, 1, order=_order())
    cancelled = event("c", EventType.order_cancelled, 30, order=_order(OrderState.cancelled))
    for profile in (apply(placed, cancelled), apply(cancelled, placed)):
        [order] = profile.orders
        assert (order.state, order.at, order.revenue) == (OrderState.cancelled, T0 + timedelta(minutes=1), 0)
        assert profile.ordered_skus() == {"SHOE-TRAIL-42"}  # a cancelled order still tells what they chose
        assert profile.lifecycle_stage == "visitor"


def test_test_and_voided_orders_are_no_purchases_and_make_nobody_a_customer() -> None:
    profile = apply(
        event("t", EventType.order_completed, 1, order=_order(OrderState.test, "t1")),
        event("v", EventType.order_completed, 2, order=_order(OrderState.voided, "v1")),
    )
    assert profile.ordered_skus() == set()
    assert sum(order.revenue for order in profile.orders) == 0
    assert profile.lifecycle_stage == "visitor"


def test_a_refund_that_arrives_before_its_order_counts_once_the_order_arrives_and_only_once() -> None:
    refund = Refund(refund_id="r1", order_id="o1", amount=Decimal("30"), currency="EUR")
    early = event("r", EventType.order_refunded, 5, refund=refund)
    resent = event("r-again", EventType.order_refunded, 6, refund=refund)
    profile = apply(early, resent, event("p", EventType.order_completed, 1, order=_order()))
    [order] = profile.orders
    assert (order.refunded, order.revenue) == (Decimal("30"), Decimal("70"))
    assert profile.ordered_skus() == {"SHOE-TRAIL-42"}
    assert profile.lifecycle_stage == "first_time_customer"


def test_a_ticket_from_a_requester_not_yet_known_stays_open_when_the_user_becomes_known() -> None:
    ticket = Ticket(ticket_id="48213", subject="Heel", status="new")
    anonymous = apply(
        event("t", EventType.ticket_opened, 1, identifiers=(ZENDESK_USER,), ticket=ticket, channel=Channel.support)
    )
    known = apply(
        event("u", EventType.identify, 2, identifiers=(*identifiers_from(email="lena@example.com"), ZENDESK_USER)),
        profile=new_profile("cus_2", T0 - timedelta(days=1)),
    )
    merged = merge_profiles(known, anonymous)
    assert [t.ticket_id for t in merged.open_tickets] == ["48213"]
    assert merged.identifiers[IdentifierKind.email] == ("lena@example.com",)


def test_a_profile_stored_before_cart_lines_and_order_states_still_loads() -> None:
    stored = {
        "customer_id": "cus_old",
        "created_at": "2026-03-01T10:00:00Z",
        "updated_at": "2026-03-02T10:00:00Z",
        "identifiers": {"email": ["old@example.com", "new@example.com"]},
        "traits": {"tier": "gold"},
        "cart": {
            "items": [{"sku": "SHOE-TRAIL-42", "name": "Trail Runner 42", "quantity": 1, "price": "129.95"}],
            "channel": "web",
            "updated_at": "2026-03-02T10:00:00Z",
            "replaced_at": "2026-03-02T09:00:00Z",
            "cart_id": "c1",
        },
        "orders": [
            {
                "order_id": "o1",
                "channel": "pos",
                "at": "2026-03-01T12:00:00Z",
                "total": "20",
                "currency": "EUR",
                "skus": ["SOCK-MERINO-M"],
            }
        ],
    }
    profile = Profile.model_validate_json(json.dumps(stored))
    assert profile.cart is not None
    assert [(item.sku, item.quantity) for item in profile.cart.items] == [("SHOE-TRAIL-42", 1)]
    assert profile.orders[0].state is OrderState.placed
    assert profile.orders[0].revenue == Decimal(20)
    socks = apply(
        event("a", EventType.cart_updated, 60 * 24, cart=CartChange(action="add", items=(SOCKS,))), profile=profile
    )
    assert [item.sku for item in socks.cart.items] == ["SHOE-TRAIL-42", "SOCK-MERINO-M"]
    assert socks.identifiers[IdentifierKind.email] == ("old@example.com", "new@example.com")  # newest still last
    assert Profile.model_validate_json(socks.model_dump_json()) == socks
