"""How events change a profile, and how two profiles become one: pure domain, no AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from omnijourney.app import config
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
    MAX_ACTIONS_DONE,
    MAX_CART_LINES,
    MAX_NOTES,
    MAX_OFFERS,
    MAX_ORDERS,
    MAX_TICKETS,
    MAX_TRAITS,
    TRAIT_BUDGET_BYTES,
    TRAITS_BUDGET_BYTES,
    IssuedOffer,
    Note,
    Profile,
    apply_event,
    merge_profiles,
    new_profile,
    with_note,
    with_traits,
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
    # Ingest refuses a trait over its budget; a journey step can still set one, and the profile drops it.
    profile = with_traits(
        apply(*events), {"essay": "x" * TRAIT_BUDGET_BYTES, "tier": "gold"}, T0 + timedelta(minutes=200), "step"
    )
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


# Tickets: each takes the status of its latest event, whatever arrives first ---------------------------------


def _ticket(event_id: str, event_type: EventType, minutes: int, ticket_id: str = "48213") -> CanonicalEvent:
    status = {EventType.ticket_opened: "new", EventType.ticket_updated: "pending"}.get(event_type, "solved")
    ticket = Ticket(ticket_id=ticket_id, subject="Heel came loose", status=status)
    return event(event_id, event_type, minutes, channel=Channel.support, ticket=ticket)


def test_a_solve_that_arrives_before_the_opening_still_closes_the_ticket() -> None:
    opened, solved = _ticket("o", EventType.ticket_opened, 1), _ticket("s", EventType.ticket_solved, 5)
    for profile in (apply(solved, opened), apply(opened, solved)):
        assert profile.open_tickets == ()
        assert [(t.ticket_id, t.opened_at) for t in profile.solved_tickets] == [("48213", T0 + timedelta(minutes=1))]


def test_an_older_update_arriving_after_the_solve_does_not_reopen_the_ticket() -> None:
    opened, solved = _ticket("o", EventType.ticket_opened, 1), _ticket("s", EventType.ticket_solved, 5)
    assert apply(opened, solved, _ticket("u", EventType.ticket_updated, 2)).open_tickets == ()


def test_an_update_after_the_solve_reopens_the_ticket_as_zendesk_does() -> None:
    opened, solved = _ticket("o", EventType.ticket_opened, 1), _ticket("s", EventType.ticket_solved, 5)
    reply = _ticket("u", EventType.ticket_updated, 7)
    for profile in (apply(opened, solved, reply), apply(reply, solved, opened)):
        assert [(t.ticket_id, t.opened_at) for t in profile.open_tickets] == [("48213", T0 + timedelta(minutes=1))]
        assert profile.solved_tickets == ()


def test_a_ticket_solved_on_one_profile_stays_solved_when_merged_with_one_that_has_it_open() -> None:
    still_open = apply(_ticket("o", EventType.ticket_opened, 1))
    solved = apply(_ticket("s", EventType.ticket_solved, 5), profile=new_profile("cus_2", T0))
    for merged in (merge_profiles(still_open, solved), merge_profiles(solved, still_open)):
        assert merged.open_tickets == ()
        assert [t.opened_at for t in merged.solved_tickets] == [T0 + timedelta(minutes=1)]


def test_solved_tickets_are_kept_as_tombstones_up_to_a_bound_the_newest_first() -> None:
    solves = [_ticket(f"s{n}", EventType.ticket_solved, n, ticket_id=f"{n}") for n in range(MAX_TICKETS + 5)]
    profile = apply(*solves)
    assert [t.ticket_id for t in profile.solved_tickets] == [f"{n}" for n in range(5, MAX_TICKETS + 5)]


# Traits: a dropped or evicted key keeps its stamp -----------------------------------------------------------


def test_a_trait_dropped_as_too_large_keeps_its_older_value_out_in_either_order() -> None:
    # Ingest refuses such a trait; a journey step can still set one, and the profile must not depend on the order.
    def short(profile: Profile) -> Profile:
        return with_traits(profile, {"bio": "short"}, T0 + timedelta(minutes=1), "test:short")

    def essay(profile: Profile) -> Profile:
        return with_traits(profile, {"bio": "x" * 5000}, T0 + timedelta(minutes=3), "test:essay")

    in_time_order, the_other_way = essay(short(new_profile("cus_1", T0))), short(essay(new_profile("cus_1", T0)))
    assert in_time_order.traits == the_other_way.traits == {}
    assert in_time_order.traits_set == the_other_way.traits_set


def _big_traits(first: int, count: int = 5) -> list[CanonicalEvent]:
    # Four of them take nearly the whole budget of all traits, five more than it.
    return [
        event(f"big{n}", EventType.identify, n, traits={f"big_{n}": "v" * 3900}) for n in range(first, first + count)
    ]


def test_a_trait_evicted_by_newer_ones_keeps_its_older_value_out() -> None:
    tier = event("new-tier", EventType.identify, 1, traits={"tier": "gold"})
    older_tier = event("old-tier", EventType.identify, 0, traits={"tier": "silver"})
    in_time_order = apply(older_tier, tier, *_big_traits(2))
    the_other_way = apply(tier, *_big_traits(2), older_tier)
    assert "tier" not in in_time_order.traits
    assert in_time_order.traits == the_other_way.traits
    assert in_time_order.traits_set == the_other_way.traits_set


def test_a_trait_that_shrinks_makes_no_room_for_one_it_evicted_while_it_was_large() -> None:
    tier = event("tier", EventType.identify, 1, traits={"tier": "gold"})
    big = _big_traits(2)
    shrunk = event("shrunk", EventType.identify, 10, traits={"big_2": "small"})
    in_time_order = apply(tier, *big, shrunk)
    the_other_way = apply(shrunk, *big, tier)
    # big_2 still weighs what it once held against the traits set before it shrank.
    assert "tier" not in in_time_order.traits
    assert in_time_order.traits["big_2"] == "small"
    assert in_time_order.traits == the_other_way.traits
    assert in_time_order.traits_set == the_other_way.traits_set


def test_traits_and_timezone_stored_before_stamps_count_as_set_at_the_profile_update() -> None:
    stored = Profile.model_validate(
        {
            "customer_id": "cus_old",
            "created_at": "2026-03-01T10:00:00Z",
            "updated_at": "2026-03-02T18:30:00Z",
            "traits": {"tier": "gold"},
            "timezone": "Europe/Berlin",
        }
    )
    older = event("older", EventType.identify, 10, traits={"tier": "silver"}, timezone="America/New_York")
    assert (apply(older, profile=stored).traits, apply(older, profile=stored).timezone) == (
        {"tier": "gold"},
        "Europe/Berlin",
    )
    newer = event("newer", EventType.identify, 40, traits={"tier": "silver"}, timezone="America/New_York")
    assert (apply(newer, profile=stored).traits, apply(newer, profile=stored).timezone) == (
        {"tier": "silver"},
        "America/New_York",
    )


def test_the_latest_timezone_wins_in_any_order_and_in_a_merge() -> None:
    berlin = event("b", EventType.page_viewed, 5, timezone="Europe/Berlin")
    new_york = event("n", EventType.page_viewed, 1, timezone="America/New_York")
    assert apply(berlin, new_york).timezone == apply(new_york, berlin).timezone == "Europe/Berlin"
    web, app = apply(berlin), apply(new_york, profile=new_profile("cus_2", T0))
    assert merge_profiles(web, app).timezone == merge_profiles(app, web).timezone == "Europe/Berlin"


# Orders, refunds and bounds ------------------------------------------------------------------------------


def test_a_refund_in_another_currency_is_kept_but_does_not_reduce_the_order() -> None:
    dollars = Refund(refund_id="r1", order_id="o1", amount=Decimal("30"), currency="USD")
    euros = Refund(refund_id="r2", order_id="o1", amount=Decimal("10"), currency="eur")
    profile = apply(
        event("p", EventType.order_completed, 1, order=_order()),
        event("r1", EventType.order_refunded, 2, refund=dollars),
        event("r2", EventType.order_refunded, 3, refund=euros),
    )
    [order] = profile.orders
    assert (order.refunded, order.revenue) == (Decimal("10"), Decimal("90"))
    assert [refund.refund_id for refund in profile.refunds] == ["r1", "r2"]


def test_orders_are_kept_newest_first_up_to_a_bound() -> None:
    orders = [
        event(f"o{n}", EventType.order_completed, n, order=_order(order_id=f"o{n:03}")) for n in range(MAX_ORDERS + 3)
    ]
    profile = apply(*orders)
    assert len(profile.orders) == MAX_ORDERS
    assert (profile.orders[0].order_id, profile.orders[-1].order_id) == ("o003", f"o{MAX_ORDERS + 2:03}")
    assert profile.lifecycle_stage == "repeat_customer"


def test_a_cart_line_keeps_its_item_once_however_often_it_was_added() -> None:
    adds = [event(f"a{n}", EventType.cart_updated, n, cart=CartChange(action="add", items=(SOCKS,))) for n in range(6)]
    profile = apply(*adds)
    assert profile.cart is not None
    assert [(item.sku, item.name, item.quantity) for item in profile.cart.items] == [(SOCKS.sku, SOCKS.name, 12)]
    assert profile.cart.model_dump_json().count(str(SOCKS.name)) == 1


def _long(prefix: str, n: int, size: int = 255) -> str:
    text = f"{prefix}-{n:05}-"
    return text + "x" * (size - len(text))


def _worst_case_stream(customer: int) -> list[CanonicalEvent]:
    """Everything a customer's events may legally hold, as long and as many as the sources let through."""
    fields: list[dict[str, Any]] = []
    other_kinds = (IdentifierKind.user_id, IdentifierKind.loyalty_id, IdentifierKind.shopify_customer_id)
    for n in range(25):
        ids = [Identifier(kind=kind, value=_long(f"{kind.value}{customer}", n, 256)) for kind in other_kinds]
        ids.append(Identifier(kind=IdentifierKind.anonymous_id, value=_long(f"anon{customer}", n, 256)))
        ids.append(Identifier(kind=IdentifierKind.email, value=f"{n:03}{customer}{'a' * 58}@{'b' * 63}.{'c' * 63}.com"))
        fields.append({"type": EventType.identify, "identifiers": tuple(ids)})
    for n in range(60):
        traits = {_long(f"trait{customer}", 4 * n + k, 200): "v" * 3800 for k in range(4)}
        fields.append({"type": EventType.identify, "traits": traits})
    for n in range(100):
        skus = [_long(f"sku{customer}", 60 * n + k) for k in range(60)]
        items = tuple(LineItem(sku=sku, name=_long("name", k), price=Decimal("9.99")) for k, sku in enumerate(skus))
        order_id = _long(f"order{customer}", n)
        codes = tuple(_long("CODE", k) for k in range(8))
        order = Order(order_id=order_id, total=Decimal("599.40"), currency="EUR", items=items, discount_codes=codes)
        refund = Refund(refund_id=_long(f"refund{customer}", n), order_id=order_id, amount=Decimal(1), currency="EUR")
        fields += [
            {"type": EventType.order_completed, "order": order},
            {"type": EventType.order_refunded, "refund": refund},
        ]
    for n in range(MAX_CART_LINES + 10):
        item = LineItem(sku=_long(f"cart{customer}", n), name=_long("name", n), price=Decimal("129.95"))
        fields += [{"type": EventType.cart_updated, "cart": CartChange(action="add", items=(item,))}] * 7
    for n in range(MAX_TICKETS + 10):
        ticket = Ticket(ticket_id=_long(f"ticket{customer}", n), subject="s" * 8000, status="new")
        fields.append({"type": EventType.ticket_opened, "ticket": ticket})
    events = []
    for n, each in enumerate(fields):
        at = T0 + timedelta(minutes=n)
        events.append(
            CanonicalEvent(
                event_id=_long(f"test:{customer}", n, 512),
                source="test",
                name=each["type"].value,
                channel=Channel.web,
                occurred_at=at,
                received_at=at,
                timezone="Europe/Berlin",
                **each,
            )
        )
    return events


