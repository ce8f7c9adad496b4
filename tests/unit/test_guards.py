"""The consistency guards decide each send against the live profile, built here from real channel payloads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from omnijourney.app import config
from omnijourney.edge.sources import get_source
from omnijourney.events import ConsentChannel, ConsentStatus, EventType
from omnijourney.journeys.contract import Entry, EntryKeeps, entry_of
from omnijourney.journeys.language import EventMatch, Policy, QuietHours, Send
from omnijourney.profiles.model import Profile
from omnijourney.runtime import guards
from omnijourney.runtime.conditions import matches, occurred
from omnijourney.vocabulary import MessageChannel
from tests.conftest import delivery, lena

# Lena's story: checkout on the web (Mon 19:12 UTC), identified in the app, STOP by SMS, shoes bought in store.
CHECKOUT_AT = datetime(2026, 3, 2, 19, 12, tzinfo=UTC)
EVENING_IN_BERLIN = datetime(2026, 3, 2, 20, 30, tzinfo=UTC)  # 21:30 local
AFTERNOON_IN_BERLIN = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 15:00 local
CART_EMAIL = Send(channel="email", template="abandoned_cart_email", category="marketing", promotes="cart")
CART_SMS = Send(channel="sms", template="abandoned_cart_sms", category="marketing", promotes="cart")
ABANDONED_CART = config.journeys().journeys["abandoned_cart"].policy


def checkout_entry(profile: Profile) -> Entry:
    (event,) = get_source("segment").parse(delivery("segment", "checkout_started"))
    return entry_of(event, profile, EntryKeeps(checkout_url=True))


def decide(
    send: Send,
    profile: Profile | None,
    now: datetime = AFTERNOON_IN_BERLIN,
    policy: Policy = ABANDONED_CART,
    sent: list[guards.Sent] | None = None,
    since_entry: list[guards.Happened] | None = None,
    held_since: datetime | None = None,
) -> guards.Decision:
    entry = checkout_entry(profile) if profile else {}
    return guards.decide(
        journey=policy,
        send=send,
        profile=profile,
        entry=entry,
        since_entry=since_entry or [],
        sent=sent or [],
        rules=config.consistency(),
        catalog=config.products(),
        now=now,
        held_since=held_since,
    )


KNOWN_WITH_CART = (("segment", "checkout_started"), ("segment", "identify_app"))
# Her phone number reaches the profile with a (solved) support ticket; START opts her in to SMS.
OPTED_IN_TO_SMS = (("zendesk", "ticket_created"), ("zendesk", "ticket_solved"), ("twilio", "inbound_start"))


def test_a_cart_email_goes_out_to_a_known_customer_with_the_cart_it_names() -> None:
    decision = decide(CART_EMAIL, lena(*KNOWN_WITH_CART))
    assert decision == guards.Decision("send", None, "lena.fischer@example.com", ("SHOE-TRAIL-42",))


def test_nothing_is_sent_to_an_erased_customer_and_the_journey_ends() -> None:
    assert decide(CART_EMAIL, None).status == "exited"


def test_shoes_bought_in_store_end_the_abandoned_cart_journey_before_its_sms() -> None:
    profile = lena(*KNOWN_WITH_CART, ("shopify", "orders_create_pos"))
    order = profile.orders[-1]
    bought = guards.Happened(
        "order_completed", "orders/create", order.at, {"order_skus": list(order.skus), "channel": "pos"}
    )
    assert decide(CART_SMS, profile, since_entry=[bought]) == guards.Decision(
        "goal", "goal_reached", converted_on="pos"
    )


def test_a_marketing_message_never_names_a_product_already_bought() -> None:
    profile = lena(("shopify", "orders_create_pos"), *KNOWN_WITH_CART)
    shoes_again = Send(channel="email", template="win_back_email", category="marketing", promotes=["SHOE-TRAIL-42"])
    decision = decide(shoes_again, profile)
    assert (decision.status, decision.reason) == ("suppressed", "already_purchased")


def test_an_offer_naming_a_product_already_bought_is_withheld_like_the_product_itself() -> None:
    """Socks left in the cart after the shoes were bought in store: the trail-shoe offer would promote the shoes."""
    profile = lena(*KNOWN_WITH_CART, ("shopify", "orders_create_pos"))
    trail_shoes = config.offers().offers["spring_shoes"].skus
    rules = config.consistency()
    assert guards.offer_held(CART_EMAIL, trail_shoes, profile, rules) == "already_purchased"
    assert guards.offer_held(CART_EMAIL, ["CARE-KIT"], profile, rules) is None
    receipt = Send(channel="email", template="thank_you_email", category="transactional", promotes="last_order")
    assert guards.offer_held(receipt, trail_shoes, profile, rules) is None  # only marketing is held for it


def test_stop_by_sms_holds_every_later_sms_even_service_ones() -> None:
    profile = lena(("shopify", "orders_create_pos"), ("twilio", "inbound_stop"))
    service_sms = Send(channel="sms", template="abandoned_cart_sms", category="service")
    assert decide(service_sms, profile).reason == "opted_out"


def test_marketing_sms_needs_an_explicit_opt_in() -> None:
    profile = lena(("shopify", "orders_create_pos"), *KNOWN_WITH_CART)
    assert profile.consent_status(ConsentChannel.sms) == ConsentStatus.unknown
    assert decide(CART_SMS, profile).reason == "no_consent"


def test_an_open_support_ticket_does_not_hold_service_messages() -> None:
    profile = lena(*KNOWN_WITH_CART, ("zendesk", "ticket_created"))
    follow_up = Send(channel="email", template="support_follow_up_email", category="service")
    assert decide(follow_up, profile).status == "send"


def test_marketing_sms_at_night_is_deferred_to_nine_in_the_customers_morning() -> None:
    profile = lena(*OPTED_IN_TO_SMS, *KNOWN_WITH_CART)
    decision = decide(CART_SMS, profile, now=EVENING_IN_BERLIN)
    assert (decision.status, decision.reason) == ("deferred", "quiet_hours")
    assert EVENING_IN_BERLIN + timedelta(seconds=decision.defer_seconds) == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def test_email_is_not_held_by_quiet_hours() -> None:
    assert decide(CART_EMAIL, lena(*KNOWN_WITH_CART), now=EVENING_IN_BERLIN).status == "send"


def test_quiet_hours_follow_the_customers_own_timezone() -> None:
    profile = lena(*OPTED_IN_TO_SMS, *KNOWN_WITH_CART).model_copy(update={"timezone": "America/New_York"})
    assert decide(CART_SMS, profile, now=EVENING_IN_BERLIN).status == "send"  # 15:30 in New York


def test_a_journey_may_hold_its_email_for_the_customers_morning_too() -> None:
    settings = ABANDONED_CART.settings.model_copy(
        update={"quiet_hours": QuietHours(start="21:00", end="09:00", channels=[MessageChannel.email])}
    )
    policy = ABANDONED_CART.model_copy(update={"settings": settings})
    decision = decide(CART_EMAIL, lena(*KNOWN_WITH_CART), now=EVENING_IN_BERLIN, policy=policy)
    assert (decision.status, decision.reason) == ("deferred", "quiet_hours")
    assert EVENING_IN_BERLIN + timedelta(seconds=decision.defer_seconds) == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    # Its own channels replace the shared ones: this journey's SMS goes out at night.
    sms_profile = lena(*OPTED_IN_TO_SMS, *KNOWN_WITH_CART)
    assert decide(CART_SMS, sms_profile, now=EVENING_IN_BERLIN, policy=policy).status == "send"


def test_the_global_frequency_cap_counts_marketing_from_every_journey() -> None:
    profile = lena(*KNOWN_WITH_CART)
    earlier = [guards.Sent(AFTERNOON_IN_BERLIN - timedelta(days=n), "win_back", 30, "marketing") for n in range(1, 5)]
    assert decide(CART_EMAIL, profile, sent=earlier).reason == "frequency_cap"
    week_old = [replace(entry, at=entry.at - timedelta(days=7)) for entry in earlier]
    assert decide(CART_EMAIL, profile, sent=week_old).status == "send"


def test_transactional_messages_do_not_count_against_the_cap() -> None:
    profile = lena(*KNOWN_WITH_CART)
    receipts = [
        guards.Sent(AFTERNOON_IN_BERLIN - timedelta(hours=n), "post_purchase", 60, "transactional") for n in range(9)
    ]
    assert decide(CART_EMAIL, profile, sent=receipts).status == "send"


def test_a_lower_priority_journey_waits_for_a_higher_priority_ones_message() -> None:
    profile = lena(*KNOWN_WITH_CART)
    win_back = config.journeys().journeys["win_back"].policy
    cart_email_sent = [guards.Sent(AFTERNOON_IN_BERLIN - timedelta(hours=2), "abandoned_cart", 70, "marketing")]
    email = Send(channel="email", template="win_back_email", category="marketing")
    assert decide(email, profile, policy=win_back, sent=cart_email_sent).reason == "outranked"


def test_a_marketing_note_for_the_store_counts_in_the_caps_and_waits_where_a_journey_quiets_the_store() -> None:
    profile = lena(*KNOWN_WITH_CART)
    note = Send(channel="in_store", template="cross_sell_store_note", category="marketing", promotes="cart")
    assert (decide(note, profile).status, decide(note, profile).recipient) == ("send", profile.customer_id)
    earlier = [guards.Sent(AFTERNOON_IN_BERLIN - timedelta(days=n), "win_back", 30, "marketing") for n in range(1, 5)]
    assert decide(note, profile, sent=earlier).reason == "frequency_cap"
    settings = ABANDONED_CART.settings.model_copy(
        update={"quiet_hours": QuietHours(start="21:00", end="09:00", channels=[MessageChannel.in_store])}
    )
    policy = ABANDONED_CART.model_copy(update={"settings": settings})
    night = decide(note, profile, now=EVENING_IN_BERLIN, policy=policy)
    assert (night.status, night.reason) == ("deferred", "quiet_hours")


@pytest.mark.parametrize(
    ("now", "until", "days", "expected"),
    [
        (datetime(2026, 3, 2, 19, 12, tzinfo=UTC), "10:00", 1, datetime(2026, 3, 3, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 3, 7, 0, tzinfo=UTC), "10:00", 0, datetime(2026, 3, 3, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 3, 9, 30, tzinfo=UTC), "10:00", 0, datetime(2026, 3, 4, 9, 0, tzinfo=UTC)),
        # Summer time starts in Berlin on 29 March: 10:00 local is then 08:00 UTC.
        (datetime(2026, 3, 28, 12, 0, tzinfo=UTC), "10:00", 1, datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
    ],
)
def test_wait_until_a_local_time_counts_in_the_customers_timezone(
    now: datetime, until: str, days: int, expected: datetime
) -> None:
    zone = guards.local_time(lena(*KNOWN_WITH_CART), config.consistency())
    assert now + timedelta(seconds=guards.seconds_until(now, zone, until, days)) == expected


def test_a_same_day_wait_goes_on_at_once_once_its_time_has_passed_that_day() -> None:
    zone = guards.local_time(lena(*KNOWN_WITH_CART), config.consistency())
    morning, noon = datetime(2026, 3, 3, 7, 0, tzinfo=UTC), datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
    assert guards.seconds_until(morning, zone, "09:00", 0, same_day=True) == 3600  # 08:00 in Berlin: wait an hour
    assert guards.seconds_until(noon, zone, "09:00", 0, same_day=True) == 1  # 12:00: not tomorrow, now


def test_an_open_support_ticket_holds_marketing_until_it_is_solved() -> None:
    profile = lena(*KNOWN_WITH_CART, ("zendesk", "ticket_created"))
    decision = decide(CART_EMAIL, profile)
    assert (decision.status, decision.reason, decision.defer_seconds) == ("deferred", "open_ticket", 6 * 3600)
    solved = lena(*KNOWN_WITH_CART, ("zendesk", "ticket_created"), ("zendesk", "ticket_solved"))
    assert decide(CART_EMAIL, solved).status == "send"


def test_a_ticket_open_for_two_weeks_drops_the_held_marketing_message() -> None:
    profile = lena(*KNOWN_WITH_CART, ("zendesk", "ticket_created"))
    decision = decide(CART_EMAIL, profile, held_since=AFTERNOON_IN_BERLIN - timedelta(days=14))
    assert (decision.status, decision.reason) == ("suppressed", "open_ticket")


@pytest.mark.parametrize(("case", "completes"), [("orders_create", True), ("orders_create_test", False)])
def test_only_a_placed_order_completes_an_order_for_journeys(case: str, completes: bool) -> None:
    """A shop's test order neither thanks, nor converts a cart, nor resumes a journey waiting for an order."""
    (order,) = get_source("shopify").parse(delivery("shopify", case))
    awaited = EventMatch(event=EventType.order_completed)
    assert matches(awaited, occurred(order, lena(*KNOWN_WITH_CART))) is completes