def test_a_worst_case_profile_stays_far_below_dynamodbs_item_limit() -> None:
    profiles = []
    for customer in (1, 2):
        profile = apply(*_worst_case_stream(customer), profile=new_profile(f"cus_{customer}", T0))
        # What journeys add: notes as long as a rendered template, and every offer of a config this large.
        notes = tuple(
            Note(channel="in_store", text="t" * 2000, journey=_long("journey", n), at=T0 + timedelta(days=n))
            for n in range(MAX_NOTES)
        )
        offers = tuple(
            IssuedOffer(
                offer=f"offer_{n}",
                code=f"OFFER{customer}-{n:026}",
                discount="10% off",
                skus=("SHOE-TRAIL-42", "SHOE-TRAIL-43"),
                issued_at=T0 + timedelta(days=n),
                expires_at=T0 + timedelta(days=n + 7),
                issued_by="abandoned_cart",
            )
            for n in range(MAX_OFFERS)
        )
        profiles.append(profile.model_copy(update={"notes": notes, "offers": offers}))
    merged = merge_profiles(*profiles)
    assert merged.cart is not None
    assert len(merged.cart.lines) == MAX_CART_LINES
    assert len(merged.open_tickets) == MAX_TICKETS
    for profile in (*profiles, merged):
        assert len(profile.model_dump_json().encode()) < 300_000  # DynamoDB's item: 400 KB


def test_a_profile_stored_before_ticket_stamps_loads_its_tickets_as_set_at_its_update() -> None:
    stored = {
        "customer_id": "cus_old",
        "created_at": "2026-03-01T10:00:00Z",
        "updated_at": "2026-03-02T18:03:00Z",
        # Listed before order ids became link-only: no longer listed once loaded.
        "identifiers": {"email": ["old@example.com"], "shopify_order_id": ["5820001234567"]},
        "identifiers_seen": {"shopify_order_id#5820001234567": "2026-03-01T10:00:00Z"},
        "open_tickets": [{"ticket_id": "48213", "subject": "Heel", "opened_at": "2026-03-02T18:01:00Z"}],
    }
    profile = Profile.model_validate_json(json.dumps(stored))
    assert profile.identifier_keys == ["email#old@example.com"]
    assert profile.identifiers_seen == {}
    # A solve from before the profile's last update may be what it already saw; one after it closes the ticket.
    assert [t.ticket_id for t in apply(_ticket("s", EventType.ticket_solved, 2), profile=profile).open_tickets] == [
        "48213"
    ]
    assert apply(_ticket("s", EventType.ticket_solved, 5), profile=profile).open_tickets == ()
    assert Profile.model_validate_json(profile.model_dump_json()) == profile


def test_a_timezone_and_traits_sent_again_within_a_week_write_nothing_and_later_move_their_stamp() -> None:
    """Segment sends the device's timezone and context.traits with every event: a page view of a known customer
    must not rewrite the profile each time (STAMP_REFRESH), yet a week later the restated value is dated anew."""
    fields = {"timezone": "Europe/Berlin", "traits": {"tier": "gold"}}
    known = apply(event("e1", EventType.identify, 0, **fields))
    viewed = lambda n, minutes: event(n, EventType.page_viewed, minutes, **fields)  # noqa: E731
    within_a_week = apply_event(known, viewed("e2", 60 * 24 * 7 - 1), config.lifecycle())
    assert within_a_week == known  # unchanged: the profile function writes nothing
    a_week_on = apply_event(known, viewed("e3", 60 * 24 * 7), config.lifecycle())
    assert a_week_on.timezone_set[0] == a_week_on.traits_set["tier"][0] == T0 + timedelta(days=7)


def test_the_action_marked_done_last_stays_done_however_many_were_marked_before() -> None:
    profile = new_profile("cus_1", T0)
    for day in range(4 * MAX_ACTIONS_DONE // 3):
        at = T0 + timedelta(days=day)
        note = Note(channel="in_store", text=f"Offer the care kit, visit {day}", journey="post_purchase", at=at)
        profile = with_note(profile, note)
        done = {"action": note.action_id, "journey": "post_purchase"}
        profile = apply(event(f"done-{day}", EventType.next_best_action_done, day, properties=done), profile=profile)

        assert note not in profile.next_best_actions, f"mark {day + 1} did not stick"
    assert len(profile.actions_done) == MAX_ACTIONS_DONE
